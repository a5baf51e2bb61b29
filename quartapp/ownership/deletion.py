"""Deleting an account: everything that names it, in one transaction, and a notice to its address."""

from dataclasses import dataclass

from quart import current_app, has_request_context
from sqlalchemy import Delete, delete
from sqlalchemy.ext.asyncio import AsyncSession

from .. import mail
from ..audit import audit, erasure
from ..db.engine import rowcount
from ..db.models import AccountToken, AuthSession, Throttle, User, utcnow
from ..i18n import _l
from ..mfa.models import Challenge, Passkey, RecoveryCode, TrustedBrowser
from ..throttle import account_keys
from ..web.client import client_address
from . import account_deleted, account_deleting, DeletionRefused, send


def _owned(user: User) -> dict[str, Delete]:
    """quartapp's rows naming the account, by table, deleted before the user row (most would
    cascade, but counting them tells the operator what went)."""
    by_user: dict[str, type[AccountToken | Challenge | RecoveryCode | Passkey | TrustedBrowser]] = {
        "account_tokens": AccountToken,
        "challenges": Challenge,
        "recovery_codes": RecoveryCode,
        "passkeys": Passkey,
        "trusted_browsers": TrustedBrowser,
    }
    return {
        "sessions": delete(AuthSession).where(AuthSession.user_id == user.id),
        # The failed sign-ins counted against the name go with it. The per-recipient mail counters
        # stay until their window ends, or deleting an account and making it again would be a way
        # around the limit on mails to one inbox. Second, as housekeeping deletes sessions, throttles,
        # tokens, challenges, trusted browsers: the two never wait for each other's locks crosswise.
        "throttles": delete(Throttle).where(Throttle.key.in_(account_keys(user.username))),
        **{name: delete(model).where(model.user_id == user.id) for name, model in by_user.items()},
    }


@dataclass(frozen=True)
class Deleted:
    username: str
    pseudonym: str  # what the audit events of the account now name instead
    removed: dict[str, int]  # rows deleted, by table
    pseudonymised: int  # audit events kept, no longer naming the account


async def delete_account(db: AsyncSession, user_id: int, *, via: str) -> Deleted | None:
    """Delete the account and everything naming it, pseudonymise its audit events, and commit.

    None if there is no such account (already deleted by a request a moment before). The name
    and the address are free again at once; the account's sessions end at every worker, whose
    next lookup finds no row.
    """
    user = await db.get(User, user_id)
    if user is None:
        return None
    try:
        await send(account_deleting, db=db, user=user)
    except DeletionRefused:
        await db.rollback()  # whatever the receivers did before one refused
        raise
    removed = {name: await rowcount(db, statement) for name, statement in _owned(user).items()}
    # And, by ON DELETE CASCADE, the application's rows. No row: a deletion at once with this
    # one (a second click, another worker) got there first, and did it all.
    if not await rowcount(db, delete(User).where(User.id == user.id)):
        await db.rollback()
        return None
    until, config = utcnow(), current_app.config
    pseudonymised = await erasure.erase_account(db, config, user.username_key, until)
    await db.commit()

    pseudonym = erasure.pseudonym(config, "username", user.username_key)
    # The record of the deletion names the person no more than the rest: its address is a pseudonym too.
    address = erasure.pseudonym(config, "address", client_address()) if has_request_context() else None
    audit("account.deleted", username_key=pseudonym, address=address, via=via, removed=removed)
    if user.email and user.email_verified:
        # The address is in this object alone now: the notice goes out from it, after the commit.
        mail.send_later("account_deleted", user.email, _l("Your account was deleted"), user=user, when=until)
    try:
        await send(account_deleted, user_id=user.id, username=user.username)
    except Exception:
        # The account is gone for good whatever a receiver does: its owner is still signed out
        # and told so, and the operator sees what the application failed to clean up.
        current_app.logger.exception("an account_deleted receiver failed for user %d", user.id)
    return Deleted(user.username, pseudonym, removed, pseudonymised)
