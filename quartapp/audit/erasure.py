"""Pseudonymising a deleted account's audit events, and forgetting old ones.

Why keep them at all: the events about an account are the trail of an attack on it (failed
sign-ins, a new passkey, a changed address); deleting them with the account would let whoever
took it over cover their tracks by deleting it. So they stay for AUDIT_RETENTION_DAYS, but no
longer name the person: the username key and the client address become keyed hashes (HMAC-SHA256
under a key derived from SECRET_KEY), and of the other fields only the ones that name nobody
are kept (ERASED_FIELDS_KEPT). The same value always gives the same pseudonym, so an operator can
still see that one address attacked several accounts, and can ask `quart pseudonym` what a
given name or address became; without the key the hashes cannot be searched back.
"""

import asyncio
import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from quart import current_app, Quart
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ..db.engine import get_session, rowcount
from ..db.models import utcnow
from .models import AuditEvent

PREFIX = "erased:"  # no username key has a colon: an erased key never names a living account
INFO = b"quartapp audit pseudonyms v1"
# Fields of an event that say what happened, not who to: the rest (a passkey's name, which
# may be "Ann's phone", an address's domain, a browser's id) go with the person.
ERASED_FIELDS_KEPT = frozenset(
    {"via", "reason", "remember", "revoked", "others", "count", "remaining", "retry_after", "sent", "disabled"}
    | {"void", "added", "verified", "purpose", "stored", "reported"}
)


def pseudonyms(config: Mapping[str, Any], kind: str, value: str) -> list[str]:
    """The pseudonyms of value ("username" or "address") under the current key, then the old ones."""
    secrets = [config["SECRET_KEY"], *(config.get("SECRET_KEY_FALLBACKS") or ())]
    return [_pseudonym(_derive(str(secret).encode()), kind, value) for secret in secrets]


def pseudonym(config: Mapping[str, Any], kind: str, value: str) -> str:
    """The pseudonym of value under the current key."""
    return _pseudonym(_derive(str(config["SECRET_KEY"]).encode()), kind, value)


def erase_row(config: Mapping[str, Any], row: dict[str, Any]) -> None:
    """Pseudonymise one event (a row's columns as a dict) in place."""
    row["username_key"] = pseudonym(config, "username", row["username_key"])
    if row["address"] and not row["address"].startswith(PREFIX):
        row["address"] = pseudonym(config, "address", row["address"])
    row["session_id"] = None
    fields = json.loads(row["data"] or "{}")
    row["data"] = json.dumps({name: value for name, value in fields.items() if name in ERASED_FIELDS_KEPT})


async def erase(db: AsyncSession, username_key: str, until: datetime) -> int:
    """Pseudonymise the stored events of username_key up to until (not committed); return how many."""
    columns = (AuditEvent.id, AuditEvent.username_key, AuditEvent.address, AuditEvent.session_id, AuditEvent.data)
    query = select(*columns).where(AuditEvent.username_key == username_key, AuditEvent.at <= until)
    rows = [row._asdict() for row in await db.execute(query)]
    for row in rows:
        erase_row(current_app.config, row)
    if rows:
        await db.execute(update(AuditEvent), rows)  # one UPDATE by primary key, many parameter sets
    return len(rows)


def erase_stragglers(app: Quart, username_key: str, until: datetime) -> None:
    """After erase() committed: pseudonymise the events stamped until then that were not yet written.

    This worker's are rewritten in memory now. Another worker may hold some for up to
    AUDIT_FLUSH_INTERVAL, and this one may have been writing a batch meanwhile: a second pass
    runs once they are all written.
    """
    writer = app.extensions.get("audit_writer")
    if writer is not None:
        writer.rewrite(username_key, until, lambda row: erase_row(app.config, row))

    async def again() -> None:
        await asyncio.sleep(3 * app.config["AUDIT_FLUSH_INTERVAL"])
        async with app.app_context():
            db = get_session()
            await erase(db, username_key, until)
            await db.commit()

    app.add_background_task(again)


async def delete_old(db: AsyncSession) -> int:
    """Delete the events older than AUDIT_RETENTION_DAYS (None: kept for ever)."""
    days = current_app.config["AUDIT_RETENTION_DAYS"]
    if days is None:
        return 0
    return await rowcount(db, delete(AuditEvent).where(AuditEvent.at < utcnow() - timedelta(days=days)))


def _derive(secret: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=INFO).derive(secret)


def _pseudonym(key: bytes, kind: str, value: str) -> str:
    return PREFIX + hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()[:32]
