"""Re-authentication: pages that change how one signs in want the password proved recently.

The page that asks for it again, /reauthenticate, is a sign-in view (auth.py)."""

from collections.abc import Awaitable, Callable
from datetime import timedelta
from functools import wraps
from urllib.parse import urlsplit

from quart import current_app, redirect, request, url_for
from quart_auth import login_required
from werkzeug.wrappers import Response

from .auth_sessions import SignedIn
from .current_user import signed_in_user
from .db.models import utcnow


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
            return redirect(url_for("auth.reauthenticate", next=_page()), 303)
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
