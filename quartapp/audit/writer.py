"""Audit rows written in batches by one background task per worker, never by the request."""

import asyncio
import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import insert
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from . import erasure
from .models import AuditEvent

log = logging.getLogger(__name__)

BATCH_SIZE = 500  # rows per INSERT; a batch this full is written at once
MAX_PENDING = 20_000  # rows held while the database is away; older ones are left to the log


class AuditWriter:
    """The events of one worker, inserted a batch at a time.

    A request only appends to a list: a sign-in waits for no insert, and a burst of failures
    costs one transaction per batch, not one each. What a crash loses (at most
    AUDIT_FLUSH_INTERVAL of events) is still in the log lines, which are written at once.
    """

    def __init__(self, sessionmaker: Callable[[], AsyncSession], config: Mapping[str, Any]) -> None:
        self.sessionmaker = sessionmaker
        self.config = config
        self.pending: list[dict[str, Any]] = []
        self.lock = asyncio.Lock()
        self.wake = asyncio.Event()
        self.dropped = 0

    def add(self, **row: Any) -> None:
        row["event"] = row["event"][:64]
        row["address"] = (row["address"] or None) and str(row["address"])[:64]
        row["data"] = json.dumps(row["data"], ensure_ascii=False)
        self.pending.append(row)
        self._trim()
        if len(self.pending) >= BATCH_SIZE:
            self.wake.set()

    async def run(self, shutdown: asyncio.Event) -> None:
        """Write every AUDIT_FLUSH_INTERVAL, or as soon as a batch is full, until shutdown."""
        stop = asyncio.ensure_future(shutdown.wait())
        written = True
        try:
            while not stop.done():
                # After a failed write, a full batch waits for the interval too: no retry per event.
                wake = asyncio.ensure_future(self.wake.wait())
                timeout = self.config["AUDIT_FLUSH_INTERVAL"]
                await asyncio.wait([wake, stop] if written else [stop], timeout=timeout, return_when="FIRST_COMPLETED")
                wake.cancel()
                self.wake.clear()
                try:
                    written = await self.flush()
                except Exception:  # a bug here must not end the task: the rows would pile up unwritten
                    log.exception("writing audit events failed; trying again at the next interval")
                    written = False
        finally:
            stop.cancel()

    async def flush(self) -> bool:
        """Insert the pending rows; rows the database cannot take now wait for the next flush.

        False if some are still waiting.
        """
        async with self.lock:
            if self.dropped:
                log.warning("%d audit events were not stored (the database was away); the log has them", self.dropped)
                self.dropped = 0
            while self.pending:
                batch = self.pending[:BATCH_SIZE]
                del self.pending[:BATCH_SIZE]  # detached: rows added meanwhile cannot shift it
                try:
                    await self._insert(batch)
                except (SQLAlchemyError, OSError, TimeoutError) as error:
                    if _transient(error) or not await self._one_by_one(batch):
                        self._put_back(batch)
                        log.warning("audit events not stored yet (%d waiting): %s", len(self.pending), _short(error))
                        return False
                except BaseException:  # cancelled at shutdown, or a bug: the rows stay for the last flush
                    self._put_back(batch)
                    raise
        return True

    async def _insert(self, rows: list[dict[str, Any]]) -> None:
        async with self.sessionmaker() as db:
            await erasure.lock_tombstones(db)
            await db.execute(insert(AuditEvent), rows)
            await erasure.apply_tombstones(db, self.config, (row["username_key"] for row in rows))
            await db.commit()

    async def _one_by_one(self, batch: list[dict[str, Any]]) -> bool:
        """Insert a batch that failed row by row, leaving out only the rows that fail for good.

        False if the database went away meanwhile: the batch is then retried whole.
        """
        for index, row in enumerate(batch):
            try:
                await self._insert([row])
            except (SQLAlchemyError, OSError, TimeoutError) as error:
                if _transient(error):
                    del batch[:index]
                    return False
                log.error("an audit event could not be stored (%s); the log has it", _short(error))
        return True

    def _put_back(self, batch: list[dict[str, Any]]) -> None:
        self.pending[:0] = batch  # back in front, in order, for the next flush
        self._trim()

    def _trim(self) -> None:
        if len(self.pending) > MAX_PENDING:
            self.dropped += len(self.pending) - MAX_PENDING
            del self.pending[: len(self.pending) - MAX_PENDING]


def _transient(error: Exception) -> bool:
    """Whether the database may take the rows later; only a value it refuses (SQLSTATE classes 22,
    data, and 23, integrity) never will. Away, starting up, busy, locked, out of connections, a
    deadlock, a statement timeout: all pass (asyncpg reports most as a bare DBAPIError)."""
    if isinstance(error, DataError | IntegrityError):
        return False
    if isinstance(error, DBAPIError):
        return str(getattr(error.orig, "sqlstate", None) or "")[:2] not in ("22", "23")
    return True


def _short(error: BaseException) -> str:
    if isinstance(error, DBAPIError):
        return str(error.orig).splitlines()[0] if error.orig is not None else type(error).__name__
    return f"{type(error).__name__}: {error}"
