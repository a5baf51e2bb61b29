"""The machine's hashing slots: one bcrypt at a time per core, whichever worker process asks."""

import contextlib
import multiprocessing
import threading
from collections.abc import Iterator
from typing import Protocol


class _Counter(Protocol):
    value: int

    def get_lock(self) -> contextlib.AbstractContextManager[bool]: ...


class Slots:
    """count hashing slots and a count of the hashes waiting for them or in them.

    Made in shared memory when the app is created, so every worker that quartapp-serve forks
    from it shares them: the whole server never hashes more at once than it has slots, a
    worker's idle thread takes a hash another worker queued, and admission sees the
    server's whole queue. (Where fork does not exist, or under a server that imports the
    app in each worker, each process has slots of its own.)
    """

    def __init__(self, count: int) -> None:
        self.count = count
        try:
            context = multiprocessing.get_context("fork")
        except ValueError:  # no fork here: one process, so threads' own primitives will do
            self._free: threading.BoundedSemaphore = threading.BoundedSemaphore(count)
            self._pending: _Counter = _LocalCounter()
        else:
            self._free = context.BoundedSemaphore(count)  # type: ignore[assignment]  # the same methods
            self._pending = context.Value("i", 0)

    @property
    def pending(self) -> int:
        """Hashes submitted by any worker and not yet done."""
        return self._pending.value

    def add(self, count: int) -> None:
        with self._pending.get_lock():
            self._pending.value += count

    @contextlib.contextmanager
    def taken(self) -> Iterator[None]:
        """Hold a slot (waiting for one) for as long as the block runs; in a hashing thread."""
        with self._free:
            yield


class _LocalCounter:
    def __init__(self) -> None:
        self.value = 0
        self._lock = threading.Lock()

    def get_lock(self) -> threading.Lock:
        return self._lock
