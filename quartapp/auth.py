"""Sign-up, sign-in, sign-out, and the password asked again before a sensitive change (/reauthenticate)."""

from collections.abc import Callable

from markupsafe import Markup
from quart import Blueprint, flash, redirect, render_template, request, session, url_for
from quart_auth import login_required, logout_user
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response
from wtforms.validators import DataRequired

from . import auth_sessions, guessable
from .answers import too_many
from .audit import audit
from .credentials import authenticate
from .current_user import current_user, signed_in_user
from .db.engine import get_session
from .db.models import add_user
from .fields import Password
from .forms import csrf_input, Form, require_csrf, SignInForm, SignUpForm
from .i18n import _, _l, COOKIE, current_language
from .login import end_current_session, safe_next, sign_in
from .mfa import signin as second_step
from .mfa import trust
from .mfa.factors import needs_second_factor
from .passwords import hash_password, hashes_password
from .recovery.mails import schedule_verification

bp = Blueprint("auth", __name__)

INVALID_CREDENTIALS = _l("Invalid username or password.")


class ReauthenticateForm(Form):
    password = Password(_l("Password"), validators=[DataRequired()])


async def redirect_to_signin(error: Exception) -> Response:
    """Send an anonymous visitor of a protected page to sign in, then back."""
    target = request.path + (f"?{request.query_string.decode()}" if request.query_string else "")
    if current_user.auth_id is not None:  # a cookie whose session was signed out elsewhere or ran out
        await flash(_("Your session has ended: it ran out, or was signed out from another browser. Sign in again."))
    return redirect(url_for("auth.signin", next=target))


@bp.get("/signin")
async def signin() -> str:
    return await render_template("auth/signin.html", form=await SignInForm.from_request())


@bp.post("/signin")
@hashes_password
async def signin_submit() -> Response | tuple[str, int] | tuple[str, int, dict[str, str]]:
    """Sign in with a username and password, then go to `next` or the home page."""
    form = await SignInForm.from_request()
    if form.validate_on_submit():
        user, wait = await authenticate(form.username.data, form.password.data)
        if user is not None:
            if await needs_second_factor(get_session(), user):
                return await second_step.begin(user, remember=form.remember.data)
            await sign_in(user, remember=form.remember.data)
            return redirect(safe_next(request.args.get("next")), 303)
        if wait:
            message, retry_after = too_many(_("Too many failed sign-ins."), wait)
            form.form_errors.append(message)
            return await render_template("auth/signin.html", form=form), 429, retry_after
        form.form_errors.append(INVALID_CREDENTIALS)
    return await render_template("auth/signin.html", form=form), form.status_code


@bp.get("/signup")
async def signup() -> str:
    return await render_template("auth/signup.html", form=await SignUpForm.from_request())


@bp.post("/signup")
@hashes_password
async def signup_submit() -> Response | tuple[str, int]:
    """Create an account and sign it in."""
    form = await SignUpForm.from_request()
    if form.validate_on_submit() and not await guessable.refused(
        form.password, username=form.username.data, email=form.email.data
    ):
        password_hash = await hash_password(form.password.data)  # refused at once when overloaded
        db = get_session()
        try:
            user = await add_user(
                db, form.username.data, password_hash, form.email.data or None, language=current_language()
            )
        except IntegrityError:
            # The unique key decides, not a prior SELECT: of concurrent sign-ups for one
            # name exactly one commits and the rest land here.
            await db.rollback()
            form.username.errors.append(_("That username is taken."))
        else:
            audit("signup", username_key=user.username_key)
            await sign_in(user, remember=False)
            if user.email:
                schedule_verification(user.id)
                await flash(_("Your account is ready. A link to verify %(address)s is on its way.", address=user.email))
            else:
                await flash(_("Your account is ready."))
            return redirect(safe_next(request.args.get("next")), 303)
    return await render_template("auth/signup.html", form=form), form.status_code


@bp.post("/signout")
async def signout() -> Response:
    """Sign out: revoke the server-side session, so a copy of the cookie is worthless too."""
    await require_csrf()
    user = await current_user.user
    await end_current_session()
    await get_session().commit()
    if user is not None:
        audit("signout", username_key=user.username_key, session_id=user.session_id)
    logout_user()
    session.clear()  # the CSRF secret and anything else this browser's session held
    # The notice rides in the address: Clear-Site-Data would drop a session cookie carrying it.
    response = redirect(url_for("auth.signin", signed_out=1), 303)
    # Browsers that support it also drop every other cookie of this site; but not on a browser its
    # owner chose to trust or set a language on, cookies it cannot spare (sign-out is not "forget
    # this browser").
    if not trust.held() and COOKIE not in request.cookies:
        response.headers["Clear-Site-Data"] = '"cookies"'
    return response


@bp.get("/reauthenticate")
@login_required
async def reauthenticate() -> str:
    return await render_template("auth/reauthenticate.html", form=ReauthenticateForm())


@bp.post("/reauthenticate")
@hashes_password
@login_required
async def reauthenticate_submit() -> Response | tuple[str, int] | tuple[str, int, dict[str, str]]:
    """Check the signed-in user's password (throttled like a sign-in), then go back to `next`."""
    user = await signed_in_user()
    form = await ReauthenticateForm.from_request()
    if form.validate_on_submit():
        verified, wait = await authenticate(user.username, form.password.data)
        if wait:
            message, retry_after = too_many(_("Too many failed attempts."), wait)
            form.form_errors.append(message)
            return await render_template("auth/reauthenticate.html", form=form), 429, retry_after
        if verified is not None:
            db = get_session()
            await auth_sessions.mark_verified(db, user.session_id)
            await db.commit()
            audit("signin.reauthenticated", username_key=user.username_key, session_id=user.session_id)
            return redirect(safe_next(request.args.get("next")), 303)
        form.password.errors.append(_("That is not your password."))
    return await render_template("auth/reauthenticate.html", form=form), form.status_code


@bp.app_context_processor
async def template_csrf_input() -> dict[str, Callable[[], Markup]]:
    """Every template may call csrf_input(): the sign-out button in the header needs it."""
    return {"csrf_input": csrf_input}
