import asyncio
from logging.config import fileConfig

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from quartapp.db.models import Model

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name)

target_metadata = Model.metadata


def database_url() -> str:
    """The URL given by the caller (tests), else the app's own configuration."""
    if url := config.attributes.get("database_url"):
        return str(url)
    from quartapp import create_app
    from quartapp.config import ConfigurationError

    try:
        return str(create_app().config["DATABASE_URL"])
    except ConfigurationError as error:
        raise SystemExit(f"quartapp: {error}") from None  # one line, not a traceback


def run_migrations_offline() -> None:
    context.configure(
        url=database_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def do_run_migrations(connection: Connection) -> None:
    # Batch mode lets SQLite, which cannot ALTER most things, rebuild tables instead; it is
    # a no-op elsewhere. Foreign keys stay off here (no connect hook): with them on, SQLite's
    # table rebuild would cascade-delete every signed-in session.
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations() -> None:
    engine = create_async_engine(database_url(), poolclass=NullPool)
    async with engine.connect() as connection:
        await connection.run_sync(do_run_migrations)
    await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    asyncio.run(run_async_migrations())
