import hashlib
from datetime import timedelta

import pytest
import quart.typing  # the module, not its TestClientProtocol, which pytest would try to collect
from quart import Quart
from quart_auth import QuartAuth
from sqlalchemy import update

from quartapp.db.models import AuthSession
from quartapp.housekeeping import run_once

from .conftest import auth_cookie, AuthActions, PASSWORD, rows

CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36"
FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:140.0) Gecko/20100101 Firefox/140.0"


def auth_id(app: Quart, client: quart.typing.TestClientProtocol) -> str:
    """The token inside the signed auth cookie of client."""
    ext: QuartAuth = app.extensions["QUART_AUTH"][0]
    assert client.cookie_jar is not None
    cookie = next(c.value for c in client.cookie_jar if c.name == "quartapp_auth")
    assert cookie is not None
    token = ext.load_token(cookie, app=app)
    assert token is not None, "the auth cookie does not load"
    return token


async def set_session_times(app, **values) -> None:
    async with app.extensions["db_sessionmaker"]() as session:
        await session.execute(update(AuthSession).values(**values))
        await session.commit()


async def test_the_database_stores_only_a_hash_of_the_cookie_token(app, client, auth):
    await auth.signup()
    token = auth_id(app, client)
    [row] = await rows(app, AuthSession)
    assert row.id == hashlib.sha256(token.encode()).hexdigest()
    assert token not in (row.id, row.address, row.user_agent)
    assert len(token) >= 43  # 256 random bits


async def test_every_signin_gets_a_new_session_and_ends_the_old_one(app, client, auth):
    await auth.signup()
    first = auth_id(app, client)
    await auth.signin()
    second = auth_id(app, client)
    assert first != second
    assert [row.id for row in await rows(app, AuthSession)] == [hashlib.sha256(second.encode()).hexdigest()]


async def test_the_server_enforces_the_absolute_lifetime(app, client, auth, clock):
    await auth.signup()
    [row] = await rows(app, AuthSession)
    assert row.expires_at - row.created_at == timedelta(hours=12)
    for _ in range(6):
        clock.advance(hours=1, minutes=55)  # each use restarts the 2-hour idle timer
        assert (await client.get("/")).status_code == 200
    clock.advance(minutes=31)  # 12 h after sign-in, though never idle for 2 h
    response = await client.get("/")
    assert response.status_code == 302
    cookie = auth_cookie(response)
    assert cookie is not None
    assert "Max-Age=0" in cookie


async def test_remembered_sessions_last_thirty_days(app, client, auth, clock):
    await auth.signup()
    await auth.signout()
    await auth.signin(remember=True)
    for _ in range(4):
        clock.advance(days=7)
        assert (await client.get("/")).status_code == 200
    clock.advance(days=2, seconds=1)
    assert (await client.get("/")).status_code == 302


async def test_an_idle_session_expires(app, client, auth, clock):
    await auth.signup()
    clock.advance(hours=2, seconds=1)
    assert (await client.get("/")).status_code == 302


async def test_last_use_is_recorded_at_most_once_a_minute(app, auth, clock):
    await auth.signup()
    [before] = await rows(app, AuthSession)
    browser = AuthActions(auth.client, address="198.51.100.4", user_agent=FIREFOX)
    clock.advance(seconds=30)
    await browser.get("/")
    [row] = await rows(app, AuthSession)
    assert (row.last_seen_at, row.address, row.user_agent) == (before.last_seen_at, before.address, before.user_agent)
    clock.advance(seconds=31)
    await browser.get("/")
    [row] = await rows(app, AuthSession)
    assert row.last_seen_at > before.last_seen_at
    assert (row.address, row.user_agent) == ("198.51.100.4", FIREFOX)


async def test_the_sessions_page_lists_every_browser_of_the_user(app, auth):
    laptop = AuthActions(auth.client, address="192.0.2.10", user_agent=CHROME)
    await laptop.signup("alice")
    phone = AuthActions(app.test_client(), address="198.51.100.20", user_agent=FIREFOX)
    await phone.signin("alice")
    await AuthActions(app.test_client()).signup("bob")

    page = await (await laptop.get("/sessions")).get_data(as_text=True)
    assert "Chrome 156 on Linux" in page
    assert "192.0.2.10" in page
    assert "Firefox 140 on Windows" in page
    assert "198.51.100.20" in page
    assert page.count("This browser") == 1
    assert page.count('name="session_id"') == 2  # not bob's


