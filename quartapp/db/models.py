import re
import unicodedata
from collections.abc import Callable
from datetime import datetime, UTC

from sqlalchemy import BigInteger, DateTime, ForeignKey, MetaData, select, String, TypeDecorator
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

USERNAME_MAX_LENGTH = 32
USERNAME_PATTERN = re.compile(r"[\w.-]+")
USER_AGENT_MAX_LENGTH = 256
LANGUAGE_MAX_LENGTH = 35  # a BCP 47 tag as most systems bound it (RFC 5646 section 4.4.1)
EMAIL_MAX_LENGTH = 254  # RFC 5321's limit on a forward path, less its angle brackets


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime, stored naive so SQLite and PostgreSQL agree."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        return None if value is None else value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def system_time() -> datetime:
    return datetime.now(UTC)


# Where the time comes from. Every module asks utcnow(), which reads this at each call, so a
# test that replaces it (the `clock` fixture) moves the time for all of them at once.
time_source: Callable[[], datetime] = system_time


def utcnow() -> datetime:
    return time_source()


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
    # SQLite's AUTOINCREMENT: a deleted account's id is never reused (PostgreSQL's sequence never does).
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(USERNAME_MAX_LENGTH))
    # The unique key is the case-folded name: SQLite's lower() and NOCASE fold ASCII only, and
    # a database-enforced key is what makes concurrent sign-ups of one name race-free.
    username_key: Mapped[str] = mapped_column(String(4 * USERNAME_MAX_LENGTH), unique=True)
    password_hash: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The address as typed (normalised); mail is only ever sent to this stored spelling.
    email: Mapped[str | None] = mapped_column(String(EMAIL_MAX_LENGTH))
    email_key: Mapped[str | None] = mapped_column(String(4 * EMAIL_MAX_LENGTH), index=True)
    # Set, to email_key, only once a link sent to the address came back: unique among verified
    # addresses, so typing someone else's address claims nothing (NULLs never collide).
    verified_email_key: Mapped[str | None] = mapped_column(String(4 * EMAIL_MAX_LENGTH), unique=True)
    # A new address for an account whose address is verified waits here until a link mailed to
    # it comes back; until then the verified address keeps receiving resets and notices.
    pending_email: Mapped[str | None] = mapped_column(String(EMAIL_MAX_LENGTH))
    pending_email_key: Mapped[str | None] = mapped_column(String(4 * EMAIL_MAX_LENGTH))
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Second factors (quartapp/mfa): the TOTP secret sealed by mfa/secretbox.py, the last time
    # step a code was accepted for (a code works once), and the random WebAuthn user handle.
    totp_secret: Mapped[str | None] = mapped_column(String(255))
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # for the account's export
    webauthn_handle: Mapped[str | None] = mapped_column(String(64), unique=True)
    # The language its mails are written in: the page's at sign-up, then the owner's pick.
    language: Mapped[str | None] = mapped_column(String(LANGUAGE_MAX_LENGTH))

    @property
    def email_verified(self) -> bool:
        return self.verified_email_key is not None and self.verified_email_key == self.email_key

    def address_to_verify(self) -> tuple[str, str] | None:
        """The address a verification link is for, with its key: a pending change, else an unverified address."""
        if self.pending_email is not None and self.pending_email_key is not None:
            return self.pending_email, self.pending_email_key
        if self.email is not None and self.email_key is not None and not self.email_verified:
            return self.email, self.email_key
        return None


class AuthSession(Model):
    """A signed-in browser: the row behind the auth cookie, deleted to sign it out."""

    __tablename__ = "auth_sessions"

    # SHA-256 of the cookie's random token: a copy of this table signs nobody in.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    remember: Mapped[bool]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When this session last proved the password: at sign-in, then on each re-authentication.
    verified_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    address: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(USER_AGENT_MAX_LENGTH))

    user: Mapped[User] = relationship(lazy="joined", innerjoin=True)


class Throttle(Model):
    """Failed sign-ins counted for one account or one client address, shared by all workers."""

    __tablename__ = "throttles"

    # SHA-256 of "account:<username key>" or "address:<network>": fixed length, and the
    # table does not list who was attacked from where.
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int]
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Counters with a window longer than the sign-in one (mail limits) are kept until then.
    keep_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AccountToken(Model):
    """A single-use link sent by mail: a password reset or an address verification."""

    __tablename__ = "account_tokens"

    # SHA-256 of the link's random token: a copy of this table opens no account.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(16))
    # The address the link went to: a link is worth nothing once the account's address changed.
    email_key: Mapped[str] = mapped_column(String(4 * EMAIL_MAX_LENGTH))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(lazy="joined", innerjoin=True)


def normalize_username(username: str) -> str:
    """Return username as stored: NFKC-normalised ("ﬁle" becomes "file") and stripped."""
    return unicodedata.normalize("NFKC", username).strip()


def username_key(username: str) -> str:
    """Return the form of a username that two spellings of one name share ("Straße", "STRASSE")."""
    return unicodedata.normalize("NFKC", normalize_username(username).casefold())


def is_valid_username(username: str) -> bool:
    """Return whether username follows the rules every stored name was made under."""
    return len(username) <= USERNAME_MAX_LENGTH and USERNAME_PATTERN.fullmatch(username) is not None


def email_key(address: str) -> str:
    """Return the form of an address that two spellings of it share ("Ann@Example.org")."""
    return unicodedata.normalize("NFKC", address).casefold()


async def get_user_by_username(session: AsyncSession, username: str) -> User | None:
    """Return the user named username in any case, or None."""
    # No stored name breaks the rules, so a name that does (a NUL byte, which PostgreSQL
    # refuses to compare, or 10,000 characters) needs no query to be unknown.
    if not is_valid_username(normalize_username(username)):
        return None
    return await session.scalar(select(User).where(User.username_key == username_key(username)))


async def add_user(
    session: AsyncSession, username: str, password_hash: str, email: str | None = None, language: str | None = None
) -> User:
    """Add a user (with an unverified address, if given) and flush; IntegrityError if the name is taken."""
    username = normalize_username(username)
    user = User(
        username=username,
        username_key=username_key(username),
        password_hash=password_hash,
        email=email,
        email_key=email_key(email) if email else None,
        language=language,
    )
    session.add(user)
    await session.flush()
    return user
