"""/2fa/totp: turn the authenticator app on (a secret as text and QR code, confirmed by a code) and off."""

from quart import Blueprint, current_app, flash, redirect, render_template, url_for
from sqlalchemy import update
from werkzeug.wrappers import Response
from wtforms.validators import DataRequired

from ..answers import Page, too_many
from ..audit import audit
from ..credentials import authenticate
from ..db.engine import get_session, rowcount
from ..db.models import User, utcnow
from ..fields import Password, Text
from ..forms import CSRFError, Form, require_csrf
from ..i18n import _, _l
from ..passwords import hashes_password
from ..reauth import recent_signin_required
from . import challenges, recovery_codes, secretbox, totp, trust
from .factors import account, attempt_limits, drop_codes_if_unneeded, turn_off_totp
from .notices import notify

bp = Blueprint("totp", __name__)

SETUP = "totp.setup"
SETUP_LIFETIME = 15 * 60


class ConfirmForm(Form):
    code = Text(_l("Code from the app"), validators=[DataRequired()])


class DisableForm(Form):
    code = Text(_l("Code from the app"))
    password = Password(_l("Your password"))
    recovery_code = Text(_l("A recovery code"))


@bp.post("/2fa/totp/new")
@recent_signin_required
async def start() -> Response:
    """Make a new secret for this visitor to scan; nothing changes until a code confirms it."""
    await require_csrf()
    user, db = await account(), get_session()
    if user.totp_secret is not None:
        return await _already_on()
    sealed = secretbox.seal(current_app.config, totp.new_secret(), f"{SETUP}:{user.id}")
    await challenges.issue(db, SETUP, SETUP_LIFETIME, user_id=user.id, data=sealed)
    await db.commit()
    return redirect(url_for("totp.confirm"), 303)


@bp.get("/2fa/totp")
@recent_signin_required
async def confirm() -> Response | Page:
    return await _setup_page(ConfirmForm())


@bp.post("/2fa/totp")
@recent_signin_required
async def confirm_submit() -> Response | Page:
    """Turn TOTP on once a code from the new secret is right; show the recovery codes once."""
    form = await ConfirmForm.from_request()
    user, db = await account(), get_session()
    secret = await _pending_secret(user.id)
    if user.totp_secret is not None:
        return await _already_on()
    if secret is None:
        return redirect(url_for("mfa_settings.overview"), 303)
    if not form.validate_on_submit():
        return await _setup_page(form, form.status_code)
    if not totp.looks_like_code(form.code.data):
        form.code.errors.append(_("Enter the 6 digits the app shows for this account."))
        return await _setup_page(form)
    if (step := totp.matching_step(secret, form.code.data)) is None:
        form.code.errors.append(_("That code is not right. Check the app's clock, then try the newest code."))
        return await _setup_page(form)
    await challenges.take(db, SETUP)
    sealed = secretbox.seal(current_app.config, secret, totp.context(user.id))
    # The confirming code's step counts as used: it cannot sign anyone in afterwards. Only while
    # TOTP is off, so of two setups confirmed at once in two browsers exactly one takes effect.
    statement = update(User).where(User.id == user.id, User.totp_secret.is_(None))
    if not await rowcount(db, statement.values(totp_secret=sealed, totp_last_step=step, totp_enabled_at=utcnow())):
        await db.rollback()
        return await _already_on()
    codes = await recovery_codes.renew(db, user.id)
    await db.commit()
    audit("totp.enabled", username_key=user.username_key)
    notify(user, "totp.enabled")
    return await render_template("mfa/recovery_codes.html", codes=codes, first=True)


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
        return redirect(url_for("mfa_settings.overview"), 303)
    limits = attempt_limits(user)
    if wait := await limits.wait(db):
        await flash(too_many(_("Too many failed attempts."), wait)[0])
        return redirect(url_for("mfa_settings.overview"), 303)
    proved = bool(form.code.data) and await totp.accept(db, user, form.code.data)
    if not proved and form.password.data and form.recovery_code.data:
        verified, _wait = await authenticate(user.username, form.password.data)
        proved = verified is not None and await recovery_codes.use(db, user.id, form.recovery_code.data)
    if not proved:
        await limits.record_failure(db)
        await db.commit()
        await flash(
            _("The authenticator app is still on: give a current code, or your password and an unused recovery code.")
        )
        return redirect(url_for("mfa_settings.overview"), 303)
    await turn_off_totp(db, user.id)
    await drop_codes_if_unneeded(db, user.id)
    await trust.revoke_all(db, user.id, why="totp.disabled")
    await limits.record_success(db)
    await db.commit()
    audit("totp.disabled", username_key=user.username_key)
    notify(user, "totp.disabled")
    await flash(_("Two-factor sign-in with an app is off."))
    return redirect(url_for("mfa_settings.overview"), 303)


async def _already_on() -> Response:
    # A new secret would replace the old one without the code or recovery code turning it off needs.
    await flash(_("The authenticator app is already on. Turn it off first to set up another one."))
    return redirect(url_for("mfa_settings.overview"), 303)


async def _pending_secret(user_id: int) -> str | None:
    pending = await challenges.current(get_session(), SETUP)
    if pending is None or pending.user_id != user_id:
        return None
    opened = secretbox.unseal(current_app.config, pending.data, f"{SETUP}:{user_id}")
    return opened[0] if opened else None


async def _setup_page(form: ConfirmForm, status: int = 200) -> Response | Page:
    user = await account()
    if (secret := await _pending_secret(user.id)) is None:
        return redirect(url_for("mfa_settings.overview"), 303)
    uri = totp.provisioning_uri(secret, user.username)
    grouped = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
    page = await render_template("mfa/setup.html", form=form, secret=grouped, qr=totp.qr_svg(uri))
    return page, status
