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


class Reader:
    """Reads one row in one round trip, outside any transaction: the lookup of the session
    every signed-in request makes.

    Through an AsyncSession that lookup costs several trips to aiosqlite's thread (begin,
    cursor, execute, fetch, rollback) and several times the query itself. On SQLite the
    reader keeps one connection of its own, and a query is one trip; outside a transaction
    each SELECT sees every commit made before it, so a revoked session is gone at once. On
    PostgreSQL it runs the statement on a pooled connection in autocommit: no BEGIN/ROLLBACK.
    """

    def __init__(self, engine: AsyncEngine, config: Mapping[str, Any]) -> None:
        self.engine = engine
        self.sqlite = engine.dialect.name == "sqlite"
        self.timeout = config["DB_QUERY_TIMEOUT"]
        self.recycle = config["DB_POOL_RECYCLE"]
        self._connection: aiosqlite.Connection | None = None
        self._opened = 0.0
        self._lock = asyncio.Lock()

    async def first(self, statement: Select[*tuple[Any, ...]], **params: Any) -> tuple[Any, ...] | None:
        """Return the first row of statement with params bound, or None; SQLite gives text dates."""
        if not self.sqlite:
            async with self.engine.connect() as pooled:
                autocommit = await pooled.execution_options(isolation_level="AUTOCOMMIT")
                row = (await autocommit.execute(statement, params)).first()
                return None if row is None else tuple(row)
        sql, names = _compiled(statement)
        connection = await self._sqlite()
        try:
            rows = await connection.execute_fetchall(sql, [params[name] for name in names])
        except (sqlite3.Error, ValueError) as error:  # ValueError: closed by a recycle meanwhile
            await self._discard(connection)  # the next request opens a new one
            raise OperationalError(sql, params, error) from error  # a 503, as the engine's are
        return next((tuple(row) for row in rows), None)

    async def _sqlite(self) -> aiosqlite.Connection:
        async with self._lock:
            if self._connection is not None and 0 <= self.recycle < time.monotonic() - self._opened:
                # As the pool does: a file restored from a backup is noticed without a restart.
                await self._discard(self._connection)
            if self._connection is None:
                try:
                    # mode=rw: a database that is not there is an error, not a new empty file.
                    uri = f"file:{quote(self.engine.url.database or '')}?mode=rw"
                    connection = await aiosqlite.connect(uri, uri=True, timeout=self.timeout)
                    await connection.execute("PRAGMA query_only=ON")  # this connection never writes
                except sqlite3.Error as error:
                    raise OperationalError("connect", {}, error) from error
                self._connection, self._opened = connection, time.monotonic()
            return self._connection

    async def _discard(self, connection: aiosqlite.Connection) -> None:
        if self._connection is connection:
            self._connection = None
        await connection.close()

    async def close(self) -> None:
        if self._connection is not None:
            await self._discard(self._connection)


_COMPILED: dict[Select[*tuple[Any, ...]], tuple[str, list[str]]] = {}


def _compiled(statement: Select[*tuple[Any, ...]]) -> tuple[str, list[str]]:
    """The SQLite text of statement and the names of its parameters in order, compiled once."""
    if statement not in _COMPILED:
        compiled = statement.compile(dialect=sqlite.dialect())
        _COMPILED[statement] = (compiled.string, list(compiled.positiontup or []))
    return _COMPILED[statement]
