"""'Don't ask for a code on this browser': the second step skipped, for one account, until revoked."""

import json
import logging

import pytest
from quart import Quart

from quartapp.mfa.models import TrustedBrowser

from .conftest import AuthActions, PASSWORD, rows, run, running_app
from .test_addresses import signup_verified
from .test_signin_code import ask, code_in, enter
from .totp_actions import code_at, password_step, second_step, turn_on_totp

DAYS_30 = str(30 * 24 * 60 * 60)


async def trusted_alice(app: Quart, scheme: str = "http") -> tuple[AuthActions, list[str]]:
    """alice with TOTP on, signed in once with "don't ask again" ticked, then signed out; and her recovery codes."""
    alice = AuthActions(app.test_client())
    alice.options["scheme"] = scheme
    name = "__Host-quartapp_trust=" if scheme == "https" else "quartapp_trust="
    await alice.signup("alice")
    secret, codes = await turn_on_totp(alice)
    await alice.signout()
    await password_step(alice)
    response = await alice.post(
        "/signin/second-factor", {"code": code_at(secret, 1), "trust": "y"}, token_from="/signin/second-factor"
    )
    assert response.headers["Location"] == "/"
    [cookie] = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(name)]
    assert f"Max-Age={DAYS_30}" in cookie
    parts = {part.strip() for part in cookie.split(";")}
    assert {"HttpOnly", "Path=/", "SameSite=Lax"} <= parts
    assert ("Secure" in parts) == (scheme == "https")
    assert "Domain" not in cookie
    await alice.signout()
    return alice, codes


async def totp_and_trust(alice: AuthActions) -> None:
    """Turn TOTP on, then sign in again with a code and "don't ask again" ticked; still signed in."""
    secret, _ = await turn_on_totp(alice)
    await alice.signout()
    await password_step(alice)
    form = {"code": code_at(secret, 1), "trust": "y"}
    assert (await alice.post("/signin/second-factor", form, token_from="/signin/second-factor")).status_code == 303


async def asks_second_step(auth: AuthActions, username: str = "alice") -> bool:
    response = await auth.signin(username, PASSWORD)
    assert response.status_code == 303
    return bool(response.headers["Location"].startswith("/signin/second-factor"))


async def test_a_trusted_browser_skips_the_second_step_and_only_that(app, caplog):
    caplog.set_level(logging.INFO, logger="quartapp.audit")
    alice, _ = await trusted_alice(app)
    assert not await asks_second_step(alice)
    assert "Signed in as <strong>alice</strong>" in await (await alice.get("/")).get_data(as_text=True)
    await alice.signout()
    assert (await alice.signin("alice", "not the password")).status_code == 200  # never the password's stand-in
    assert await asks_second_step(AuthActions(app.test_client()))  # another browser
    [row] = await rows(app, TrustedBrowser)
    assert row.last_used_at is not None
    events = [json.loads(r.getMessage())["event"] for r in caplog.records if r.name == "quartapp.audit"]
    assert {"second_factor.trusted", "second_factor.trust_used"} <= set(events)


async def test_over_https_the_cookie_is_secure_and_host_prefixed(app):
    alice, _ = await trusted_alice(app, scheme="https")
    assert not await asks_second_step(alice)


async def test_a_code_by_mail_on_a_trusted_browser_skips_it_too(mail_app, mailbox):
    alice = await signup_verified(mail_app, mailbox, "alice", "alice@example.org")
    await totp_and_trust(alice)
    await alice.signout()
    await ask(alice, "alice@example.org")
    [received] = [r for r in await mailbox.wait(3) if r.message["Subject"] == "Your sign-in code"]
    assert (await enter(alice, code_in(received))).headers["Location"] == "/"


async def test_without_the_tick_every_sign_in_asks(app):
    alice = AuthActions(app.test_client())
    await alice.signup("alice")
    secret, _ = await turn_on_totp(alice)
    await alice.signout()
    await password_step(alice)
    response = await second_step(alice, code_at(secret, 1))
    assert not any(h.startswith("quartapp_trust=") for h in response.headers.getlist("Set-Cookie"))
    await alice.signout()
    assert await asks_second_step(alice)


async def test_the_trust_is_the_accounts_that_granted_it(app):
    alice, _ = await trusted_alice(app)
    bob = AuthActions(app.test_client())
    await bob.signup("bob")
    await turn_on_totp(bob)
    await bob.signout()
    assert await asks_second_step(alice, "bob")  # alice's browser, bob's account


