"""Re-authentication: pages that change how one signs in want the password proved recently."""

from collections.abc import Awaitable, Callable
from datetime import timedelta
from functools import wraps
from urllib.parse import urlsplit

from quart import Blueprint, current_app, redirect, render_template, request, url_for
from quart_auth import login_required
from werkzeug.wrappers import Response
from wtforms.validators import DataRequired

from . import sessions
from .answers import too_many
from .credentials import authenticate
from .db import get_session
from .fields import Password
from .forms import Form
from .login import safe_next
from .models import utcnow
from .passwords import hashes_password
from .security import audit
from .sessions import SignedIn
from .users import signed_in_user

bp = Blueprint("reauth", __name__)


class ReauthenticateForm(Form):
    password = Password("Password", validators=[DataRequired()])


def is_recent(user: SignedIn) -> bool:
    """Return whether the user's session proved the password within RECENT_SIGNIN_WINDOW."""
    return utcnow() - user.verified_at < timedelta(seconds=current_app.config["RECENT_SIGNIN_WINDOW"])


def recent_signin_required[**P, R](view: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R | Response]]:
    """login_required, and the password proved within RECENT_SIGNIN_WINDOW, else ask for it.

    A session cookie alone (a browser left open, a stolen cookie) must not be enough to change
    the password, the address or the second factors: whoever holds it is asked for the password,
    then sent back to the page (a form submitted too late is shown again, empty, for a new try).
    """

    @wraps(view)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R | Response:
        if not is_recent(await signed_in_user()):
            return redirect(url_for("reauth.reauthenticate", next=_page()), 303)
        return await view(*args, **kwargs)

    return login_required(wrapper)


def _page() -> str:
    """The page to come back to: this one, or for a form posted too late the page it was on."""
    if request.method == "GET":
        return request.full_path.rstrip("?")
    # Only a Referer of this very site names a page here; safe_next checks it once more on the way back.
    referrer = urlsplit(request.referrer or "")
    if (referrer.scheme, referrer.netloc) == (request.scheme, request.host) and referrer.path.startswith("/"):
        return referrer.path + (f"?{referrer.query}" if referrer.query else "")
    return request.path


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
            message, retry_after = too_many("Too many failed attempts.", wait)
            form.form_errors.append(message)
            return await render_template("auth/reauthenticate.html", form=form), 429, retry_after
        if verified is not None:
            db = get_session()
            await sessions.mark_verified(db, user.session_id)
            await db.commit()
            audit("signin.reauthenticated", username_key=user.username_key, session_id=user.session_id)
            return redirect(safe_next(request.args.get("next")), 303)
        form.password.errors.append("That is not your password.")
    return await render_template("auth/reauthenticate.html", form=form), form.status_code
