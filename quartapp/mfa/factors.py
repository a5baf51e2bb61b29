"""What a user's second factors are, taken together."""

from quart_auth import Unauthorized
from sqlalchemy import delete, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ..current_user import signed_in_user
from ..db.engine import get_session
from ..db.models import User
from ..throttle import Limits, SECOND_FACTOR
from ..web.client import client_address
from . import trust
from .models import Passkey, RecoveryCode


async def account() -> User:
    """The signed-in user's row, in a view behind login_required, to read and change its factors."""
    user = await get_session().get(User, (await signed_in_user()).user_id)
    if user is None:  # deleted since its session was resolved a moment ago
        raise Unauthorized()
    return user


async def has_passkeys(db: AsyncSession, user_id: int) -> bool:
    return bool(await db.scalar(select(exists().where(Passkey.user_id == user_id))))


async def needs_second_factor(db: AsyncSession, user: User) -> bool:
    """Whether signing in as user takes more than the password: TOTP is on, or a passkey exists."""
    return user.totp_secret is not None or await has_passkeys(db, user.id)


def attempt_limits(user: User) -> Limits:
    """The throttle of second-factor attempts: counters of their own, which a right password does not clear."""
    return Limits(user.username, client_address(), scope=SECOND_FACTOR)


async def drop_codes_if_unneeded(db: AsyncSession, user_id: int) -> None:
    """Delete the recovery codes once no second factor is left for them to stand in for."""
    totp_on = await db.scalar(select(User.totp_secret.is_not(None)).where(User.id == user_id))
    if not totp_on and not await has_passkeys(db, user_id):
        await db.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))


async def turn_off_totp(db: AsyncSession, user_id: int) -> None:
    statement = update(User).where(User.id == user_id)
    await db.execute(statement.values(totp_secret=None, totp_last_step=None, totp_enabled_at=None))


async def remove_all(db: AsyncSession, user_id: int) -> None:
    """Turn TOTP off and delete the passkeys and recovery codes (an operator's last resort)."""
    await turn_off_totp(db, user_id)
    await db.execute(delete(Passkey).where(Passkey.user_id == user_id))
    await db.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    await trust.revoke_all(db, user_id, why="second_factors.reset")
