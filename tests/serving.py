"""Serving the app as `make run` does: alembic, then quartapp-serve with hypercorn.toml, in a process group.

Shared by the tests and by `make bench`, so it needs nothing but the standard library.
"""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).parents[1]
BIN = Path(sys.executable).parent
STARTUP_TIMEOUT = 30.0
SHUTDOWN_TIMEOUT = 15.0


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self, signum: int = signal.SIGTERM) -> int:
        """Signal the server's process group, SIGKILL it after a timeout; return its exit status."""
        try:
            os.killpg(self.process.pid, signum)
            return self.process.wait(SHUTDOWN_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            return self.process.wait()
        except ProcessLookupError:
            return self.process.wait()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def app_env(**settings: str) -> dict[str, str]:
    """The environment of a fresh deployment: only the QUARTAPP_* variables given here."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("QUARTAPP_")}
    return env | {f"QUARTAPP_{key}": value for key, value in settings.items()}


def migrate(env: dict[str, str]) -> None:
    result = subprocess.run([BIN / "alembic", "upgrade", "heads"], cwd=ROOT, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"alembic upgrade heads failed:\n{result.stdout}{result.stderr}")


@contextmanager
def serve(env: dict[str, str], folder: Path, options: Sequence[str] = (), port: int | None = None) -> Iterator[Server]:
    """Run quartapp-serve with hypercorn.toml on a loopback port (free, unless given) until the block ends."""
    url = f"http://127.0.0.1:{port or free_port()}"
    command: list[str | Path] = [
        BIN / "quartapp-serve",
        "--config",
        "hypercorn.toml",
        "--bind",
        url.removeprefix("http://"),
        *options,
    ]
    with run_server([*command, "quartapp:create_app()"], env, url, folder / "hypercorn.log") as server:
        yield server


@contextmanager
def run_server(command: Sequence[str | Path], env: dict[str, str], url: str, log: Path) -> Iterator[Server]:
    """Start command in the checkout, its output to log, until url/healthz answers; stop it when the block ends."""
    with log.open("wb") as output:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so its workers stop with it
        )
    server = Server(url, process, log)
    try:
        wait_until_healthy(url, process, log)
        yield server
    finally:
        server.stop()


def wait_until_healthy(url: str, process: subprocess.Popen[Any], log: Path, path: str = "/healthz") -> None:
    """Poll url's path until it answers (/healthz: 200); raise with the server's log if it never does."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with status {process.returncode}:\n{_said(log)}")
        try:
            with urllib.request.urlopen(f"{url}{path}", timeout=1) as response:
                if response.status == 200:
                    return
        except urllib.error.HTTPError:
            if path != "/healthz":
                return  # an answer, whatever it says
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url}{path} did not answer within {STARTUP_TIMEOUT:.0f} s:\n{_said(log)}")


def _said(log: Path) -> str:
    return log.read_text() if log.exists() else ""
