"""Turning TOTP on as a visitor would, and reading codes off the pages, for the TOTP tests."""

import html
import re
import time

import pyotp

from .conftest import AuthActions, PASSWORD


def code_at(secret: str, steps_ahead: int = 0) -> str:
    """The code for the current time step plus steps_ahead (the app tolerates one either way)."""
    return pyotp.TOTP(secret).at(time.time() + 30 * steps_ahead)


def secret_on(page: str) -> str:
    match = re.search(r"data-totp-secret>([A-Z2-7 ]+)<", page)
    assert match, "the setup page shows no secret"
    return match.group(1).replace(" ", "")


def codes_on(page: str) -> list[str]:
    return re.findall(r"<li><code>([a-z2-9-]{19})</code></li>", html.unescape(page))


async def turn_on_totp(auth: AuthActions) -> tuple[str, list[str]]:
    """Set up TOTP from /2fa; return the secret and the recovery codes shown once."""
    response = await auth.post("/2fa/totp/new", {}, token_from="/sessions")
    assert response.headers["Location"] == "/2fa/totp"
    secret = secret_on(await (await auth.get("/2fa/totp")).get_data(as_text=True))
    response = await auth.post("/2fa/totp", {"code": code_at(secret)}, token_from="/2fa/totp")
    assert response.status_code == 200
    codes = codes_on(await response.get_data(as_text=True))
    assert len(codes) == 10
    return secret, codes


async def password_step(auth: AuthActions, username: str = "alice", next: str = "") -> None:
    response = await auth.signin(username, PASSWORD, path=f"/signin{next}")
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/signin/second-factor")


async def second_step(auth: AuthActions, code: str, next: str = ""):
    return await auth.post(f"/signin/second-factor{next}", {"code": code}, token_from="/signin/second-factor")
