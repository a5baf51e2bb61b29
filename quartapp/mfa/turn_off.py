"""Changing second factors already on: turning the app off, and a new set of recovery codes."""

from quart import Blueprint, flash, redirect, render_template, url_for
from sqlalchemy import update
from werkzeug.wrappers import Response

from ..answers import Page, too_many
from ..credentials import authenticate
from ..db import get_session
from ..forms import CSRFError, require_csrf
from ..models import User
from ..passwords import hashes_password
from ..reauth import recent_signin_required
from ..security import audit
from . import recovery_codes, totp
from .notices import notify
from .second_factors import account, attempt_limits, drop_codes_if_unneeded, needs_second_factor
from .setup import DisableForm

bp = Blueprint("two_factor_changes", __name__)


@bp.post("/2fa/totp/disable")
@hashes_password
@recent_signin_required
async def disable() -> Response | Page:
    """Turn TOTP off, given a valid code, or the password and a recovery code."""
    form = await DisableForm.from_request()
    if not form.validate_on_submit():
        raise CSRFError()
    user, db = await account(), get_session()
    if user.totp_secret is None:
        return redirect(url_for("two_factor.overview"), 303)
    limits = attempt_limits(user)
    if wait := await limits.wait(db):
        await flash(too_many("Too many failed attempts.", wait)[0])
        return redirect(url_for("two_factor.overview"), 303)
    proved = bool(form.code.data) and await totp.accept(db, user, form.code.data)
    if not proved and form.password.data and form.recovery_code.data:
        verified, _ = await authenticate(user.username, form.password.data)
        proved = verified is not None and await recovery_codes.use(db, user.id, form.recovery_code.data)
    if not proved:
        await limits.record_failure(db)
        await db.commit()
        await flash(
            "The authenticator app is still on: give a current code, or your password and an unused recovery code."
        )
        return redirect(url_for("two_factor.overview"), 303)
    await db.execute(update(User).where(User.id == user.id).values(totp_secret=None, totp_last_step=None))
    await drop_codes_if_unneeded(db, user.id)
    await limits.record_success(db)
    await db.commit()
    audit("totp.disabled", username_key=user.username_key)
    notify(user, "totp.disabled")
    await flash("Two-factor sign-in with an app is off.")
    return redirect(url_for("two_factor.overview"), 303)


@bp.post("/2fa/recovery-codes")
@recent_signin_required
async def renew_codes() -> Response | Page:
    """Make a new set of recovery codes, voiding the old one; shown once."""
    await require_csrf()
    user, db = await account(), get_session()
    if not await needs_second_factor(db, user):
        return redirect(url_for("two_factor.overview"), 303)
    codes = await recovery_codes.renew(db, user.id)
    await db.commit()
    audit("recovery_codes.renewed", username_key=user.username_key)
    notify(user, "recovery_codes.renewed")
    return await render_template("mfa/recovery_codes.html", codes=codes, first=False)
