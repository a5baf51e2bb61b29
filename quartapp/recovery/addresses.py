"""/email: the account's address, a change of it (pending until verified when one is verified), a new link."""

from quart import Blueprint, flash, redirect, render_template, url_for
from quart_auth import login_required
from werkzeug.wrappers import Response
from wtforms.validators import DataRequired

from .. import mail
from ..answers import Page
from ..audit import audit
from ..current_user import signed_in_user
from ..db.engine import get_session
from ..db.models import email_key, User, utcnow
from ..fields import Email
from ..forms import ButtonForm, Form, require_csrf
from ..i18n import _, _l
from ..reauth import recent_signin_required
from . import tokens
from .mails import schedule_verification

bp = Blueprint("addresses", __name__)


class ChangeEmailForm(Form):
    email = Email(_l("New email address"), validators=[DataRequired()])


@bp.get("/email")
@recent_signin_required
async def email() -> str:
    """Show the account's address, whether it is verified, and a form to change it."""
    user = await get_session().get(User, (await signed_in_user()).user_id)
    return await render_template("recovery/address.html", user=user, form=ChangeEmailForm(), resend_form=ButtonForm())


@bp.post("/email")
@recent_signin_required
async def email_submit() -> Response | Page:
    """Add or change the address (the password proved recently); the new one must be verified."""
    signed = await signed_in_user()
    form = await ChangeEmailForm.from_request()
    db = get_session()
    user = await db.get(User, signed.user_id)
    if user is None or not form.validate_on_submit():
        return await render_template("recovery/address.html", user=user, form=form), form.status_code
    address, key = form.email.data, email_key(form.email.data)
    if key == user.email_key:
        user.email = address  # the same address, spelled anew; a change still pending is dropped
        await tokens.drop_pending_address(db, user.id)
        await db.commit()
    elif user.email is not None and user.email_verified:
        # A verified address stays in force until the new one is proved: a typo cannot cut the
        # owner off from resets, nor can a session held for a moment move the account's way
        # back in to a mailbox nobody has shown to be theirs.
        user.pending_email, user.pending_email_key = address, key
        await tokens.void(db, user.id, tokens.VERIFY)  # the link of an earlier pending change dies
        await db.commit()
        audit("email.change_requested", username_key=user.username_key, session_id=signed.session_id)
        schedule_verification(user.id)
        await flash(
            _("A link to verify %(address)s is on its way. Your address changes once you open it.", address=address)
        )
        # The owner hears of it at the verified address, in time to cancel it.
        mail.send_later("email_change_requested", user.email, _l("A change of your email address was requested"),
                        user=user, new_address=address, when=utcnow())  # fmt: skip
    else:
        # No verified address yet: nothing proved is at stake, and the typed address (a reset
        # link to it) is the account's only way back in, so the change takes effect at once.
        old = user.email
        user.email, user.email_key, user.verified_email_key = address, key, None
        await tokens.void(db, user.id)  # links mailed to the old address die with it
        await db.commit()
        audit("email.changed", username_key=user.username_key, session_id=signed.session_id, added=old is None)
        schedule_verification(user.id)
        await flash(_("A link to verify %(address)s is on its way. Open it to finish.", address=address))
    return redirect(url_for("addresses.email"), 303)


@bp.post("/email/cancel")
@recent_signin_required
async def cancel() -> Response:
    """Drop a change of address still waiting for its verification."""
    await require_csrf()
    signed = await signed_in_user()
    db = get_session()
    user = await db.get(User, signed.user_id)
    if user is not None and user.pending_email is not None:
        address = user.pending_email
        await tokens.drop_pending_address(db, user.id)
        await db.commit()
        audit("email.change_cancelled", username_key=user.username_key, session_id=signed.session_id)
        await flash(
            _("The change to %(address)s is cancelled. Your address stays %(kept)s.", address=address, kept=user.email)
        )
    return redirect(url_for("addresses.email"), 303)


@bp.post("/email/resend")
@login_required
async def resend() -> Response:
    """Send the verification link again (within the mail limits)."""
    await require_csrf()
    user = await get_session().get(User, (await signed_in_user()).user_id)
    if user is not None and (to_verify := user.address_to_verify()) is not None:
        schedule_verification(user.id)
        await flash(_("A new link to verify %(address)s is on its way.", address=to_verify[0]))
    return redirect(url_for("addresses.email"), 303)
