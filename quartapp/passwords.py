import math
import os
from collections.abc import Callable, Mapping
from typing import Any

import bcrypt
from quart import current_app, has_request_context, Quart, render_template, request

from .hasher import Hasher, Overloaded
from .i18n import offered, use_language
from .web.errors import describe

# bcrypt reads at most 72 bytes and bcrypt 5 raises beyond that; longer passwords are refused
# at sign-up rather than silently truncated, so no two passwords can share one hash.
MAX_PASSWORD_BYTES = 72


def init_app(app: Quart) -> None:
    """Own the bcrypt thread pool for the app's serving lifetime."""

    @app.before_serving
    async def start_hasher() -> None:
        config = app.config
        hasher = Hasher(hash_threads(config), config["HASH_MAX_WAIT"], config["HASH_PATIENCE"], config["HASH_NICENESS"])
        # Unknown usernames are checked against this hash, made at the configured cost, so
        # they take as long as a wrong password and do not reveal which names exist. Making
        # it also gives the first measure of how long a hash takes.
        app.extensions["dummy_hash"] = await hasher.run(_hash, b"not a password", config["BCRYPT_ROUNDS"])
        # Made now, in every language: the refusal is answered before a request context exists.
        for language in offered(config):
            async with app.test_request_context("/signin"):
                with use_language(language):
                    hasher.refusal_pages[language] = await render_template("error.html", **describe(Overloaded()))
        app.extensions["hasher"] = hasher

    @app.after_serving
    async def stop_hasher() -> None:
        app.extensions.pop("hasher").shutdown()


def hash_threads(config: Mapping[str, Any]) -> int:
    """Threads hashing at once in each worker: HASH_WORKERS, else the worker's share of the cores, twice.

    bcrypt releases the GIL, so threads hash in parallel. A worker's share of the cores alone
    would leave a core idle whenever new connections fall unevenly (one worker refusing
    sign-ins while another's thread has nothing to do); twice its share lets one worker's
    queue use a core another leaves idle, and still never puts more than twice the machine's
    cores to hashing at once (the OS shares them; slower hashes shrink each queue to match).
    """
    threads: int | None = config["HASH_WORKERS"]
    cores = os.process_cpu_count() or 1
    return threads or min(cores, 2 * math.ceil(cores / config["SERVER_WORKERS"]))


def _hash(password: bytes, rounds: int) -> bytes:
    return bcrypt.hashpw(password, bcrypt.gensalt(rounds))


def _check(password: bytes, password_hash: bytes) -> bool:
    try:
        return bcrypt.checkpw(password, password_hash)
    except ValueError:  # a malformed stored hash signs nobody in
        return False


_MARK = "hashes_password"


def hashes_password[V: Callable[..., Any]](view: V) -> V:
    """Mark a view that checks or sets a password, so that the app refuses its POST at the door
    (503 and Retry-After, before its body is read) when bcrypt's queue is full.

    Put it under the route decorator. Hashing in an unmarked view is a RuntimeError.
    """
    setattr(view, _MARK, True)  # functools.wraps copies it onto decorators above it
    return view


def hashing_forms(app: Quart) -> frozenset[str]:
    """The POST paths of app's views marked with hashes_password, for the door to compare."""
    paths = set()
    for rule in app.url_map.iter_rules():
        if not getattr(app.view_functions.get(rule.endpoint), _MARK, False):
            continue
        # The door tells a hashing form by its path alone, before routing: a path with
        # arguments, or a view not posted to, would never be refused there.
        if rule.arguments or "POST" not in (rule.methods or ()):
            raise RuntimeError(
                f"{rule.endpoint} is marked @hashes_password at {rule.rule}, which the door cannot guard: "
                "only a POST to a path without URL arguments can be refused there"
            )
        paths.add(rule.rule)
    return frozenset(paths)


def admit() -> None:
    """Raise Overloaded now if the hash queue is full, before the request costs anything else."""
    _hasher().admit()


def _hasher() -> Hasher:
    # Within a request, only a POST to a marked view may hash: one that hashes unmarked is
    # not refused at the door and would queue for bcrypt however full the queue. Outside a
    # request (the CLI, test helpers) there is no door to pass.
    if has_request_context() and not (
        request.method == "POST" and getattr(current_app.view_functions.get(request.endpoint or ""), _MARK, False)
    ):
        raise RuntimeError(
            f"{request.method} {request.path} (endpoint {request.endpoint}) checks or sets a password, "
            "which only a POST to a view marked @hashes_password may do"
        )
    hasher: Hasher = current_app.extensions["hasher"]
    return hasher


def _rounds() -> int:
    rounds: int = current_app.config["BCRYPT_ROUNDS"]
    return rounds


def needs_rehash(password_hash: str) -> bool:
    """Return whether a stored hash was made at another cost than the configured one."""
    try:
        return int(password_hash.split("$")[2]) != _rounds()
    except (IndexError, ValueError):
        return False  # not a bcrypt hash we can read: leave it to verify_password


def password_too_long(password: str) -> bool:
    return len(password.encode()) > MAX_PASSWORD_BYTES


async def hash_password(password: str) -> str:
    """Return the bcrypt hash of password at the configured cost."""
    return (await _hasher().run(_hash, password.encode(), _rounds())).decode()


async def verify_password(password: str, password_hash: str | None) -> bool:
    """Return whether password matches password_hash, at the same cost whatever the answer.

    A missing hash (no such user) or an over-long password is checked against the dummy
    hash, so every failure spends one full bcrypt check.
    """
    if password_hash is None or password_too_long(password):
        await _hasher().run(_check, b"not the password", current_app.extensions["dummy_hash"])
        return False
    return await _hasher().run(_check, password.encode(), password_hash.encode())
