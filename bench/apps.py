"""The four apps under test, each started on a fresh, seeded SQLite file on a free loopback port."""

import os
import secrets
import tomllib
import uuid
from datetime import datetime, UTC
from pathlib import Path

from quartapp.db.models import username_key
from tests.serving import free_port

from .servers import BIN, clean_env, insert_users, run, serve, Server, SignInForm
from .settings import ROOT

# The baselines' worker processes: one per core, as their servers' documentation suggests (and
# as quartapp-serve starts by default).
BASELINE_WORKERS = os.process_cpu_count() or 1
# The naive port's hypercorn worker class: quartapp's too, so the difference is the app's code.
NAIVE_WORKER_CLASS = "uvloop"
# Its login asks for an email address: each account's is made from its bench username.
QSECURITY_EMAIL = "{}@example.org"
QSECURITY_FORM = SignInForm(path="/login", login_field="email", login=QSECURITY_EMAIL)


def start_quartapp(folder: Path, cost: int, password_hash: str, names: list[str]) -> Server:
    """Migrate and seed a fresh SQLite file, then serve quartapp as `make run` does."""
    database = folder / "quartapp.sqlite3"
    env = clean_env(
        QUARTAPP_DATABASE_URL=f"sqlite+aiosqlite:///{database}",
        QUARTAPP_SECRET_KEY=secrets.token_urlsafe(32),
        QUARTAPP_BCRYPT_ROUNDS=str(cost),
    )
    run([BIN / "alembic", "upgrade", "heads"], env, "alembic upgrade heads")
    # SQLAlchemy's SQLite DateTime format; one precomputed hash for all, since hashing
    # a thousand passwords at cost 12 would take minutes.
    created = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    insert_users(
        database,
        "INSERT INTO users (username, username_key, password_hash, created_at) VALUES (?, ?, ?, ?)",
        [(name, username_key(name), password_hash, created) for name in names],
    )
    port = free_port()
    command: list[str | Path] = [
        BIN / "quartapp-serve",
        "--config", "hypercorn.toml",
        "--bind", f"127.0.0.1:{port}",
        "quartapp:create_app()",
    ]  # fmt: skip
    worker_class = tomllib.loads((ROOT / "hypercorn.toml").read_text()).get("worker_class", "asyncio")
    return serve(
        "quartapp", command, env, port, folder, serving=f"quartapp-serve, hypercorn.toml: {worker_class}",
        auth_cookie="quartapp_auth", light_route="/livez",
    )  # fmt: skip


def start_flask(folder: Path, cost: int, password_hash: str, names: list[str]) -> Server:
    """Create and seed the chapter app's database, then serve it with gunicorn's sync workers."""
    database = folder / "flask.sqlite3"
    env = clean_env(
        BASELINE_SQLALCHEMY_DATABASE_URI=f"sqlite:///{database}",
        BASELINE_SECRET_KEY=secrets.token_urlsafe(32),
        BASELINE_BCRYPT_LOG_ROUNDS=str(cost),
    )
    run([BIN / "flask", "--app", "bench.baseline", "init-db"], env, "flask init-db")
    insert_users(database, "INSERT INTO users (username, password) VALUES (?, ?)", [(n, password_hash) for n in names])
    port = free_port()
    command: list[str | Path] = [
        BIN / "gunicorn",
        "--workers", str(BASELINE_WORKERS),
        "--worker-class", "sync",
        "--bind", f"127.0.0.1:{port}",
        "--access-logfile", "-",  # as quartapp's hypercorn.toml has it, so all pay for one
        "--no-control-socket",
        "bench.baseline:create_app()",
    ]  # fmt: skip
    return serve(
        "flask", command, env, port, folder, serving="gunicorn, sync", auth_cookie="session", light_route="/plain"
    )


def start_naive(folder: Path, cost: int, password_hash: str, names: list[str]) -> Server:
    """Create and seed the naive Quart port's database, then serve it with hypercorn's defaults but two.

    Two workers, one per core, and uvloop; everything else (backlog, keep-alive) as hypercorn
    ships it, as an obvious deployment would have it. bcrypt checks whatever cost a hash says.
    """
    database = folder / "naive.sqlite3"
    env = clean_env(NAIVE_DATABASE_URL=f"sqlite+aiosqlite:///{database}", NAIVE_SECRET_KEY=secrets.token_urlsafe(32))
    run([BIN / "quart", "--app", "bench.naive:create_app()", "init-db"], env, "quart init-db")
    insert_users(database, "INSERT INTO users (username, password) VALUES (?, ?)", [(n, password_hash) for n in names])
    port = free_port()
    return serve(
        "naive", hypercorn("bench.naive:create_app()", port), env, port, folder,
        serving=f"hypercorn, {NAIVE_WORKER_CLASS}, bcrypt on the event loop", auth_cookie="QUART_AUTH",
        light_route="/plain",
    )  # fmt: skip


def start_qsecurity(folder: Path, cost: int, password_hash: str, names: list[str]) -> Server:
    """Create and seed the quart-security app's database, then serve it with hypercorn, a worker per core.

    Accounts are written straight into its table, active and unlocked, as its own sign-up would
    leave them (it hashes at the cost configured, the bench's, and checks whatever cost a hash says).
    """
    database = folder / "qsecurity.sqlite3"
    env = clean_env(
        QSECURITY_DATABASE_URL=f"sqlite+aiosqlite:///{database}",
        QSECURITY_SECRET_KEY=secrets.token_urlsafe(32),
        QSECURITY_BCRYPT_ROUNDS=str(cost),
    )
    run([BIN / "quart", "--app", "bench.qsecurity:create_app()", "init-db"], env, "quart init-db")
    insert_users(
        database,
        "INSERT INTO users (username, email, password, active, fs_uniquifier, failed_login_count, login_count) "
        "VALUES (?, ?, ?, 1, ?, 0, 0)",
        [(n, QSECURITY_EMAIL.format(n), password_hash, uuid.uuid4().hex) for n in names],
    )
    port = free_port()
    return serve(
        "quart-security", hypercorn("bench.qsecurity:create_app()", port), env, port, folder, form=QSECURITY_FORM,
        serving=f"hypercorn, {NAIVE_WORKER_CLASS}, bcrypt in a thread", auth_cookie="session", light_route="/plain",
    )  # fmt: skip


def hypercorn(app: str, port: int) -> list[str | Path]:
    """hypercorn as an obvious deployment runs it: a worker per core, uvloop, the access log on."""
    return [
        BIN / "hypercorn",
        "--workers", str(BASELINE_WORKERS),
        "--worker-class", NAIVE_WORKER_CLASS,
        "--bind", f"127.0.0.1:{port}",
        "--access-logfile", "-",
        app,
    ]  # fmt: skip
