"""The signed-in pages scenario: GET / with valid cookies (and through wrk), then /healthz and the trivial route."""

import asyncio
import time
from typing import Any

from .lean import lean_page_clients
from .load import cookie_header, new_cookie_jar, sign_in, SIGNED_IN
from .meter import Meter
from .probe import page_clients
from .scenarios import PASSWORD
from .servers import Server
from .settings import Settings
from .summary import summarize_samples
from .wrk import wrk_page

# Signed-in visitors of the page scenario: each is one session that several clients share.
PAGE_VISITORS = 4
# The page clients to choose from: the lean one by default, aiohttp's to compare with.
PAGE_CLIENTS = {"lean": lean_page_clients, "aiohttp": page_clients}
# Sign-ins tried per page visitor before the scenario gives up on a server.
SIGN_IN_TRIES = 5


async def signed_in_pages(server: Server, settings: Settings, names: list[str]) -> dict[str, Any]:
    """GET / signed in, then /healthz and a route without database or session, each on kept-alive connections."""
    visitors = []
    for name in names[-PAGE_VISITORS:]:
        for _ in range(SIGN_IN_TRIES):
            jar = new_cookie_jar()
            attempt = await sign_in(server, name, PASSWORD, settings.timeout, time.monotonic(), jar)
            if attempt.outcome == SIGNED_IN:
                break
            await asyncio.sleep(1)  # a baseline's SQLite file may still be locked by the last scenario's writes
        else:
            raise RuntimeError(f"{server.name}: signing in {name} for the page scenario failed: {attempt.detail}")
        visitors.append((cookie_header(jar), name.encode()))
    clients, seconds = settings.page_clients, settings.page_seconds
    run_clients = PAGE_CLIENTS[settings.page_client]
    with Meter(server) as meter:
        samples = await run_clients(server.url, "/", visitors, clients, seconds, settings.timeout)
    home = summarize_samples(samples, seconds)
    # The server's CPU for each signed-in page (every process, user + system): what a change to the
    # page's work costs, whatever the throughput the load generator's share of the cores allows.
    home["server_cpu_us"] = round(meter.server_seconds * 1e6 / home["requests"]) if home["requests"] else None
    # The same page through wrk, with the first visitor's cookies on every connection.
    home_wrk = await wrk_page(f"{server.url}/", visitors[0][0], settings)
    routes = {}
    for path in ("/healthz", server.light_route):
        samples = await run_clients(server.url, path, [("", b"")], clients, seconds, settings.timeout)
        routes[path] = summarize_samples(samples, seconds)
    light = routes[server.light_route]["per_s"]
    return {
        "clients": clients,
        "seconds": seconds,
        "client": settings.page_client,
        "home": home,
        "home_wrk": home_wrk,
        "routes": routes,
        "light_route": server.light_route,
        # GET / as a share of the same process's trivial route: what the app's own work costs.
        "ratio": round(home["per_s"] / light, 3) if light else None,
    }
