"""quart-security's own sign-in, as small as the naive port: what the other async Quart sign-in system costs.

Its login view and session cookie, its auth_required decorator, its SQLAlchemy async datastore on
aiosqlite and its password check (libpass's bcrypt, in a thread); its lockout as it ships it.
"""

import asyncio

import click
from quart import Quart
from quart_security import Security, SecurityState, SQLAlchemyUserDatastore
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from .models import Base, User


def create_app() -> Quart:
    """Create the app, configured by QSECURITY_* environment variables."""
    app = Quart(__name__)
    app.config.update(
        DATABASE_URL="sqlite+aiosqlite:///qsecurity.sqlite3",
        BCRYPT_ROUNDS=12,
        # Served over plain http on the loopback: a Secure cookie would never come back.
        SECURITY_COOKIE_SECURE=False,
        # Its default is argon2id, under which every bcrypt hash is deprecated: each seeded
        # account would be rehashed (and written) at its first sign-in.
        SECURITY_PASSWORD_HASH="bcrypt",  # noqa: S106 (a hashing scheme, not a password)
        # Accounts are seeded, never signed up; and no password is ever sent (in part) to the
        # online breach service, which sign-up and password change ask by default.
        SECURITY_REGISTERABLE=False,
        SECURITY_PASSWORD_BREACH_CHECK=False,
        # Passwords only: second factors, passkeys and recovery codes would need columns of their own.
        SECURITY_TWO_FACTOR=False,
        SECURITY_WEBAUTHN=False,
        SECURITY_MULTI_FACTOR_RECOVERY_CODES=False,
    )
    # QSECURITY_SECRET_KEY, QSECURITY_DATABASE_URL, QSECURITY_BCRYPT_ROUNDS.
    app.config.from_prefixed_env("QSECURITY")
    engine = create_async_engine(app.config["DATABASE_URL"])
    # No roles in this app: the datastore only looks its role model up when asked for roles.
    Security(app, SQLAlchemyUserDatastore(async_sessionmaker(engine, expire_on_commit=False), User, None))
    # It has no setting for bcrypt's cost: its libpass context hashes at libpass's default, 12. Given
    # one, that context deems any hash of another cost outdated, and the login view rehashes (and
    # writes) such a hash: the bench's cost, the seeded hashes' own, for both.
    context, salt = app.extensions["quart_security_password"]
    app.extensions["quart_security_password"] = (context.copy(bcrypt__rounds=app.config["BCRYPT_ROUNDS"]), salt)

    from . import views

    app.register_blueprint(views.bp)

    @app.cli.command("init-db")
    def init_db() -> None:
        """Create the tables: the accounts, and quart-security's server-side session state."""

        async def create() -> None:
            async with engine.begin() as connection:
                await connection.run_sync(Base.metadata.create_all)
                await connection.run_sync(SecurityState.metadata.create_all)
            await engine.dispose()

        asyncio.run(create())
        click.echo("tables created")

    return app
