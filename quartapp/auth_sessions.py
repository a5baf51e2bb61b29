from dataclasses import dataclass
from datetime import datetime, timedelta, UTC
from typing import NamedTuple

from quart import current_app
from sqlalchemy import bindparam, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from .db.engine import get_session, rowcount
from .db.models import AuthSession, User, USER_AGENT_MAX_LENGTH, utcnow
from .db.reader import Reader
from .random_tokens import new_token, token_digest

# Last-seen time, address and browser are written at most this often per session, so a
# busy signed-in visitor costs one write a minute, not one per request.
TOUCH_INTERVAL = timedelta(minutes=1)


def _lifetimes(remember: bool) -> tuple[timedelta, timedelta]:
    """Return the (absolute, idle) lifetimes of a session."""
    config = current_app.config
    if remember:
        return timedelta(seconds=config["REMEMBER_LIFETIME"]), timedelta(seconds=config["REMEMBER_IDLE_TIMEOUT"])
    return timedelta(seconds=config["SESSION_LIFETIME"]), timedelta(seconds=config["SESSION_IDLE_TIMEOUT"])


async def start(db: AsyncSession, user: User, *, remember: bool, address: str, user_agent: str) -> str:
    """Add a session row for user and return the token that names it (the cookie's auth_id)."""
    token, session_id = new_token()
    now = utcnow()
    absolute, _ = _lifetimes(remember)
    db.add(
        AuthSession(
            id=session_id,
            user=user,
            remember=remember,
            created_at=now,
            expires_at=now + absolute,
            last_seen_at=now,
            verified_at=now,
            address=address,
            user_agent=user_agent[:USER_AGENT_MAX_LENGTH],
        )
    )
    await db.flush()
    return token


@dataclass(frozen=True)
class SignedIn:
    """Who a live session belongs to: what a signed-in request needs to know."""

    session_id: str
    user_id: int
    username: str
    username_key: str
    verified_at: datetime  # when this session last proved the password


class _Live(NamedTuple):
    remember: bool
    expires_at: datetime
    last_seen_at: datetime


def is_live(auth_session: AuthSession | _Live, now: datetime) -> bool:
    """Return whether a session is within both its absolute and its idle lifetime."""
    _, idle = _lifetimes(auth_session.remember)
    return auth_session.expires_at > now and auth_session.last_seen_at + idle > now


# Plain columns in one query: every signed-in request runs it, through the Reader.
_RESOLVE = (
    select(
        AuthSession.remember,
        AuthSession.expires_at,
        AuthSession.last_seen_at,
        AuthSession.verified_at,
        User.id,
        User.username,
        User.username_key,
    )
    .join(User)
    # A disabled account's sessions stop at once, even one resolved while it is disabled.
    .where(AuthSession.id == bindparam("session_id"), User.disabled_at.is_(None))
)


def _utc(value: datetime | str) -> datetime:
    # PostgreSQL's rows come through UTCDateTime; SQLite's raw ones are the text it stored.
    return value if isinstance(value, datetime) else datetime.fromisoformat(value).replace(tzinfo=UTC)


async def resolve(reader: Reader, token: str, *, address: str, user_agent: str) -> SignedIn | None:
    """Return who the live session named by token belongs to, recording its use."""
    session_id = token_digest(token)
    row = await reader.first(_RESOLVE, session_id=session_id)
    if row is None:
        return None
    remember, expires_at, last_seen_at, verified_at, user_id, username, key = row
    live = _Live(bool(remember), _utc(expires_at), _utc(last_seen_at))
    now = utcnow()
    if not is_live(live, now):
        return None
    if now - live.last_seen_at >= TOUCH_INTERVAL:
        db = get_session()  # only now: most requests need no database session at all
        await db.execute(
            update(AuthSession)
            .where(AuthSession.id == session_id)
            .values(last_seen_at=now, address=address, user_agent=user_agent[:USER_AGENT_MAX_LENGTH])
        )
        await db.commit()
    return SignedIn(session_id, user_id, username, key, _utc(verified_at))


async def mark_verified(db: AsyncSession, session_id: str, *, at: datetime | None = None) -> None:
    """Record that the session proved the password again: now, unless at says when."""
    await db.execute(update(AuthSession).where(AuthSession.id == session_id).values(verified_at=at or utcnow()))


async def list_for_user(db: AsyncSession, user_id: int) -> list[AuthSession]:
    """Return the user's live sessions, most recently used first."""
    now = utcnow()
    rows = await db.scalars(
        select(AuthSession).where(AuthSession.user_id == user_id).order_by(AuthSession.last_seen_at.desc())
    )
    return [row for row in rows if is_live(row, now)]


async def end(db: AsyncSession, session_id: str, *, user_id: int | None = None) -> bool:
    """Delete one session (only the user's own, when user_id is given); True if it existed."""
    statement = delete(AuthSession).where(AuthSession.id == session_id)
    if user_id is not None:
        statement = statement.where(AuthSession.user_id == user_id)
    return await rowcount(db, statement) > 0


async def end_all(db: AsyncSession, user_id: int, *, keep: str | None = None) -> int:
    """Delete every session of the user but keep (a session id); return how many."""
    statement = delete(AuthSession).where(AuthSession.user_id == user_id)
    if keep is not None:
        statement = statement.where(AuthSession.id != keep)
    return await rowcount(db, statement)


async def delete_expired(db: AsyncSession) -> int:
    """Delete the sessions past their absolute lifetime or their idle timeout."""
    now = utcnow()
    expired = [AuthSession.expires_at <= now]
    for remember in (True, False):
        _, idle = _lifetimes(remember)
        expired.append((AuthSession.remember == remember) & (AuthSession.last_seen_at <= now - idle))
    return await rowcount(db, delete(AuthSession).where(or_(*expired)))
