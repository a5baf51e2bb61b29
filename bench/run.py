import asyncio
import os
import platform
import subprocess
import tempfile
import time
import tomllib
from collections.abc import Awaitable, Callable
from contextlib import ExitStack
from dataclasses import asdict
from datetime import datetime, UTC
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import bcrypt

from . import scenarios
from .ceiling import bcrypt_ceiling
from .meter import Meter, quiet_machine, settle
from .servers import Server, start_baseline, start_quartapp, usernames
from .settings import ROOT, Settings

Scenario = Callable[[Server, Settings, list[str]], Awaitable[dict[str, Any]]]
SCENARIOS: dict[str, Scenario] = {
    "signin": scenarios.signin_throughput,
    "flood": scenarios.flood,
    "overload": scenarios.overload,
    "pages": scenarios.signed_in_pages,
}
PACKAGES = ["quart", "quart-auth", "hypercorn", "uvloop", "flask", "flask-login", "gunicorn", "bcrypt", "aiohttp"]


def machine() -> dict[str, Any]:
    """Describe what the figures were measured on."""
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    models = [line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")]
    return {
        "cores": len(os.sched_getaffinity(0)),
        "cpu": models[0] if models else platform.processor(),
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
        "packages": {name: _version(name) for name in PACKAGES},
    }


def _version(package: str) -> str | None:
    try:
        return version(package)
    except PackageNotFoundError:
        return None


def code() -> dict[str, Any]:
    """Name the code and the server configuration that were measured."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    return {
        "commit": git("rev-parse", "--short", "HEAD"),
        # Figures from a working tree with changes belong to no commit.
        "changed": git("status", "--porcelain", "--", "quartapp", "alembic", "hypercorn.toml").splitlines(),
        "hypercorn": tomllib.loads((ROOT / "hypercorn.toml").read_text()),
    }


def ceiling(settings: Settings, log: Callable[[str], None]) -> dict[str, Any]:
    """Measure the bcrypt ceiling on a machine as quiet as it gets, noting what else ran meanwhile."""
    quiet_machine(settings.quiet_seconds)
    log(f"bcrypt ceiling at cost {settings.cost}")
    with Meter() as meter:
        result = bcrypt_ceiling(settings.cost, settings.ceiling_seconds)
    return result | {"other_cores": meter.result["other_cores"]}


def memory(server: Server) -> dict[str, Any]:
    rss = server.worker_rss()
    return {"workers": len(rss), "rss_mib": [round(r / 2**20, 1) for r in rss]}


async def measure(
    servers: list[Server], settings: Settings, names: list[str], log: Callable[[str], None]
) -> dict[str, Any]:
    """Run every scenario on every server in turn, each server idle before its turn."""
    results: dict[str, Any] = {server.name: {} for server in servers}
    for server in servers:
        await settle(server, settings.settle_seconds, 0.0)
        results[server.name] |= {"serving": server.serving, "memory_idle": memory(server)}
    for scenario, run_scenario in SCENARIOS.items():
        for server in servers:
            settled = await settle(server, settings.settle_seconds, settings.quiet_seconds)
            log(f"{scenario}: {server.name}")
            with Meter(server) as meter:
                result = await run_scenario(server, settings, names)
            results[server.name][scenario] = result | {
                "system": meter.result,
                "before": settled,
                "rss_mib_after": memory(server)["rss_mib"],
            }
    for server in servers:
        await settle(server, settings.settle_seconds, 0.0)
        results[server.name]["memory_end"] = memory(server)
    return results


def run(settings: Settings, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Measure the bcrypt ceiling, then both servers under every scenario; return the raw results."""
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
        servers = []
        for start in (start_quartapp, start_baseline):
            server = start(Path(folder), settings.cost, password_hash, names)
            stack.callback(server.stop)
            servers.append(server)
            log(f"{server.name} serving at {server.url}")
        try:
            results["servers"] = asyncio.run(measure(servers, settings, names, log))
        finally:
            _keep_logs(servers, settings.results / "logs")
    # Measured again once the servers are gone: the better of the two is the least disturbed.
    results["ceiling_runs"] = [first, ceiling(settings, log)]
    results["ceiling"] = max(results["ceiling_runs"], key=lambda c: c["parallel_per_s"])
    results["duration_s"] = round(time.monotonic() - started, 1)
    return results


def _keep_logs(servers: list[Server], folder: Path) -> None:
    """Copy the servers' logs out of the temporary folder, for a look after the run."""
    folder.mkdir(parents=True, exist_ok=True)
    for server in servers:
        (folder / server.log.name).write_bytes(server.log.read_bytes())
