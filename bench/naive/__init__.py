"""The chapter ported to Quart the obvious way: what a straightforward async port costs.

Quart-Auth with the user id as auth id, an AsyncSession on aiosqlite, WTForms with session CSRF,
and bcrypt called inline in the view, on the event loop.
"""

import asyncio

import click
from quart import Quart
from quart_auth import QuartAuth
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from .models import Base

auth_manager = QuartAuth()


def create_app() -> Quart:
    """Create the app, configured by NAIVE_* environment variables."""
    app = Quart(__name__)
    # Served over plain http on the loopback: a Secure cookie would never come back.
    app.config.update(DATABASE_URL="sqlite+aiosqlite:///naive.sqlite3", QUART_AUTH_COOKIE_SECURE=False)
    # NAIVE_SECRET_KEY, NAIVE_DATABASE_URL.
    app.config.from_prefixed_env("NAIVE")
    engine = create_async_engine(app.config["DATABASE_URL"])
    app.extensions["db"] = async_sessionmaker(engine, expire_on_commit=False)
    auth_manager.init_app(app)

    from . import views

    app.register_blueprint(views.bp)

    @app.cli.command("init-db")
    def init_db() -> None:
        """Create the tables."""

        async def create() -> None:
            async with engine.begin() as connection:
                await connection.run_sync(Base.metadata.create_all)
            await engine.dispose()

        asyncio.run(create())
        click.echo("tables created")

    return app
