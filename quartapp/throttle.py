import hashlib
import math
from datetime import timedelta

from quart import current_app
from sqlalchemy import case, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from .db import rowcount
from .models import Throttle, username_key, utcnow
from .security import address_network


class Limits:
    """The throttle keys of one sign-in attempt: its account and its client's network.

    The account key comes from the typed name whether or not such an account exists, so
    throttling tells an attacker nothing about which names are real.
    """

    def __init__(self, username: str, address: str) -> None:
        config = current_app.config
        self.account = _key(f"account:{username_key(username)}")
        self.address = _key(f"address:{address_network(address)}")
        self.free = {
            self.account: config["THROTTLE_ACCOUNT_FAILURES"],
            self.address: config["THROTTLE_ADDRESS_FAILURES"],
        }
        self.account_has_failures = False

    async def wait(self, db: AsyncSession) -> int:
        """Return the whole seconds this attempt must wait, 0 if it may go ahead."""
        rows = (await db.execute(select(Throttle.key, Throttle.blocked_until).where(Throttle.key.in_(self.free)))).all()
        self.account_has_failures = any(key == self.account for key, _ in rows)
        now = utcnow()
        waits = [(blocked - now).total_seconds() for _, blocked in rows if blocked is not None and blocked > now]
        return math.ceil(max(waits, default=0))

    async def record_failure(self, db: AsyncSession) -> None:
        """Count a failed attempt against both keys, blocking a key once past its free failures.

        The count is one atomic upsert per key, so failures arriving at once at several
        workers are all counted.
        """
        config = current_app.config
        now = utcnow()
        fresh = now - timedelta(seconds=config["THROTTLE_WINDOW"])
        insert = postgresql.insert if db.get_bind().dialect.name == "postgresql" else sqlite.insert
        # A counter starts over once its window has passed and it has blocked nobody for a
        # whole window: a blocked attacker who keeps trying stays blocked at the cap.
        expired = (Throttle.window_start < fresh) & (
            Throttle.blocked_until.is_(None) | (Throttle.blocked_until < fresh)
        )
        for key, free in self.free.items():
            statement = (
                insert(Throttle)
                .values(key=key, failures=1, window_start=now)
                .on_conflict_do_update(
                    index_elements=[Throttle.key],
                    set_={
                        "failures": case((expired, 1), else_=Throttle.failures + 1),
                        "window_start": case((expired, now), else_=Throttle.window_start),
                    },
                )
                .returning(Throttle.failures)
            )
            failures = (await db.execute(statement)).scalar_one()
            if failures > free:
                # Exponential backoff: each failure past the free ones doubles the wait, up to
                # a cap, so guessing slows to a crawl but the real owner waits minutes at most.
                delay = min(config["THROTTLE_BASE_DELAY"] * 2 ** (failures - free - 1), config["THROTTLE_MAX_DELAY"])
                until = now + timedelta(seconds=delay)
                await db.execute(
                    update(Throttle)
                    .where(Throttle.key == key)
                    .where(Throttle.blocked_until.is_(None) | (Throttle.blocked_until < until))
                    .values(blocked_until=until)
                )

    async def record_success(self, db: AsyncSession) -> None:
        """Forget the account's failures; the address keeps its count."""
        if self.account_has_failures:
            await db.execute(delete(Throttle).where(Throttle.key == self.account))


def wait_message(seconds: int) -> str:
    """Return "Try again in 45 seconds." (or minutes) for a throttled visitor."""
    if seconds < 120:
        return f"Try again in {seconds} second{'' if seconds == 1 else 's'}."
    return f"Try again in {math.ceil(seconds / 60)} minutes."


def _key(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


async def delete_stale(db: AsyncSession) -> int:
    """Delete the counters that the next failure would start over anyway."""
    fresh = utcnow() - timedelta(seconds=current_app.config["THROTTLE_WINDOW"])
    statement = delete(Throttle).where(
        Throttle.window_start < fresh,
        Throttle.blocked_until.is_(None) | (Throttle.blocked_until < fresh),
    )
    return await rowcount(db, statement)
