"""Encryption at rest for second-factor secrets (TOTP secrets; recovery codes waiting to be shown),
so a copy of the database does not give a second factor away.

The construction: AES-256-GCM (the `cryptography` package's AESGCM), authenticated, with a fresh
96-bit random nonce per sealing (one per TOTP setup: nowhere near GCM's 2^32 limit per key).
The key is HKDF-SHA256 of QUARTAPP_TOTP_KEY when set, else of SECRET_KEY, under its own `info`
label, so it is never the key that signs cookies and knowing one reveals nothing of the other.
The context (which user, which use) is GCM's associated data: a sealed secret copied into
another user's row, or from a setup in progress into an account, does not open.
Keys listed in SECRET_KEY_FALLBACKS (or TOTP_KEY_FALLBACKS) still open old secrets, so keys
can be rotated; a secret opened with an old key is sealed again with the new one when used.
"""

import base64
import os
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..random_tokens import derived_key

VERSION = "v1"
INFO = b"quartapp second-factor secrets v1"


def seal(config: Mapping[str, Any], plaintext: str, context: str) -> str:
    """Encrypt plaintext for context with the current key: "v1.<base64url(nonce + ciphertext)>"."""
    nonce = os.urandom(12)
    sealed = AESGCM(_keys(config)[0]).encrypt(nonce, plaintext.encode(), context.encode())
    return f"{VERSION}.{base64.urlsafe_b64encode(nonce + sealed).decode()}"


def unseal(config: Mapping[str, Any], sealed: str, context: str) -> tuple[str, bool] | None:
    """Return (plaintext, opened with an old key) for a value seal made for context, else None."""
    version, _, body = sealed.partition(".")
    if version != VERSION:
        return None
    try:
        raw = base64.urlsafe_b64decode(body)
    except ValueError:
        return None
    if len(raw) < 12 + 16:  # a nonce and GCM's tag, at the least
        return None
    for index, key in enumerate(_keys(config)):
        try:
            plaintext = AESGCM(key).decrypt(raw[:12], raw[12:], context.encode())
        except InvalidTag:
            continue
        return plaintext.decode(), index > 0
    return None


def _keys(config: Mapping[str, Any]) -> list[bytes]:
    """The current key first, then the old ones."""
    if config.get("TOTP_KEY"):
        secrets = [config["TOTP_KEY"], *(config.get("TOTP_KEY_FALLBACKS") or ())]
    else:
        secrets = [config["SECRET_KEY"], *(config.get("SECRET_KEY_FALLBACKS") or ())]
    return [derived_key(str(secret), INFO) for secret in secrets]
