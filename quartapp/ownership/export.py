"""What the app holds about an account, as one JSON document its owner can take away.

Never in it: the password hash, the TOTP secret, recovery codes, passkeys' keys and ids, the
WebAuthn user handle, session and link tokens or their hashes. Whoever gets hold of a
downloaded file learns about the account, but can neither sign in with it nor tell which
session is which.
"""

import json
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from .. import auth_sessions
from ..audit import erasure, write_pending
from ..audit.models import AuditEvent
from ..db.models import User, utcnow
from ..mfa import trust
from ..mfa.models import Passkey, RecoveryCode
from . import account_exporting, send

FORMAT = "quartapp-account-export/1"
# An event's details as its owner may see them: what happened, and the passkey's name and the
# address's domain; not a trust cookie's hash, nor the operator's own notes (a disabled account).
EXPORTED_DETAILS = (erasure.ERASED_FIELDS_KEPT - {"disabled"}) | {"name", "domain"}


async def export_account(db: AsyncSession, user: User, *, current_session: str) -> dict[str, Any]:
    """The export of user's account, with the sections the application's receivers add."""
    await write_pending()  # this worker's latest events, this very sign-in's among them
    document: dict[str, Any] = {
        "format": FORMAT,
        "exported_at": _time(utcnow()),
        "profile": {
            "username": user.username,
            "created_at": _time(user.created_at),
            "email": user.email,
            "email_verified": user.email_verified,
            "pending_email": user.pending_email,  # a new address waiting for its link to come back
        },
        "sessions": [
            {
                "created_at": _time(s.created_at),
                "last_used_at": _time(s.last_seen_at),
                "expires_at": _time(s.expires_at),
                "address": s.address,
                "user_agent": s.user_agent,
                "remember_me": s.remember,
                "current": s.id == current_session,
            }
            for s in await auth_sessions.list_for_user(db, user.id)
        ],
        "trusted_browsers": [
            {
                "created_at": _time(t.created_at),
                "last_used_at": _time(t.last_used_at),
                "expires_at": _time(t.expires_at),
                "address": t.address,
                "user_agent": t.user_agent,
            }
            for t in await trust.list_for_user(db, user.id)
        ],
        "passkeys": [
            {"name": p.name, "created_at": _time(p.created_at), "last_used_at": _time(p.last_used_at)}
            for p in await db.scalars(select(Passkey).where(Passkey.user_id == user.id).order_by(Passkey.created_at))
        ],
        "second_factors": await _second_factors(db, user),
        "audit_events": await _events(db, user),
    }
    own = set(document)
    for receiver, sections in await send(account_exporting, db=db, user=user):
        sections = sections or {}  # a receiver with nothing to add may return None
        if clash := own & set(sections):
            raise ValueError(f"{receiver!r} exports sections named like quartapp's own: {sorted(clash)}")
        document |= sections
    return document


async def _second_factors(db: AsyncSession, user: User) -> dict[str, Any]:
    unused = func.count(RecoveryCode.id).filter(RecoveryCode.used_at.is_(None))
    query = select(unused, func.max(RecoveryCode.created_at)).where(RecoveryCode.user_id == user.id)
    left, made = (await db.execute(query)).one()
    return {
        "totp": {"on": user.totp_secret is not None, "since": _time(user.totp_enabled_at)},
        "recovery_codes": {"left": left, "made_at": _time(made)},
    }


async def _events(db: AsyncSession, user: User) -> list[dict[str, Any]]:
    """The stored audit events of the account: its name's since the account was made."""
    query = (
        select(AuditEvent)
        .where(AuditEvent.username_key == user.username_key, AuditEvent.at >= user.created_at)
        .order_by(AuditEvent.at, AuditEvent.id)
    )
    return [
        {"time": _time(e.at), "event": e.event, "address": e.address, "details": _details(e.data)}
        for e in await db.scalars(query)
    ]


def _details(data: str) -> dict[str, Any]:
    return {name: value for name, value in json.loads(data).items() if name in EXPORTED_DETAILS}


def _time(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat(timespec="seconds")
