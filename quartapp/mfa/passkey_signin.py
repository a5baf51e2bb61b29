"""Signing in with a passkey: alone (a discoverable credential), or as the second factor after the password."""

from quart import Blueprint, current_app, request

from ..answers import too_many
from ..db import get_session
from ..login import safe_next, sign_in
from ..models import User
from ..security import audit
from ..throttle import Limits
from . import passkey_options, passkeys
from .passkey_http import Json, json_body, json_view, site
from .passkeys import PasskeyError
from .second_factors import attempt_limits
from .signin import finish, pending_user

bp = Blueprint("passkey_signin", __name__)

EXPIRED = "That sign-in took too long. Sign in again."


# Template functions, not a context processor: only the pages that offer passkeys pay for them.
@bp.app_template_global()
def passkeys_unavailable() -> str | None:
    """Why BASE_URL cannot carry passkeys, or None."""
    return passkeys.unavailable(current_app.config)


@bp.app_template_global()
def passkeys_origin() -> str | None:
    """BASE_URL, when this page was opened at another origin (where a passkey ceremony could only fail)."""
    return passkeys.other_origin(current_app.config)


@bp.post("/passkeys/signin/options")
@json_view
async def signin_options() -> Json:
    return await passkey_options.authentication_options(get_session(), site(), None)


@bp.post("/passkeys/signin/verify")
@json_view
async def signin_verify() -> Json:
    """Sign in with a passkey alone: a discoverable credential, unlocked on the device (two factors in one)."""
    body, db, rp = await json_body(), get_session(), site()
    try:
        user, passkey = await passkeys.authenticate(db, rp, body.get("credential"), None)
    except PasskeyError:
        audit("passkey.failure")
        raise
    await sign_in(user, remember=False)  # commits the passkey's new counter with the session
    audit("passkey.used", username_key=user.username_key, name=passkey.name)
    return {"redirect": safe_next(request.args.get("next"))}


async def _pending() -> tuple[User, Limits, int]:
    """The user whose password this visitor gave, their throttle, and the seconds it still blocks."""
    db = get_session()
    if (user := await pending_user(db)) is None:
        raise PasskeyError(EXPIRED)
    # The count of wrong codes: a passkey that fails is one more guess at the second factor.
    limits = attempt_limits(user)
    return user, limits, await limits.wait(db)


@bp.post("/signin/second-factor/passkey/options")
@json_view
async def second_factor_options() -> Json:
    user, _, wait = await _pending()
    if wait:
        return _throttled(wait)
    return await passkey_options.authentication_options(get_session(), site(), user)


@bp.post("/signin/second-factor/passkey/verify")
@json_view
async def second_factor_verify() -> Json:
    body, db, rp = await json_body(), get_session(), site()
    user, limits, wait = await _pending()
    if wait:
        return _throttled(wait)
    try:
        await passkeys.authenticate(db, rp, body.get("credential"), user)
    except PasskeyError:
        await limits.record_failure(db)
        await db.commit()
        audit("second_factor.failure", username_key=user.username_key, via="passkey")
        raise
    if (response := await finish(db, user)) is None:
        await db.rollback()  # another request finished this sign-in first
        raise PasskeyError(EXPIRED)
    await limits.record_success(db)
    await db.commit()
    audit("second_factor.success", username_key=user.username_key, via="passkey")
    return {"redirect": response.headers["Location"]}


def _throttled(wait: int) -> Json:
    message, retry_after = too_many("Too many failed attempts.", wait)
    return {"error": message}, 429, retry_after