async def test_the_sessions_page_lists_and_revokes_it(app):
    alice, _ = await trusted_alice(app)
    assert not await asks_second_step(alice)
    page = await (await alice.get("/sessions")).get_data(as_text=True)
    assert "Trusted browsers" in page
    assert "Stop trusting" in page
    [row] = await rows(app, TrustedBrowser)
    response = await alice.post("/sessions/trusted/revoke", {"session_id": row.id}, token_from="/sessions")
    assert response.headers["Location"] == "/sessions"
    assert "will be asked for the second step again" in await (await alice.get("/sessions")).get_data(as_text=True)
    await alice.signout()
    assert await asks_second_step(alice)


async def test_it_expires(app, clock):
    alice, _ = await trusted_alice(app)
    clock.advance(days=31)
    assert await asks_second_step(alice)


async def test_a_new_password_revokes_it(app):
    alice, _ = await trusted_alice(app)
    assert not await asks_second_step(alice)
    form = {"password": "a brand new passphrase", "confirm": "a brand new passphrase"}
    assert (await alice.post("/password", form, token_from="/password")).status_code == 303
    assert await rows(app, TrustedBrowser) == []


async def test_a_reset_revokes_it(mail_app, mailbox, caplog):
    from .test_recovery import ask as ask_reset
    from .test_recovery import open_link, set_password

    caplog.set_level(logging.INFO, logger="quartapp.audit")
    alice = await signup_verified(mail_app, mailbox, "alice", "alice@example.org")
    await totp_and_trust(alice)
    assert len(await rows(mail_app, TrustedBrowser)) == 1
    visitor = AuthActions(mail_app.test_client())
    await ask_reset(visitor, "alice@example.org")
    [link] = [r for r in await mailbox.wait(3) if r.message["Subject"] == "Reset your password"]
    await open_link(visitor, link)
    assert (await set_password(visitor)).status_code == 303
    assert await rows(mail_app, TrustedBrowser) == []
    [revoked] = [json.loads(r.getMessage()) for r in caplog.records if "trust_revoked" in r.getMessage()]
    assert (revoked["reason"], revoked["count"]) == ("password.changed", 1)


async def test_turning_the_app_off_revokes_it(app):
    alice, codes = await trusted_alice(app)
    assert not await asks_second_step(alice)
    form = {"password": PASSWORD, "recovery_code": codes[0]}
    assert (await alice.post("/2fa/totp/disable", form, token_from="/2fa")).headers["Location"] == "/2fa"
    assert "Two-factor sign-in with an app is off." in await (await alice.get("/2fa")).get_data(as_text=True)
    assert await rows(app, TrustedBrowser) == []


@pytest.mark.parametrize("command", ["reset-second-factors", "disable-user"])
async def test_an_operator_reset_or_disabling_revokes_it(cli_app, command):
    async with cli_app.test_app():
        await trusted_alice(cli_app)
    assert (await run(cli_app, command, "alice")).exit_code == 0
    assert await rows(cli_app, TrustedBrowser) == []


async def test_it_can_be_turned_off(tmp_path):
    async with running_app(tmp_path, TRUSTED_BROWSER_DAYS=0) as app:
        alice = AuthActions(app.test_client())
        await alice.signup("alice")
        secret, _ = await turn_on_totp(alice)
        await alice.signout()
        await password_step(alice)
        page = await (await alice.get("/signin/second-factor")).get_data(as_text=True)
        assert "on this browser" not in page
        response = await alice.post(
            "/signin/second-factor", {"code": code_at(secret, 1), "trust": "y"}, token_from="/signin/second-factor"
        )
        assert not any(h.startswith("quartapp_trust=") for h in response.headers.getlist("Set-Cookie"))
        await alice.signout()
        assert await asks_second_step(alice)


async def test_signing_out_a_trusted_browser_keeps_its_trust_and_ends_its_session(app):
    alice, _ = await trusted_alice(app)
    assert not await asks_second_step(alice)
    response = await alice.signout()
    # Clear-Site-Data cannot spare one cookie: the session's cookies are deleted one by one instead.
    assert "Clear-Site-Data" not in response.headers
    [cleared] = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("quartapp_auth=")]
    assert "Max-Age=0" in cleared or "1970" in cleared
    assert (await alice.get("/")).headers["Location"] == "/signin?next=/"
    assert not await asks_second_step(alice)
