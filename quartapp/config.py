import logging
import os
import secrets
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from quart import Quart
from sqlalchemy import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from .web.gate import normalize

DAY = 24 * 60 * 60

log = logging.getLogger(__name__)


class ConfigurationError(ValueError):
    """A setting that the app cannot run with; its message says which and why."""


DEFAULTS: dict[str, Any] = {
    "SECRET_KEY": None,  # None: generated once and kept in the instance folder
    "DATABASE_URL": None,  # None: SQLite file in the instance folder
    "BCRYPT_ROUNDS": 12,
    "HASH_WORKERS": None,  # threads hashing per worker; None: twice the worker's share of the cores
    "SERVER_WORKERS": 1,  # the server's worker processes on this machine (quartapp-serve sets it)
    "HASH_MAX_WAIT": 1.5,  # seconds a hash may wait for a thread; a sign-in that would wait longer gets a 503
    "HASH_PATIENCE": 1.0,  # seconds such a sign-in first waits for room, so a client retrying at once is slowed
    "HASH_NICENESS": 10,  # OS priority of the hashing threads (Linux): pages first, then hashing
    "COOKIE_SECURE": "auto",  # True, False, or "auto": Secure exactly when served over https
    "PASSWORD_MIN_LENGTH": 8,
    # zxcvbn's score (0-4) a new password needs; 3: about 10**8 guesses. 0 turns the check off.
    "PASSWORD_MIN_STRENGTH": 3,
    "BREACHED_PASSWORD_URL": None,  # a Pwned Passwords range API, e.g. https://api.pwnedpasswords.com/range
    "BREACHED_PASSWORD_TIMEOUT": 2.0,  # seconds; a service slower than this allows the password
    "SESSION_LIFETIME": DAY // 2,  # absolute lifetime of a session without "remember me"
    "SESSION_IDLE_TIMEOUT": 2 * 60 * 60,  # ...and how long it may go unused
    "REMEMBER_LIFETIME": 30 * DAY,  # absolute lifetime with "remember me"
    "REMEMBER_IDLE_TIMEOUT": 14 * DAY,
    "THROTTLE_WINDOW": 15 * 60,  # failures are counted per window of this many seconds
    "THROTTLE_ACCOUNT_FAILURES": 5,  # free failures per account and window
    "THROTTLE_ADDRESS_FAILURES": 100,  # free failures per client address (IPv6: /64) and window
    "THROTTLE_BASE_DELAY": 1,  # seconds blocked after the first failure past the free ones
    "THROTTLE_MAX_DELAY": 5 * 60,  # the doubling stops here
    "HOUSEKEEPING_INTERVAL": 10 * 60,  # seconds between deletions of expired sessions and counters
    # Days an audit event is kept in the database (docs/security.md says why a year); None: for ever.
    "AUDIT_RETENTION_DAYS": 365,
    "AUDIT_FLUSH_INTERVAL": 1.0,  # seconds an audit event may wait before its row is written
    # Seconds after a password check in which pages behind recent_signin_required ask for none.
    "RECENT_SIGNIN_WINDOW": 10 * 60,
    "SECOND_FACTOR_TIMEOUT": 5 * 60,  # seconds between the right password and the second factor
    "TRUSTED_BROWSER_DAYS": 30,  # "don't ask for a code on this browser" lasts this long; 0: not offered
    "TOTP_KEY": None,  # None: the TOTP secrets' key is derived from SECRET_KEY (see mfa/secretbox.py)
    "TOTP_KEY_FALLBACKS": [],  # old TOTP_KEYs, still opening secrets sealed with them
    "TOTP_ISSUER": "quartapp",  # the account's label in authenticator apps
    "WEBAUTHN_RP_NAME": "quartapp",  # the site's name on passkeys; their RP id and origin come from BASE_URL
    "CSRF_TIME_LIMIT": DAY // 2,  # a form older than this must be reloaded
    "HEALTH_TIMEOUT": 2.0,  # seconds /healthz waits for the database
    "DB_POOL_SIZE": 5,  # connections kept open per worker process
    "DB_MAX_OVERFLOW": 10,  # extra connections opened under load, closed when returned
    "DB_POOL_TIMEOUT": 5.0,  # seconds a request waits for a free connection before a 503
    "DB_POOL_RECYCLE": 300,  # seconds before a connection is reopened (-1: never)
    "DB_CONNECT_TIMEOUT": 2.0,  # seconds to open a PostgreSQL connection
    "DB_QUERY_TIMEOUT": 5.0,  # seconds per statement (PostgreSQL) or per lock wait (SQLite)
    "TRUSTED_PROXIES": [],  # addresses or networks whose X-Forwarded-For/-Proto are believed
    # Host names the app answers to (".example.com": any subdomain); any other Host gets a 400.
    "TRUSTED_HOSTS": ["127.0.0.1", "localhost", "[::1]"],
    "HSTS_MAX_AGE": 2 * 365 * DAY,  # Strict-Transport-Security over https; None: not sent
    # A sign-in form is a few hundred bytes; refuse anything larger before reading it.
    "MAX_CONTENT_LENGTH": 64 * 1024,
    # Links in mails start with this, never with the request's Host; a host set here is served.
    "BASE_URL": None,  # None: http://localhost:8000, where make run serves
    "SMTP_URL": None,  # smtp://, smtp+starttls:// or smtps://; None: mails go to instance/outbox/
    "MAIL_FROM": "quartapp <quartapp@localhost>",
    "MAIL_TIMEOUT": 10.0,  # seconds per delivery attempt
    "MAIL_ATTEMPTS": 4,  # attempts per mail before it is given up (and logged)
    "MAIL_RETRY_DELAY": 2.0,  # seconds before the second attempt, doubling after each
    "RESET_TOKEN_LIFETIME": 60 * 60,
    "VERIFY_TOKEN_LIFETIME": 3 * DAY,
    "SIGNIN_CODE_LIFETIME": 10 * 60,  # seconds a mailed sign-in code works; 0 turns sign-in by code off
    "SIGNIN_CODE_ATTEMPTS": 5,  # wrong entries before a mailed sign-in code is void
    "MAIL_LIMIT_WINDOW": 60 * 60,  # reset, verification and sign-in code mails are counted per window...
    "MAIL_LIMIT_PER_ADDRESS": 3,  # ...per recipient address
    "MAIL_LIMIT_PER_NETWORK": 20,  # ...and per requesting client's network
    "SESSION_COOKIE_NAME": "quartapp_session",
    "SESSION_COOKIE_SAMESITE": "Lax",
    "QUART_AUTH_COOKIE_NAME": "quartapp_auth",
    "QUART_AUTH_COOKIE_SAMESITE": "Lax",
}


