import asyncio
import sys
from collections.abc import Awaitable, Callable

import click
from quart import Quart
from sqlalchemy import make_url
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import MultiDict

from . import auth_sessions, guessable
from .audit import audit
from .db.engine import get_session
from .db.models import add_user, get_user_by_username, User, utcnow
from .forms import SignUpForm
from .mfa import factors, trust
from .password_change import replace_password
from .passwords import hash_password
from .recovery import tokens
from .recovery.mails import send_verification


def init_app(app: Quart) -> None:
    """Register the app's commands (`quart --app quartapp --help` lists them)."""

    @app.cli.command("migrate")
    def migrate_command() -> None:
        """Bring the database up to date: quartapp's migrations and the application's."""
        # Here, not at the top: alembic (with mako and pygments, 110 modules) is no part of a
        # served app, whose every worker would otherwise carry it.
        from .db import migrate

        url = app.config["DATABASE_URL"]
        heads = migrate.upgrade(url, app.extensions["migrations"])
        shown = make_url(url).render_as_string(hide_password=True)
        click.echo(f"Database {shown}: up to date ({', '.join(heads)})")

    @app.cli.command("create-user")
    @click.argument("username")
    @click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
    @click.option("--email", help="The account's address; it is sent a verification link.")
    def create_user(username: str, password_stdin: bool, email: str | None) -> None:
        """Create a user with the sign-up form's rules; the password is asked for hidden."""
        password = _read_password(password_stdin)

        async def create() -> str:
            form = await _checked_form(username, password, email)
            db = get_session()
            try:
                user = await add_user(db, form.username.data, await hash_password(password), form.email.data or None)
                await db.commit()
            except IntegrityError:
                raise click.ClickException(f"the username {form.username.data!r} is taken") from None
            audit("signup", username_key=user.username_key, via="cli")
            if user.email:
                await send_verification(user.id, "cli")
                return f"{user.username}; a verification link was sent to {user.email}"
            return user.username

        click.echo(f"Created user {_run(app, create)}.")

    @app.cli.command("set-password")
    @click.argument("username")
    @click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
    def set_password(username: str, password_stdin: bool) -> None:
        """Set a user's password and sign out all of their sessions."""
        password = _read_password(password_stdin)

        async def change() -> int:
            user = await _existing_user(username)
            await _checked_form(user.username, password, user.email, check_email=False)
            db = get_session()
            revoked = await replace_password(db, user.id, await hash_password(password))
            await db.commit()
            audit("password.changed", username_key=user.username_key, via="cli", revoked=revoked)
            return revoked

        click.echo(f"Password set; {_run(app, change)} session(s) signed out.")

    @app.cli.command("revoke-sessions")
    @click.argument("username")
    def revoke_sessions(username: str) -> None:
        """Sign out every session of a user."""

        async def revoke() -> int:
            user = await _existing_user(username)
            revoked = await auth_sessions.end_all(get_session(), user.id)
            await get_session().commit()
            audit("session.revoked", username_key=user.username_key, via="cli", revoked=revoked)
            return revoked

        click.echo(f"{_run(app, revoke)} session(s) signed out.")

    @app.cli.command("reset-second-factors")
    @click.argument("username")
    def reset_second_factors(username: str) -> None:
        """Remove a user's TOTP, passkeys and recovery codes (all lost), after checking who asks."""

        async def reset() -> None:
            user = await _existing_user(username)
            await factors.remove_all(get_session(), user.id)
            await get_session().commit()
            audit("second_factors.reset", username_key=user.username_key, via="cli")

        _run(app, reset)
        click.echo(f"{username}: second factors removed; the password alone signs in now.")

    @app.cli.command("disable-user")
    @click.argument("username")
    def disable_user(username: str) -> None:
        """Lock an account: no sign-in, no reset mail, and every session ends at once."""

        async def disable() -> int:
            user = await _existing_user(username)
            db = get_session()
            user.disabled_at = user.disabled_at or utcnow()
            revoked = await auth_sessions.end_all(db, user.id)
            await tokens.void(db, user.id)  # no reset or verification link of it works any more
            await trust.revoke_all(db, user.id, why="account.disabled")
            await db.commit()
            audit("account.disabled", username_key=user.username_key, via="cli", revoked=revoked)
            return revoked

        click.echo(f"Disabled; {_run(app, disable)} session(s) signed out.")

    @app.cli.command("enable-user")
    @click.argument("username")
    def enable_user(username: str) -> None:
        """Unlock an account disabled with disable-user."""

        async def enable() -> None:
            user = await _existing_user(username)
            user.disabled_at = None
            await get_session().commit()
            audit("account.enabled", username_key=user.username_key, via="cli")

        _run(app, enable)
        click.echo(f"Enabled {username}.")


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


def _run[T](app: Quart, command: Callable[[], Awaitable[T]]) -> T:
    """Run command with the app started, inside an app context.

    Quart's CLI runs no event loop for its commands (quart#361), so each command runs its own.
    """

    async def run() -> T:
        await app.startup()
        try:
            async with app.app_context():
                return await command()
        finally:
            await app.shutdown()

    return asyncio.run(run())


async def _checked_form(username: str, password: str, email: str | None = None, check_email: bool = True) -> SignUpForm:
    """Apply the sign-up form's rules, raising the first complaint as a ClickException."""
    fields = {"username": username, "password": password, "confirm": password, "email": email if check_email else ""}
    form = SignUpForm(MultiDict(fields), meta={"csrf": False})
    if not form.validate() or await guessable.refused(form.password, username=username, email=email):
        field = next(field for field in form if field.errors)
        raise click.ClickException(f"{field.name}: {field.errors[0]}")
    return form


async def _existing_user(username: str) -> User:
    user = await get_user_by_username(get_session(), username)
    if user is None:
        raise click.ClickException(f"there is no user {username!r}")
    return user
