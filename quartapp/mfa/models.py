from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..db.models import Model, USER_AGENT_MAX_LENGTH, UTCDateTime, utcnow


class RecoveryCode(Model):
    """One of the single-use codes that sign in instead of a second factor."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # SHA-256 of the code: 80 random bits each, so the hash of one cannot be searched back.
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Passkey(Model):
    """A WebAuthn credential registered by a user: its public key and signature counter."""

    __tablename__ = "passkeys"

    id: Mapped[str] = mapped_column(String(1400), primary_key=True)  # credential id, base64url (≤ 1023 bytes)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    sign_count: Mapped[int] = mapped_column(BigInteger)
    transports: Mapped[str | None] = mapped_column(String(255))  # JSON list, as the browser gave it
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Challenge(Model):
    """A short-lived, single-use server-side state: a half-finished sign-in, a mailed code, a WebAuthn challenge."""

    __tablename__ = "challenges"

    # SHA-256 of the random token the visitor's session cookie holds.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    data: Mapped[str] = mapped_column(Text, default="")
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # Wrong answers given so far, for challenges that take a guessable answer (a mailed code).
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")


class TrustedBrowser(Model):
    """A browser whose owner ticked "don't ask again": its sign-ins skip the second step until it expires."""

    __tablename__ = "trusted_browsers"

    # SHA-256 of the random token in the browser's trust cookie.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    address: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(USER_AGENT_MAX_LENGTH))
