"""Checks of the settings' values: a setting the app cannot run with stops it at start, saying why."""

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from quart import Quart
from sqlalchemy import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from ..web.gate import normalize

# A catalog folder's name: a language, then an optional territory or script (de, pt_BR, zh_Hant).
LANGUAGE_CODE = re.compile(r"[a-z]{2,3}(_[A-Z][a-z]{3})?(_[A-Z]{2}|_[0-9]{3})?")


class ConfigurationError(ValueError):
    """A setting that the app cannot run with; its message says which and why."""


def check_values(config: Mapping[str, Any]) -> None:
    """Raise ConfigurationError for the first setting out of its range."""
    rounds = config["BCRYPT_ROUNDS"]
    if not isinstance(rounds, int) or not 4 <= rounds <= 31:
        raise ConfigurationError(f"BCRYPT_ROUNDS must be a whole number from 4 to 31, not {rounds!r}")
    strength = config["PASSWORD_MIN_STRENGTH"]
    if isinstance(strength, bool) or strength not in range(5):
        raise ConfigurationError(f"PASSWORD_MIN_STRENGTH must be a zxcvbn score from 0 (off) to 4, not {strength!r}")
    breached = config["BREACHED_PASSWORD_URL"]
    if breached is not None and not str(breached).startswith(("https://", "http://")):
        raise ConfigurationError(f"BREACHED_PASSWORD_URL must be an http(s):// URL, not {breached!r}")
    if config["COOKIE_SECURE"] not in (True, False, "auto"):
        raise ConfigurationError("COOKIE_SECURE must be true, false or auto")
    for name in ("HASH_WORKERS", "SERVER_WORKERS", "SIGNIN_CODE_ATTEMPTS"):
        value = config[name]
        if (value is not None or name != "HASH_WORKERS") and not whole_number(value):
            raise ConfigurationError(f"{name} must be a whole number of at least 1, not {value!r}")
    retention = config["AUDIT_RETENTION_DAYS"]
    if retention is not None and not whole_number(retention):
        raise ConfigurationError(f"AUDIT_RETENTION_DAYS must be a whole number of days, or null, not {retention!r}")
    for name in ("RECENT_SIGNIN_WINDOW", "AUDIT_FLUSH_INTERVAL"):
        value = config[name]
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise ConfigurationError(f"{name} must be a number of seconds above 0, not {value!r}")
    for name in ("SIGNIN_CODE_LIFETIME", "TRUSTED_BROWSER_DAYS"):
        if not whole_number(config[name]) and config[name] != 0:
            raise ConfigurationError(f"{name} must be a whole number, 0 to turn it off, not {config[name]!r}")
    hosts = config["TRUSTED_HOSTS"]
    if not isinstance(hosts, list) or not hosts or not all(isinstance(host, str) and host for host in hosts):
        raise ConfigurationError('TRUSTED_HOSTS must be a JSON list of host names, such as ["auth.example.com"]')


def whole_number(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def use_base_url(app: Quart) -> None:
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


def use_languages(app: Quart) -> None:
    """Check LANGUAGES (a list, or a comma-separated string from the environment) and keep it as a list."""
    value = app.config["LANGUAGES"]
    languages = [part.strip() for part in value.split(",")] if isinstance(value, str) else value
    if (
        not isinstance(languages, list)
        or not languages
        or not all(isinstance(language, str) and LANGUAGE_CODE.fullmatch(language) for language in languages)
        or len(set(languages)) < len(languages)
    ):
        raise ConfigurationError(f"LANGUAGES must list language codes once each, such as de,en or pt_BR, not {value!r}")
    app.config["LANGUAGES"] = languages


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
