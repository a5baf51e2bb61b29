import hashlib
import secrets
import unicodedata
from datetime import datetime, timedelta, UTC

from sqlalchemy import DateTime, delete, ForeignKey, MetaData, select, String, TypeDecorator
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

USERNAME_MAX_LENGTH = 32


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime, stored naive so SQLite and PostgreSQL agree."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        return None if value is None else value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Model(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_name)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class User(Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(USERNAME_MAX_LENGTH))
    # The unique key is the case-folded name: SQLite's lower() and NOCASE fold ASCII only, and
    # a database-enforced key is what makes concurrent sign-ups of one name race-free.
    username_key: Mapped[str] = mapped_column(String(4 * USERNAME_MAX_LENGTH), unique=True)
    password_hash: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuthSession(Model):
    """A signed-in browser: the row behind the auth cookie, deleted to sign it out."""

    __tablename__ = "auth_sessions"

    # SHA-256 of the cookie's random token: a copy of this table signs nobody in.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    remember: Mapped[bool]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)

    user: Mapped[User] = relationship(lazy="joined", innerjoin=True)


def normalize_username(username: str) -> str:
    """Return username as stored: NFKC-normalised ("ﬁle" becomes "file") and stripped."""
    return unicodedata.normalize("NFKC", username).strip()


def username_key(username: str) -> str:
    """Return the form of a username that two spellings of one name share ("Straße", "STRASSE")."""
    return unicodedata.normalize("NFKC", normalize_username(username).casefold())


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def get_user_by_username(session: AsyncSession, username: str) -> User | None:
    return await session.scalar(select(User).where(User.username_key == username_key(username)))


async def add_user(session: AsyncSession, username: str, password_hash: str) -> User:
    """Add a user and flush; raises IntegrityError if the name is taken."""
    username = normalize_username(username)
    user = User(username=username, username_key=username_key(username), password_hash=password_hash)
    session.add(user)
    await session.flush()
    return user


async def start_auth_session(
    session: AsyncSession, user: User, *, remember: bool, lifetime: timedelta
) -> str:
    """Add a session row for user and return the token that names it (the cookie's auth_id)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    # Prune the user's expired sessions here, where their table is written anyway.
    await session.execute(
        delete(AuthSession).where(AuthSession.user_id == user.id, AuthSession.expires_at <= now)
    )
    session.add(
        AuthSession(
            id=_token_hash(token), user=user, remember=remember, created_at=now, expires_at=now + lifetime
        )
    )
    await session.flush()
    return token


async def get_auth_session(session: AsyncSession, token: str) -> AuthSession | None:
    """Return the unexpired session named by token, with its user, in one query."""
    return await session.scalar(
        select(AuthSession).where(AuthSession.id == _token_hash(token), AuthSession.expires_at > utcnow())
    )


async def end_auth_session(session: AsyncSession, token: str) -> None:
    await session.execute(delete(AuthSession).where(AuthSession.id == _token_hash(token)))
