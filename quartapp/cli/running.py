"""What every command does: run in an app context with its own event loop, find the user, read a password."""

import asyncio
import sys
from collections.abc import Awaitable, Callable

import click
from quart import Quart
from werkzeug.datastructures import MultiDict

from .. import guessable
from ..db.engine import get_session
from ..db.models import get_user_by_username, User
from ..forms import SignUpForm


def read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


def run[T](app: Quart, command: Callable[[], Awaitable[T]]) -> T:
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


async def checked_form(username: str, password: str, email: str | None = None, check_email: bool = True) -> SignUpForm:
    """Apply the sign-up form's rules, raising the first complaint as a ClickException."""
    fields = {"username": username, "password": password, "confirm": password, "email": email if check_email else ""}
    form = SignUpForm(MultiDict(fields), meta={"csrf": False})
    if not form.validate() or await guessable.refused(form.password, username=username, email=email):
        field = next(field for field in form if field.errors)
        raise click.ClickException(f"{field.name}: {field.errors[0]}")
    return form


async def existing_user(username: str) -> User:
    user = await get_user_by_username(get_session(), username)
    if user is None:
        raise click.ClickException(f"there is no user {username!r}")
    return user
