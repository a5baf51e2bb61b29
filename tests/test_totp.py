"""TOTP: setting it up, signing in with it, each code once, encrypted at rest, throttled."""

import asyncio
import json
import logging

import pytest

from quartapp.db.models import AuthSession, Throttle, User

from .conftest import AuthActions, make_app, PASSWORD, rows
from .totp_actions import code_at, codes_on, password_step, second_step, secret_on, turn_on_totp


@pytest.fixture
async def alice(client, signed_in) -> AuthActions:
    await signed_in(client, "alice", password=PASSWORD)
    return AuthActions(client)


async def test_setup_shows_the_secret_as_text_and_qr_code_and_needs_a_code(app, alice):
    await alice.post("/2fa/totp/new", {}, token_from="/sessions")
    response = await alice.get("/2fa/totp")
    page = await response.get_data(as_text=True)
    secret = secret_on(page)
    assert len(secret) == 32
    assert '<svg role="img"' in page
    assert "<script" not in page  # the QR code is drawn by the server: the CSP stays strict
    assert "style=" not in page
    assert f"secret={secret}" not in page  # the otpauth URI is only inside the QR code

    response = await alice.post("/2fa/totp", {"code": "000000"}, token_from="/2fa/totp")
    assert response.status_code == 200
    assert "That code is not right." in await response.get_data(as_text=True)
    [user] = await rows(app, User)
    assert user.totp_secret is None

    response = await alice.post("/2fa/totp", {"code": code_at(secret)}, token_from="/2fa/totp")
    assert response.status_code == 200
    page = await response.get_data(as_text=True)
    assert "Two-factor sign-in is on" in page
    assert len(set(codes_on(page))) == 10
    assert response.headers["Cache-Control"] == "no-store"
    [user] = await rows(app, User)
    assert user.totp_secret.startswith("v1.")
    assert secret not in user.totp_secret  # sealed: a copy of the table does not give it away
    assert user.totp_last_step is not None


async def test_setup_wants_a_recent_password(client, signed_in):
    await signed_in(client, "alice", recent=False)
    assert (await client.get("/2fa")).headers["Location"] == "/reauthenticate?next=/2fa"
    assert (await client.get("/2fa/totp")).headers["Location"] == "/reauthenticate?next=/2fa/totp"


async def test_signing_in_asks_for_a_code_after_the_password(app, alice):
    secret, _ = await turn_on_totp(alice)
    await alice.signout()
    await password_step(alice, next="?next=/sessions")
    assert await rows(app, AuthSession) == []  # no session until the second factor
    page = await (await alice.get("/signin/second-factor?next=/sessions")).get_data(as_text=True)
    assert "authenticator app" in page
    assert (await alice.get("/")).status_code == 302  # half signed in is not signed in
    assert (await alice.get("/sessions")).status_code == 302

    response = await second_step(alice, code_at(secret, 1), next="?next=/sessions")
    assert response.status_code == 303
    assert response.headers["Location"] == "/sessions"
    assert len(await rows(app, AuthSession)) == 1
    assert (await alice.get("/sessions")).status_code == 200


@pytest.mark.parametrize("code", ["", "12 34", "12345", "abcdef", "x" * 5000])
async def test_what_cannot_be_a_code_is_said_so_and_not_counted(app, alice, code):
    await turn_on_totp(alice)
    await alice.signout()
    await password_step(alice)
    response = await second_step(alice, code)
    assert response.status_code == 200
    page = await response.get_data(as_text=True)
    assert "Enter the 6 digits from your app, or a recovery code (four groups of four)." in page
    assert "That code is not right" not in page
    assert "This field is required" not in page
    assert await rows(app, AuthSession) == []
    assert await rows(app, Throttle) == []  # a slip of the keyboard is not a guess


@pytest.mark.parametrize("code", ["000000", "000 000", "aaaa-bbbb-cccc-dddd"])
async def test_a_wrong_code_gets_one_answer(app, alice, code):
    await turn_on_totp(alice)
    await alice.signout()
    await password_step(alice)
    page = await (await second_step(alice, code)).get_data(as_text=True)
    assert "That code is not right or was already used." in page
    assert await rows(app, AuthSession) == []


async def test_a_code_is_accepted_once(app, alice):
    secret, _ = await turn_on_totp(alice)
    await alice.signout()
    code = code_at(secret, 1)
    await password_step(alice)
    assert (await second_step(alice, code)).status_code == 303

    onlooker = AuthActions(app.test_client())
    await password_step(onlooker)
    response = await second_step(onlooker, code)  # seen over the shoulder, typed at once
    assert response.status_code == 200
    assert len(await rows(app, AuthSession)) == 1


