"""`make run` as a newcomer types it, on SQLite or PostgreSQL, and what it says when it cannot."""

import subprocess
from pathlib import Path

from .conftest import database_url, execute, PASSWORD, postgres_only, run_async
from .serving import app_env, free_port, migrate, ROOT, Server, wait_until_healthy
from .test_workers import Visitor


def dry_run(env: dict[str, str], venv: Path) -> str:
    """The commands `make run` would run to set up a venv that does not exist yet."""
    result = subprocess.run(
        ["make", "-n", "run", f"VENV={venv}"], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return result.stdout


def test_make_run_installs_the_postgresql_driver_only_for_a_postgresql_url(tmp_path):
    on_postgres = dry_run(app_env(DATABASE_URL="postgresql+asyncpg://quartapp@db.internal/quartapp"), tmp_path / "v")
    assert 'pip install --quiet -e ".[postgres]"' in on_postgres
    on_sqlite = dry_run(app_env(), tmp_path / "v")
    assert 'pip install --quiet -e "."' in on_sqlite
    assert "postgres" not in on_sqlite


def test_a_database_url_without_its_driver_is_one_line_not_a_traceback(tmp_path):
    # psycopg's async driver is a real SQLAlchemy dialect whose package is not installed here.
    url = "postgresql+psycopg_async://quartapp:secret@127.0.0.1/quartapp"
    env = app_env(DATABASE_URL=url, INSTANCE_PATH=str(tmp_path))
    result = subprocess.run(["make", "migrate"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    message = [line for line in result.stderr.splitlines() if line.startswith("quartapp:")]
    assert message == [
        "quartapp: DATABASE_URL postgresql+psycopg_async://quartapp:***@127.0.0.1/quartapp needs the psycopg "
        "package, which is not installed"
    ]
    assert "secret" not in result.stderr


@postgres_only
def test_make_run_serves_on_postgresql(tmp_path):
    url = database_url(tmp_path)
    env = app_env(DATABASE_URL=url, INSTANCE_PATH=str(tmp_path))
    address = f"127.0.0.1:{free_port()}"
    log = tmp_path / "make-run.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            ["make", "run", f"BIND={address}"], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
            stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    server = Server(f"http://{address}", process, log)
    try:
        wait_until_healthy(server.url, process, log)
        visitor = Visitor(server.url)
        status, _, _ = visitor.post_form(
            "/signup", {"username": "alice", "password": PASSWORD, "confirm": PASSWORD}, "/signup"
        )
        assert status == 303
        assert visitor.request("GET", "/")[0] == 200
    finally:
        server.stop()
    assert run_async(execute(url, "SELECT username FROM users")) == [("alice",)]
    migrate(env)  # the schema make run created is at head already: nothing to do, no error
