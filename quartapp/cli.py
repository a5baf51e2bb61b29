import asyncio
import sys

import click
from quart import Quart
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import MultiDict

from .db import get_session
from .forms import SignUpForm
from .models import add_user
from .passwords import hash_password


def init_app(app: Quart) -> None:
    """Register the app's commands: `quart --app quartapp create-user NAME`."""

    @app.cli.command("create-user")
    @click.argument("username")
    @click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
    def create_user(username: str, password_stdin: bool) -> None:
        """Create a user with the sign-up form's rules; the password is asked for hidden."""
        if password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        # Quart's CLI runs no loop of its own here (quart#361), so the command runs one.
        name = asyncio.run(_create_user(app, username, password))
        click.echo(f"Created user {name}.")


async def _create_user(app: Quart, username: str, password: str) -> str:
    await app.startup()
    try:
        async with app.app_context():
            formdata = MultiDict({"username": username, "password": password, "confirm": password})
            form = SignUpForm(formdata, meta={"csrf": False})
            if not form.validate():
                field, errors = next(iter(form.errors.items()))
                raise click.ClickException(f"{field}: {errors[0]}")
            db = get_session()
            try:
                user = await add_user(db, form.username.data, await hash_password(password))
                await db.commit()
            except IntegrityError:
                raise click.ClickException(f"the username {form.username.data!r} is taken") from None
            return user.username
    finally:
        await app.shutdown()