def configure(app: Quart, test_config: dict[str, Any] | None) -> None:
    """Load configuration: DEFAULTS, then QUARTAPP_* environment variables, then test_config.

    Values from the environment are parsed as JSON where they can be, so
    QUARTAPP_BCRYPT_ROUNDS=10 is the number 10 and QUARTAPP_COOKIE_SECURE=false is False.
    """
    app.config.update(DEFAULTS)
    app.config.from_prefixed_env("QUARTAPP")
    if test_config is not None:
        app.config.update(test_config)

    rounds = app.config["BCRYPT_ROUNDS"]
    if not isinstance(rounds, int) or not 4 <= rounds <= 31:
        raise ConfigurationError(f"BCRYPT_ROUNDS must be a whole number from 4 to 31, not {rounds!r}")
    strength = app.config["PASSWORD_MIN_STRENGTH"]
    if isinstance(strength, bool) or strength not in range(5):
        raise ConfigurationError(f"PASSWORD_MIN_STRENGTH must be a zxcvbn score from 0 (off) to 4, not {strength!r}")
    breached = app.config["BREACHED_PASSWORD_URL"]
    if breached is not None and not str(breached).startswith(("https://", "http://")):
        raise ConfigurationError(f"BREACHED_PASSWORD_URL must be an http(s):// URL, not {breached!r}")
    if app.config["COOKIE_SECURE"] not in (True, False, "auto"):
        raise ConfigurationError("COOKIE_SECURE must be true, false or auto")
    for name in ("HASH_WORKERS", "SERVER_WORKERS", "SIGNIN_CODE_ATTEMPTS"):
        value = app.config[name]
        if (value is not None or name != "HASH_WORKERS") and not _whole_number(value):
            raise ConfigurationError(f"{name} must be a whole number of at least 1, not {value!r}")
    retention = app.config["AUDIT_RETENTION_DAYS"]
    if retention is not None and not _whole_number(retention):
        raise ConfigurationError(f"AUDIT_RETENTION_DAYS must be a whole number of days, or null, not {retention!r}")
    for name in ("RECENT_SIGNIN_WINDOW", "AUDIT_FLUSH_INTERVAL"):
        value = app.config[name]
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise ConfigurationError(f"{name} must be a number of seconds above 0, not {value!r}")
    for name in ("SIGNIN_CODE_LIFETIME", "TRUSTED_BROWSER_DAYS"):
        if not _whole_number(app.config[name]) and app.config[name] != 0:
            raise ConfigurationError(f"{name} must be a whole number, 0 to turn it off, not {app.config[name]!r}")
    hosts = app.config["TRUSTED_HOSTS"]
    if not isinstance(hosts, list) or not hosts or not all(isinstance(host, str) and host for host in hosts):
        raise ConfigurationError('TRUSTED_HOSTS must be a JSON list of host names, such as ["auth.example.com"]')

    _use_base_url(app)

    instance = Path(app.instance_path)
    if not (app.config["DATABASE_URL"] and app.config["SECRET_KEY"]) and _inside_virtualenv(instance):
        # Quart's default for an installed package: every account would go with the virtualenv.
        log.warning(
            "The instance folder %s, which keeps the SQLite database and the secret key, is inside "
            "the virtualenv: recreating it deletes every account. Set QUARTAPP_INSTANCE_PATH to a "
            "folder outside it.",
            instance,
        )
    if not app.config["DATABASE_URL"]:
        instance.mkdir(parents=True, exist_ok=True)
        app.config["DATABASE_URL"] = f"sqlite+aiosqlite:///{instance / 'quartapp.sqlite3'}"
    check_database_url(app.config["DATABASE_URL"])
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = _instance_secret(instance / "secret_key")
    app.config["SECRET_KEY"] = str(app.config["SECRET_KEY"])
    # Quart-Auth's own expiry check: no signed cookie outlives the longest session.
    app.config["QUART_AUTH_DURATION"] = app.config["REMEMBER_LIFETIME"]


