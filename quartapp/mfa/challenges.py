"""Short-lived, single-use server-side state named by a random token in the visitor's session.

A half-finished sign-in (the password was right, a second factor is still to come) and each
WebAuthn ceremony's challenge live here: the cookie holds only the token, the row holds what it
means, and taking a challenge deletes its row, so it works once, at whichever worker.
"""

from datetime import timedelta

from quart import session
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from ..db.engine import rowcount
from ..db.models import utcnow
from ..random_tokens import new_token, token_digest
from .models import Challenge

SIGNIN = "signin"  # password checked; data: "remember" or ""
PASSKEY_SIGNIN = "passkey.signin"  # data: the WebAuthn challenge (base64url)
PASSKEY_AUTOFILL = "passkey.autofill"  # the same, for the request the sign-in page's autofill holds open
PASSKEY_REGISTER = "passkey.register"
SIGNIN_CODE = "signin.code"  # user_id and data (the code's HMAC) set once the code is mailed


async def issue(db: AsyncSession, purpose: str, lifetime: float, *, user_id: int | None = None, data: str = "") -> str:
    """Start purpose for this visitor, replacing one it had; flushed, not committed. Returns the row's id."""
    if (old := session.pop(_name(purpose), None)) is not None:
        await db.execute(delete(Challenge).where(Challenge.id == token_digest(str(old))))
    token, challenge_id = new_token()
    expires_at = utcnow() + timedelta(seconds=lifetime)
    db.add(Challenge(id=challenge_id, purpose=purpose, user_id=user_id, data=data, expires_at=expires_at))
    await db.flush()
    session[_name(purpose)] = token
    return challenge_id


async def current(db: AsyncSession, purpose: str) -> Challenge | None:
    """This visitor's live challenge for purpose, left in place."""
    token = session.get(_name(purpose))
    if not isinstance(token, str):
        return None
    row = await db.get(Challenge, token_digest(token))
    if row is None or row.purpose != purpose or row.expires_at <= utcnow():
        return None
    return row


async def take(db: AsyncSession, purpose: str) -> Challenge | None:
    """Use up this visitor's challenge for purpose: of two requests at once, one gets it."""
    row = await current(db, purpose)
    session.pop(_name(purpose), None)
    if row is None or not await rowcount(db, delete(Challenge).where(Challenge.id == row.id)):
        return None
    return row


async def drop(db: AsyncSession, purpose: str) -> None:
    """Forget this visitor's challenge for purpose, if any."""
    if (token := session.pop(_name(purpose), None)) is not None:
        await db.execute(delete(Challenge).where(Challenge.id == token_digest(str(token))))


async def delete_expired(db: AsyncSession) -> int:
    return await rowcount(db, delete(Challenge).where(Challenge.expires_at <= utcnow()))


def _name(purpose: str) -> str:
    return f"challenge.{purpose}"
