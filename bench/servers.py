import os
import secrets
import sqlite3
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from datetime import datetime, UTC
from pathlib import Path

import psutil

from quartapp.models import username_key
from tests.serving import free_port, wait_until_healthy
from tests.serving import Server as Served

from .settings import ROOT

BIN = Path(sys.executable).parent
BASELINE_WORKERS = 2


@dataclass
class Server(Served):
    """One served app under test: where it listens and the processes that serve it."""

    name: str
    serving: str  # how: the server program and its worker class
    auth_cookie: str  # the cookie a successful sign-in must set
    light_route: str  # a route without database, session or template, to measure GET / against

    def workers(self) -> list[psutil.Process]:
        """Return the processes that serve requests (the master's children, minus helpers)."""
        children = psutil.Process(self.process.pid).children(recursive=True)
        # multiprocessing's spawn start method adds a resource tracker beside hypercorn's workers.
        return [child for child in children if "resource_tracker" not in " ".join(_cmdline(child))]

    def processes(self) -> list[psutil.Process]:
        return [psutil.Process(self.process.pid), *psutil.Process(self.process.pid).children(recursive=True)]

    def worker_rss(self) -> list[int]:
        """Return the resident set size of each worker, in bytes."""
        return [worker.memory_info().rss for worker in self.workers()]


def _cmdline(process: psutil.Process) -> list[str]:
    try:
        return process.cmdline()
    except psutil.Error:
        return []


def usernames(count: int) -> list[str]:
    # Plain lowercase ASCII: every app stores and looks them up unchanged.
    return [f"user{i:05d}" for i in range(count)]


def _clean_env(**variables: str) -> dict[str, str]:
    """The environment of a fresh deployment: only the variables given here configure the apps."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QUARTAPP_", "BASELINE_"))}
    return env | variables


def _run(command: list[str | Path], env: dict[str, str], what: str) -> None:
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed with status {done.returncode}:\n{done.stdout}{done.stderr}")


def _insert_users(database: Path, statement: str, rows: list[tuple[str, ...]]) -> None:
    connection = sqlite3.connect(database)
    try:
        with connection:
            connection.executemany(statement, rows)
    finally:
        connection.close()


def start_quartapp(folder: Path, cost: int, password_hash: str, names: list[str]) -> Server:
    """Migrate and seed a fresh SQLite file, then serve quartapp as `make run` does."""
    database = folder / "quartapp.sqlite3"
    env = _clean_env(
        QUARTAPP_DATABASE_URL=f"sqlite+aiosqlite:///{database}",
        QUARTAPP_SECRET_KEY=secrets.token_urlsafe(32),
        QUARTAPP_BCRYPT_ROUNDS=str(cost),
    )
    _run([BIN / "alembic", "upgrade", "head"], env, "alembic upgrade head")
    # SQLAlchemy's SQLite DateTime format; one precomputed hash for all, since hashing
    # a thousand passwords at cost 12 would take minutes.
    created = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    _insert_users(
        database,
        "INSERT INTO users (username, username_key, password_hash, created_at) VALUES (?, ?, ?, ?)",
        [(name, username_key(name), password_hash, created) for name in names],
    )
    port = free_port()
    command: list[str | Path] = [
        BIN / "hypercorn",
        "--config",
        "hypercorn.toml",
        "--bind",
        f"127.0.0.1:{port}",
        "quartapp:create_app()",
    ]
    worker_class = tomllib.loads((ROOT / "hypercorn.toml").read_text()).get("worker_class", "asyncio")
    return _serve(
        "quartapp", command, env, port, folder, serving=f"hypercorn.toml: hypercorn, {worker_class}",
        auth_cookie="quartapp_auth", light_route="/static/style.css",
    )  # fmt: skip


def start_baseline(folder: Path, cost: int, password_hash: str, names: list[str]) -> Server:
    """Create and seed the chapter app's database, then serve it with gunicorn's sync workers."""
    database = folder / "baseline.sqlite3"
    env = _clean_env(
        BASELINE_SQLALCHEMY_DATABASE_URI=f"sqlite:///{database}",
        BASELINE_SECRET_KEY=secrets.token_urlsafe(32),
        BASELINE_BCRYPT_LOG_ROUNDS=str(cost),
    )
    _run([BIN / "flask", "--app", "bench.baseline", "init-db"], env, "flask init-db")
    _insert_users(database, "INSERT INTO users (username, password) VALUES (?, ?)", [(n, password_hash) for n in names])
    port = free_port()
    command: list[str | Path] = [
        BIN / "gunicorn",
        "--workers", str(BASELINE_WORKERS),
        "--worker-class", "sync",
        "--bind", f"127.0.0.1:{port}",
        "--access-logfile", "-",  # as quartapp's hypercorn.toml has it, so both pay for one
        "--no-control-socket",
        "bench.baseline:create_app()",
    ]  # fmt: skip
    return _serve(
        "baseline", command, env, port, folder, serving="gunicorn, sync", auth_cookie="session", light_route="/plain"
    )


def _serve(
    name: str, command: list[str | Path], env: dict[str, str], port: int, folder: Path, **details: str
) -> Server:
    log = folder / f"{name}.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so its workers stop with it
        )
    server = Server(url=f"http://127.0.0.1:{port}", process=process, log=log, name=name, **details)
    try:
        wait_until_healthy(server.url, server.process, server.log)
    except BaseException:
        server.stop()
        raise
    return server
