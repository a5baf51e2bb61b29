"""Making, mailing and checking sign-in codes.

A code is 8 characters from 31 that cannot be mistaken for one another (no 0/O, 1/I/L): about
2**39.6 values. A code works for SIGNIN_CODE_LIFETIME (10 min) and at most SIGNIN_CODE_ATTEMPTS
(5) wrong entries, in the one browser whose session names its challenge, so a guesser has five
tries at odds of 1 in 8.5 * 10**11 per mail, and mails are limited per address and network.
Six digits would give the same five tries odds of 1 in 200,000 per mail: too close to luck.
"""

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from typing import Any

from quart import current_app
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from .. import mail, throttle
from ..audit import audit
from ..db.engine import get_session, rowcount
from ..db.models import email_key, User
from ..i18n import _l
from ..mfa.models import Challenge

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LENGTH = 8


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def shown(code: str) -> str:
    """The code as mailed: two groups of four, easier to read and to type."""
    return f"{code[:4]}-{code[4:]}"


def typed(value: str) -> str:
    """A code as typed, in any case and with any spaces or dashes, in the form it was made in."""
    return "".join(value.split()).replace("-", "").upper()


def digest(config: Mapping[str, Any], code: str) -> str:
    # Keyed: a copy of the challenges table alone cannot be searched back to the code it holds.
    key = hashlib.sha256(b"quartapp signin code\0" + str(config["SECRET_KEY"]).encode()).digest()
    return hmac.new(key, code.encode(), hashlib.sha256).hexdigest()


async def send(challenge_id: str, address: str, client: str) -> None:
    """Mail a code for the challenge to the account whose verified address this is, if any, within the limits.

    Runs after the answer, so the page, its status and its timing are the same for any address.
    """
    db = get_session()
    key = email_key(address)
    allowed = await throttle.mail_allowed(db, key, client)
    # Only a verified address: an address merely typed proves nothing about whose mailbox it is.
    user = await db.scalar(select(User).where(User.verified_email_key == key))
    reason = "throttled" if not allowed else "unknown" if user is None else "disabled" if user.disabled_at else None
    if user is None or user.email is None or reason is not None:
        await db.commit()
        audit(
            "signin.code_requested",
            username_key=user.username_key if user else None,
            address=client,
            sent=False,
            reason=reason,
        )
        return
    code = new_code()
    # Only a challenge still waiting for its code: a second request from the browser made a new one.
    statement = update(Challenge).where(Challenge.id == challenge_id, Challenge.user_id.is_(None))
    if not await rowcount(db, statement.values(user_id=user.id, data=digest(current_app.config, code))):
        await db.commit()
        return
    await db.commit()
    audit("signin.code_sent", username_key=user.username_key, address=client)
    minutes = current_app.config["SIGNIN_CODE_LIFETIME"] // 60
    message = await mail.compose(
        "signin_code", user.email, _l("Your sign-in code"), user=user, code=shown(code), minutes=minutes
    )
    await mail.deliver(message)


async def check(db: AsyncSession, challenge: Challenge, value: str) -> bool | None:
    """True for the right code, False for a wrong one, None once the code is void (the last try was wrong)."""
    limit = current_app.config["SIGNIN_CODE_ATTEMPTS"]
    # Counted before the comparison, in one conditional UPDATE: entries arriving at once at several
    # workers each take one of the attempts left, and none gets past the last.
    counted = update(Challenge).where(Challenge.id == challenge.id, Challenge.attempts < limit)
    attempts = await db.scalar(counted.values(attempts=Challenge.attempts + 1).returning(Challenge.attempts))
    right = bool(challenge.data) and hmac.compare_digest(challenge.data, digest(current_app.config, typed(value)))
    if attempts is not None and right:
        # Deleting the row makes the code single use: of two right entries at once, one deletes it,
        # and the other finds it spent.
        return True if await rowcount(db, delete(Challenge).where(Challenge.id == challenge.id)) else None
    if attempts is None or attempts >= limit:
        await db.execute(delete(Challenge).where(Challenge.id == challenge.id))
        return None
    return False
