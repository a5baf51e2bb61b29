"""What tests of an app built on quartapp do: sign a client in, fetch CSRF tokens, submit forms."""

import re
import secrets
import string
from dataclasses import dataclass
from datetime import datetime, timedelta, UTC

import bcrypt
from quart import Response
from quart.typing import TestClientProtocol

from .. import auth_sessions
from ..db.engine import get_session
from ..db.models import add_user, get_user_by_username, is_valid_username, normalize_username, utcnow
from ..passwords import hash_password
from ..random_tokens import token_digest
from ..web.cookies import cookie_name, secure_cookies

BCRYPT_ALPHABET = "./" + string.ascii_uppercase + string.ascii_lowercase + string.digits


class Clock:
    """quartapp's clock stopped at the test's start, moved forward by hand: clock.advance(minutes=5)."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass(frozen=True)
class TestUser:
    """A user signed in by sign_in: its id, its name and the session its client now holds."""

    __test__ = False  # not a test class, whatever pytest thinks of the name

    id: int
    username: str
    session_id: str  # the auth_sessions row: revoke it, expire it, look it up


async def sign_in(
    client: TestClientProtocol,
    username: str = "alice",
    *,
    password: str | None = None,
    email: str | None = None,
    remember: bool = False,
    recent: bool = True,
) -> TestUser:
    """Sign client in as username through a new server-side session, as the sign-in page would.

    The user is created if new: with password (hashed at the app's cost) or with a hash that no
    password matches, and with email as a verified address. No form and no bcrypt run is
    involved unless a password is given, so a signed-in test costs milliseconds; the session is
    a real one, so sign-out, revocation and expiry behave as in production. With recent=False
    the password was last proved long ago: recent_signin_required pages ask for it again.
    """
    app = client.app
    if not is_valid_username(normalize_username(username)):
        raise ValueError(f"{username!r} is not a username the sign-up form accepts")
    async with app.app_context():
        db = get_session()
        user = await get_user_by_username(db, username)
        if user is None:
            password_hash = await hash_password(password) if password is not None else unusable_hash()
            user = await add_user(db, username, password_hash, email)
            user.verified_email_key = user.email_key
        token = await auth_sessions.start(
            db, user, remember=remember, address="127.0.0.1", user_agent="quartapp.testing"
        )
        if not recent:
            window = timedelta(seconds=app.config["RECENT_SIGNIN_WINDOW"])
            await auth_sessions.mark_verified(db, token_digest(token), at=utcnow() - 2 * window)
        await db.commit()
        auth_user = TestUser(user.id, user.username, token_digest(token))
    auth = next(extension for extension in app.extensions["QUART_AUTH"] if extension.singleton)
    async with app.test_request_context("/"):  # the name and flags a test client's request gets
        name, secure = cookie_name(app.config["QUART_AUTH_COOKIE_NAME"]), secure_cookies()
    client.set_cookie(
        "localhost",
        name,
        auth.dump_token(token, app=app),
        path="/",
        secure=secure,
        httponly=True,
        samesite=app.config["QUART_AUTH_COOKIE_SAMESITE"],
    )
    return auth_user


def unusable_hash() -> str:
    """A well-formed bcrypt hash that no password matches (random digest, 2^-184 odds)."""
    salt = bcrypt.gensalt(4).decode()
    return salt + "".join(secrets.choice(BCRYPT_ALPHABET) for _ in range(31))


def csrf_token(page: str) -> str:
    """The CSRF token of the first form on page (HTML)."""
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    if match is None:
        raise AssertionError("the page has no CSRF token")
    return match.group(1)


async def submit(
    client: TestClientProtocol, path: str, form: dict[str, str], *, token_from: str | None = None
) -> Response:
    """POST form to path as a browser would from the page at token_from (default: path).

    The page is fetched first: its CSRF token goes with the form and its URL as the Referer.
    """
    page_path = token_from or path
    token = csrf_token(await (await client.get(page_path)).get_data(as_text=True))
    return await client.post(
        path, form=form | {"csrf_token": token}, headers={"Referer": f"http://localhost{page_path}"}
    )
