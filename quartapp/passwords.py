import os

import bcrypt
from quart import current_app, Quart, render_template

from .hasher import Hasher, Overloaded

# bcrypt reads at most 72 bytes and bcrypt 5 raises beyond that; longer passwords are refused
# at sign-up rather than silently truncated, so no two passwords can share one hash.
MAX_PASSWORD_BYTES = 72


def init_app(app: Quart) -> None:
    """Own the bcrypt thread pool for the app's serving lifetime."""

    @app.before_serving
    async def start_hasher() -> None:
        # bcrypt releases the GIL, so one thread per core hashes in parallel; more threads
        # would only queue inside the OS instead of in the pool.
        config = app.config
        threads = config["HASH_WORKERS"] or os.cpu_count() or 1
        hasher = Hasher(threads, config["HASH_MAX_WAIT"], config["HASH_PATIENCE"], config["HASH_NICENESS"])
        # Unknown usernames are checked against this hash, made at the configured cost, so
        # they take as long as a wrong password and do not reveal which names exist. Making
        # it also gives the first measure of how long a hash takes.
        app.extensions["dummy_hash"] = await hasher.run(_hash, b"not a password", config["BCRYPT_ROUNDS"])
        async with app.test_request_context("/signin"):
            hasher.refusal_page = await render_template("error.html", error=Overloaded())
        app.extensions["hasher"] = hasher

    @app.after_serving
    async def stop_hasher() -> None:
        app.extensions.pop("hasher").shutdown()


def _hash(password: bytes, rounds: int) -> bytes:
    return bcrypt.hashpw(password, bcrypt.gensalt(rounds))


def _check(password: bytes, password_hash: bytes) -> bool:
    try:
        return bcrypt.checkpw(password, password_hash)
    except ValueError:  # a malformed stored hash signs nobody in
        return False


# The forms whose submission costs a bcrypt run.
HASHING_FORMS = frozenset({"/signin", "/signup", "/password", "/email", "/reset/set-password"})


def admit() -> None:
    """Raise Overloaded now if the hash queue is full, before the request costs anything else."""
    _hasher().admit()


def _hasher() -> Hasher:
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
