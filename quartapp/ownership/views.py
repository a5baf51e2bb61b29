"""/account: what the account holds, its export, its deletion."""

import json

from quart import Blueprint, flash, redirect, render_template, Response, session, url_for
from quart_auth import login_required, logout_user
from werkzeug.wrappers import Response as WerkzeugResponse
from wtforms.validators import DataRequired

from ..audit import audit
from ..current_user import signed_in_user
from ..db.engine import get_session
from ..db.models import username_key, utcnow
from ..fields import Text
from ..forms import ButtonForm, Form, require_csrf
from ..i18n import _, _l
from ..mfa.factors import account
from ..reauth import recent_signin_required
from . import DeletionRefused
from .deletion import delete_account
from .export import export_account

bp = Blueprint("ownership", __name__)


class DeleteAccountForm(Form):
    # Typing the name, not just pressing a button: the one step that cannot be undone is never
    # taken by a slip of the finger, an autofilled form or a button pressed out of habit, and the
    # person sees once more which account it is (GitHub's and GitLab's way).
    username = Text(_l("Your username"), validators=[DataRequired(_l("Type your username to confirm."))])


@bp.get("/account")
@login_required
async def overview() -> str:
    """The account at a glance, with the ways to take its data and to delete it."""
    return await render_template("ownership/account.html", user=await account())


@bp.get("/account/export")
@recent_signin_required
async def export_page() -> str:
    return await render_template("ownership/export.html", form=ButtonForm())


@bp.post("/account/export")
@recent_signin_required
async def export_download() -> Response:
    """Download the account's data as one JSON file (a POST: no other site can start it)."""
    await require_csrf()
    signed = await signed_in_user()
    document = await export_account(get_session(), await account(), current_session=signed.session_id)
    audit("account.exported", username_key=signed.username_key, session_id=signed.session_id)
    filename = f"account-{utcnow():%Y-%m-%d}.json"
    return Response(
        json.dumps(document, ensure_ascii=False, indent=2),
        mimetype="application/json",
        # Sessions, addresses and a sign-in history: no cache, shared or private, keeps a copy.
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


@bp.get("/account/delete")
@recent_signin_required
async def delete_page() -> str:
    return await render_template("ownership/delete.html", form=DeleteAccountForm(), user=await account())


@bp.post("/account/delete")
@recent_signin_required
async def delete_submit() -> WerkzeugResponse | tuple[str, int]:
    """Delete the account once its name is typed; the browser is signed out and told so."""
    signed, user = await signed_in_user(), await account()
    form = await DeleteAccountForm.from_request()
    confirmed = form.validate_on_submit()
    if confirmed and username_key(form.username.data) != signed.username_key:
        form.username.errors.append(_("That is not the name of this account."))
        confirmed = False
    if not confirmed:
        return await render_template("ownership/delete.html", form=form, user=user), form.status_code
    notified = user.email if user.email_verified else None
    try:
        deleted = await delete_account(get_session(), signed.user_id, via="web")
    except DeletionRefused as refusal:
        form.form_errors.append(str(refusal))
        # The rollback expired the row: read again, not lazily from the template.
        return await render_template("ownership/delete.html", form=form, user=await account()), 409
    logout_user()
    session.clear()  # the CSRF secret and whatever else this browser's session held for the account
    if deleted is not None:
        if notified:
            message = _(
                "Your account %(name)s was deleted, with everything it held. A notice was sent to %(address)s.",
                name=deleted.username,
                address=notified,
            )
        else:
            message = _("Your account %(name)s was deleted, with everything it held.", name=deleted.username)
        await flash(message)
    return redirect(url_for("auth.signin"), 303)
