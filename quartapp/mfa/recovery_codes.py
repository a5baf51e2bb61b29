"""Recovery codes: ten single-use codes that sign in instead of a second factor, shown once."""

import secrets

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ..audit import audit
from ..db.engine import rowcount
from ..db.models import User, utcnow
from ..random_tokens import token_digest
from .models import RecoveryCode
from .notices import notify

COUNT = 10
ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read off paper without doubt


def _normalized(code: str) -> str:
    return "".join(code.lower().split()).replace("-", "")


def looks_like_code(code: str) -> bool:
    """Whether code has a recovery code's 16 letters and digits (any case, spaces or dashes)."""
    return len(_normalized(code)) == 16


async def renew(db: AsyncSession, user_id: int) -> list[str]:
    """Replace the user's codes with COUNT new ones and return them (the only time they are shown)."""
    await db.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    # 16 characters of 31: 79 bits each, so the stored SHA-256 cannot be searched back.
    codes = ["-".join("".join(secrets.choice(ALPHABET) for _ in range(4)) for _ in range(4)) for _ in range(COUNT)]
    db.add_all(RecoveryCode(user_id=user_id, code_hash=token_digest(_normalized(code))) for code in codes)
    await db.flush()
    return codes


async def use(db: AsyncSession, user_id: int, code: str) -> bool:
    """Spend one of the user's unused codes: one conditional UPDATE, so a code works once."""
    if not _normalized(code):
        return False
    statement = (
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user_id,
            RecoveryCode.code_hash == token_digest(_normalized(code)),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=utcnow())
    )
    return await rowcount(db, statement) == 1


async def remaining(db: AsyncSession, user_id: int) -> int:
    statement = select(func.count()).where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))
    return int(await db.scalar(statement) or 0)


async def after_use(db: AsyncSession, user: User) -> None:
    left = await remaining(db, user.id)
    audit("recovery_code.used", username_key=user.username_key, remaining=left)
    notify(user, "recovery_code.used", remaining=left)
