"""Signing in with a passkey: alone (a discoverable credential), or as the second factor after the password."""

from quart import Blueprint, current_app, request

from ...answers import too_many
from ...audit import audit
from ...db.engine import get_session
from ...db.models import User
from ...i18n import _, _l
from ...login import safe_next, sign_in
from ...throttle import Limits
from .. import challenges
from ..factors import attempt_limits
from ..signin import finish, pending_user
from . import ceremonies, options
from .ceremonies import PasskeyError
from .http import Json, json_body, json_view, site

bp = Blueprint("passkey_signin", __name__)

EXPIRED = _l("That sign-in took too long. Sign in again.")


# Template functions, not a context processor: only the pages that offer passkeys pay for them.
@bp.app_template_global()
def passkeys_unavailable() -> str | None:
    """Why BASE_URL cannot carry passkeys, or None."""
    return ceremonies.unavailable(current_app.config)


@bp.app_template_global()
def passkeys_origin() -> str | None:
    """BASE_URL, when this page was opened at another origin (where a passkey ceremony could only fail)."""
    return ceremonies.other_origin(current_app.config)


@bp.post("/passkeys/signin/options")
@json_view
async def signin_options() -> Json:
    return await options.authentication_options(get_session(), site(), None)


@bp.post("/passkeys/signin/verify")
@json_view
async def signin_verify() -> Json:
    return await _alone(challenges.PASSKEY_SIGNIN)


# The sign-in page's autofill (conditional mediation) holds its request open while the page is used: a
# challenge of its own, so the button's options (or a second factor's) neither replace it nor are replaced by it.
@bp.post("/passkeys/signin/autofill/options")
@json_view
async def autofill_options() -> Json:
    return await options.authentication_options(get_session(), site(), None, challenges.PASSKEY_AUTOFILL)


@bp.post("/passkeys/signin/autofill/verify")
@json_view
async def autofill_verify() -> Json:
    return await _alone(challenges.PASSKEY_AUTOFILL, via="autofill")


async def _alone(purpose: str, **fields: str) -> Json:
    """Sign in with a passkey alone: a discoverable credential, unlocked on the device (two factors in one)."""
    body, db, rp = await json_body(), get_session(), site()
    try:
        user, passkey = await ceremonies.authenticate(db, rp, body.get("credential"), None, purpose)
    except PasskeyError:
        audit("passkey.failure", **fields)
        raise
    await sign_in(user, remember=False)  # commits the passkey's new counter with the session
    audit("passkey.used", username_key=user.username_key, name=passkey.name, **fields)
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
    return await options.authentication_options(get_session(), site(), user)


@bp.post("/signin/second-factor/passkey/verify")
@json_view
async def second_factor_verify() -> Json:
    body, db, rp = await json_body(), get_session(), site()
    user, limits, wait = await _pending()
    if wait:
        return _throttled(wait)
    try:
        await ceremonies.authenticate(db, rp, body.get("credential"), user)
    except PasskeyError:
        await limits.record_failure(db)
        await db.commit()
        audit("second_factor.failure", username_key=user.username_key, via="passkey")
        raise
    if (response := await finish(db, user, trusted=body.get("trust") is True)) is None:
        await db.rollback()  # another request finished this sign-in first
        raise PasskeyError(EXPIRED)
    await limits.record_success(db)
    await db.commit()
    audit("second_factor.success", username_key=user.username_key, via="passkey")
    return {"redirect": response.headers["Location"]}


def _throttled(wait: int) -> Json:
    message, retry_after = too_many(_("Too many failed attempts."), wait)
    return {"error": message}, 429, retry_after
