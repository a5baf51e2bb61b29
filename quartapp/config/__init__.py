"""The app's settings: DEFAULTS, then QUARTAPP_* environment variables, then the factory's dict."""

from typing import Any

from quart import Quart

from .checks import check_database_url, check_values, ConfigurationError, use_base_url, use_languages
from .instance import use_instance_folder

__all__ = ["DEFAULTS", "ConfigurationError", "check_database_url", "configure"]

DAY = 24 * 60 * 60

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
    # Languages offered, in the picker's order; the first is for visitors whose browser asks for
    # none of them. QUARTAPP_LANGUAGES=de,en offers German first and no Spanish.
    "LANGUAGES": ["en", "de", "es"],
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
    check_values(app.config)
    use_languages(app)
    use_base_url(app)
    use_instance_folder(app)
    app.config["SECRET_KEY"] = str(app.config["SECRET_KEY"])
    # Quart-Auth's own expiry check: no signed cookie outlives the longest session.
    app.config["QUART_AUTH_DURATION"] = app.config["REMEMBER_LIFETIME"]
