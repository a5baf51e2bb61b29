import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from quart import current_app
from sqlalchemy import delete, or_, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from .db import rowcount
from .models import AuthSession, User, USER_AGENT_MAX_LENGTH, utcnow

# Last-seen time, address and browser are written at most this often per session, so a
# busy signed-in visitor costs one write a minute, not one per request.
TOUCH_INTERVAL = timedelta(minutes=1)


def token_hash(token: str) -> str:
    """Return the id under which the session named by a cookie token is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def _lifetimes(remember: bool) -> tuple[timedelta, timedelta]:
    """Return the (absolute, idle) lifetimes of a session."""
    config = current_app.config
    if remember:
        return timedelta(seconds=config["REMEMBER_LIFETIME"]), timedelta(seconds=config["REMEMBER_IDLE_TIMEOUT"])
    return timedelta(seconds=config["SESSION_LIFETIME"]), timedelta(seconds=config["SESSION_IDLE_TIMEOUT"])


async def start(db: AsyncSession, user: User, *, remember: bool, address: str, user_agent: str) -> str:
    """Add a session row for user and return the token that names it (the cookie's auth_id)."""
    # 256 random bits: guessing a live session is hopeless, whatever the number of sessions.
    token = secrets.token_urlsafe(32)
    now = utcnow()
    absolute, _ = _lifetimes(remember)
    db.add(
        AuthSession(
            id=token_hash(token),
            user=user,
            remember=remember,
            created_at=now,
            expires_at=now + absolute,
            last_seen_at=now,
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


def is_live(auth_session: AuthSession | Row[*tuple[Any, ...]], now: datetime) -> bool:
    """Return whether a session is within both its absolute and its idle lifetime."""
    _, idle = _lifetimes(auth_session.remember)
    return auth_session.expires_at > now and auth_session.last_seen_at + idle > now


async def resolve(db: AsyncSession, token: str, *, address: str, user_agent: str) -> SignedIn | None:
    """Return who the live session named by token belongs to, recording its use."""
    # One query of plain columns: every signed-in request runs it, and ORM objects would
    # cost more than the query itself.
    session_id = token_hash(token)
    row = (
        await db.execute(
            select(
                AuthSession.remember,
                AuthSession.expires_at,
                AuthSession.last_seen_at,
                User.id,
                User.username,
                User.username_key,
            )
            .join(User)
            .where(AuthSession.id == session_id)
        )
    ).first()
    now = utcnow()
    if row is None or not is_live(row, now):
        return None
    if now - row.last_seen_at >= TOUCH_INTERVAL:
        await db.execute(
            update(AuthSession)
            .where(AuthSession.id == session_id)
            .values(last_seen_at=now, address=address, user_agent=user_agent[:USER_AGENT_MAX_LENGTH])
        )
        await db.commit()
    return SignedIn(session_id, row.id, row.username, row.username_key)


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
