"""WebAuthn passkeys (py_webauthn): each ceremony's options, their verification, the stored credentials.

The relying party is BASE_URL's host and the one origin accepted is BASE_URL's, never the request's
Host, which the client chooses. Challenges are server-side, single-use and live five minutes.
"""

import ipaddress
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import webauthn
from quart import current_app, has_request_context, request
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from webauthn import helpers
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url

from ...audit import audit
from ...db.engine import rowcount
from ...db.models import User, utcnow
from ...i18n import _l
from .. import challenges
from ..models import Passkey

LIFETIME = 5 * 60  # seconds a ceremony's challenge stays valid
CREDENTIAL_ID = re.compile(r"[A-Za-z0-9_-]{1,1400}")  # base64url, the column's width: nothing else is looked up
NOT_VALID = _l("That passkey could not be verified. Try again.")
UNKNOWN = _l("That passkey is not registered here.")  # also for a disabled account: it reveals nothing more
REGISTERED = _l("That passkey is already registered.")
TIMED_OUT = _l("That took too long or was already used. Try again.")


class PasskeyError(Exception):
    """A refused ceremony; its message is for the visitor."""


class UnknownCredential(PasskeyError):
    """A passkey this site has no record of at all: removed, or its account deleted.

    The page then tells the browser (WebAuthn's signalUnknownCredential) so that its password
    manager can drop the passkey, which this site cannot reach. Only for a credential id with no
    row: a disabled account's passkey, or another account's, stays a plain refusal, or the page
    would have a passkey that still works for its owner forgotten.
    """

    def __init__(self) -> None:
        super().__init__(UNKNOWN)


@dataclass(frozen=True)
class RelyingParty:
    id: str
    origin: str
    name: str


def relying_party(config: Mapping[str, Any]) -> RelyingParty:
    """The relying party BASE_URL names, or PasskeyError saying why passkeys cannot work there."""
    site = _site(str(config["BASE_URL"]), str(config["WEBAUTHN_RP_NAME"]))
    if isinstance(site, str):
        raise PasskeyError(site)
    return site


def unavailable(config: Mapping[str, Any]) -> str | None:
    """Why passkeys cannot work at BASE_URL, or None."""
    site = _site(str(config["BASE_URL"]), str(config["WEBAUTHN_RP_NAME"]))
    return site if isinstance(site, str) else None


@lru_cache(maxsize=8)  # settings, not requests: worked out once, not on every sign-in page
def _site(base_url: str, name: str) -> RelyingParty | str:
    """The relying party of base_url, or why there can be none."""
    parts = urlsplit(base_url)
    host, default = parts.hostname or "", {"http": 80, "https": 443}[parts.scheme]
    port = f":{parts.port}" if parts.port not in (None, default) else ""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:  # WebAuthn forbids IP addresses as relying party ids
        return (
            f"Passkeys need a host name, not an IP address: set QUARTAPP_BASE_URL=http://localhost{port} "
            "and open that address."
        )
    if parts.scheme == "http" and host != "localhost" and not host.endswith(".localhost"):
        # Browsers offer WebAuthn only in secure contexts: https, or http on localhost.
        return "Passkeys need https: set QUARTAPP_BASE_URL to the site's https:// address"
    return RelyingParty(host, f"{parts.scheme}://{host}{port}", name)


def other_origin(config: Mapping[str, Any]) -> str | None:
    """BASE_URL, when this request came to another origin (127.0.0.1 for localhost): passkeys work only there."""
    if not has_request_context():
        return None
    base = str(config["BASE_URL"])
    here = f"{request.scheme}://{request.host}"
    return None if urlsplit(base)[:2] == urlsplit(here)[:2] else base


def clean_name(value: object) -> str | None:
    name = " ".join(value.split()) if isinstance(value, str) else ""
    return name if 0 < len(name) <= 64 and name.isprintable() else None


async def _expected(db: AsyncSession, purpose: str, user_id: int | None, rp: RelyingParty) -> dict[str, Any]:
    """What the response must show: this visitor's challenge, spent now, and this site's RP id and origin."""
    row = await challenges.take(db, purpose)
    await db.commit()  # spent before anything is checked: a failed or replayed attempt cannot reuse it
    if row is None or row.user_id != user_id:  # a second-factor challenge works only for its user
        raise PasskeyError(TIMED_OUT)
    return {"expected_challenge": base64url_to_bytes(row.data), "expected_rp_id": rp.id, "expected_origin": rp.origin}


