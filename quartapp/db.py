from quart import current_app, g, Quart
from sqlalchemy import event, select
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import async_sessionmaker, AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from .models import User


def create_engine(url: str) -> AsyncEngine:
    """Create the engine for url; SQLite connections get WAL and enforced foreign keys."""
    engine = create_async_engine(url, pool_pre_ping=not url.startswith("sqlite"))
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


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
        engine = create_engine(app.config["DATABASE_URL"])
        app.extensions["db_engine"] = engine
        # expire_on_commit=False: reading an attribute after commit must not do hidden IO.
        app.extensions["db_sessionmaker"] = async_sessionmaker(engine, expire_on_commit=False)

    @app.after_serving
    async def dispose_engine() -> None:
        await app.extensions.pop("db_engine").dispose()

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
    return g.db_session


async def ping() -> None:
    """Raise unless the database answers a query against the schema."""
    async with current_app.extensions["db_engine"].connect() as connection:
        await connection.execute(select(User.id).limit(1))
