"""The options of each WebAuthn ceremony, with their single-use challenge held server-side."""

import json
import secrets
from typing import Any

import webauthn
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url, options_to_json_dict, structs

from ...db.models import User
from ...i18n import _
from .. import challenges
from ..models import Passkey
from .ceremonies import LIFETIME, PasskeyError, RelyingParty

MAX_PER_USER = 20
UV = structs.UserVerificationRequirement


async def of_user(db: AsyncSession, user_id: int) -> list[Passkey]:
    return list(await db.scalars(select(Passkey).where(Passkey.user_id == user_id).order_by(Passkey.created_at)))


def _descriptor(passkey: Passkey) -> structs.PublicKeyCredentialDescriptor:
    known = {t.value for t in structs.AuthenticatorTransport}
    transports = [structs.AuthenticatorTransport(t) for t in json.loads(passkey.transports or "[]") if t in known]
    return structs.PublicKeyCredentialDescriptor(id=base64url_to_bytes(passkey.id), transports=transports)


async def registration_options(db: AsyncSession, user: User, rp: RelyingParty) -> dict[str, Any]:
    existing = await of_user(db, user.id)
    if len(existing) >= MAX_PER_USER:
        raise PasskeyError(_("You have %(count)d passkeys: remove one before adding another.", count=MAX_PER_USER))
    # A random handle, not the row id: authenticators keep it, and it must say nothing of the account.
    # Set once, conditionally, so two first registrations at once agree on one handle.
    handle = bytes_to_base64url(secrets.token_bytes(32))
    await db.execute(
        update(User).where(User.id == user.id, User.webauthn_handle.is_(None)).values(webauthn_handle=handle)
    )
    handle = await db.scalar(select(User.webauthn_handle).where(User.id == user.id)) or handle
    options = webauthn.generate_registration_options(
        rp_id=rp.id,
        rp_name=rp.name,
        user_id=base64url_to_bytes(handle),
        user_name=user.username,
        timeout=LIFETIME * 1000,
        # Discoverable and user-verified: the passkey alone, unlocked on the device, signs in.
        authenticator_selection=structs.AuthenticatorSelectionCriteria(
            resident_key=structs.ResidentKeyRequirement.REQUIRED, user_verification=UV.REQUIRED
        ),
        exclude_credentials=[_descriptor(p) for p in existing],  # one authenticator, one passkey per account
    )
    return await _issued(db, challenges.PASSKEY_REGISTER, user.id, options)


async def authentication_options(
    db: AsyncSession, rp: RelyingParty, user: User | None, purpose: str = challenges.PASSKEY_SIGNIN
) -> dict[str, Any]:
    """Alone (user None): any discoverable credential. As a second factor: the user's own ones."""
    allowed = [_descriptor(p) for p in await of_user(db, user.id)] if user else []
    required = UV.REQUIRED if user is None else UV.PREFERRED  # after a password, possession is the factor asked
    options = webauthn.generate_authentication_options(
        rp_id=rp.id, timeout=LIFETIME * 1000, allow_credentials=allowed, user_verification=required
    )
    return await _issued(db, purpose, user.id if user else None, options)


async def _issued(db: AsyncSession, purpose: str, user_id: int | None, options: Any) -> dict[str, Any]:
    challenge = bytes_to_base64url(options.challenge)
    await challenges.issue(db, purpose, LIFETIME, user_id=user_id, data=challenge)
    await db.commit()
    return options_to_json_dict(options)
