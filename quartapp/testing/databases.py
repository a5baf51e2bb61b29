"""A database of its own for each test: a SQLite file, or a PostgreSQL database made and dropped.

Set QUARTAPP_TEST_DATABASE_URL=postgresql+asyncpg://user@host/db to use PostgreSQL; each test's
database is created beside that one (the URL's user needs CREATEDB).
"""

import asyncio
import hashlib
import os
import sqlite3
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path
from typing import Any

from sqlalchemy import make_url, Row, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

POSTGRES_URL = os.environ.get("QUARTAPP_TEST_DATABASE_URL") or None  # set but empty: SQLite


def describe() -> str:
    if POSTGRES_URL:
        return f"PostgreSQL at {make_url(POSTGRES_URL).render_as_string()} (a database per test)"
    return "SQLite (a file per test); set QUARTAPP_TEST_DATABASE_URL for PostgreSQL"


def database_url(folder: Path, name: str = "test") -> str:
    """The URL of the database kept for folder (a test's tmp_path): not created yet."""
    if POSTGRES_URL is None:
        return f"sqlite+aiosqlite:///{folder / f'{name}.sqlite3'}"
    database = f"quartapp_{name}_" + hashlib.sha256(str(folder).encode()).hexdigest()[:16]
    return make_url(POSTGRES_URL).set(database=database).render_as_string(hide_password=False)


def create(url: str, template: str | None = None) -> None:
    """Create the database at url, empty or as a copy of the one at template."""
    if POSTGRES_URL is None:
        if template is not None:
            with closing(sqlite3.connect(_path(template))) as source, closing(sqlite3.connect(_path(url))) as copy:
                source.backup(copy)
        return
    copy_of = f' TEMPLATE "{make_url(template).database}"' if template else ""
    run_async(execute(POSTGRES_URL, f'CREATE DATABASE "{make_url(url).database}"{copy_of}', autocommit=True))


def drop(url: str) -> None:
    """Drop the database at url (PostgreSQL; a SQLite file goes with its test's folder)."""
    if POSTGRES_URL is not None:
        run_async(
            execute(POSTGRES_URL, f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)', autocommit=True)
        )


def run_async[T](coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from synchronous code, even inside a running loop."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


async def execute(url: str, *statements: str, autocommit: bool = False) -> list[Row[*tuple[Any, ...]]]:
    """Run SQL statements on url through a throwaway engine; return the last one's rows."""
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            if autocommit:
                connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            result = None
            for statement in statements:
                result = await connection.execute(text(statement))
            await connection.commit()
            return list(result) if result is not None and result.returns_rows else []
    finally:
        await engine.dispose()


def _path(url: str) -> str:
    return str(make_url(url).database)
