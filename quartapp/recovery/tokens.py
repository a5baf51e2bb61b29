from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ..db.engine import rowcount
from ..db.models import AccountToken, User, utcnow
from ..random_tokens import new_token, token_digest

RESET = "reset"
VERIFY = "verify"


async def issue(db: AsyncSession, user: User, purpose: str, email_key: str, lifetime: float) -> str:
    """Void the user's outstanding tokens for purpose, add a new one and return it (the link's secret)."""
    # Only the newest link works: a mailbox read later cannot replay an older one.
    await void(db, user.id, purpose)
    # Random, not an HMAC of account state: nothing to forge, and the row makes it single-use
    # and revocable on its own, whatever else about the account changes.
    token, token_id = new_token()
    now = utcnow()
    db.add(
        AccountToken(
            id=token_id,
            user_id=user.id,
            purpose=purpose,
            email_key=email_key,
            created_at=now,
            expires_at=now + timedelta(seconds=lifetime),
        )
    )
    await db.flush()
    return token


async def find(db: AsyncSession, token: str, purpose: str, *, usable: bool = True) -> AccountToken | None:
    """Return the token's row (with its user) if it exists for purpose, and, if usable, is unused and unexpired."""
    statement = select(AccountToken).where(AccountToken.id == token_digest(token), AccountToken.purpose == purpose)
    if usable:
        statement = statement.where(AccountToken.used_at.is_(None), AccountToken.expires_at > utcnow())
    return await db.scalar(statement)


async def consume(db: AsyncSession, token: str, purpose: str) -> bool:
    """Mark the token used if it still is usable; True for exactly one caller, however many race."""
    # One conditional UPDATE decides, inside the caller's transaction: of two requests with
    # the same link only one matches the row, as the database serialises writes to it.
    statement = (
        update(AccountToken)
        .where(
            AccountToken.id == token_digest(token),
            AccountToken.purpose == purpose,
            AccountToken.used_at.is_(None),
            AccountToken.expires_at > utcnow(),
        )
        .values(used_at=utcnow())
    )
    return await rowcount(db, statement) == 1


async def void(db: AsyncSession, user_id: int, purpose: str | None = None) -> int:
    """Delete the user's unused tokens (for purpose, or all); return how many."""
    statement = delete(AccountToken).where(AccountToken.user_id == user_id, AccountToken.used_at.is_(None))
    if purpose is not None:
        statement = statement.where(AccountToken.purpose == purpose)
    return await rowcount(db, statement)


async def drop_pending_address(db: AsyncSession, user_id: int) -> bool:
    """Forget the user's address change waiting for its verification, and void its link; False if none was."""
    statement = update(User).where(User.id == user_id, User.pending_email_key.is_not(None))
    if not await rowcount(db, statement.values(pending_email=None, pending_email_key=None)):
        return False
    await void(db, user_id, VERIFY)
    return True


async def delete_expired(db: AsyncSession) -> int:
    """Delete the tokens past their expiry, used or not."""
    return await rowcount(db, delete(AccountToken).where(AccountToken.expires_at <= utcnow()))
