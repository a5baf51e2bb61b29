import asyncio
import sqlite3
import time
from typing import Any

import pytest
from sqlalchemy import make_url

from quartapp.testing.databases import database_url

from .conftest import AuthActions, postgres_only, running_app, sqlite_only, usernames


async def expect_unavailable(visitor: AuthActions) -> None:
    """/healthz and every page that needs the database answer a quick 503, never a 500."""
    started = time.monotonic()
    response = await visitor.get("/healthz")
    assert response.status_code == 503
    assert await response.get_json() == {"status": "unavailable"}
    assert time.monotonic() - started < 3, "a health check must not hang"
    stranger = AuthActions(visitor.client.app.test_client())  # the sign-in form needs no database
    for response in (await visitor.get("/"), await stranger.signin("alice"), await stranger.signup("carol")):
        assert response.status_code == 503
        assert response.headers["Retry-After"]
        assert "Temporarily unavailable" in await response.get_data(as_text=True)


async def expect_available(visitor: AuthActions) -> None:
    assert (await visitor.get("/healthz")).status_code == 200
    assert (await visitor.get("/")).status_code == 200


@sqlite_only
async def test_an_unreadable_sqlite_file_is_a_503_until_it_is_back(tmp_path):
    async with running_app(tmp_path, DB_POOL_RECYCLE=0) as app:
        visitor = AuthActions(app.test_client())
        await visitor.signup("alice")
        await expect_available(visitor)

        database = tmp_path / "test.sqlite3"
        backup = tmp_path / "moved"
        backup.mkdir()
        for path in tmp_path.glob("test.sqlite3*"):
            path.rename(backup / path.name)
        database.mkdir()  # what stands there now cannot be opened as a database
        await expect_unavailable(visitor)

        database.rmdir()
        for path in backup.iterdir():
            path.rename(tmp_path / path.name)
        await expect_available(visitor)  # no restart needed


@sqlite_only
async def test_a_locked_sqlite_database_is_a_503_and_nothing_is_half_written(tmp_path):
    async with running_app(tmp_path, DB_QUERY_TIMEOUT=0.2) as app:
        outside = sqlite3.connect(tmp_path / "test.sqlite3", isolation_level=None)
        outside.execute("BEGIN IMMEDIATE")  # another writer holds the write lock
        try:
            response = await AuthActions(app.test_client()).signup("alice")
            assert response.status_code == 503
            assert "Temporarily unavailable" in await response.get_data(as_text=True)
        finally:
            outside.execute("ROLLBACK")
            outside.close()
        assert await usernames(app) == []
        assert (await AuthActions(app.test_client()).signup("alice")).status_code == 303


def sqlite_error(code: int) -> sqlite3.OperationalError:
    error = sqlite3.OperationalError("database is locked" if code == sqlite3.SQLITE_BUSY else "disk I/O error")
    error.sqlite_errorcode = code
    return error


@sqlite_only
async def test_a_lookup_that_meets_a_lock_goes_to_a_thread_and_any_other_error_is_a_503(tmp_path, monkeypatch):
    async with running_app(tmp_path) as app:
        visitor = AuthActions(app.test_client())
        await visitor.signup("alice")
        reader = app.extensions["db_reader"]
        read_now = reader._read_now
        refusals = [sqlite3.SQLITE_BUSY]

        def refuse_once(sql: str, values: list[object]) -> Any:
            if not refusals:
                return read_now(sql, values)
            raise sqlite_error(refusals.pop())

        monkeypatch.setattr(reader, "_read_now", refuse_once)
        # SQLITE_BUSY on the loop, where nothing may wait: the lookup is made in a thread instead.
        assert (await visitor.get("/")).status_code == 200
        assert reader._in_thread is not None
        refusals.append(sqlite3.SQLITE_IOERR)
        assert (await visitor.get("/")).status_code == 503
        assert (await visitor.get("/")).status_code == 200


class Relay:
    """A TCP relay in front of PostgreSQL that can stop and start like the server itself.

    Stopping resets every open connection and refuses new ones; starting listens again on
    the same port. Hanging accepts connections and never answers: an unreachable host.
    """

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = 0
        self.hang = False
        self.server: asyncio.Server | None = None
        self.links: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._link, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self.server is not None, "the relay was never started"
        self.server.close()
        for writer in self.links:
            writer.transport.abort()
        self.links.clear()
        await self.server.wait_closed()

    async def _link(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.links.add(writer)
        if self.hang:
            return
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self.links.add(upstream_writer)
        await asyncio.gather(self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer))

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.transport.abort()


@pytest.fixture
async def relay(tmp_path):
    url = make_url(database_url(tmp_path))
    relay = Relay(url.host or "127.0.0.1", url.port or 5432)
    await relay.start()
    yield relay
    assert relay.server is not None
    if relay.server.is_serving():
        await relay.stop()


def through(relay: Relay, tmp_path) -> str:
    return make_url(database_url(tmp_path)).set(host="127.0.0.1", port=relay.port).render_as_string(hide_password=False)


@postgres_only
async def test_postgresql_stopping_and_starting_is_a_503_then_recovery(tmp_path, relay):
    async with running_app(tmp_path, DATABASE_URL=through(relay, tmp_path)) as app:
        visitor = AuthActions(app.test_client())
        await visitor.signup("alice")
        await expect_available(visitor)

        await relay.stop()
        await expect_unavailable(visitor)

        await relay.start()
        await expect_available(visitor)  # the pool reconnects by itself
        assert (await AuthActions(app.test_client()).signup("bob")).status_code == 303


@postgres_only
async def test_an_unreachable_postgresql_is_a_503_within_the_connect_timeout(tmp_path, relay):
    async with running_app(
        tmp_path, DATABASE_URL=through(relay, tmp_path), DB_CONNECT_TIMEOUT=0.5, HEALTH_TIMEOUT=1
    ) as app:
        visitor = AuthActions(app.test_client())
        await visitor.signup("alice")
        await relay.stop()
        relay.hang = True
        await relay.start()
        await expect_unavailable(visitor)
