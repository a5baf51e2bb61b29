"""TOTP (RFC 6238: SHA-1, 6 digits, 30 s steps) with pyotp; each code is accepted once."""

import re
import time

import pyotp
import segno
from markupsafe import Markup
from quart import current_app
from sqlalchemy import or_, update
from sqlalchemy.ext.asyncio import AsyncSession

from ..db.engine import rowcount
from ..db.models import User
from . import secretbox

CODE = re.compile(r"\d{6}")
DRIFT = 1  # steps of clock drift tolerated either way


def new_secret() -> str:
    return pyotp.random_base32()  # 160 bits, RFC 4226's recommended length


def looks_like_code(code: str) -> bool:
    return CODE.fullmatch(code.replace(" ", "")) is not None


def matching_step(secret: str, code: str, now: float | None = None) -> int | None:
    """Return the time step whose code is code (within DRIFT of now), or None."""
    code = code.replace(" ", "")
    if not CODE.fullmatch(code):
        return None
    totp = pyotp.TOTP(secret)
    current = int((time.time() if now is None else now) // totp.interval)
    for step in range(current - DRIFT, current + DRIFT + 1):
        if pyotp.utils.strings_equal(totp.generate_otp(step), code):
            return step
    return None


def context(user_id: int) -> str:
    return f"totp:{user_id}"


def secret_of(user: User) -> str | None:
    """The user's TOTP secret, unsealed (a secret sealed with an old key is sealed anew)."""
    if user.totp_secret is None:
        return None
    opened = secretbox.unseal(current_app.config, user.totp_secret, context(user.id))
    if opened is None:
        current_app.logger.error("the TOTP secret of user %d does not open with any configured key", user.id)
        return None
    secret, old_key = opened
    if old_key:
        user.totp_secret = secretbox.seal(current_app.config, secret, context(user.id))
    return secret


async def accept(db: AsyncSession, user: User, code: str) -> bool:
    """Accept code for user once: its step must be newer than the last accepted one.

    One conditional UPDATE decides, so a code seen over a shoulder (or sent twice at once, to
    two workers) signs in at most once.
    """
    secret = secret_of(user)
    step = matching_step(secret, code) if secret else None
    if step is None:
        return False
    statement = (
        update(User)
        .where(User.id == user.id, User.totp_secret.is_not(None))
        .where(or_(User.totp_last_step.is_(None), User.totp_last_step < step))
        .values(totp_last_step=step)
    )
    return await rowcount(db, statement) == 1


def provisioning_uri(secret: str, username: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=current_app.config["TOTP_ISSUER"])


def qr_svg(uri: str) -> Markup:
    """The otpauth URI as an inline SVG QR code: drawn here, no external service, no script."""
    svg = segno.make(uri, error="m").svg_inline(omitsize=True, dark="#000", light="#fff", title="QR code of the secret")
    svg = svg.replace("<svg ", '<svg role="img" aria-label="QR code of the secret" ', 1)
    return Markup(svg)  # noqa: S704  (segno's own SVG of a URI made here, nothing from the request)
