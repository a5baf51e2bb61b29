"""/verify/<token>: the link mailed to an address, which proves it once its button is pressed."""

from quart import Blueprint, redirect, render_template, url_for
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response

from .. import mail
from ..answers import Page
from ..audit import audit
from ..db.engine import get_session, rowcount
from ..db.models import User, utcnow
from ..forms import ButtonForm, require_csrf
from ..i18n import _l
from ..web.headers import no_referrer
from . import tokens

bp = Blueprint("verification", __name__)
bp.after_request(no_referrer)  # a /verify/<token> page must not hand its URL to anyone


@bp.get("/verify/<secret:token>")
async def verify(token: str) -> Page:
    """Show what the link verifies, with a button; a GET changes nothing (mail scanners follow links)."""
    row = await tokens.find(get_session(), token, tokens.VERIFY, usable=False)
    if row is None:
        return await _verify_page("invalid", 404)
    user = row.user
    if user.verified_email_key == row.email_key:
        return await _verify_page("verified", 200, user.email)
    to_verify = user.address_to_verify()
    if row.used_at or row.expires_at <= utcnow() or not to_verify or to_verify[1] != row.email_key or user.disabled_at:
        return await _verify_page("invalid", 404)
    return await _verify_page("confirm", 200, to_verify[0], user.username)


@bp.post("/verify/<secret:token>")
async def verify_submit(token: str) -> Response | Page:
    """Verify the address the link was sent to: once, and only while no other account has it."""
    await require_csrf()
    db = get_session()
    row = await tokens.find(db, token, tokens.VERIFY)
    if row is None or not await tokens.consume(db, token, tokens.VERIFY):
        return await _verify_page("invalid", 400)
    user, key = row.user, row.email_key
    old_address, to_verify = user.email, user.address_to_verify()
    address = to_verify[0] if to_verify else user.email
    # Only for the address the link went to, on an account that is not disabled.
    statement = update(User).where(User.id == row.user_id, User.disabled_at.is_(None))
    if changing := key == user.pending_email_key:
        statement = statement.where(User.pending_email_key == key).values(
            email=user.pending_email, email_key=key, verified_email_key=key, pending_email=None, pending_email_key=None
        )
    else:
        statement = statement.where(User.email_key == key).values(verified_email_key=key)
    try:
        changed = await rowcount(db, statement)
    except IntegrityError:  # the unique key decides between two accounts that typed the same address
        await db.rollback()  # the link stays unused: it works once the other account lets go
        return await _verify_page("taken", 409, address)
    if not changed:
        await db.rollback()
        return await _verify_page("invalid", 400)
    if changing:
        await tokens.void(db, row.user_id)  # reset links mailed to the old address die with it
    await db.commit()
    audit("email.verified", username_key=user.username_key, domain=(address or "").rpartition("@")[2])
    if changing and old_address is not None:
        audit("email.changed", username_key=user.username_key, added=False)
        # The old owner hears of it, so a hijacked session cannot move the account quietly.
        await db.refresh(user)
        mail.send_later("email_changed", old_address, _l("Your email address was changed"), user=user, when=utcnow())
    return redirect(url_for("verification.verify", token=token), 303)


async def _verify_page(state: str, status: int, address: str | None = None, username: str | None = None) -> Page:
    # A button, not the GET: a mail scanner following the link never presses it.
    form = ButtonForm() if state == "confirm" else None
    page = await render_template("recovery/verify.html", state=state, address=address, username=username, form=form)
    return page, status