async def test_the_code_that_confirmed_setup_cannot_sign_in(app, alice):
    await alice.post("/2fa/totp/new", {}, token_from="/sessions")
    secret = secret_on(await (await alice.get("/2fa/totp")).get_data(as_text=True))
    code = code_at(secret)
    await alice.post("/2fa/totp", {"code": code}, token_from="/2fa/totp")
    await alice.signout()
    await password_step(alice)
    assert (await second_step(alice, code)).status_code == 200


async def test_one_code_sent_to_two_workers_at_once_signs_in_once(tmp_path, app, alice):
    secret, _ = await turn_on_totp(alice)
    await alice.signout()
    other_worker = make_app(tmp_path)  # a second app on the same database, as another worker is
    async with other_worker.test_app():
        visitors = [AuthActions(app.test_client()), AuthActions(other_worker.test_client())]
        for visitor in visitors:
            await password_step(visitor)
        tokens = [await visitor.token("/signin/second-factor") for visitor in visitors]
        code = code_at(secret, 1)
        responses = await asyncio.gather(
            *(
                visitor.client.post("/signin/second-factor", form={"code": code, "csrf_token": token})
                for visitor, token in zip(visitors, tokens, strict=True)
            )
        )
    assert sorted(response.status_code for response in responses) == [200, 303]
    assert len(await rows(app, AuthSession)) == 1


async def test_a_half_finished_signin_expires_after_five_minutes(app, alice, clock):
    secret, _ = await turn_on_totp(alice)
    await alice.signout()
    await password_step(alice)
    token = await alice.token("/signin/second-factor")
    clock.advance(minutes=5, seconds=1)
    response = await alice.client.post("/signin/second-factor", form={"code": code_at(secret, 1), "csrf_token": token})
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/signin")
    assert "That sign-in took too long." in await (await alice.get("/signin")).get_data(as_text=True)
    assert await rows(app, AuthSession) == []
    assert (await alice.get("/signin/second-factor")).headers["Location"].startswith("/signin")


async def test_wrong_codes_are_throttled_and_a_right_password_does_not_clear_them(app, alice):
    secret, _ = await turn_on_totp(alice)
    await alice.signout()
    await password_step(alice)
    statuses = [(await second_step(alice, f"{i:06d}")).status_code for i in range(6)]
    assert statuses == [200] * 6  # five free failures, the sixth starts a one-second block
    await password_step(alice)  # the password again
    response = await second_step(alice, code_at(secret, 1))
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) >= 1
    assert "Too many wrong codes." in await response.get_data(as_text=True)


async def test_second_factor_events_are_audited(app, alice, caplog):
    secret, _ = await turn_on_totp(alice)
    await alice.signout()
    await password_step(alice)
    with caplog.at_level(logging.INFO, logger="quartapp.audit"):
        caplog.clear()
        await second_step(alice, "999999")
        await second_step(alice, code_at(secret, 1))
    events = [json.loads(r.getMessage())["event"] for r in caplog.records if r.name == "quartapp.audit"]
    assert events == ["second_factor.failure", "signin.success", "second_factor.success"]
    assert secret not in caplog.text


async def test_a_second_setup_cannot_replace_the_secret_without_turning_it_off(app, alice):
    secret, _ = await turn_on_totp(alice)
    [before] = await rows(app, User)
    response = await alice.post("/2fa/totp/new", {}, token_from="/sessions")
    assert response.headers["Location"] == "/2fa"
    assert "already on" in await (await alice.get("/2fa")).get_data(as_text=True)
    # Nor by confirming a setup begun before TOTP was turned on.
    response = await alice.post("/2fa/totp", {"code": code_at(secret, 1)}, token_from="/sessions")
    assert response.headers["Location"] == "/2fa"
    [after] = await rows(app, User)
    assert after.totp_secret == before.totp_secret


async def test_two_setups_confirmed_at_once_leave_one_secret_and_one_set_of_codes(app, signed_in):
    from quartapp.mfa.models import RecoveryCode

    browsers = [AuthActions(app.test_client()) for _ in range(2)]
    secrets, tokens = [], []
    for browser in browsers:
        await signed_in(browser.client, "alice", password=PASSWORD)
        await browser.post("/2fa/totp/new", {}, token_from="/sessions")
        secrets.append(secret_on(await (await browser.get("/2fa/totp")).get_data(as_text=True)))
        tokens.append(await browser.token("/2fa/totp"))
    responses = await asyncio.gather(
        *(
            browser.client.post("/2fa/totp", form={"code": code_at(secret), "csrf_token": token})
            for browser, secret, token in zip(browsers, secrets, tokens, strict=True)
        )
    )
    assert sorted(response.status_code for response in responses) == [200, 303]  # codes shown / "already on"
    assert len(await rows(app, RecoveryCode)) == 10
