"""The supervisor: forks the workers, replaces one that dies, and stops them all gracefully.

Hypercorn 0.18's own supervisor waits for the first worker to exit after SIGTERM and then
terminates the rest, cutting the requests still running there. This one waits for every
worker (up to graceful_timeout + shutdown_timeout, then kills what is left).
"""

import contextlib
import logging
import math
import os
import select
import signal
import sys
import time
import traceback
from types import FrameType

from hypercorn.config import Config
from hypercorn.typing import ASGIFramework

from . import worker
from .listeners import Listeners

# The server's error log, as hypercorn.toml's errorlog sets it up.
log = logging.getLogger("hypercorn.error")


class Supervisor:
    def __init__(self, app: ASGIFramework, config: Config, listeners: Listeners, workers: int) -> None:
        self.app, self.config, self.listeners, self.count = app, config, listeners, workers
        self.slots: dict[int, int] = {}  # worker pid -> slot
        self.ready: set[int] = set()  # pids whose app has started
        self.stop_signal: int | None = None
        self.status = 0

    def run(self) -> int:
        """Serve until a stop signal (or a worker that cannot start); return the exit status."""
        self._wake, self._woken = os.pipe()
        os.set_blocking(self._wake, False)
        os.set_blocking(self._woken, False)
        signal.set_wakeup_fd(self._woken)
        for signum in worker.STOP_SIGNALS:
            signal.signal(signum, self._on_stop)
        signal.signal(signal.SIGCHLD, lambda signum, frame: None)  # only to wake the loop
        # Held open by the supervisor alone: the workers see it close when the supervisor ends.
        self._parent, self._alive = os.pipe()
        self._reports, self._report = os.pipe()
        os.set_blocking(self._reports, False)
        for slot in range(self.count):
            self._fork(slot)
        log.info("serving %s with %d worker(s)", self.listeners.describe(), self.count)
        deadline: float | None = None
        while self.slots:
            if self.stop_signal is not None and deadline is None:
                deadline = self._begin_stop()
            timeout = None if deadline in (None, math.inf) else max(0.0, deadline - time.monotonic())
            readable, _, _ = select.select([self._wake, self._reports], [], [], timeout)
            if self._reports in readable:
                self._read_reports()
            if self._wake in readable:
                while _read_some(self._wake):
                    pass
            self._reap()
            if deadline is not None and time.monotonic() >= deadline:
                self._kill_the_rest()
                deadline = math.inf  # then wait for them to be reaped
        return self.status

    def _on_stop(self, signum: int, frame: FrameType | None) -> None:
        if self.stop_signal is None:
            self.stop_signal = signum

    def _begin_stop(self) -> float:
        """Tell every worker to stop; return when to stop waiting for them."""
        log.info("%s: stopping; requests in flight have %.0f s", _name(self.stop_signal), self.config.graceful_timeout)
        # No new connection may queue where no worker will accept it.
        self.listeners.close()
        for pid in self.slots:
            _signal(pid, signal.SIGTERM)
        return time.monotonic() + self.config.graceful_timeout + self.config.shutdown_timeout

    def _fork(self, slot: int) -> None:
        # A stop signal arriving while the worker sets up is held until it can take it gracefully.
        signal.pthread_sigmask(signal.SIG_BLOCK, worker.STOP_SIGNALS)
        sys.stdout.flush()  # else each worker would write again what is still buffered here
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            self._become_worker(slot)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, worker.STOP_SIGNALS)
        self.slots[pid] = slot

    def _become_worker(self, slot: int) -> None:
        status = 1
        try:
            signal.set_wakeup_fd(-1)
            for signum in (*worker.STOP_SIGNALS, signal.SIGCHLD):
                signal.signal(signum, signal.SIG_DFL)
            for fd in (self._wake, self._woken, self._alive, self._reports):
                os.close(fd)
            self.listeners.keep_only(slot)
            status = worker.run(self.app, self.config, self.listeners.binds_for(slot), self._parent, self._report)
        except BaseException:
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(status)

    def _read_reports(self) -> None:
        data = _read_some(self._reports)
        for start in range(0, len(data) - 3, 4):
            self.ready.add(int.from_bytes(data[start : start + 4], "little"))

    def _reap(self) -> None:
        while self.slots:
            pid, wait_status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                return
            if pid not in self.slots:
                continue
            slot = self.slots.pop(pid)
            code = os.waitstatus_to_exitcode(wait_status)
            self._read_reports()  # it may have reported just before it ended
            if self.stop_signal is not None:
                self.status = self.status or (1 if code else 0)
            elif pid not in self.ready:
                # It never started (the app's startup failed): another would fail the same way.
                log.error("worker %d could not start (%s): stopping", pid, _describe(code))
                self.status, self.stop_signal = 1, signal.SIGTERM
            else:
                log.warning("worker %d ended (%s): starting another", pid, _describe(code))
                self._fork(slot)
            self.ready.discard(pid)

    def _kill_the_rest(self) -> None:
        waited = self.config.graceful_timeout + self.config.shutdown_timeout
        for pid in list(self.slots):
            log.error("worker %d still running %.0f s after the stop: killed", pid, waited)
            _signal(pid, signal.SIGKILL)
        self.status = 1


def _signal(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # already gone: reaped on the next turn
        os.kill(pid, signum)


def _read_some(fd: int) -> bytes:
    try:
        return os.read(fd, 4096)
    except BlockingIOError:
        return b""


def _name(signum: int | None) -> str:
    return signal.Signals(signum).name if signum is not None else "stop"


def _describe(code: int) -> str:
    return f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit status {code}"
