"""Timed GETs: the fixed-rate probe, and aiohttp page clients requesting one route back to back."""

import asyncio
import time
from dataclasses import dataclass

import aiohttp

# Idle pooled connections are dropped before the server's keep-alive timeout (hypercorn: 5 s)
# could close them under a request being sent.
KEEPALIVE = 1.0


@dataclass
class Sample:
    """One request of a probe or a page flood."""

    start: float  # seconds since the scenario started (the scheduled time for a probe)
    path: str
    latency: float
    status: int | None  # None: no response
    error: str  # empty when the response was the expected one


async def probe(url: str, paths: list[str], rate: float, seconds: float, timeout: float, t0: float) -> list[Sample]:
    """Request each path rate times a second for seconds, on a fixed schedule from t0.

    Open loop: a request goes out at its scheduled time whether or not earlier ones have
    been answered, and its latency counts from that time, so a stalled server cannot hide
    its stall by holding the probe back (coordinated omission).
    """
    schedule = [i / rate + j / (rate * len(paths)) for i in range(round(seconds * rate)) for j in range(len(paths))]
    # A new connection per request, as a new visitor or a load balancer's health check makes:
    # time spent waiting to be accepted counts too.
    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    async with aiohttp.ClientSession(url, connector=connector, cookie_jar=aiohttp.DummyCookieJar()) as session:

        async def one(offset: float, path: str) -> Sample:
            return await _timed_get(session, path, t0 + offset, t0, timeout)

        tasks = []
        for n, offset in enumerate(schedule):
            await asyncio.sleep(max(0.0, t0 + offset - time.monotonic()))
            tasks.append(asyncio.create_task(one(offset, paths[n % len(paths)])))
        return list(await asyncio.gather(*tasks))


async def page_clients(
    url: str, path: str, visitors: list[tuple[str, bytes]], clients: int, seconds: float, timeout: float
) -> list[Sample]:
    """Run clients that request path back to back for seconds; return every request.

    Client i is visitor i modulo their number: a Cookie header, and text its page must contain.
    """
    t0 = time.monotonic()
    end = t0 + seconds
    samples: list[Sample] = []
    connector = aiohttp.TCPConnector(limit=clients, keepalive_timeout=KEEPALIVE)
    async with aiohttp.ClientSession(url, connector=connector, cookie_jar=aiohttp.DummyCookieJar()) as session:

        async def client(cookie: str, expect: bytes) -> None:
            headers = {"Cookie": cookie} if cookie else {}
            while (now := time.monotonic()) < end:
                samples.append(await _timed_get(session, path, now, t0, timeout, expect, headers))

        await asyncio.gather(*(client(*visitors[i % len(visitors)]) for i in range(clients)))
    return samples


async def _timed_get(
    session: aiohttp.ClientSession,
    path: str,
    start: float,
    t0: float,
    timeout: float,
    expect: bytes = b"",
    headers: dict[str, str] | None = None,
) -> Sample:
    """GET path, expecting a 200 page containing expect; the latency runs from start.

    start may be a scheduled time in the past: then the wait for it counts too.
    """
    status = None
    try:
        async with asyncio.timeout(timeout), session.get(path, allow_redirects=False, headers=headers) as response:
            status = response.status
            body = await response.read()
        error = f"status {status}" if status != 200 else ("" if expect in body else "unexpected page")
    except TimeoutError:
        error = "no answer in time"
    except aiohttp.ClientError as exc:
        error = type(exc).__name__
    return Sample(start - t0, path, time.monotonic() - start, status, error)
