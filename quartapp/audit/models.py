from datetime import datetime

from sqlalchemy import BigInteger, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..db.models import Model, UTCDateTime

USERNAME_KEY_MAX_LENGTH = 128  # a sign-in may type any length; a record keeps this much of it


class AuditEvent(Model):
    """A security event about an account, kept for its owner's export and the operator's record.

    The JSON log line is the whole record; this table keeps the events that name an account
    (quartapp.audit.stored says which), pseudonymised once the account is deleted.
    """

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    event: Mapped[str] = mapped_column(String(64))
    # The username key typed or signed in with; after the account's deletion, a keyed hash of it.
    username_key: Mapped[str] = mapped_column(String(USERNAME_KEY_MAX_LENGTH), index=True)
    address: Mapped[str | None] = mapped_column(String(64))  # the client's, or its keyed hash
    session_id: Mapped[str | None] = mapped_column(String(64))
    data: Mapped[str] = mapped_column(Text, default="{}")  # the event's other fields, as JSON


class AuditErasure(Model):
    """A deleted account's pseudonym and the moment of its deletion.

    The account's events stamped until then are pseudonymised whenever they are written, by
    whichever worker held them: the writer looks its batch's names up here first.
    """

    __tablename__ = "audit_erasures"

    pseudonym: Mapped[str] = mapped_column(String(64), primary_key=True)
    until: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
