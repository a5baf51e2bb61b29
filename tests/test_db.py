import asyncio
import gc
import random
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from quartapp.db.models import Model
from quartapp.testing import databases
from quartapp.testing.databases import execute, POSTGRES_URL, run_async

from .conftest import AuthActions, make_app, usernames

ROOT = Path(__file__).parent.parent


@pytest.fixture
def empty_database(tmp_path: Path) -> Iterator[str]:
    """A database with nothing in it yet, for the migrations to build from the start."""
    url = databases.database_url(tmp_path, "empty")
    databases.create(url)
    yield url
    databases.drop(url)


def alembic_config(url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["database_url"] = url
    config.attributes["configure_logger"] = False
    return config


async def schema_of(url: str) -> tuple[list[object], set[str]]:
    """Return the differences between the database at url and the models, and its tables."""
    engine = create_async_engine(url, poolclass=NullPool)
    async with engine.connect() as connection:
        diff = await connection.run_sync(lambda c: compare_metadata(MigrationContext.configure(c), Model.metadata))
        tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
    await engine.dispose()
    return diff, tables


def test_migrations_build_the_models_schema_and_downgrade_to_nothing(empty_database):
    config = alembic_config(empty_database)
    command.upgrade(config, "head")
    diff, tables = run_async(schema_of(empty_database))
    assert diff == []
    assert tables == {"alembic_version", *Model.metadata.tables}

    command.downgrade(config, "base")
    assert run_async(schema_of(empty_database))[1] == {"alembic_version"}


def test_migrating_keeps_signed_in_sessions(empty_database):
    config = alembic_config(empty_database)
    command.upgrade(config, "0001")
    run_async(
        execute(
            empty_database,
            "INSERT INTO users VALUES (1, 'alice', 'alice', 'x', '2026-01-01 00:00:00')",
            "INSERT INTO auth_sessions VALUES ('a', 1, false, '2026-01-02 00:00:00', '2026-01-03 00:00:00')",
        )
    )
    command.upgrade(config, "head")
    query = "SELECT id, last_seen_at = created_at, verified_at = created_at FROM auth_sessions"
    [(session_id, unseen, verified_at_sign_in)] = run_async(execute(empty_database, query))
    assert (session_id, bool(unseen), bool(verified_at_sign_in)) == ("a", True, True)


async def abandon(app, path: str, cookie: str, delay: float) -> None:
    """Send a GET through the ASGI interface and hang up after delay seconds, as a browser
    tab closed mid-request does; Quart cancels the request's task when it sees the disconnect."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"localhost"), (b"cookie", cookie.encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
        "extensions": {},
    }
    messages = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive():
        if messages:
            return messages.pop()
        await asyncio.sleep(delay)
        return {"type": "http.disconnect"}

    async def send(message):
        pass

    await app(scope, receive, send)


async def test_requests_abandoned_mid_query_leave_nothing_locked(tmp_path):
    app = make_app(tmp_path)
    async with app.test_app():
        client = app.test_client()
        await AuthActions(client).signup("alice")
        assert client.cookie_jar is not None
        cookie = "; ".join(f"{c.name}={c.value}" for c in client.cookie_jar)

        # With the cyclic GC paused, as it is between its rare full collections, a cursor
        # orphaned by a cancel would hold its SQLite lock until the end of this test.
        housekeeping = set(app.background_tasks)
        gc.disable()
        try:
            for _ in range(3):
                # "/" reads through the Reader, "/sessions" through an AsyncSession.
                await asyncio.gather(
                    *(
                        abandon(app, path, cookie, random.uniform(0, 0.004))
                        for _ in range(50)
                        for path in ("/", "/sessions")
                    )
                )
            # Abandoned requests run on to their end; the lock check below is for after that.
            await asyncio.gather(*(app.background_tasks - housekeeping))
            response = await AuthActions(app.test_client()).signup("bob")
            assert response.status_code == 303
            assert await usernames(app) == ["alice", "bob"]
            if POSTGRES_URL:
                return

            # Nobody still holds a read snapshot or the write lock: a checkpoint completes
            # and an outside writer gets in without waiting.
            with closing(sqlite3.connect(tmp_path / "test.sqlite3", timeout=0)) as outside:
                busy, _, _ = outside.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
                assert busy == 0
                outside.execute("BEGIN IMMEDIATE")
                outside.execute("DELETE FROM auth_sessions")
                outside.commit()
        finally:
            gc.enable()


async def test_accounts_made_before_addresses_existed_keep_working_and_downgrading_keeps_them(tmp_path, empty_database):
    config = alembic_config(empty_database)
    await asyncio.to_thread(command.upgrade, config, "0002")
    # bcrypt at cost 4 of "correct horse battery", the tests' PASSWORD
    await execute(
        empty_database,
        "INSERT INTO users VALUES "
        "(1, 'alice', 'alice', '$2b$04$XT.aacTznp4iaZDUm5QVD.BARB4xbFvOAe5PXnp5NS3CUkaLpmH6m', '2026-01-01 00:00:00')",
    )
    await asyncio.to_thread(command.upgrade, config, "head")

    app = make_app(tmp_path, DATABASE_URL=empty_database)
    async with app.test_app():
        auth = AuthActions(app.test_client())
        assert (await auth.signin("alice")).status_code == 303
        page = await (await auth.get("/email")).get_data(as_text=True)
        assert "Your account has no email address" in page
    assert await execute(empty_database, "SELECT email, verified_email_key, disabled_at FROM users") == [
        (None, None, None)
    ]

    await asyncio.to_thread(command.downgrade, config, "0002")
    assert [tuple(row) for row in await execute(empty_database, "SELECT username FROM users")] == [("alice",)]
    assert "account_tokens" not in (await asyncio.to_thread(run_async, schema_of(empty_database)))[1]