def _checked[T](verify: Callable[..., T], **arguments: Any) -> T:
    try:
        return verify(**arguments)
    except Exception as error:  # py_webauthn parses untrusted bytes: whatever it raises, the response is invalid
        current_app.logger.info("passkey response refused: %s", error)
        raise PasskeyError(NOT_VALID) from error


async def register(db: AsyncSession, user: User, rp: RelyingParty, response: object, name: str) -> Passkey:
    """Verify the response to registration_options and store its passkey (flushed, not committed)."""
    expected = await _expected(db, challenges.PASSKEY_REGISTER, user.id, rp)
    parsed = _checked(helpers.parse_registration_credential_json, json_val=response)
    verified = _checked(
        webauthn.verify_registration_response, credential=parsed, **expected, require_user_verification=True
    )
    key, credential_id = verified.credential_public_key, bytes_to_base64url(verified.credential_id)
    # Refuse now a key that could never verify a signature, rather than at every sign-in.
    _checked(lambda: helpers.decoded_public_key_to_cryptography(helpers.decode_credential_public_key(key)))
    if len(verified.credential_id) > 1023:  # WebAuthn's limit, and the column's
        raise PasskeyError(NOT_VALID)
    if await db.get(Passkey, credential_id) is not None:
        raise PasskeyError(REGISTERED)
    transports = list(dict.fromkeys(t.value for t in parsed.response.transports or ()))
    passkey = Passkey(id=credential_id, user_id=user.id, name=name, public_key=key, sign_count=verified.sign_count)
    passkey.transports = json.dumps(transports)
    db.add(passkey)
    try:
        await db.flush()
    except IntegrityError:  # the same credential, registered at the same moment by another request
        await db.rollback()
        raise PasskeyError(REGISTERED) from None
    return passkey


async def authenticate(
    db: AsyncSession, rp: RelyingParty, response: object, user: User | None, purpose: str = challenges.PASSKEY_SIGNIN
) -> tuple[User, Passkey]:
    """Verify the response to authentication_options (for user, as a second factor); count the use."""
    expected = await _expected(db, purpose, user.id if user else None, rp)
    parsed = _checked(helpers.parse_authentication_credential_json, json_val=response)
    passkey = await db.get(Passkey, parsed.id) if CREDENTIAL_ID.fullmatch(parsed.id) else None
    if passkey is None:
        raise UnknownCredential()
    owner = await db.get(User, passkey.user_id)
    if owner is None or owner.disabled_at is not None or (user and owner.id != user.id):
        raise PasskeyError(UNKNOWN)
    handle = parsed.response.user_handle
    if user is None and handle is None:  # a discoverable credential must name its account...
        raise PasskeyError(UNKNOWN)
    if handle is not None and bytes_to_base64url(handle) != owner.webauthn_handle:  # ...and it must be the owner
        raise PasskeyError(UNKNOWN)
    verified = _checked(
        webauthn.verify_authentication_response,
        credential=parsed,
        **expected,
        credential_public_key=passkey.public_key,
        credential_current_sign_count=0,  # the counter is checked below, once the signature holds
        require_user_verification=user is None,  # alone, the passkey must be two factors in one
    )
    stored, reported = passkey.sign_count, verified.new_sign_count
    # One conditional UPDATE decides: a counter that did not grow means a copy of the key was used
    # (authenticators without a counter always say 0, and then never another number).
    grew = Passkey.sign_count < reported if reported > 0 else Passkey.sign_count == 0
    statement = update(Passkey).where(Passkey.id == passkey.id, grew).values(sign_count=reported, last_used_at=utcnow())
    if not await rowcount(db, statement):
        audit("passkey.counter_regressed", username_key=owner.username_key, stored=stored, reported=reported)
        current_app.logger.warning("user %d: passkey counter %d after %d, possibly cloned", owner.id, reported, stored)
        raise PasskeyError(NOT_VALID)
    return owner, passkey
