import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import asdict
from datetime import datetime, UTC
from pathlib import Path
from typing import Any

import bcrypt

from . import scenarios
from .apps import start_flask, start_naive, start_qsecurity, start_quartapp
from .ceiling import bcrypt_ceiling
from .machine import code, loop_factory, machine
from .meter import Meter, quiet_machine, settle
from .pages import signed_in_pages
from .servers import Server, usernames
from .settings import Settings

Scenario = Callable[[Server, Settings, list[str]], Awaitable[dict[str, Any]]]
# Pages first: after the overload scenarios quart-security's SQLite file can stay locked for good
# (a request cut mid-transaction), and every sign-in there fails; page speed is measured on healthy servers.
SCENARIOS: dict[str, Scenario] = {
    "pages": signed_in_pages,
    "signin": scenarios.signin_throughput,
    "signin-impatient": scenarios.signin_impatient,
    "flood": scenarios.flood,
    "overload": scenarios.overload,
    "overload-impatient": scenarios.overload_impatient,
}
# quartapp, then the chapter's Flask app, then the chapter ported to Quart the obvious way, then
# quart-security, the other async Quart sign-in system, with its own views.
APPS = (start_quartapp, start_flask, start_naive, start_qsecurity)


def ceiling(settings: Settings, log: Callable[[str], None]) -> dict[str, Any]:
    """Measure the bcrypt ceiling on a machine as quiet as it gets, noting what else ran meanwhile."""
    quiet_machine(settings.quiet_seconds, settings.settle_window)
    log(f"bcrypt ceiling at cost {settings.cost}")
    with Meter() as meter:
        result = bcrypt_ceiling(settings.cost, settings.ceiling_seconds)
    return result | {"other_cores": meter.result["other_cores"]}


def memory(server: Server) -> dict[str, Any]:
    """The whole server's memory (every process, proportional set size) and each worker's resident size."""
    rss = server.worker_rss()
    return {"workers": len(rss), "rss_mib": [round(r / 2**20, 1) for r in rss], "pss_mib": server.pss_mib()}


async def measure(
    servers: list[Server], settings: Settings, names: list[str], log: Callable[[str], None]
) -> dict[str, Any]:
    """Run every scenario on every server in turn, each server idle before its turn."""
    results: dict[str, Any] = {server.name: {} for server in servers}
    for server in servers:
        await settle(server, settings.settle_seconds, 0.0, settings.settle_window)
        results[server.name] |= {"serving": server.serving, "memory_idle": memory(server)}
    for scenario, run_scenario in SCENARIOS.items():
        for server in servers:
            settled = await settle(server, settings.settle_seconds, settings.quiet_seconds, settings.settle_window)
            log(f"{scenario}: {server.name}")
            with Meter(server) as meter:
                result = await run_scenario(server, settings, names)
            results[server.name][scenario] = result | {
                "system": meter.result,
                "before": settled,
                **{f"{key}_after": value for key, value in memory(server).items() if key != "workers"},
            }
    for server in servers:
        await settle(server, settings.settle_seconds, 0.0, settings.settle_window)
        results[server.name]["memory_end"] = memory(server)
    return results


def run(settings: Settings, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Measure the bcrypt ceiling, then every server under every scenario; return the raw results."""
    started = time.monotonic()
    results: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "code": code(),
        "settings": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(settings).items()},
    }
    first = ceiling(settings, log)
    password_hash = bcrypt.hashpw(scenarios.PASSWORD.encode(), bcrypt.gensalt(settings.cost)).decode()
    names = usernames(settings.users)
    with tempfile.TemporaryDirectory(prefix="bench-") as folder, ExitStack() as stack:
        servers = start_servers(Path(folder), settings.cost, password_hash, names, stack)
        for server in servers:
            log(f"{server.name} serving at {server.url}")
        try:
            with asyncio.Runner(loop_factory=loop_factory()) as runner:
                results["servers"] = runner.run(measure(servers, settings, names, log))
        finally:
            _keep_logs(servers, settings.results / "logs")
    # Measured again once the servers are gone: the better of the two is the least disturbed.
    results["ceiling_runs"] = [first, ceiling(settings, log)]
    results["ceiling"] = max(results["ceiling_runs"], key=lambda c: c["parallel_per_s"])
    results["duration_s"] = round(time.monotonic() - started, 1)
    return results


def start_servers(folder: Path, cost: int, password_hash: str, names: list[str], stack: ExitStack) -> list[Server]:
    """Start every app at once (each has its own database and port); each is stopped when stack closes."""
    with ThreadPoolExecutor(max_workers=len(APPS)) as pool:
        starting = [pool.submit(start, folder, cost, password_hash, names) for start in APPS]
    for future in starting:
        if future.exception() is None:
            stack.callback(future.result().stop)
    # Every server that did start is stopped at the end, whichever of them failed to.
    return [future.result() for future in starting]


def _keep_logs(servers: list[Server], folder: Path) -> None:
    """Copy the servers' logs out of the temporary folder, for a look after the run."""
    folder.mkdir(parents=True, exist_ok=True)
    for server in servers:
        (folder / server.log.name).write_bytes(server.log.read_bytes())
