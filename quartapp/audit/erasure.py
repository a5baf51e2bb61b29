"""Pseudonymising a deleted account's audit events, and forgetting old ones.

Why keep them at all: the events about an account are the trail of an attack on it (failed
sign-ins, a new passkey, a changed address); deleting them with the account would let whoever
took it over cover their tracks by deleting it. So they stay for AUDIT_RETENTION_DAYS, but no
longer name the person: the username key and the client address become keyed hashes (HMAC-SHA256
under a key derived from SECRET_KEY), and of the other fields only the ones that name nobody
are kept (ERASED_FIELDS_KEPT). The same value always gives the same pseudonym, so an operator can
still see that one address attacked several accounts, and can ask `quart pseudonym` what a
given name or address became; without the key the hashes cannot be searched back.

A deletion leaves a tombstone (audit_erasures: the pseudonym and the moment), and every batch a
worker writes is checked against the tombstones in the same transaction, so an event stamped
before the deletion is pseudonymised whichever worker held it and however late it is written.
"""

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from ..db.engine import rowcount
from ..db.models import User, utcnow
from ..random_tokens import derived_key
from .models import AuditErasure, AuditEvent

PREFIX = "erased:"  # no username has a colon: an erased key never names a living account
INFO = b"quartapp audit pseudonyms v1"
# Fields of an event that say what happened, not who to: the rest (a passkey's name, which
# may be "Ann's phone", an address's domain, a browser's id) go with the person.
ERASED_FIELDS_KEPT = frozenset(
    {"via", "reason", "remember", "revoked", "others", "count", "remaining", "retry_after", "sent", "disabled"}
    | {"void", "added", "verified", "purpose", "stored", "reported", "removed"}
)
# An event stamped this long after a deletion, about a name nobody has taken since, was still the
# deleted account's: a request of its other session, in flight at another worker.
GRACE = timedelta(minutes=1)


def pseudonyms(config: Mapping[str, Any], kind: str, value: str) -> list[str]:
    """The pseudonyms of value ("username" or "address") under the current key, then the old ones."""
    secrets = [config["SECRET_KEY"], *(config.get("SECRET_KEY_FALLBACKS") or ())]
    return [_pseudonym(derived_key(str(secret), INFO), kind, value) for secret in secrets]


def pseudonym(config: Mapping[str, Any], kind: str, value: str) -> str:
    """The pseudonym of value under the current key."""
    return _pseudonym(derived_key(str(config["SECRET_KEY"]), INFO), kind, value)


def erase_row(config: Mapping[str, Any], row: dict[str, Any]) -> None:
    """Pseudonymise one event (a row's columns as a dict) in place."""
    row["username_key"] = pseudonym(config, "username", row["username_key"])
    if row["address"] and not row["address"].startswith(PREFIX):
        row["address"] = pseudonym(config, "address", row["address"])
    row["session_id"] = None
    fields = json.loads(row["data"] or "{}")
    row["data"] = json.dumps({name: value for name, value in fields.items() if name in ERASED_FIELDS_KEPT})


async def erase_account(db: AsyncSession, config: Mapping[str, Any], username_key: str, until: datetime) -> int:
    """In a deletion's transaction: leave the tombstone, then pseudonymise the stored events; return how many."""
    # The tombstone first: on PostgreSQL its insert waits for every batch being written (which
    # hold a SHARE lock on the table), so the UPDATE below sees their rows.
    alias = pseudonym(config, "username", username_key)
    insert = postgresql.insert if db.get_bind().dialect.name == "postgresql" else sqlite.insert
    # A name deleted before (and signed up with again since) has one already: the later moment covers both.
    statement = insert(AuditErasure).values(pseudonym=alias, until=until)
    await db.execute(statement.on_conflict_do_update(index_elements=[AuditErasure.pseudonym], set_={"until": until}))
    # Up to GRACE after, too: a batch may have slipped in with an event of the account's other
    # session before this waited for the lock, and nobody can take the name until this commits.
    return await _erase(db, config, username_key, until + GRACE)


async def apply_tombstones(db: AsyncSession, config: Mapping[str, Any], keys: Iterable[str]) -> None:
    """After inserting a batch of events with these username keys, in its transaction: pseudonymise
    those of deleted accounts. The caller took lock_tombstones() before inserting."""
    # Under every key (SECRET_KEY_FALLBACKS too): workers restarted onto a new key one at a time
    # must still find the tombstones the others left.
    names = {
        alias: key for key in set(keys) if not key.startswith(PREFIX) for alias in pseudonyms(config, "username", key)
    }
    query = select(AuditErasure.pseudonym, AuditErasure.until).where(AuditErasure.pseudonym.in_(names))
    for alias, until in sorted((await db.execute(query)).all(), key=lambda row: names[row.pseudonym]):
        key = names[alias]
        # Up to GRACE later too, but never into the time of an account made since under the name.
        taken = await db.scalar(select(func.min(User.created_at)).where(User.username_key == key))
        limit = until + GRACE if taken is None else max(until, min(until + GRACE, taken - timedelta(microseconds=1)))
        await _erase(db, config, key, limit)


async def lock_tombstones(db: AsyncSession) -> None:
    """Keep deletions from adding a tombstone until this transaction ends (PostgreSQL; SQLite has one writer)."""
    if db.get_bind().dialect.name == "postgresql":
        await db.execute(text("LOCK TABLE audit_erasures IN SHARE MODE"))


async def _erase(db: AsyncSession, config: Mapping[str, Any], username_key: str, until: datetime) -> int:
    columns = (AuditEvent.id, AuditEvent.username_key, AuditEvent.address, AuditEvent.session_id, AuditEvent.data)
    # In id order: two transactions erasing the same rows lock them in the same order, never crosswise.
    query = (
        select(*columns).where(AuditEvent.username_key == username_key, AuditEvent.at <= until).order_by(AuditEvent.id)
    )
    rows = [row._asdict() for row in await db.execute(query)]
    for row in rows:
        erase_row(config, row)
    if rows:
        await db.execute(update(AuditEvent), rows)  # one UPDATE by primary key, many parameter sets
    return len(rows)


async def delete_old(db: AsyncSession, days: int | None) -> int:
    """Delete the events (and tombstones) older than days (None: kept for ever)."""
    if days is None:
        return 0
    cutoff = utcnow() - timedelta(days=days)
    # A tombstone outlives the events it covers: one older than the retention has none left to cover.
    await db.execute(delete(AuditErasure).where(AuditErasure.until < cutoff))
    return await rowcount(db, delete(AuditEvent).where(AuditEvent.at < cutoff))


def _pseudonym(key: bytes, kind: str, value: str) -> str:
    return PREFIX + hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()[:32]
