import asyncio
import itertools
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from .load import (
    cookie_header,
    ERROR,
    new_cookie_jar,
    page_clients,
    probe,
    REFUSED,
    Sample,
    sign_in,
    sign_in_clients,
    SIGNED_IN,
    SignIn,
)
from .servers import Server
from .settings import Settings
from .stats import latency_summary

PASSWORD = "a password of ordinary length"
PROBE_PATHS = ["/healthz", "/signin"]
# Signed-in visitors of the page scenario: each is one session that several clients share.
PAGE_VISITORS = 4


def summarize_sign_ins(attempts: list[SignIn], seconds: float) -> dict[str, Any]:
    """Count and time sign-ins by outcome; the rate counts those done within the scenario."""
    by_outcome = {o: [a for a in attempts if a.outcome == o] for o in (SIGNED_IN, REFUSED, ERROR)}
    signed_in = by_outcome[SIGNED_IN]
    sent = sum(a.sent for a in attempts)
    answered = sum(a.answered for a in attempts)
    return {
        "attempts": len(attempts),
        "signed_in": len(signed_in),
        "per_s": round(sum(a.end <= seconds for a in signed_in) / seconds, 2),
        "latency_ms": latency_summary([a.latency for a in signed_in]),
        "form_latency_ms": latency_summary([a.form_latency for a in attempts if a.form_latency is not None]),
        "refused": len(by_outcome[REFUSED]),
        "refusal_latency_ms": latency_summary([a.latency for a in by_outcome[REFUSED]]),
        "refused_at": dict(Counter(a.detail for a in by_outcome[REFUSED]).most_common()),
        "errors": len(by_outcome[ERROR]),
        # An error with every request answered is a wrong answer; the rest went unanswered.
        "wrong_answers": sum(a.answered == a.sent for a in by_outcome[ERROR]),
        "error_kinds": dict(Counter(a.detail for a in by_outcome[ERROR]).most_common()),
        "requests_sent": sent,
        "requests_answered": answered,
    }


def summarize_samples(samples: list[Sample], seconds: float) -> dict[str, Any]:
    """Count and time requests; the rate counts the good answers to requests made within seconds."""
    good = [s for s in samples if not s.error]
    failed = [s for s in samples if s.error]
    return {
        "requests": len(samples),
        "per_s": round(sum(s.start < seconds for s in good) / seconds, 1),
        "latency_ms": latency_summary([s.latency for s in good]),
        "errors": len(failed),
        "error_kinds": dict(Counter(s.error for s in failed).most_common()),
    }


def _names(names: list[str], start: int) -> Iterator[str]:
    """Cycle through the accounts, each server and scenario from its own place in the list."""
    return itertools.islice(itertools.cycle(names), start, None)


async def signin_throughput(server: Server, settings: Settings, names: list[str]) -> dict[str, Any]:
    """Scenario 1: concurrent fresh browsers signing in back to back."""
    attempts = await sign_in_clients(
        server.url, server.auth_cookie, _names(names, 0), PASSWORD,
        settings.signin_clients, settings.signin_seconds, settings.timeout,
    )  # fmt: skip
    return {"clients": settings.signin_clients, "seconds": settings.signin_seconds} | summarize_sign_ins(
        attempts, settings.signin_seconds
    )


async def flood(server: Server, settings: Settings, names: list[str]) -> dict[str, Any]:
    """Scenario 2: a fixed-rate probe, idle first, then beside a flood of sign-ins."""
    idle, seconds = settings.probe_idle_seconds, settings.flood_seconds
    t0 = time.monotonic()
    probing = asyncio.create_task(
        probe(server.url, PROBE_PATHS, settings.probe_rate, idle + seconds, settings.timeout, t0)
    )
    await asyncio.sleep(idle)
    attempts = await sign_in_clients(
        server.url, server.auth_cookie, _names(names, len(names) // 4), PASSWORD,
        settings.flood_clients, seconds, settings.timeout,
    )  # fmt: skip
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
            path: summarize_samples([s for s in chosen if s.path == path], length) for path in PROBE_PATHS
        }
    return {
        "clients": settings.flood_clients,
        "idle_seconds": idle,
        "seconds": seconds,
        "rate_per_path": settings.probe_rate,
        "probe": probes,
        "sign_ins": summarize_sign_ins(attempts, seconds),
        # Times relative to the start of the flood: the chart's x axis.
        "samples": {
            "columns": ["start_s", "path", "latency_ms", "status", "error"],
            "rows": [
                [round(s.start - idle, 3), s.path, round(s.latency * 1000, 2), s.status, s.error] for s in samples
            ],
        },
    }


async def overload(server: Server, settings: Settings, names: list[str]) -> dict[str, Any]:
    """Scenario 3: far more concurrent sign-ins than the hash pool can take."""
    attempts = await sign_in_clients(
        server.url, server.auth_cookie, _names(names, len(names) // 2), PASSWORD,
        settings.overload_clients, settings.overload_seconds, settings.timeout,
    )  # fmt: skip
    return {"clients": settings.overload_clients, "seconds": settings.overload_seconds} | summarize_sign_ins(
        attempts, settings.overload_seconds
    )


async def signed_in_pages(server: Server, settings: Settings, names: list[str]) -> dict[str, Any]:
    """Scenario 4: GET / with a valid cookie, then /healthz and a route without database or session."""
    visitors = []
    for name in names[-PAGE_VISITORS:]:
        jar = new_cookie_jar()
        attempt = await sign_in(server.url, name, PASSWORD, server.auth_cookie, settings.timeout, time.monotonic(), jar)
        if attempt.outcome != SIGNED_IN:
            raise RuntimeError(f"{server.name}: signing in {name} for the page scenario failed: {attempt.detail}")
        visitors.append((cookie_header(jar), name.encode()))
    clients, seconds = settings.page_clients, settings.page_seconds
    home = await page_clients(server.url, "/", visitors, clients, seconds, settings.timeout)
    routes = {}
    for path in ("/healthz", server.light_route):
        samples = await page_clients(server.url, path, [("", b"")], clients, seconds, settings.timeout)
        routes[path] = summarize_samples(samples, seconds)
    # The cheapest route is the one served fastest: which one that is depends on the server.
    cheapest = max(routes, key=lambda path: routes[path]["per_s"])
    result: dict[str, Any] = {
        "clients": clients,
        "seconds": seconds,
        "home": summarize_samples(home, seconds),
        "routes": routes,
    }
    fastest = routes[cheapest]["per_s"]
    ratio = round(result["home"]["per_s"] / fastest, 3) if fastest else None
    return result | {"cheapest_route": cheapest, "ratio": ratio}
