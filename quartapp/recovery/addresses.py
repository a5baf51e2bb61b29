from quart import Blueprint, flash, redirect, render_template, url_for
from quart_auth import login_required
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response
from wtforms.validators import DataRequired

from .. import mail
from ..answers import Page
from ..audit import audit
from ..current_user import signed_in_user
from ..db.engine import get_session, rowcount
from ..db.models import email_key, User, utcnow
from ..fields import Email
from ..forms import ButtonForm, Form, require_csrf
from ..reauth import recent_signin_required
from ..web.headers import no_referrer
from . import tokens
from .mails import schedule_verification

bp = Blueprint("addresses", __name__)
bp.after_request(no_referrer)  # a /verify/<token> page must not hand its URL to anyone


class ChangeEmailForm(Form):
    email = Email("New email address", validators=[DataRequired()])


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
    if user is not None and form.validate_on_submit():
        old, was_verified, new_key = user.email, user.email_verified, email_key(form.email.data)
        user.email = form.email.data
        if new_key != user.email_key:
            user.email_key, user.verified_email_key = new_key, None
            # Links mailed to the old address (reset and verification) die with it.
            await tokens.void(db, user.id)
        await db.commit()
        if new_key != (email_key(old) if old else None):
            audit("email.changed", username_key=user.username_key, session_id=signed.session_id, added=old is None)
            schedule_verification(user.id)
            await flash(f"A link to verify {user.email} is on its way. Open it to finish.")
            if old and was_verified:
                # The old owner hears of it, so a hijacked session cannot move the account quietly.
                mail.send_later("email_changed", old, "Your email address was changed", user=user, when=utcnow())
        return redirect(url_for("addresses.email"), 303)
    return await render_template("recovery/address.html", user=user, form=form), form.status_code


@bp.post("/email/resend")
@login_required
async def resend() -> Response:
    """Send the verification link again (within the mail limits)."""
    await require_csrf()
    user = await get_session().get(User, (await signed_in_user()).user_id)
    if user is not None and user.email and not user.email_verified:
        schedule_verification(user.id)
        await flash(f"A new link to verify {user.email} is on its way.")
    return redirect(url_for("addresses.email"), 303)


@bp.get("/verify/<secret:token>")
async def verify(token: str) -> Page:
    """Show what the link verifies, with a button; a GET changes nothing (mail scanners follow links)."""
    row = await tokens.find(get_session(), token, tokens.VERIFY, usable=False)
    if row is None:
        return await _verify_page("invalid", 404)
    user = row.user
    if user.verified_email_key == row.email_key:
        return await _verify_page("verified", 200, user.email)
    if row.used_at or row.expires_at <= utcnow() or row.email_key != user.email_key or user.disabled_at:
        return await _verify_page("invalid", 404)
    return await _verify_page("confirm", 200, user.email, user.username)


@bp.post("/verify/<secret:token>")
async def verify_submit(token: str) -> Response | Page:
    """Verify the address the link was sent to: once, and only while no other account has it."""
    await require_csrf()
    db = get_session()
    row = await tokens.find(db, token, tokens.VERIFY)
    if row is None or not await tokens.consume(db, token, tokens.VERIFY):
        return await _verify_page("invalid", 400)
    username_key, address = row.user.username_key, row.user.email
    try:
        # Only for the address the link went to, on an account that is not disabled; the
        # unique key decides between two accounts that typed the same address.
        statement = (
            update(User)
            .where(User.id == row.user_id, User.email_key == row.email_key, User.disabled_at.is_(None))
            .values(verified_email_key=row.email_key)
        )
        changed = await rowcount(db, statement)
    except IntegrityError:
        await db.rollback()  # the link stays unused: it works once the other account lets go
        return await _verify_page("taken", 409, address)
    if not changed:
        await db.rollback()
        return await _verify_page("invalid", 400)
    await db.commit()
    audit("email.verified", username_key=username_key, domain=(address or "").rpartition("@")[2])
    return redirect(url_for("addresses.verify", token=token), 303)


async def _verify_page(state: str, status: int, address: str | None = None, username: str | None = None) -> Page:
    # A button, not the GET: a mail scanner following the link never presses it.
    form = ButtonForm() if state == "confirm" else None
    page = await render_template("recovery/verify.html", state=state, address=address, username=username, form=form)
    return page, status
