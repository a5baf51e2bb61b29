"""Audit rows written in batches by one background task per worker, never by the request."""

import asyncio
import json
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

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

    def __init__(self, sessionmaker: Callable[[], AsyncSession], interval: float) -> None:
        self.sessionmaker = sessionmaker
        self.interval = interval
        self.pending: list[dict[str, Any]] = []
        self.lock = asyncio.Lock()
        self.wake = asyncio.Event()
        self.dropped = 0

    def add(self, **row: Any) -> None:
        row["event"] = row["event"][:64]
        row["address"] = (row["address"] or None) and str(row["address"])[:64]
        row["data"] = json.dumps(row["data"], ensure_ascii=False)
        self.pending.append(row)
        if len(self.pending) > MAX_PENDING:
            del self.pending[0]
            self.dropped += 1
        if len(self.pending) >= BATCH_SIZE:
            self.wake.set()

    def rewrite(self, username_key: str, until: datetime, change: Callable[[dict[str, Any]], None]) -> None:
        """Apply change to the pending rows of username_key stamped until then (an erasure)."""
        for row in self.pending:
            if row["username_key"] == username_key and row["at"] <= until:
                change(row)

    async def run(self, shutdown: asyncio.Event) -> None:
        """Write every interval seconds, or as soon as a batch is full; once more at shutdown."""
        stop = asyncio.ensure_future(shutdown.wait())
        try:
            while not stop.done():
                wake = asyncio.ensure_future(self.wake.wait())
                await asyncio.wait([wake, stop], timeout=self.interval, return_when=asyncio.FIRST_COMPLETED)
                wake.cancel()
                self.wake.clear()
                await self.flush()
        finally:
            stop.cancel()

    async def flush(self) -> None:
        """Insert the pending rows; rows the database cannot take now wait for the next flush."""
        async with self.lock:
            if self.dropped:
                log.warning("%d audit events were not stored (the database was away); the log has them", self.dropped)
                self.dropped = 0
            while self.pending:
                batch = self.pending[:BATCH_SIZE]
                try:
                    async with self.sessionmaker() as db:
                        await db.execute(insert(AuditEvent), batch)
                        await db.commit()
                except (OperationalError, TimeoutError, OSError) as error:
                    # The database is away or busy: keep the rows for the next try.
                    log.warning("audit events not stored yet (%d waiting): %s", len(self.pending), _short(error))
                    return
                except SQLAlchemyError:
                    # Anything else would fail again: the batch is left to the log lines.
                    log.exception("%d audit events could not be stored; the log has them", len(batch))
                del self.pending[: len(batch)]


def _short(error: BaseException) -> str:
    if isinstance(error, DBAPIError):
        return str(error.orig).splitlines()[0] if error.orig is not None else type(error).__name__
    return f"{type(error).__name__}: {error}"
