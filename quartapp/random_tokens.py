"""Random secrets handed out once and stored only as their SHA-256: the session a cookie names,
a mailed link, a sign-in or passkey challenge, a recovery code. And keys derived from a secret."""

import hashlib
import secrets
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def new_token() -> tuple[str, str]:
    """Return a new random token (URL-safe text) and the digest it is stored under."""
    # 256 random bits: guessing a live one is hopeless, however many are outstanding; and as
    # only the digest is stored, a copy of the database names no live session and opens no link.
    token = secrets.token_urlsafe(32)
    return token, token_digest(token)


def token_digest(token: str) -> str:
    """Return what a token, a normalised recovery code or a throttled name is stored under: its SHA-256, in hex."""
    return hashlib.sha256(token.encode()).hexdigest()


@lru_cache(maxsize=32)
def derived_key(secret: str, info: bytes) -> bytes:
    """A 256-bit key for one use (info names it), HKDF-SHA256 of secret: knowing the key of one use
    (or the secret's use for signing cookies) reveals nothing of another's."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(secret.encode())
