import asyncio
import collections
import contextlib
import math
import os
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from typing import TypeVar

from quart import Response
from werkzeug.exceptions import ServiceUnavailable

from .i18n import _l

T = TypeVar("T")

# How much each finished hash moves the estimate of how long one takes.
SMOOTHING = 0.2


class Overloaded(ServiceUnavailable):
    description = _l("Too many people are signing in right now. Please try again in a moment.")


class Hasher:
    """A bounded thread pool for password hashing, with admission control by waiting time.

    A hash is admitted while the wait it would have before a thread takes it stays within
    max_wait seconds, estimated from how long recent hashes took: the queue is as long as the
    machine can clear in that time, whatever the cost setting or the load on its cores.
    """

    def __init__(self, threads: int, max_wait: float, patience: float, niceness: int) -> None:
        self.pool = ThreadPoolExecutor(threads, "bcrypt", initializer=_lower_priority, initargs=(niceness,))
        self.threads = threads
        self.max_wait = max_wait
        self.patience = patience
        self.pending = 0  # submitted (or holding a place) and not yet finished
        self.seconds_per_hash = 0.0
        self.refusal_pages: dict[str, str] = {}  # by language
        self._room = asyncio.Condition()
        self._waiting: collections.deque[float] = collections.deque()  # when each queued hash came

    def wait(self, pending: int) -> float:
        """Seconds a hash submitted behind pending others waits before a thread starts it."""
        ahead = pending - self.threads + 1
        return max(0, ahead) / self.threads * self.seconds_per_hash

    def full(self) -> bool:
        """Return whether a hash submitted now would wait longer than max_wait."""
        if self.pending < self.threads:
            return False
        # The estimate follows hashes that have finished; a queue whose oldest hash has already
        # waited max_wait (the cores taken by the event loops, say) is full whatever it says.
        waiting = self._waiting
        return self.wait(self.pending) > self.max_wait or bool(
            waiting and time.monotonic() - waiting[0] > self.max_wait
        )

    def retry_after(self) -> int:
        """Whole seconds until the hashes admitted now are done, at least 1."""
        return max(1, math.ceil(self.pending / self.threads * self.seconds_per_hash))

    def admit(self) -> None:
        """Raise Overloaded if the queue is full; within a hashing form's request, take a place in it.

        The place is the request's first hash's, or given back when the request ends: forms held
        for room that find it together do not all go on to ask the database and pay for a
        check most of them would then be refused.
        """
        # Admission control: past that point a sign-in is refused at once instead of queueing
        # for longer than anybody waits, while its client times out and tries again.
        place = _place.get()
        if place is not None and place[0]:
            return
        self._refuse_if_full()
        if place is not None:
            self.pending += 1
            place[0] = True

    def _refuse_if_full(self) -> None:
        if self.full():
            raise Overloaded(retry_after=self.retry_after())

    @contextlib.asynccontextmanager
    async def places(self) -> AsyncIterator[None]:
        """Run a hashing form's request: a place admit() takes in the queue is held until its
        first hash, or until the request ends. (Taken once the body has come, so a client that
        sends its form slowly holds none.)"""
        place = [False]
        token = _place.set(place)
        try:
            yield
        finally:
            _place.reset(token)
            if place[0]:  # admitted, never hashed: the place goes back to the queue
                self.pending -= 1
                async with self._room:
                    self._room.notify()

    async def room(self) -> bool:
        """Wait up to patience seconds for the pool to have room; return whether it has."""
        if not self.full():
            return True
        # A refusal answered at once invites a client that ignores Retry-After to come straight
        # back: held for a moment, such clients cost the loop a few requests a second, not
        # hundreds, and the cores stay with hashing.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.patience), self._room:
                await self._room.wait_for(lambda: not self.full())
        return not self.full()

    def refusal(self, language: str) -> Response:
        """The 503 page, in language, for a hashing form submitted while the pool is full."""
        page = self.refusal_pages[language]
        return Response(page, 503, {"Retry-After": str(self.retry_after())}, mimetype="text/html")

    async def run(self, func: Callable[..., T], *args: object) -> T:
        """Run func in the pool, or raise Overloaded at once if the queue is full."""
        place = _place.get()
        if place is not None and place[0]:
            place[0] = False  # the place admit() took in the queue is this hash's
        else:
            self._refuse_if_full()
            self.pending += 1
        self._waiting.append(time.monotonic())
        try:
            return await asyncio.get_running_loop().run_in_executor(self.pool, self._timed, func, *args)
        finally:
            self.pending -= 1
            async with self._room:
                self._room.notify()

    def _timed(self, func: Callable[..., T], *args: object) -> T:
        self._waiting.popleft()  # the pool starts its jobs in the order they came
        started = time.perf_counter()
        try:
            return func(*args)
        finally:
            # Measured in the thread: a machine whose cores are busy elsewhere (other workers'
            # hashes too) hashes slower, and the queue it admits shrinks to match.
            elapsed = time.perf_counter() - started
            if self.seconds_per_hash:
                self.seconds_per_hash += SMOOTHING * (elapsed - self.seconds_per_hash)
            else:
                self.seconds_per_hash = elapsed

    def shutdown(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


# Whether the current hashing form's request holds a place in the queue its first hash has not
# taken yet. A list, so that tasks the request starts (which copy the context) see it taken too.
_place: ContextVar[list[bool] | None] = ContextVar("hash_place", default=None)


def _lower_priority(niceness: int) -> None:
    # Niceness is per thread on Linux: the hashing threads give way to the event loop, so
    # pages stay fast during a sign-in flood, yet take every CPU cycle nothing else wants.
    # Elsewhere (no setpriority, or not allowed) hashing at normal priority is still correct.
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)
