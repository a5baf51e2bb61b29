"""/signin/code: ask for a sign-in code by mail, then enter it, in the same browser."""

from quart import abort, Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response
from wtforms.validators import DataRequired

from ..answers import Page, too_many
from ..audit import audit
from ..db.engine import get_session
from ..db.models import email_key, User
from ..fields import Check, Email, Text
from ..forms import Form
from ..i18n import _, _l
from ..login import safe_next, sign_in
from ..mfa import challenges
from ..mfa import signin as second_step
from ..mfa.factors import needs_second_factor
from ..throttle import Limits
from ..web.client import client_address
from . import codes

bp = Blueprint("signin_code", __name__)

ADDRESS = "signin_code.address"  # the address this browser asked a code for, to show it back
WRONG = _l("That code is not right. Check the newest mail and try again.")
VOID = _l("That code no longer works: too many wrong tries, or it expired. Ask for a new one.")
NONE = _l("Ask for a sign-in code first, or for a new one if yours expired.")


class RequestForm(Form):
    email = Email(_l("Email address"), validators=[DataRequired()])


class EnterForm(Form):
    # No DataRequired: an empty code is a wrong code, with the same answer.
    code = Text(_l("Code"))
    remember = Check(_l("Remember me"))


@bp.before_request
async def turned_on() -> None:
    if not current_app.config["SIGNIN_CODE_LIFETIME"]:
        abort(404)


@bp.get("/signin/code")
async def ask() -> str:
    return await render_template("signin_code/request.html", form=await RequestForm.from_request())


@bp.post("/signin/code")
async def ask_submit() -> Response | Page:
    """Answer the same for any address; the lookup and the mail happen afterwards."""
    form = await RequestForm.from_request()
    if not form.validate_on_submit():
        return await render_template("signin_code/request.html", form=form), form.status_code
    db = get_session()
    # The code will work only where this challenge is named: in this browser's session.
    lifetime = current_app.config["SIGNIN_CODE_LIFETIME"]
    challenge_id = await challenges.issue(db, challenges.SIGNIN_CODE, lifetime)
    await db.commit()
    session[ADDRESS] = form.email.data
    current_app.add_background_task(codes.send, challenge_id, form.email.data, client_address())
    return redirect(url_for("signin_code.enter", next=request.args.get("next")), 303)


@bp.get("/signin/code/enter")
async def enter() -> Response | str:
    if await challenges.current(get_session(), challenges.SIGNIN_CODE) is None:
        return await _start_over(NONE)
    return await _page(EnterForm())


@bp.post("/signin/code/enter")
async def enter_submit() -> Response | Page:
    """Sign in with the right code: the first factor, throttled and audited like a password."""
    db = get_session()
    form = await EnterForm.from_request()
    if (challenge := await challenges.current(db, challenges.SIGNIN_CODE)) is None:
        return await _start_over(VOID)
    if not form.validate_on_submit():
        return await _page(form), form.status_code
    user = await db.get(User, challenge.user_id) if challenge.user_id else None
    # The password's own counters, so guessing codes and guessing passwords add up; an address
    # with no account counts under a name of its own, so the two cases answer alike.
    limits = Limits(user.username if user else f"code:{email_key(session.get(ADDRESS, ''))}", client_address())
    if wait := await limits.wait(db):
        audit("signin.throttled", username_key=user.username_key if user else None, retry_after=wait, via="code")
        message, retry_after = too_many(_("Too many failed sign-ins."), wait)
        form.form_errors.append(message)
        return await _page(form), 429, retry_after
    right = await codes.check(db, challenge, form.code.data)
    if right and user is not None and user.disabled_at is None:
        await challenges.drop(db, challenges.SIGNIN_CODE)
        session.pop(ADDRESS, None)  # the address typed has served; the cookie need not carry it further
        await db.commit()
        audit("signin.code_used", username_key=user.username_key)
        # A right code stands in for the password only: the second factor is still asked for.
        # It never clears the password's throttle: the mailbox is not the password.
        if await needs_second_factor(db, user):
            return await second_step.begin(user, remember=form.remember.data)
        await sign_in(user, remember=form.remember.data)
        return redirect(safe_next(request.args.get("next")), 303)
    await limits.record_failure(db)
    await db.commit()
    audit("signin.code_rejected", username_key=user.username_key if user else None, void=right is None)
    if right is None:
        return await _start_over(VOID)
    form.form_errors.append(WRONG)
    return await _page(form)


async def _page(form: EnterForm) -> str:
    return await render_template("signin_code/enter.html", form=form, address=session.get(ADDRESS))


async def _start_over(message: str) -> Response:
    await flash(str(message))  # a lazy text is translated now: the session keeps plain text
    return redirect(url_for("signin_code.ask", next=request.args.get("next")), 303)
