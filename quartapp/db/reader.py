import asyncio
import sqlite3
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import aiosqlite
from sqlalchemy import Select
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

Rows = list[Any]


class Reader:
    """Reads one row outside any transaction: the lookup of the session every signed-in request makes.

    Outside a transaction each SELECT sees every commit made before it, so a revoked session
    is gone at once, at every worker. On PostgreSQL the statement runs on a pooled connection
    in autocommit: no BEGIN/ROLLBACK around it.

    On SQLite it runs on the event loop itself, on a read-only connection of the reader's own.
    The lookup by primary key takes about 10 µs there; through aiosqlite's thread it cost
    about 70 µs more CPU (a queue, a thread switch, a wake-up of the loop), on every page.
    The loop never waits for a lock: WAL readers do not wait for the writer, and this
    connection's busy timeout is 0, so in the rare moments SQLite answers SQLITE_BUSY (a
    checkpoint resetting the log, a recovery after a crash) the lookup goes to a thread,
    which may wait up to DB_QUERY_TIMEOUT. The file's hot pages are in the OS cache.
    """

    def __init__(self, engine: AsyncEngine, config: Mapping[str, Any]) -> None:
        self.engine = engine
        self.sqlite = engine.dialect.name == "sqlite"
        # mode=rw: a database that is not there is an error, not a new empty file.
        self.uri = f"file:{quote(engine.url.database or '')}?mode=rw"
        self.timeout = config["DB_QUERY_TIMEOUT"]
        self.recycle = config["DB_POOL_RECYCLE"]
        self._on_loop: tuple[sqlite3.Connection, float] | None = None
        self._in_thread: tuple[aiosqlite.Connection, float] | None = None
        self._lock = asyncio.Lock()

    async def first(self, statement: Select[*tuple[Any, ...]], **params: Any) -> tuple[Any, ...] | None:
        """Return the first row of statement with params bound, or None; SQLite gives text dates."""
        if not self.sqlite:
            async with self.engine.connect() as pooled:
                autocommit = await pooled.execution_options(isolation_level="AUTOCOMMIT")
                row = (await autocommit.execute(statement, params)).first()
                return None if row is None else tuple(row)
        sql, names, defaults = _compiled(statement)
        values = [params[name] if name in params else defaults[name] for name in names]
        try:
            rows = self._read_now(sql, values)
        except sqlite3.Error as error:
            if not _busy(error):
                self._close_on_loop()  # the next request opens a new one
                raise OperationalError(sql, params, error) from error  # a 503, as the engine's are
            rows = await self._read_in_thread(sql, values)
        return next((tuple(row) for row in rows), None)

    def _read_now(self, sql: str, values: list[Any]) -> Rows:
        if self._on_loop is not None and 0 <= self.recycle < time.monotonic() - self._on_loop[1]:
            # As the pool does: a file restored from a backup is noticed without a restart.
            self._close_on_loop()
        if self._on_loop is None:
            connection = sqlite3.connect(self.uri, uri=True, timeout=0, isolation_level=None)
            connection.execute("PRAGMA query_only=ON")  # this connection never writes
            self._on_loop = connection, time.monotonic()
        return self._on_loop[0].execute(sql, values).fetchall()

    async def _read_in_thread(self, sql: str, values: list[Any]) -> Rows:
        async with self._lock:
            if self._in_thread is not None and 0 <= self.recycle < time.monotonic() - self._in_thread[1]:
                await self._close_in_thread()
            try:
                if self._in_thread is None:
                    connection = await aiosqlite.connect(self.uri, uri=True, timeout=self.timeout)
                    await connection.execute("PRAGMA query_only=ON")
                    self._in_thread = connection, time.monotonic()
                return list(await self._in_thread[0].execute_fetchall(sql, values))
            except (sqlite3.Error, ValueError) as error:  # ValueError: closed by a recycle meanwhile
                await self._close_in_thread()
                raise OperationalError(sql, values, error) from error

    def _close_on_loop(self) -> None:
        if self._on_loop is not None:
            connection, self._on_loop = self._on_loop[0], None
            connection.close()

    async def _close_in_thread(self) -> None:
        if self._in_thread is not None:
            connection, self._in_thread = self._in_thread[0], None
            await connection.close()

    async def close(self) -> None:
        self._close_on_loop()
        async with self._lock:
            await self._close_in_thread()


def _busy(error: sqlite3.Error) -> bool:
    """Whether SQLite refused for a lock held elsewhere (SQLITE_BUSY and its extended codes)."""
    return error.sqlite_errorcode & 0xFF == sqlite3.SQLITE_BUSY


_COMPILED: dict[Select[*tuple[Any, ...]], tuple[str, list[str], dict[str, Any]]] = {}


def _compiled(statement: Select[*tuple[Any, ...]]) -> tuple[str, list[str], dict[str, Any]]:
    """The SQLite text of statement, its parameters' names in order and their values in it, compiled once."""
    if statement not in _COMPILED:
        compiled = statement.compile(dialect=sqlite.dialect())
        _COMPILED[statement] = (compiled.string, list(compiled.positiontup or []), compiled.params)
    return _COMPILED[statement]
