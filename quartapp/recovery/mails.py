from quart import current_app
from sqlalchemy import select

from .. import mail, throttle
from ..audit import audit
from ..db.engine import get_session
from ..db.models import email_key, User
from ..i18n import _l
from ..web.client import client_address
from . import tokens


def schedule_verification(user_id: int) -> None:
    """Mail a verification link to the user's address after the response (see send_verification)."""
    current_app.add_background_task(send_verification, user_id, client_address())


async def send_verification(user_id: int, address: str) -> None:
    """Mail a link that verifies the user's pending or unverified address, within the mail limits."""
    db = get_session()
    user = await db.get(User, user_id)
    if user is None or user.disabled_at or (to_verify := user.address_to_verify()) is None:
        return
    to, key = to_verify
    if not await throttle.mail_allowed(db, key, address):
        await db.commit()
        audit("mail.throttled", username_key=user.username_key, address=address, purpose=tokens.VERIFY)
        return
    token = await tokens.issue(db, user, tokens.VERIFY, key, current_app.config["VERIFY_TOKEN_LIFETIME"])
    await db.commit()
    audit("email.verification_sent", username_key=user.username_key, address=address, domain=to.rpartition("@")[2])
    link = mail.external_url("verification.verify", token=token)
    await mail.deliver(await mail.compose("verify", to, _l("Verify your email address"), link, user=user, address=to))


async def send_reset(address: str, client: str) -> None:
    """Mail a reset link to each enabled account with this address, within the mail limits."""
    db = get_session()
    key = email_key(address)
    allowed = await throttle.mail_allowed(db, key, client)
    # An account that verified the address is its only owner; failing that, the accounts that
    # typed it (a reset link proves the address, and is otherwise their only way back in).
    users = list(await db.scalars(select(User).where(User.verified_email_key == key)))
    users = users or list(await db.scalars(select(User).where(User.email_key == key)))
    if not users or not allowed:
        await db.commit()
        audit("reset.requested", address=client, sent=False, reason="throttled" if not allowed else "unknown")
        return
    mails = []
    for user in users:
        if user.disabled_at is not None or user.email is None:
            audit("reset.requested", username_key=user.username_key, address=client, sent=False, reason="disabled")
            continue
        token = await tokens.issue(db, user, tokens.RESET, key, current_app.config["RESET_TOKEN_LIFETIME"])
        link = mail.external_url("recovery.reset_link", token=token)
        minutes = current_app.config["RESET_TOKEN_LIFETIME"] // 60
        # To the stored address, never the typed one: a look-alike spelling (Django's
        # CVE-2019-19844) cannot redirect an account's reset link to someone else's mailbox.
        mails.append(
            await mail.compose("reset", user.email, _l("Reset your password"), link, user=user, minutes=minutes)
        )
        audit("reset.requested", username_key=user.username_key, address=client, sent=True)
    await db.commit()
    for message in mails:
        await mail.deliver(message)
