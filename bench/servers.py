import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import psutil

from tests.serving import Server as Served
from tests.serving import wait_until_healthy

from .settings import ROOT

BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class SignInForm:
    """An app's sign-in form: where it is, what its fields are named, where a success redirects."""

    path: str = "/signin"
    login_field: str = "username"
    password_field: str = "password"
    csrf_field: str = "csrf_token"
    login: str = "{}"  # what the login field takes, made from the bench's username
    success: str = "/"  # the path a successful sign-in redirects to

    def fields(self, csrf_token: str, username: str, password: str) -> dict[str, str]:
        """Return the form as submitted for one of the bench's accounts."""
        login = self.login.format(username)
        return {self.csrf_field: csrf_token, self.login_field: login, self.password_field: password}


# quartapp's, the chapter's app's and its naive port's.
SIGNIN = SignInForm()


@dataclass
class Server(Served):
    """One served app under test: where it listens and the processes that serve it."""

    name: str
    serving: str  # how: the server program and its worker class
    auth_cookie: str  # the cookie a successful sign-in must set
    light_route: str  # a route without database, session or template, to measure GET / against
    form: SignInForm = SIGNIN  # with auth_cookie: how a browser signs in, and how success shows

    def workers(self) -> list[psutil.Process]:
        """Return the processes that serve requests (the master's children, minus helpers)."""
        children = psutil.Process(self.process.pid).children(recursive=True)
        # multiprocessing's spawn start method adds a resource tracker beside hypercorn's workers.
        return [child for child in children if "resource_tracker" not in " ".join(_cmdline(child))]

    def processes(self) -> list[psutil.Process]:
        return [psutil.Process(self.process.pid), *psutil.Process(self.process.pid).children(recursive=True)]

    def pss_mib(self) -> float:
        """The whole server's memory in MiB: every process's proportional set size, so shared pages count once."""
        return round(sum(process.memory_full_info().pss for process in self.processes()) / 2**20, 1)

    def worker_rss(self) -> list[int]:
        """Return the resident set size of each worker, in bytes."""
        return [worker.memory_info().rss for worker in self.workers()]


def _cmdline(process: psutil.Process) -> list[str]:
    try:
        return process.cmdline()
    except psutil.Error:
        return []


def usernames(count: int) -> list[str]:
    # Plain lowercase ASCII: every app stores and looks them up unchanged.
    return [f"user{i:05d}" for i in range(count)]


def clean_env(**variables: str) -> dict[str, str]:
    """The environment of a fresh deployment: only the variables given here configure the apps."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QUARTAPP_", "BASELINE_", "NAIVE_", "QSECURITY_"))}
    return env | variables


def run(command: list[str | Path], env: dict[str, str], what: str) -> None:
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed with status {done.returncode}:\n{done.stdout}{done.stderr}")


def insert_users(database: Path, statement: str, rows: list[tuple[str, ...]]) -> None:
    connection = sqlite3.connect(database)
    try:
        with connection:
            connection.executemany(statement, rows)
    finally:
        connection.close()


def serve(
    name: str,
    command: list[str | Path],
    env: dict[str, str],
    port: int,
    folder: Path,
    form: SignInForm = SIGNIN,
    **details: str,
) -> Server:
    log = folder / f"{name}.log"
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
    server = Server(url=f"http://127.0.0.1:{port}", process=process, log=log, name=name, form=form, **details)
    try:
        wait_until_healthy(server.url, server.process, server.log)
    except BaseException:
        server.stop()
        raise
    return server
