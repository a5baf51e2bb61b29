"""A software WebAuthn authenticator for the tests: one EC P-256 passkey, "none" attestation.

It answers the options the server sends as a browser and authenticator together would, with
what each test controls: the origin and RP id it claims, the flags, the signature counter.
"""

import base64
import hashlib
import json
import os
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

UP, UV, AT = 0x01, 0x04, 0x40  # authenticator data flags: user present, user verified, attested data


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Authenticator:
    """Holds one credential; counter_step 0 is an authenticator that keeps no counter."""

    def __init__(self, origin: str = "http://localhost", rp_id: str = "localhost", *, sign_count: int = 0,
                 counter_step: int = 1) -> None:  # fmt: skip
        self.origin, self.rp_id = origin, rp_id
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = os.urandom(16)
        self.sign_count, self.counter_step = sign_count, counter_step
        self.user_handle: bytes | None = None

    @property
    def id(self) -> str:
        return b64(self.credential_id)

    def _cose_key(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        x, y = numbers.x.to_bytes(32, "big"), numbers.y.to_bytes(32, "big")
        return cbor2.dumps({1: 2, 3: -7, -1: 1, -2: x, -3: y})  # kty EC2, alg ES256, crv P-256

    def _client_data(self, kind: str, options: dict[str, Any], origin: str | None) -> bytes:
        data = {"type": kind, "challenge": options["challenge"], "origin": origin or self.origin, "crossOrigin": False}
        return json.dumps(data).encode()

    def _auth_data(self, rp_id: str | None, flags: int, attested: bytes = b"") -> bytes:
        rp_hash = hashlib.sha256((rp_id or self.rp_id).encode()).digest()
        return rp_hash + bytes([flags]) + self.sign_count.to_bytes(4, "big") + attested

    def create(
        self, options: dict[str, Any], *, origin: str | None = None, rp_id: str | None = None, flags: int = UP | UV | AT
    ) -> dict[str, Any]:
        """The credential JSON navigator.credentials.create() gives for options (the server's JSON)."""
        self.user_handle = unb64(options["user"]["id"])
        attested = bytes(16) + len(self.credential_id).to_bytes(2, "big") + self.credential_id + self._cose_key()
        auth_data = self._auth_data(rp_id, flags, attested)
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        client_data = self._client_data("webauthn.create", options, origin)
        return self._credential(client_data, attestationObject=b64(attestation), transports=["internal", "hybrid"])

    def get(
        self,
        options: dict[str, Any],
        *,
        origin: str | None = None,
        rp_id: str | None = None,
        flags: int = UP | UV,
        sign_count: int | None = None,
        user_handle: bytes | None = None,
        with_user_handle: bool = True,
    ) -> dict[str, Any]:
        """The credential JSON navigator.credentials.get() gives for options, signed by this key."""
        self.sign_count = self.sign_count + self.counter_step if sign_count is None else sign_count
        auth_data = self._auth_data(rp_id, flags)
        client_data = self._client_data("webauthn.get", options, origin)
        signature = self.key.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        handle = user_handle if user_handle is not None else self.user_handle
        return self._credential(
            client_data,
            authenticatorData=b64(auth_data),
            signature=b64(signature),
            userHandle=b64(handle) if with_user_handle and handle is not None else None,
        )

    def _credential(self, client_data: bytes, **response: object) -> dict[str, Any]:
        """The credential JSON a browser posts: this key's id, and the ceremony's response fields."""
        return {
            "id": self.id,
            "rawId": self.id,
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
            "response": {"clientDataJSON": b64(client_data), **response},
        }
