"""/2fa: every second factor of the account at a glance, and a new set of recovery codes."""

from quart import Blueprint, redirect, render_template, url_for
from werkzeug.wrappers import Response

from ..answers import Page
from ..audit import audit
from ..db.engine import get_session
from ..forms import ButtonForm, require_csrf
from ..reauth import recent_signin_required
from . import recovery_codes
from .factors import account, has_passkeys, needs_second_factor
from .notices import notify
from .totp_views import DisableForm

bp = Blueprint("mfa_settings", __name__)


@bp.get("/2fa")
@recent_signin_required
async def overview() -> str:
    user, db = await account(), get_session()
    return await render_template(
        "mfa/overview.html",
        totp_on=user.totp_secret is not None,
        codes_left=await recovery_codes.remaining(db, user.id),
        passkeys=await has_passkeys(db, user.id),
        button=ButtonForm(),
        disable_form=DisableForm(),
    )


@bp.post("/2fa/recovery-codes")
@recent_signin_required
async def renew_codes() -> Response | Page:
    """Make a new set of recovery codes, voiding the old one; shown once."""
    await require_csrf()
    user, db = await account(), get_session()
    if not await needs_second_factor(db, user):
        return redirect(url_for("mfa_settings.overview"), 303)
    codes = await recovery_codes.renew(db, user.id)
    await db.commit()
    audit("recovery_codes.renewed", username_key=user.username_key)
    notify(user, "recovery_codes.renewed")
    return await render_template("mfa/recovery_codes.html", codes=codes, first=False)