def _inside_virtualenv(path: Path) -> bool:
    return sys.prefix != sys.base_prefix and path.resolve().is_relative_to(Path(sys.prefix).resolve())


def _whole_number(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _use_base_url(app: Quart) -> None:
    """Check BASE_URL, drop its trailing slash, and serve its host (a link must not land on a 400)."""
    if not app.config["BASE_URL"]:
        app.config["BASE_URL"] = "http://localhost:8000"
        if "localhost" not in app.config["TRUSTED_HOSTS"]:
            app.logger.warning("BASE_URL is not set: links in mails point at http://localhost:8000")
        return
    base = str(app.config["BASE_URL"]).rstrip("/")
    try:
        parts = urlsplit(base)
        hostname, _ = parts.hostname, parts.port  # a malformed port raises here
    except ValueError:
        hostname = None
    if not hostname or parts.scheme not in ("http", "https") or parts.query or parts.fragment or "@" in base:
        raise ConfigurationError(
            f"BASE_URL must be an http:// or https:// URL, such as https://auth.example.com, not {base!r}"
        )
    app.config["BASE_URL"] = base
    if normalize(hostname) not in map(normalize, app.config["TRUSTED_HOSTS"]):
        app.config["TRUSTED_HOSTS"] = [*app.config["TRUSTED_HOSTS"], hostname]  # a new list: DEFAULTS is left as it is


def check_database_url(value: str) -> None:
    """Raise ConfigurationError unless value is a database URL whose driver is installed."""
    try:
        url = make_url(value)
        dialect = url.get_dialect()
    except (ArgumentError, NoSuchModuleError):
        raise ConfigurationError(
            "DATABASE_URL is not a URL of a supported database, such as "
            "sqlite+aiosqlite:///path/to/file.sqlite3 or postgresql+asyncpg://user@host/name"
        ) from None
    if not dialect.is_async:
        raise ConfigurationError(
            f"DATABASE_URL {url.render_as_string()} names a synchronous driver; quartapp needs an async "
            "one, such as sqlite+aiosqlite:// or postgresql+asyncpg://"
        )
    try:
        dialect.import_dbapi()
    except ImportError as error:
        hint = " (pip install 'quartapp[postgres]')" if error.name == "asyncpg" else ""
        raise ConfigurationError(
            f"DATABASE_URL {url.render_as_string()} needs the {error.name or url.drivername} package, "
            f"which is not installed{hint}"
        ) from None


def _instance_secret(path: Path) -> str:
    """Return the secret kept at path, creating it once if it does not exist yet."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    candidate = path.with_name(f".{path.name}.{os.getpid()}")
    # Only the owner may read the key that signs every cookie.
    fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_urlsafe(64))
    try:
        # link() fails if the file exists, so workers starting together agree on one key.
        os.link(candidate, path)
    except FileExistsError:
        pass
    finally:
        candidate.unlink()
    return path.read_text().strip()
