"""Signed-in GET / through wrk, when it is installed: figures anyone can compare with their own.

The bench's own page client is lean, but it is Python on an event loop; wrk is C, and the tool
most published figures come from. Same connections, same seconds, one signed-in user's cookies.
"""

import asyncio
import re
import shutil
from typing import Any

from .settings import Settings

RATE = re.compile(r"^Requests/sec:\s+([\d.]+)", re.MULTILINE)
P99 = re.compile(r"^\s+99%\s+([\d.]+)(us|ms|s)\b", re.MULTILINE)
NON_2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
ERRORS = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def available() -> bool:
    return shutil.which("wrk") is not None


async def wrk_page(url: str, cookie: str, settings: Settings) -> dict[str, Any] | None:
    """GET url with wrk: settings.page_clients connections for settings.page_seconds; None without wrk."""
    if not available():
        return None
    seconds = max(1, round(settings.page_seconds))
    command = ["wrk", "-t2", f"-c{settings.page_clients}", f"-d{seconds}s", f"--timeout={settings.timeout:g}s",
               "--latency", "-H", f"Cookie: {cookie}", url]  # fmt: skip
    process = await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.PIPE)
    output = (await process.communicate())[0].decode()
    if process.returncode != 0 or not (rate := RATE.search(output)):
        raise RuntimeError(f"wrk failed ({process.returncode}):\n{output}")
    p99 = P99.search(output)
    socket_errors = ERRORS.search(output)
    errors = sum(int(n) for n in socket_errors.groups()) if socket_errors else 0
    wrong = int(m.group(1)) if (m := NON_2XX.search(output)) else 0
    return {
        "client": "wrk -t2",
        "seconds": seconds,
        "per_s": float(rate.group(1)),
        "latency_ms": {"p99": float(p99.group(1)) * UNIT_MS[p99.group(2)] if p99 else None},
        "errors": errors + wrong,
    }
