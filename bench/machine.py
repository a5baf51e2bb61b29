"""What the figures were measured on, and which code and server configuration they belong to."""

import asyncio
import os
import platform
import subprocess
import tomllib
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from .settings import ROOT

PACKAGES = [
    "quart", "quart-auth", "hypercorn", "uvloop", "wtforms", "sqlalchemy", "aiosqlite",
    "flask", "flask-login", "gunicorn", "bcrypt", "aiohttp",
]  # fmt: skip


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
        "load_generator_loop": "uvloop" if loop_factory() else "asyncio",
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
        "changed": git(
            "status", "--porcelain", "--", "quartapp", "hypercorn.toml", "bench/baseline", "bench/naive"
        ).splitlines(),
        "hypercorn": tomllib.loads((ROOT / "hypercorn.toml").read_text()),
    }


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop for the load generator where it is installed: less of its CPU per request."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop
