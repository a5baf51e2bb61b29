import logging
from collections.abc import Mapping
from typing import Any, cast

from quart import current_app, g, Quart
from sqlalchemy import CursorResult, event, Executable, make_url, select
from sqlalchemy.engine.interfaces import DBAPIConnection, Dialect, ExceptionContext
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import async_sessionmaker, AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from .models import User
from .reader import Reader

log = logging.getLogger(__name__)


def create_engine(config: Mapping[str, Any]) -> AsyncEngine:
    """Create the engine for config's DATABASE_URL with its pool and timeout settings."""
    url = make_url(config["DATABASE_URL"])
    if url.get_backend_name() == "sqlite":
        # SQLite's `timeout` is how long a writer waits for the file lock.
        connect_args: dict[str, Any] = {"timeout": config["DB_QUERY_TIMEOUT"]}
    else:
        connect_args = {"timeout": config["DB_CONNECT_TIMEOUT"], "command_timeout": config["DB_QUERY_TIMEOUT"]}
    engine = create_async_engine(
        url,
        connect_args=connect_args,
        pool_size=config["DB_POOL_SIZE"],
        max_overflow=config["DB_MAX_OVERFLOW"],
        pool_timeout=config["DB_POOL_TIMEOUT"],
        # Reopened now and then, a connection notices a SQLite file restored from a backup or
        # a PostgreSQL server that dropped idle connections, without a restart.
        pool_recycle=config["DB_POOL_RECYCLE"],
        # Test each pooled connection before use, so a database that restarted costs one
        # reconnect instead of an error; a local SQLite file cannot go away like that.
        pool_pre_ping=url.get_backend_name() != "sqlite",
    )
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    event.listen(engine.sync_engine, "do_connect", _connect)
    event.listen(engine.sync_engine, "handle_error", _socket_errors, retval=True)
    return engine


# Drivers report a refused, reset or timed-out connection as a bare OSError or TimeoutError.
# Translated here, at the driver, into SQLAlchemy's OperationalError, they mean "database
# unavailable" to the app; the same errors from anywhere else stay bugs (a logged 500).


def _connect(dialect: Dialect, record: ConnectionPoolEntry, cargs: Any, cparams: Any) -> DBAPIConnection:
    try:
        return dialect.connect(*cargs, **cparams)
    except (OSError, TimeoutError) as error:
        raise dialect.loaded_dbapi.OperationalError(f"cannot connect to the database: {error}") from error


def _socket_errors(context: ExceptionContext) -> BaseException | None:
    error = context.original_exception
    if not isinstance(error, OSError | TimeoutError):
        return None
    context.is_disconnect = True  # a connection that failed at its socket is not reused
    return OperationalError(context.statement, context.parameters, error, connection_invalidated=True)


def _sqlite_pragmas(dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers and one writer work at once; NORMAL sync is durable in WAL mode
    # except for the last commits before a power cut, never corrupting the file.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def init_app(app: Quart) -> None:
    """Own the engine for the app's serving lifetime and one session per app context."""

    # before/after_serving rather than while_serving: an app may be started more than once
    # (each CLI command starts and stops it), and a while_serving generator runs only once.
    @app.before_serving
    async def open_engine() -> None:
        engine = create_engine(app.config)
        app.extensions["db_engine"] = engine
        # expire_on_commit=False: reading an attribute after commit must not do hidden IO.
        app.extensions["db_sessionmaker"] = async_sessionmaker(engine, expire_on_commit=False)
        app.extensions["db_reader"] = Reader(engine, app.config)

    @app.after_serving
    async def dispose_engine() -> None:
        await app.extensions.pop("db_reader").close()
        await app.extensions.pop("db_engine").dispose()
        log.info("database connections closed")

    @app.teardown_appcontext
    async def close_session(exc: BaseException | None) -> None:
        session = g.pop("db_session", None)
        if session is not None:
            await session.close()


def get_session() -> AsyncSession:
    """Return this request's database session, opening it on first use.

    One AsyncSession must not be shared by concurrent tasks: pass it down, don't gather over it.
    """
    if "db_session" not in g:
        g.db_session = current_app.extensions["db_sessionmaker"]()
    session: AsyncSession = g.db_session
    return session


async def rowcount(session: AsyncSession, statement: Executable) -> int:
    """Execute an UPDATE or DELETE and return the number of rows it matched."""
    return cast(CursorResult[Any], await session.execute(statement)).rowcount


_PING = select(User.id).limit(1)


async def ping() -> None:
    """Raise unless the database answers a query against the schema.

    Through the Reader, as every signed-in page looks its session up: a load balancer asks
    every few seconds, and the answer should cost what a page's lookup costs.
    """
    await current_app.extensions["db_reader"].first(_PING)
