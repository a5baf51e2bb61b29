import asyncio
import time
from pathlib import Path
from types import TracebackType

import psutil

from .servers import Server

QUIET_CORES = 0.05  # a server using less than this is idle
QUIET_MACHINE_CORES = 0.15  # other programs using less than this leave the machine quiet
QUIET_WINDOW = 0.25


def _machine_busy() -> float:
    """Return the CPU seconds all cores have spent busy since boot."""
    times = psutil.cpu_times()
    # guest time is already counted in user time, so it is left out.
    return sum(getattr(times, field, 0.0) for field in ("user", "nice", "system", "irq", "softirq", "steal"))


def _listen_overflows() -> int:
    """Return how often a listening socket's accept queue was full, since boot (all sockets)."""
    lines = [line.split() for line in Path("/proc/net/netstat").read_text().splitlines() if line.startswith("TcpExt:")]
    try:
        return int(dict(zip(lines[0], lines[1], strict=True))["ListenOverflows"])
    except (IndexError, KeyError):
        return 0


def _process_seconds(processes: list[psutil.Process]) -> dict[int, float]:
    seconds = {}
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.Error:
            continue
        seconds[process.pid] = times.user + times.system
    return seconds


class Meter:
    """The cores used during a stretch: by the server, by this load generator, by anything else.

    "Anything else" is the machine's noise: other programs sharing the cores. Also counts the
    connections the kernel dropped because a server's accept queue was full: each one costs
    its client a SYN retransmission, a second or more.
    """

    def __init__(self, server: Server | None = None) -> None:
        self.server = server
        self.result: dict[str, float] = {}
        self.server_seconds = 0.0  # CPU seconds the server's processes spent in the stretch

    def _read(self) -> tuple[float, float, dict[int, float], float, int]:
        own = psutil.Process().cpu_times()
        serving = _process_seconds(self.server.processes()) if self.server else {}
        return time.monotonic(), _machine_busy(), serving, own.user + own.system, _listen_overflows()

    def __enter__(self) -> "Meter":
        self.start = self._read()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        then, machine_then, server_then, own_then, overflows_then = self.start
        now, machine_now, server_now, own_now, overflows_now = self._read()
        elapsed = now - then
        server = sum(server_now[pid] - server_then[pid] for pid in server_now.keys() & server_then.keys())
        own = own_now - own_then
        self.server_seconds = server
        self.result = {
            "server_cores": round(server / elapsed, 2),
            "load_generator_cores": round(own / elapsed, 2),
            "other_cores": round(max(0.0, machine_now - machine_then - server - own) / elapsed, 2),
            "listen_overflows": overflows_now - overflows_then,
        }


async def settle(
    server: Server, idle_limit: float, quiet_limit: float, window: float = QUIET_WINDOW
) -> dict[str, float]:
    """Wait until the server is idle (leftovers of the last scenario done), then for a quiet machine.

    Returns the seconds waited for each, and the cores other programs still used at the end:
    the machine is shared, and a run that could not wait them out says so.
    """
    start = time.monotonic()
    while time.monotonic() - start < idle_limit:
        if (await _window(server, window))["server_cores"] < QUIET_CORES:
            break
    idle = time.monotonic()
    other = 0.0
    while time.monotonic() - idle < quiet_limit:
        reading = await _window(server, window)
        other = reading["other_cores"]
        if reading["server_cores"] < QUIET_CORES and other < QUIET_MACHINE_CORES:
            break
    quiet = time.monotonic() - idle
    return {"idle_wait_s": round(idle - start, 1), "quiet_wait_s": round(quiet, 1), "other_cores": other}


async def _window(server: Server, seconds: float) -> dict[str, float]:
    with Meter(server) as meter:
        await asyncio.sleep(seconds)
    return meter.result


def quiet_machine(limit: float, window: float = QUIET_WINDOW) -> float:
    """Wait up to limit seconds for other programs to leave the cores alone; return what they still use."""
    start = time.monotonic()
    while True:
        with Meter() as meter:
            time.sleep(window)
        if meter.result["other_cores"] < QUIET_MACHINE_CORES or time.monotonic() - start >= limit:
            return meter.result["other_cores"]
