from datetime import datetime

from quart_security import UserMixin
from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class User(Base, UserMixin):
    """The fields quart-security's login needs, and those its trackable default writes at each sign-in."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    # Its login identifies accounts by email, stored lowercase (it lowercases what is typed).
    email: Mapped[str] = mapped_column(String(255), unique=True)
    password: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool]
    # What its session state names the user by; rotated to sign every session out.
    fs_uniquifier: Mapped[str] = mapped_column(String(64), unique=True)
    # The lockout: SECURITY_LOGIN_MAX_ATTEMPTS (5) failures lock the account for SECURITY_LOCKOUT_MINUTES (15).
    failed_login_count: Mapped[int]
    locked_until: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    current_login_at: Mapped[datetime | None]
    last_login_ip: Mapped[str | None] = mapped_column(String(64))
    current_login_ip: Mapped[str | None] = mapped_column(String(64))
    login_count: Mapped[int]
