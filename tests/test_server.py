"""quartapp-serve: a worker per core on sockets the kernel balances, a dead worker replaced, clear refusals."""

import os
import signal
import socket
import subprocess
import time

import psutil
import pytest

from quartapp.server.cli import load_config, parser

from .serving import app_env, BIN, free_port, migrate, ROOT, serve, wait_until_healthy
from .test_workers import ACCESS_FORMAT, at_once, Visitor, worker_of


def run_serve(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run quartapp-serve until it exits by itself; return what it said."""
    command = [str(BIN / "quartapp-serve"), *args]
    return subprocess.run(command, cwd=ROOT, env=app_env(), capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def served(tmp_path, database):
    env = app_env(DATABASE_URL=database, SECRET_KEY="s" * 32, BCRYPT_ROUNDS="4")
    migrate(env)
    access_log = tmp_path / "access.log"
    options = ["--workers", "2", "--access-logfile", str(access_log), "--access-logformat", ACCESS_FORMAT]
    with serve(env, tmp_path, options) as server:
        yield server, access_log


def workers(server) -> set[int]:
    return {child.pid for child in psutil.Process(server.process.pid).children()}


def test_new_connections_are_spread_over_every_worker(served):
    server, access_log = served
    answers = at_once(64, lambda: Visitor(server.url).request("GET", "/livez"))
    assert {status for status, _, _ in answers} == {200}
    counts: dict[str, int] = {}
    for _, _, tag in answers:
        pid = worker_of(access_log, tag)
        counts[pid] = counts.get(pid, 0) + 1
    # Each worker has its own socket, and the kernel hashes connections over them: about half each.
    assert len(counts) == 2
    assert min(counts.values()) >= 16, counts


def test_a_worker_that_dies_is_replaced_and_its_queue_kept(served):
    server, access_log = served
    before = workers(server)
    assert len(before) == 2
    victim = min(before)
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 20
    while len(after := workers(server) - {victim}) < 2:
        assert time.monotonic() < deadline, "no new worker"
        time.sleep(0.05)
    [newcomer] = after - before
    # Connections hashed to the dead worker's socket waited in its queue for the new worker.
    answers = at_once(32, lambda: Visitor(server.url).request("GET", "/livez"))
    assert {status for status, _, _ in answers} == {200}
    assert str(newcomer) in {worker_of(access_log, tag) for _, _, tag in answers}
    assert f"worker {victim} ended (killed by SIGKILL): starting another" in server.log.read_text()


def test_a_worker_that_cannot_start_stops_the_server():
    result = run_serve("tests.server_apps:failing()", "--bind", f"127.0.0.1:{free_port()}", "--workers", "2")
    assert result.returncode == 1
    assert "RuntimeError: the database is not there" in result.stderr
    assert "could not start (exit status 1): stopping" in result.stderr


def test_a_worker_still_busy_long_after_the_stop_is_killed(tmp_path):
    config, port = tmp_path / "hypercorn.toml", free_port()
    config.write_text(f'bind = "127.0.0.1:{port}"\ngraceful_timeout = 0.2\nshutdown_timeout = 0.5\n')
    command = [str(BIN / "quartapp-serve"), "tests.server_apps:stuck()", "--config", str(config), "--workers", "1"]
    process = subprocess.Popen(command, cwd=ROOT, env=app_env(), stderr=subprocess.PIPE, text=True)
    wait_until_healthy(f"http://127.0.0.1:{port}", process, tmp_path / "unused.log", path="/")
    process.send_signal(signal.SIGTERM)
    _, errors = process.communicate(timeout=20)
    assert process.returncode == 1
    assert "still running 1 s after the stop: killed" in errors


def test_an_app_that_starts_a_thread_when_created_is_refused():
    result = run_serve("tests.server_apps:threaded()", "--bind", f"127.0.0.1:{free_port()}")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "quartapp-serve: the app started threads while it was created (poller): "
        "start them in before_serving, after the workers are forked"
    )


def test_a_setting_hypercorn_would_ignore_is_refused(tmp_path):
    config = tmp_path / "hypercorn.toml"
    config.write_text('bind = "127.0.0.1:8000"\nwrokers = 4\n')
    result = run_serve("--config", str(config))
    assert (result.returncode, result.stderr.strip()) == (
        2,
        f"quartapp-serve: {config}: no such setting: wrokers (a typo?)",
    )


def test_an_address_in_use_is_refused_not_shared():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = f"127.0.0.1:{taken.getsockname()[1]}"
        result = run_serve("--bind", address, "--config", "hypercorn.toml")
    assert result.returncode == 2
    assert result.stderr.strip() == f"quartapp-serve: cannot serve {address}: another program is listening there"


def test_workers_default_to_one_per_core_and_the_file_and_command_line_override_it(tmp_path):
    config = tmp_path / "hypercorn.toml"
    config.write_text("workers = 3\n")
    assert load_config(parser().parse_args([]))[1] == os.process_cpu_count()
    assert load_config(parser().parse_args(["-c", str(config)]))[1] == 3
    assert load_config(parser().parse_args(["-c", str(config), "-w", "5"]))[1] == 5
