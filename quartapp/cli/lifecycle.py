"""Commands that lock, unlock and delete an account, and name what a deleted one became."""

import ipaddress

import click
from quart import Quart

from .. import auth_sessions
from ..audit import audit, erasure
from ..db.engine import get_session
from ..db.models import username_key, utcnow
from ..mfa import trust
from ..ownership import DeletionRefused
from ..ownership.deletion import delete_account, Deleted
from ..recovery import tokens
from .running import existing_user, run


def register(app: Quart) -> None:
    """disable-user, enable-user, delete-user, pseudonym."""

    @app.cli.command("disable-user")
    @click.argument("username")
    def disable_user(username: str) -> None:
        """Lock an account: no sign-in, no reset mail, and every session ends at once."""

        async def disable() -> int:
            user = await existing_user(username)
            db = get_session()
            user.disabled_at = user.disabled_at or utcnow()
            revoked = await auth_sessions.end_all(db, user.id)
            await tokens.void(db, user.id)  # no reset or verification link of it works any more
            await trust.revoke_all(db, user.id, why="account.disabled")
            await db.commit()
            audit("account.disabled", username_key=user.username_key, via="cli", revoked=revoked)
            return revoked

        click.echo(f"Disabled; {run(app, disable)} session(s) signed out.")

    @app.cli.command("enable-user")
    @click.argument("username")
    def enable_user(username: str) -> None:
        """Unlock an account disabled with disable-user."""

        async def enable() -> None:
            user = await existing_user(username)
            user.disabled_at = None
            await get_session().commit()
            audit("account.enabled", username_key=user.username_key, via="cli")

        run(app, enable)
        click.echo(f"Enabled {username}.")

    @app.cli.command("delete-user")
    @click.argument("username")
    @click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
    def delete_user(username: str, yes: bool) -> None:
        """Delete an account and everything it holds, as its owner can at /account/delete."""
        if not yes:
            click.confirm(f"Delete {username} and everything it holds, for good?", abort=True)

        async def delete() -> Deleted:
            user = await existing_user(username)
            try:
                deleted = await delete_account(get_session(), user.id, via="cli")
            except DeletionRefused as refusal:
                raise click.ClickException(f"the application keeps the account: {refusal}") from None
            if deleted is None:
                raise click.ClickException(f"there is no user {username!r}")
            return deleted

        deleted = run(app, delete)
        rows = ", ".join(f"{count} {table}" for table, count in deleted.removed.items() if count)
        click.echo(f"Deleted {deleted.username} ({rows or 'nothing else'}).")
        click.echo(f"Its {deleted.pseudonymised} audit event(s) now name {deleted.pseudonym}.")

    @app.cli.command("pseudonym")
    @click.argument("value")
    @click.option("--address", is_flag=True, help="VALUE is a client address, not a username.")
    def pseudonym(value: str, address: bool) -> None:
        """Print what a deleted account's username (or a client address) is called in the audit events."""
        kind, shown = ("address", _normalized_address(value)) if address else ("username", username_key(value))
        for name in erasure.pseudonyms(app.config, kind, shown):
            click.echo(name)


def _normalized_address(value: str) -> str:
    """The address as the audit log writes it (2001:DB8::1 as 2001:db8::1), or as typed if it is none."""
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return value
