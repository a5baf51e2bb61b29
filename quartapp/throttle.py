import math
from collections.abc import Mapping
from datetime import datetime, timedelta

from quart import current_app
from sqlalchemy import case, ColumnElement, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from .db.engine import rowcount
from .db.models import Throttle, username_key, utcnow
from .i18n import ngettext
from .random_tokens import token_digest
from .web.client import address_network

SECOND_FACTOR = "second-factor"  # the scope of second-factor attempts' counters (quartapp.mfa.factors)
ACCOUNT_SCOPES = ("", SECOND_FACTOR)  # every count kept per account: the password's, the second factor's


def account_keys(username: str) -> list[str]:
    """The keys of every counter kept for the account named username (deleted with the account)."""
    return [_account_key(username, scope) for scope in ACCOUNT_SCOPES]


async def forget_failures(db: AsyncSession, username: str) -> None:
    """Clear an account's failed sign-ins (its owner just proved who they are another way)."""
    await db.execute(delete(Throttle).where(Throttle.key == _account_key(username)))


class Limits:
    """The throttle keys of one sign-in attempt: its account and its client's network.

    The account key comes from the typed name whether or not such an account exists, so
    throttling tells an attacker nothing about which names are real.
    """

    def __init__(self, username: str, address: str, scope: str = "") -> None:
        """scope names a count of its own ("second-factor"); the default is the password's."""
        config = current_app.config
        self.account = _account_key(username, scope)
        self.address = _key(_scoped(scope, f"address:{address_network(address)}"))
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
        # A counter starts over once its window has passed and it has blocked nobody for a
        # whole window: a blocked attacker who keeps trying stays blocked at the cap.
        expired = (Throttle.window_start < fresh) & (
            Throttle.blocked_until.is_(None) | (Throttle.blocked_until < fresh)
        )
        for key, free in self.free.items():
            failures = await _count(db, key, now, expired)
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


async def within_limits(db: AsyncSession, limits: Mapping[str, int], window: timedelta) -> bool:
    """Count one event against each name in limits (name: events allowed per window); True
    if every count is still within its limit.

    The counters are the sign-in throttle's (atomic, shared by every worker), kept for the
    whole window however often housekeeping runs.
    """
    now = utcnow()
    allowed = True
    for name, limit in limits.items():
        count = await _count(db, _key(name), now, Throttle.window_start <= now - window, keep_until=now + window)
        allowed = allowed and count <= limit
    return allowed


async def _count(
    db: AsyncSession, key: str, now: datetime, restart: ColumnElement[bool], keep_until: datetime | None = None
) -> int:
    """Add one to key's counter, starting it over where restart holds; return the new count.

    One upsert, so events arriving at once at several workers are all counted.
    """
    insert = postgresql.insert if db.get_bind().dialect.name == "postgresql" else sqlite.insert
    update_set: dict[str, object] = {
        "failures": case((restart, 1), else_=Throttle.failures + 1),
        "window_start": case((restart, now), else_=Throttle.window_start),
    }
    if keep_until is not None:
        update_set["keep_until"] = case((restart, keep_until), else_=Throttle.keep_until)
    statement = (
        insert(Throttle)
        .values(key=key, failures=1, window_start=now, keep_until=keep_until)
        .on_conflict_do_update(index_elements=[Throttle.key], set_=update_set)
        .returning(Throttle.failures)
    )
    count: int = (await db.execute(statement)).scalar_one()
    return count


def wait_message(seconds: int) -> str:
    """Return "Try again in 45 seconds." (or minutes) for a throttled visitor."""
    if seconds < 120:
        return ngettext("Try again in %(num)d second.", "Try again in %(num)d seconds.", seconds)
    return ngettext("Try again in %(num)d minute.", "Try again in %(num)d minutes.", math.ceil(seconds / 60))


def _key(name: str) -> str:
    return token_digest(name)


def _scoped(scope: str, name: str) -> str:
    return f"{scope}:{name}" if scope else name


def _account_key(username: str, scope: str = "") -> str:
    return _key(_scoped(scope, f"account:{username_key(username)}"))


async def delete_stale(db: AsyncSession) -> int:
    """Delete the counters that the next failure would start over anyway."""
    now = utcnow()
    fresh = now - timedelta(seconds=current_app.config["THROTTLE_WINDOW"])
    statement = delete(Throttle).where(
        Throttle.window_start < fresh,
        Throttle.blocked_until.is_(None) | (Throttle.blocked_until < fresh),
        Throttle.keep_until.is_(None) | (Throttle.keep_until < now),
    )
    return await rowcount(db, statement)


async def mail_allowed(db: AsyncSession, email_key: str, address: str) -> bool:
    """Count one reset or verification mail to email_key asked for from address; True if within the limits.

    Per recipient, so nobody can bomb an inbox; per client network, so nobody can bomb many.
    """
    config = current_app.config
    limits = {
        f"mail-to:{email_key}": config["MAIL_LIMIT_PER_ADDRESS"],
        f"mail-from:{address_network(address)}": config["MAIL_LIMIT_PER_NETWORK"],
    }
    return await within_limits(db, limits, timedelta(seconds=config["MAIL_LIMIT_WINDOW"]))