async def test_revoking_a_session_signs_that_browser_out(app, auth, signed_in):
    await signed_in(auth.client, "alice")
    phone = app.test_client()
    phone_session = await signed_in(phone, "alice")

    response = await auth.post("/sessions/revoke", {"session_id": phone_session.session_id}, token_from="/sessions")
    assert response.status_code == 303
    assert response.headers["Location"] == "/sessions"
    assert "That session was signed out." in await (await auth.get("/sessions")).get_data(as_text=True)
    assert (await phone.get("/")).status_code == 302
    assert (await auth.get("/")).status_code == 200


async def test_nobody_can_revoke_another_users_session(app, auth, signed_in):
    alice = await signed_in(auth.client, "alice")
    mallory = AuthActions(app.test_client())
    await signed_in(mallory.client, "mallory")
    await mallory.post("/sessions/revoke", {"session_id": alice.session_id}, token_from="/sessions")
    assert (await auth.get("/")).status_code == 200


@pytest.mark.parametrize("session_id", ["\x00", "a\x00b", "x" * 64, "A" * 64, "0" * 65])
async def test_a_session_id_that_names_no_session_is_a_400(app, auth, session_id):
    await auth.signup("alice")
    response = await auth.post("/sessions/revoke", {"session_id": session_id}, token_from="/sessions")
    assert response.status_code == 400
    assert len(await rows(app, AuthSession)) == 1


async def test_revoking_this_session_signs_this_browser_out(app, auth, signed_in):
    alice = await signed_in(auth.client, "alice")
    response = await auth.post("/sessions/revoke", {"session_id": alice.session_id}, token_from="/sessions")
    assert response.headers["Location"] == "/signin"
    assert (await auth.get("/")).status_code == 302


async def test_a_browser_signed_out_from_elsewhere_is_told_at_the_sign_in_page(app, auth):
    await auth.signup("alice")
    phone = AuthActions(app.test_client())
    await phone.signin("alice")
    assert (await auth.post("/sessions/revoke-others", {}, token_from="/sessions")).status_code == 303
    response = await phone.get("/sessions")
    assert response.headers["Location"] == "/signin?next=/sessions"
    page = await (await phone.get(response.headers["Location"])).get_data(as_text=True)
    assert "Your session has ended: it ran out, or was signed out from another browser. Sign in again." in page
    # A visitor who was never signed in is only sent to sign in.
    stranger = AuthActions(app.test_client())
    await stranger.get("/sessions")
    assert "Your session has ended" not in await (await stranger.get("/signin")).get_data(as_text=True)


async def test_sign_out_everywhere_else_keeps_only_this_browser(app, auth, signed_in):
    await signed_in(auth.client, "alice")
    others = [AuthActions(app.test_client()) for _ in range(3)]
    for other in others:
        await signed_in(other.client, "alice")
    response = await auth.post("/sessions/revoke-others", {}, token_from="/sessions")
    assert response.status_code == 303
    assert "Signed out 3 other sessions." in await (await auth.get("/sessions")).get_data(as_text=True)
    assert [(await o.get("/")).status_code for o in others] == [302, 302, 302]
    assert (await auth.get("/")).status_code == 200
    assert len(await rows(app, AuthSession)) == 1


async def test_account_actions_need_a_csrf_token(app, auth, signed_in):
    await signed_in(auth.client, "alice")
    other = AuthActions(app.test_client())
    await signed_in(other.client, "alice")
    response = await auth.client.post("/sessions/revoke-others", form={})
    assert response.status_code == 400
    assert (await other.get("/")).status_code == 200


async def test_signout_asks_the_browser_to_clear_the_sites_cookies(auth):
    await auth.signup()
    response = await auth.signout()
    assert response.headers["Clear-Site-Data"] == '"cookies"'


async def test_expired_sessions_are_cleaned_up(app, auth, clock):
    await auth.signup("alice")
    await AuthActions(app.test_client()).signin("alice", PASSWORD, remember=True)
    clock.advance(hours=3)
    await run_once(app)
    [row] = await rows(app, AuthSession)
    assert row.remember
