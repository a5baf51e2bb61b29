"""Starting and ending the signed-in session of this browser, and where to go afterwards."""

import string
from urllib.parse import urlsplit

from quart import request
from quart_auth import login_user, Unauthorized
from sqlalchemy.exc import IntegrityError
from werkzeug.urls import iri_to_uri

from . import auth_sessions
from .audit import audit
from .current_user import current_user, CurrentUser
from .db.engine import get_session
from .db.models import User
from .forms import new_csrf_secret
from .random_tokens import token_digest
from .web.client import client_address


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


async def sign_in(user: User, *, remember: bool) -> None:
    """Start a new session for user; the cookie Quart-Auth sets names it."""
    db = get_session()
    # A fresh random session per sign-in: a session id planted before sign-in is worth nothing.
    await end_current_session()
    try:
        token = await auth_sessions.start(
            db, user, remember=remember, address=client_address(), user_agent=request.user_agent.string
        )
        await db.commit()
    except IntegrityError:
        # The account was deleted while its password (or code, or passkey) was being checked: its
        # session cannot name a user row that is gone, and the visitor is back at the sign-in page.
        await db.rollback()
        raise Unauthorized() from None
    # The signed-in visitor gets a new CSRF secret (login CSRF), set with the sign-in's redirect
    # rather than by whichever page comes next.
    new_csrf_secret()
    login_user(CurrentUser(token), remember=remember)
    audit("signin.success", username_key=user.username_key, session_id=token_digest(token), remember=remember)


async def end_current_session() -> None:
    if current_user.auth_id is not None:
        await auth_sessions.end(get_session(), token_digest(current_user.auth_id))
