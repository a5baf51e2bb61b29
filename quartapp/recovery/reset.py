from quart import Blueprint, current_app, flash, redirect, render_template, session, url_for
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from werkzeug.wrappers import Response
from wtforms.validators import DataRequired

from .. import guessable, mail, throttle
from ..answers import Page
from ..audit import audit
from ..db.engine import get_session
from ..db.models import AccountToken, User, utcnow
from ..fields import Email
from ..forms import Form, NewPasswordForm
from ..i18n import _, _l
from ..password_change import replace_password
from ..passwords import hash_password, hashes_password
from ..web.client import client_address
from ..web.headers import no_referrer
from . import mails, tokens

bp = Blueprint("recovery", __name__)
bp.after_request(no_referrer)  # a reset link must not reach another site through Referer


class ResetRequestForm(Form):
    email = Email(_l("Email address"), validators=[DataRequired()])


@bp.get("/reset")
async def reset() -> str:
    return await render_template("recovery/request.html", form=await ResetRequestForm.from_request())


@bp.post("/reset")
async def reset_submit() -> Page:
    """Answer at once, the same for every address; the lookup and the mail happen afterwards."""
    form = await ResetRequestForm.from_request()
    if form.validate_on_submit():
        # Nothing about the address is looked up before answering, so neither the page, nor
        # its status, nor the time it takes can tell whether an account has it.
        current_app.add_background_task(mails.send_reset, form.email.data, client_address())
        # The address typed is repeated, so a typing error can be seen: every address gets this page.
        return await render_template("recovery/request.html", form=ResetRequestForm(), sent=form.email.data)
    return await render_template("recovery/request.html", form=form), form.status_code


async def _usable_token(db: AsyncSession, token: str | None) -> AccountToken | None:
    row = await tokens.find(db, token, tokens.RESET) if token else None
    if row is None or row.user.disabled_at is not None or row.email_key != row.user.email_key:
        audit("reset.rejected", username_key=row.user.username_key if row else None, reason="invalid link")
        return None
    return row


async def _invalid(status: int) -> tuple[str, int]:
    return await render_template("recovery/invalid.html"), status


@bp.get("/reset/<secret:token>")
async def reset_link(token: str) -> Response | tuple[str, int]:
    """Take the token out of the URL, into the session, as Django does; then show the form."""
    if await _usable_token(get_session(), token) is None:
        return await _invalid(404)
    # From here on the address bar, the history and any Referer hold no secret.
    session["reset_token"] = token
    return redirect(url_for("recovery.set_password"), 303)


@bp.get("/reset/set-password")
async def set_password() -> Page:
    row = await _usable_token(get_session(), session.get("reset_token"))
    if row is None:
        return await _invalid(404)
    form = NewPasswordForm(username=row.user.username)
    return await render_template("recovery/set_password.html", form=form, username=row.user.username)


@bp.post("/reset/set-password")
@hashes_password
async def set_password_submit() -> Response | Page:
    """Set the new password, once per link, and sign the account out everywhere."""
    db = get_session()
    token = session.get("reset_token")
    row = await _usable_token(db, token)
    if row is None or token is None:
        return await _invalid(404)
    user = row.user
    form = await NewPasswordForm.from_request(username=user.username)
    valid = form.validate_on_submit()
    await db.commit()  # free the connection while the password is judged and bcrypt runs
    if not valid or await guessable.refused(form.password, username=user.username, email=user.email):
        return await render_template("recovery/set_password.html", form=form, username=user.username), form.status_code
    new_hash = await hash_password(form.password.data)
    # One transaction: the link is spent exactly when the password changes, and of two
    # requests racing with it only the one whose UPDATE matched goes on.
    if not await tokens.consume(db, token, tokens.RESET):
        username_key = user.username_key  # read before the rollback expires it
        await db.rollback()
        audit("reset.rejected", username_key=username_key, reason="used")
        return await _invalid(400)
    revoked = await replace_password(db, user.id, new_hash)
    # The owner is not throttled for an attacker's guesses either.
    await throttle.forget_failures(db, user.username)
    verified = await _verify(db, user, row.email_key)
    await db.commit()
    session.pop("reset_token", None)
    audit("reset.completed", username_key=user.username_key, revoked=revoked, verified=verified)
    if user.email:
        mail.send_later("password_changed", user.email, _l("Your password was changed"), user=user, when=utcnow())
    # To the sign-in page rather than signed in: the password manager offers to save the new
    # password there, and the one sign-in door (throttling, disabled accounts) stays the only one.
    await flash(_("Your password was changed and every session of your account was signed out. Sign in with it now."))
    return redirect(url_for("auth.signin"), 303)


async def _verify(db: AsyncSession, user: User, key: str) -> bool:
    """Mark the address verified (the reset link proved it) unless another account holds it."""
    try:
        async with db.begin_nested():  # a clash undoes this step only, not the new password
            await db.execute(update(User).where(User.id == user.id).values(verified_email_key=key))
    except IntegrityError:
        return False
    return True
