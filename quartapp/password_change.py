"""A new password and what must go with it, the same from the password page, a reset link and the CLI."""

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from . import auth_sessions
from .db.models import User
from .mfa import trust
from .recovery import tokens


async def replace_password(db: AsyncSession, user_id: int, new_hash: str, *, keep_session: str | None = None) -> int:
    """Store new_hash as the user's password, end every session but keep_session, void the reset
    links, a pending address change with its link, and every trusted browser; return how many
    sessions ended. Not committed: the caller's transaction decides.
    """
    await db.execute(update(User).where(User.id == user_id).values(password_hash=new_hash))
    # Whoever knew the old password may hold a session, or a reset link mailed before: neither
    # outlives the password it was had with.
    revoked = await auth_sessions.end_all(db, user_id, keep=keep_session)
    await tokens.void(db, user_id, tokens.RESET)
    # Nor an address change asked for with it and not yet verified: its link would still move the
    # account's way back in to whoever asked, after the owner has taken the account back.
    await tokens.drop_pending_address(db, user_id)
    await trust.revoke_all(db, user_id, why="password.changed")
    return revoked
