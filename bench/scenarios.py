"""The sign-in scenarios: throughput, a probe beside a flood, overload; polite or impatient clients."""

import asyncio
import itertools
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from .load import IMPATIENT, POLITE, sign_in_clients
from .probe import probe
from .servers import Server
from .settings import Settings
from .summary import summarize_samples, summarize_sign_ins

PASSWORD = "a password of ordinary length"


def names_from(names: list[str], share: float) -> Iterator[str]:
    """Cycle through the accounts, each scenario from its own place (a share of the way) in the list."""
    return itertools.islice(itertools.cycle(names), int(len(names) * share), None)


async def _sign_ins(
    server: Server, settings: Settings, names: Iterator[str], clients: int, seconds: float, manners: str
) -> dict[str, Any]:
    attempts = await sign_in_clients(server, names, PASSWORD, clients, seconds, settings.timeout, manners)
    return {"clients": clients, "seconds": seconds, "manners": manners} | summarize_sign_ins(attempts, seconds)


async def signin_throughput(server: Server, settings: Settings, names: list[str]) -> dict[str, Any]:
    """Concurrent fresh browsers signing in back to back, waiting as told after a refusal."""
    return await _sign_ins(
        server, settings, names_from(names, 0), settings.signin_clients, settings.signin_seconds, POLITE
    )


async def signin_impatient(server: Server, settings: Settings, names: list[str]) -> dict[str, Any]:
    """Concurrent fresh browsers signing in back to back, starting over at once after a refusal."""
    return await _sign_ins(
        server, settings, names_from(names, 1 / 8), settings.impatient_clients, settings.signin_seconds, IMPATIENT
    )


async def overload(server: Server, settings: Settings, names: list[str]) -> dict[str, Any]:
    """Far more concurrent sign-ins than bcrypt can take, from browsers that wait as told."""
    return await _sign_ins(
        server, settings, names_from(names, 1 / 2), settings.overload_clients, settings.overload_seconds, POLITE
    )


async def overload_impatient(server: Server, settings: Settings, names: list[str]) -> dict[str, Any]:
    """Far more concurrent sign-ins than bcrypt can take, from browsers that ignore Retry-After."""
    return await _sign_ins(
        server, settings, names_from(names, 5 / 8), settings.overload_clients, settings.overload_seconds, IMPATIENT
    )


async def flood(server: Server, settings: Settings, names: list[str]) -> dict[str, Any]:
    """A fixed-rate probe of /healthz and the sign-in form, idle first, then beside a flood of impatient sign-ins."""
    idle, seconds = settings.probe_idle_seconds, settings.flood_seconds
    paths = ["/healthz", server.form.path]
    t0 = time.monotonic()
    probing = asyncio.create_task(probe(server.url, paths, settings.probe_rate, idle + seconds, settings.timeout, t0))
    await asyncio.sleep(idle)
    sign_ins = await _sign_ins(server, settings, names_from(names, 1 / 4), settings.flood_clients, seconds, IMPATIENT)
    samples = await probing
    # Each phase's samples timed from the phase's own start.
    phases = {
        "idle": [s for s in samples if s.start < idle],
        "flood": [replace(s, start=s.start - idle) for s in samples if s.start >= idle],
    }
    probes = {}
    for phase, chosen in phases.items():
        length = idle if phase == "idle" else seconds
        probes[phase] = summarize_samples(chosen, length)
        probes[phase]["paths"] = {
            path: summarize_samples([s for s in chosen if s.path == path], length) for path in paths
        }
    return {
        "clients": settings.flood_clients,
        "manners": IMPATIENT,
        "idle_seconds": idle,
        "seconds": seconds,
        "rate_per_path": settings.probe_rate,
        "probe": probes,
        "sign_ins": sign_ins,
        # Times relative to the start of the flood: the chart's x axis.
        "samples": {
            "columns": ["start_s", "path", "latency_ms", "status", "error"],
            "rows": [
                [round(s.start - idle, 3), s.path, round(s.latency * 1000, 2), s.status, s.error] for s in samples
            ],
        },
    }
