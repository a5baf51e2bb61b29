import string
from collections.abc import Callable
from urllib.parse import urlsplit

from markupsafe import Markup
from quart import Blueprint, redirect, render_template, request, session, url_for
from quart_auth import login_user, logout_user
from sqlalchemy.exc import IntegrityError
from werkzeug.urls import iri_to_uri
from werkzeug.wrappers import Response

from . import sessions
from .account_mail import schedule_verification
from .credentials import authenticate
from .db import get_session
from .forms import csrf_input, CSRFError, new_csrf_secret, SignInForm, SignOutForm, SignUpForm
from .models import add_user, User
from .passwords import hash_password
from .security import audit, client_address
from .throttle import wait_message
from .users import current_user, CurrentUser

bp = Blueprint("auth", __name__)

INVALID_CREDENTIALS = "Invalid username or password."


def safe_next(target: str | None) -> str:
    """Return target if it is a path on this site, else "/".

    Django's rules: browsers read `\\` as `/` and drop control characters, so `/\\evil.example`
    and `/\\t/evil.example` are both `//evil.example`, another site.
    """
    if not target or any(c in target for c in string.whitespace) or not target.isprintable():
        return "/"
    path = target.replace("\\", "/")
    if not path.startswith("/") or path.startswith("//") or urlsplit(path).netloc:
        return "/"
    return iri_to_uri(target)  # a Location header is ASCII: "/é" goes out as "/%C3%A9"


async def redirect_to_signin(error: Exception) -> Response:
    """Send an anonymous visitor of a protected page to sign in, then back."""
    target = request.path + (f"?{request.query_string.decode()}" if request.query_string else "")
    return redirect(url_for("auth.signin", next=target))


async def sign_in(user: User, *, remember: bool) -> None:
    """Start a new session for user; the cookie Quart-Auth sets names it."""
    db = get_session()
    # A fresh random session per sign-in: a session id planted before sign-in is worth nothing.
    await end_current_session()
    token = await sessions.start(
        db, user, remember=remember, address=client_address(), user_agent=request.user_agent.string
    )
    await db.commit()
    # The signed-in visitor gets a new CSRF secret (login CSRF), set with the sign-in's redirect
    # rather than by whichever page comes next.
    new_csrf_secret()
    login_user(CurrentUser(token), remember=remember)
    audit("signin.success", username_key=user.username_key, session_id=sessions.token_hash(token), remember=remember)


async def end_current_session() -> None:
    if current_user.auth_id is not None:
        await sessions.end(get_session(), sessions.token_hash(current_user.auth_id))


@bp.get("/signin")
async def signin() -> str:
    return await render_template("auth/signin.html", form=await SignInForm.from_request())


@bp.post("/signin")
async def signin_submit() -> Response | tuple[str, int] | tuple[str, int, dict[str, str]]:
    """Sign in with a username and password, then go to `next` or the home page."""
    form = await SignInForm.from_request()
    if form.validate_on_submit():
        user, wait = await authenticate(form.username.data, form.password.data)
        if user is not None:
            await sign_in(user, remember=form.remember.data)
            return redirect(safe_next(request.args.get("next")), 303)
        if wait:
            form.form_errors.append(f"Too many failed sign-ins. {wait_message(wait)}")
            return await render_template("auth/signin.html", form=form), 429, {"Retry-After": str(wait)}
        form.form_errors.append(INVALID_CREDENTIALS)
    return await render_template("auth/signin.html", form=form), form.status_code


@bp.get("/signup")
async def signup() -> str:
    return await render_template("auth/signup.html", form=await SignUpForm.from_request())


@bp.post("/signup")
async def signup_submit() -> Response | tuple[str, int]:
    """Create an account and sign it in."""
    form = await SignUpForm.from_request()
    if form.validate_on_submit():
        password_hash = await hash_password(form.password.data)  # refused at once when overloaded
        db = get_session()
        try:
            user = await add_user(db, form.username.data, password_hash, form.email.data or None)
        except IntegrityError:
            # The unique key decides, not a prior SELECT: of concurrent sign-ups for one
            # name exactly one commits and the rest land here.
            await db.rollback()
            form.username.errors.append("That username is taken.")
        else:
            audit("signup", username_key=user.username_key)
            await sign_in(user, remember=False)
            if user.email:
                schedule_verification(user.id)
            return redirect(safe_next(request.args.get("next")), 303)
    return await render_template("auth/signup.html", form=form), form.status_code


@bp.post("/signout")
async def signout() -> Response:
    """Sign out: revoke the server-side session, so a copy of the cookie is worthless too."""
    if not (await SignOutForm.from_request()).validate_on_submit():
        raise CSRFError()
    user = await current_user.user
    await end_current_session()
    await get_session().commit()
    if user is not None:
        audit("signout", username_key=user.username_key, session_id=user.session_id)
    logout_user()
    session.pop("csrf", None)
    response = redirect(url_for("auth.signin"), 303)
    # Browsers that support it also drop every other cookie of this site.
    response.headers["Clear-Site-Data"] = '"cookies"'
    return response


@bp.app_context_processor
async def signout_form() -> dict[str, Callable[[], Markup]]:
    return {"csrf_input": csrf_input}
