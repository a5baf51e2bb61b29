"""Commands that set an account up and change how it signs in; and the database's migration."""

import click
from quart import Quart
from sqlalchemy import make_url
from sqlalchemy.exc import IntegrityError

from .. import auth_sessions
from ..audit import audit
from ..db.engine import get_session
from ..db.models import add_user
from ..mfa import factors
from ..password_change import replace_password
from ..passwords import hash_password
from ..recovery.mails import send_verification
from .running import checked_form, existing_user, read_password, run


def register(app: Quart) -> None:
    """migrate, create-user, set-password, revoke-sessions, reset-second-factors."""

    @app.cli.command("migrate")
    def migrate_command() -> None:
        """Bring the database up to date: quartapp's migrations and the application's."""
        # Here, not at the top: alembic (with mako and pygments, 110 modules) is no part of a
        # served app, whose every worker would otherwise carry it.
        from ..db import migrate

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
        password = read_password(password_stdin)

        async def create() -> str:
            form = await checked_form(username, password, email)
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

        click.echo(f"Created user {run(app, create)}.")

    @app.cli.command("set-password")
    @click.argument("username")
    @click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
    def set_password(username: str, password_stdin: bool) -> None:
        """Set a user's password and sign out all of their sessions."""
        password = read_password(password_stdin)

        async def change() -> int:
            user = await existing_user(username)
            await checked_form(user.username, password, user.email, check_email=False)
            db = get_session()
            revoked = await replace_password(db, user.id, await hash_password(password))
            await db.commit()
            audit("password.changed", username_key=user.username_key, via="cli", revoked=revoked)
            return revoked

        click.echo(f"Password set; {run(app, change)} session(s) signed out.")

    @app.cli.command("revoke-sessions")
    @click.argument("username")
    def revoke_sessions(username: str) -> None:
        """Sign out every session of a user."""

        async def revoke() -> int:
            user = await existing_user(username)
            revoked = await auth_sessions.end_all(get_session(), user.id)
            await get_session().commit()
            audit("session.revoked", username_key=user.username_key, via="cli", revoked=revoked)
            return revoked

        click.echo(f"{run(app, revoke)} session(s) signed out.")

    @app.cli.command("reset-second-factors")
    @click.argument("username")
    def reset_second_factors(username: str) -> None:
        """Remove a user's TOTP, passkeys and recovery codes (all lost), after checking who asks."""

        async def reset() -> None:
            user = await existing_user(username)
            await factors.remove_all(get_session(), user.id)
            await get_session().commit()
            audit("second_factors.reset", username_key=user.username_key, via="cli")

        run(app, reset)
        click.echo(f"{username}: second factors removed; the password alone signs in now.")
