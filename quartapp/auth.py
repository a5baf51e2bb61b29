import string
from datetime import timedelta
from urllib.parse import urlsplit

from quart import Blueprint, current_app, redirect, render_template, request, session, url_for
from quart_auth import Action, AuthUser, current_user, login_user, logout_user
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response

from .db import get_session
from .forms import CSRFError, SignInForm, SignOutForm, SignUpForm
from .models import add_user, AuthSession, end_auth_session, get_auth_session, get_user_by_username, start_auth_session, User
from .passwords import hash_password, verify_password

bp = Blueprint("auth", __name__)


class CurrentUser(AuthUser):
    """The visitor, resolved at most once per request from the session row its cookie names."""

    def __init__(self, auth_id: str | None, action: Action = Action.PASS) -> None:
        super().__init__(auth_id, action)
        self._auth_session: AuthSession | None = None
        self._resolved = auth_id is None

    async def _resolve(self) -> AuthSession | None:
        if not self._resolved:
            self._resolved = True
            self._auth_session = await get_auth_session(get_session(), self.auth_id)
            if self._auth_session is None and self.action is Action.PASS:
                self.action = Action.DELETE  # signed out, expired or revoked: drop the dead cookie
        return self._auth_session

    @property
    async def is_authenticated(self) -> bool:
        return await self._resolve() is not None

    @property
    async def user(self) -> User | None:
        auth_session = await self._resolve()
        return None if auth_session is None else auth_session.user


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
    return target


async def redirect_to_signin(error: Exception) -> Response:
    """Send an anonymous visitor of a protected page to sign in, then back."""
    target = request.path + (f"?{request.query_string.decode()}" if request.query_string else "")
    return redirect(url_for("auth.signin", next=target))


async def _sign_in(user: User, *, remember: bool) -> None:
    """Start a new session for user; the cookie Quart-Auth sets names it."""
    db = get_session()
    # A fresh random session per sign-in: a session id planted before sign-in is worth nothing.
    await _end_current_session()
    seconds = current_app.config["REMEMBER_LIFETIME" if remember else "SESSION_LIFETIME"]
    token = await start_auth_session(db, user, remember=remember, lifetime=timedelta(seconds=seconds))
    await db.commit()
    session.pop("csrf", None)  # the signed-in visitor gets new CSRF tokens (login CSRF)
    login_user(CurrentUser(token), remember=remember)


async def _end_current_session() -> None:
    if current_user.auth_id is not None:
        await end_auth_session(get_session(), current_user.auth_id)


@bp.get("/signin")
async def signin() -> str:
    return await render_template("auth/signin.html", form=await SignInForm.from_request())


@bp.post("/signin")
async def signin_submit() -> Response | tuple[str, int]:
    """Sign in with a username and password, then go to `next` or the home page."""
    form = await SignInForm.from_request()
    if form.validate_on_submit():
        user = await get_user_by_username(get_session(), form.username.data)
        # One message and one bcrypt check (against a dummy hash for unknown names) for
        # every failure, so neither the page nor its timing tells which usernames exist.
        verified = await verify_password(form.password.data, user.password_hash if user else None)
        if verified and user is not None:
            await _sign_in(user, remember=form.remember.data)
            return redirect(safe_next(request.args.get("next")), 303)
        form.form_errors.append("Invalid username or password.")
    return await render_template("auth/signin.html", form=form), form.status_code


@bp.get("/signup")
async def signup() -> str:
    return await render_template("auth/signup.html", form=await SignUpForm.from_request())


@bp.post("/signup")
async def signup_submit() -> Response | tuple[str, int]:
    """Create an account and sign it in."""
    form = await SignUpForm.from_request()
    if form.validate_on_submit():
        password_hash = await hash_password(form.password.data)
        db = get_session()
        try:
            user = await add_user(db, form.username.data, password_hash)
        except IntegrityError:
            # The unique key decides, not a prior SELECT: of concurrent sign-ups for one
            # name exactly one commits and the rest land here.
            await db.rollback()
            form.username.errors.append("That username is taken.")
        else:
            await _sign_in(user, remember=False)
            return redirect(safe_next(request.args.get("next")), 303)
    return await render_template("auth/signup.html", form=form), form.status_code


@bp.post("/signout")
async def signout() -> Response:
    """Sign out: revoke the server-side session, so a copy of the cookie is worthless too."""
    if not (await SignOutForm.from_request()).validate_on_submit():
        raise CSRFError()
    await _end_current_session()
    await get_session().commit()
    logout_user()
    session.pop("csrf", None)
    return redirect(url_for("auth.signin"), 303)


@bp.app_context_processor
def signout_form() -> dict[str, type[SignOutForm]]:
    return {"SignOutForm": SignOutForm}
