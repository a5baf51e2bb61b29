"""Random secrets handed out once and stored only as their SHA-256: the session a cookie names,
a mailed link, a sign-in or passkey challenge, a recovery code."""

import hashlib
import secrets


def new_token() -> tuple[str, str]:
    """Return a new random token (URL-safe text) and the digest it is stored under."""
    # 256 random bits: guessing a live one is hopeless, however many are outstanding; and as
    # only the digest is stored, a copy of the database names no live session and opens no link.
    token = secrets.token_urlsafe(32)
    return token, token_digest(token)


def token_digest(token: str) -> str:
    """Return what a token, a normalised recovery code or a throttled name is stored under: its SHA-256, in hex."""
    return hashlib.sha256(token.encode()).hexdigest()
