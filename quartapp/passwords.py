import asyncio
import contextlib
import math
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import bcrypt
from quart import current_app, Quart, render_template, Response
from werkzeug.exceptions import ServiceUnavailable

# bcrypt reads at most 72 bytes and bcrypt 5 raises beyond that; longer passwords are refused
# at sign-up rather than silently truncated, so no two passwords can share one hash.
MAX_PASSWORD_BYTES = 72

T = TypeVar("T")


class Overloaded(ServiceUnavailable):
    description = "Too many people are signing in right now. Please try again in a moment."


class Hasher:
    """bcrypt behind a bounded thread pool, so hashing never blocks the event loop."""

    def __init__(self, threads: int, queue_limit: int, rounds: int, niceness: int) -> None:
        self.pool = ThreadPoolExecutor(threads, "bcrypt", initializer=_lower_priority, initargs=(niceness,))
        self.threads = threads
        self.capacity = threads + queue_limit
        self.pending = 0  # submitted and not yet finished
        self.rounds = rounds
        self.dummy_hash = b""
        self.seconds_per_hash = 0.0
        self.refusal_page = ""

    def full(self) -> bool:
        """Return whether the pool has more work queued than it can start soon."""
        return self.pending >= self.capacity

    def retry_after(self) -> int:
        """Seconds until the work queued now is done, at least 1."""
        return max(1, math.ceil(self.capacity / self.threads * self.seconds_per_hash))

    def admit(self) -> None:
        """Raise Overloaded if the pool is full."""
        # Admission control: past that point a sign-in is refused in microseconds instead of
        # queueing for seconds while its client times out and retries.
        if self.full():
            raise Overloaded(retry_after=self.retry_after())

    def refusal(self) -> Response:
        """The 503 page for a hashing form submitted while the pool is full."""
        return Response(self.refusal_page, 503, {"Retry-After": str(self.retry_after())}, mimetype="text/html")

    async def run(self, func: Callable[..., T], *args: object) -> T:
        """Run func in the pool, or raise Overloaded at once if the queue is full."""
        self.admit()
        self.pending += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self.pool, func, *args)
        finally:
            self.pending -= 1


def _lower_priority(niceness: int) -> None:
    # Niceness is per thread on Linux: the hashing threads give way to the event loop, so
    # pages stay fast during a sign-in flood, yet take every CPU cycle nothing else wants.
    # Elsewhere (no setpriority, or not allowed) hashing at normal priority is still correct.
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)


def init_app(app: Quart) -> None:
    """Own the bcrypt thread pool for the app's serving lifetime."""

    @app.before_serving
    async def start_hasher() -> None:
        # bcrypt releases the GIL, so one thread per core hashes in parallel; more threads
        # would only queue inside the OS instead of in the pool.
        threads = app.config["HASH_WORKERS"] or os.cpu_count() or 1
        queue_limit = app.config["HASH_QUEUE_LIMIT"]
        hasher = Hasher(
            threads,
            2 * threads if queue_limit is None else queue_limit,
            app.config["BCRYPT_ROUNDS"],
            app.config["HASH_NICENESS"],
        )
        # Unknown usernames are checked against this hash, made at the configured cost, so
        # they take as long as a wrong password and do not reveal which names exist.
        started = time.perf_counter()
        hasher.dummy_hash = await hasher.run(_hash, b"not a password", hasher.rounds)
        hasher.seconds_per_hash = time.perf_counter() - started
        async with app.test_request_context("/signin"):
            hasher.refusal_page = await render_template("error.html", error=Overloaded())
        app.extensions["hasher"] = hasher

    @app.after_serving
    async def stop_hasher() -> None:
        app.extensions.pop("hasher").pool.shutdown(wait=True, cancel_futures=True)


def _hash(password: bytes, rounds: int) -> bytes:
    return bcrypt.hashpw(password, bcrypt.gensalt(rounds))


def _check(password: bytes, password_hash: bytes) -> bool:
    try:
        return bcrypt.checkpw(password, password_hash)
    except ValueError:  # a malformed stored hash signs nobody in
        return False


# The forms whose submission costs a bcrypt run.
HASHING_FORMS = frozenset({"/signin", "/signup", "/password"})


def admit() -> None:
    """Raise Overloaded now if the hash queue is full, before the request costs anything else."""
    current_app.extensions["hasher"].admit()


def needs_rehash(password_hash: str) -> bool:
    """Return whether a stored hash was made at another cost than the configured one."""
    hasher: Hasher = current_app.extensions["hasher"]
    try:
        return int(password_hash.split("$")[2]) != hasher.rounds
    except (IndexError, ValueError):
        return False  # not a bcrypt hash we can read: leave it to verify_password


def password_too_long(password: str) -> bool:
    return len(password.encode()) > MAX_PASSWORD_BYTES


async def hash_password(password: str) -> str:
    """Return the bcrypt hash of password at the configured cost."""
    hasher: Hasher = current_app.extensions["hasher"]
    return (await hasher.run(_hash, password.encode(), hasher.rounds)).decode()


async def verify_password(password: str, password_hash: str | None) -> bool:
    """Return whether password matches password_hash, at the same cost whatever the answer.

    A missing hash (no such user) or an over-long password is checked against the dummy
    hash, so every failure spends one full bcrypt check.
    """
    hasher: Hasher = current_app.extensions["hasher"]
    if password_hash is None or password_too_long(password):
        await hasher.run(_check, b"not the password", hasher.dummy_hash)
        return False
    return await hasher.run(_check, password.encode(), password_hash.encode())
