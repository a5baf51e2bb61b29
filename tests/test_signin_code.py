"""Signing in with a code by mail: the same answer for any address, one browser, one use, few tries."""

import asyncio
import json
import logging
import re
import time

import pytest
from quart import Quart

from quartapp.mfa.models import Challenge
from quartapp.testing.databases import execute
from quartapp.testing.helpers import csrf_token

from .conftest import AuthActions, PASSWORD, rows, running_app
from .mailbox import Mailbox, Received
from .test_addresses import signup_verified
from .totp_actions import turn_on_totp

WRONG = "That code is not right."
VOID = "That code no longer works"


def code_in(received: Received) -> str:
    match = re.search(r"^ +([A-Z2-9]{4}-[A-Z2-9]{4})\r?$", received.text, re.MULTILINE)
    assert match, received.text
    return match.group(1)


async def ask(auth: AuthActions, address: str, next: str = ""):
    return await auth.post(f"/signin/code{next}", {"email": address}, token_from="/signin/code")


async def enter(auth: AuthActions, code: str, next: str = ""):
    return await auth.post(f"/signin/code/enter{next}", {"code": code}, token_from="/signin/code/enter")


async def verified_alice(app: Quart, mailbox: Mailbox) -> AuthActions:
    """alice, with a verified address, signed out: a visitor on a browser of their own."""
    alice = await signup_verified(app, mailbox, "alice", "alice@example.org")
    await alice.signout()
    return AuthActions(app.test_client())


async def test_any_address_gets_the_same_answer_and_only_a_verified_one_a_code(mail_app, mailbox):
    await verified_alice(mail_app, mailbox)
    await AuthActions(mail_app.test_client()).signup("bob", email="bob@example.org")  # never verified
    await mailbox.wait(2)
    pages = []
    for address in ("alice@example.org", "bob@example.org", "nobody@example.org", "ALICE@example.org"):
        visitor = AuthActions(mail_app.test_client())
        response = await ask(visitor, address)
        assert (response.status_code, response.headers["Location"]) == (303, "/signin/code/enter")
        page = await (await visitor.get("/signin/code/enter")).get_data(as_text=True)
        pages.append(page.replace(address, "ADDRESS").replace(csrf_token(page), "TOKEN"))
    assert len(set(pages)) == 1, "the page tells which address has an account"
    assert "a code is on its way. It works in this browser only, once, for 10 minutes." in pages[0]
    received = (await mailbox.wait(4))[2:]
    assert [r.recipients for r in received] == [["alice@example.org"]] * 2  # the verified address, as stored
    assert received[0].message["Subject"] == "Your sign-in code"
    assert "http" not in received[0].text.split("Sent by")[0]  # no link that signs in by itself
    assert len(await mailbox.quiet()) == 4


async def test_the_code_signs_in_only_the_browser_that_asked_and_only_once(mail_app, mailbox):
    visitor = await verified_alice(mail_app, mailbox)
    await ask(visitor, "alice@example.org", next="?next=/sessions")
    code = code_in((await mailbox.wait(2))[1])

    thief = AuthActions(mail_app.test_client())  # has the mail, not the browser
    response = await thief.client.post("/signin/code/enter", form={"code": code, "csrf_token": await thief.token()})
    assert response.headers["Location"] == "/signin/code"
    assert "alice" not in await (await thief.get("/")).get_data(as_text=True)

    response = await enter(visitor, code.lower().replace("-", " "), next="?next=/sessions")  # as typed, any case
    assert (response.status_code, response.headers["Location"]) == (303, "/sessions")
    assert "Signed in as <strong>alice</strong>" in await (await visitor.get("/")).get_data(as_text=True)
    assert (await visitor.get("/email")).status_code == 200  # a fresh sign-in: no password asked again
    assert await rows(mail_app, Challenge) == []
    response = await visitor.client.post("/signin/code/enter", form={"code": code, "csrf_token": await visitor.token()})
    assert response.headers["Location"] == "/signin/code"  # spent


async def test_a_handful_of_wrong_codes_voids_it(mail_app, mailbox):
    visitor = await verified_alice(mail_app, mailbox)
    await ask(visitor, "alice@example.org")
    code = code_in((await mailbox.wait(2))[1])
    for _ in range(4):
        response = await enter(visitor, "ABCD-2345")
        assert response.status_code == 200
        assert WRONG in await response.get_data(as_text=True)
    response = await enter(visitor, "ABCD-2345")  # the fifth wrong try is the last
    assert response.headers["Location"] == "/signin/code"
    assert VOID in await (await visitor.get("/signin/code")).get_data(as_text=True)
    response = await visitor.client.post("/signin/code/enter", form={"code": code, "csrf_token": await visitor.token()})
    assert response.headers["Location"] == "/signin/code"
    assert "alice" not in await (await visitor.get("/")).get_data(as_text=True)


async def test_wrong_codes_at_once_cannot_take_more_than_their_tries(tmp_path, mailbox):
    # The account's throttle out of the way: entries arriving after the sixth failure would get a 429.
    settings = {"SMTP_URL": mailbox.url, "BASE_URL": "http://localhost", "THROTTLE_ACCOUNT_FAILURES": 1000}
    async with running_app(tmp_path, **settings) as app:
        visitor = await verified_alice(app, mailbox)
        await ask(visitor, "alice@example.org")
        await mailbox.wait(2)
        token = await visitor.token("/signin/code/enter")
        form = {"code": "ABCD-2345", "csrf_token": token}
        responses = await asyncio.gather(*(visitor.client.post("/signin/code/enter", form=form) for _ in range(8)))
        assert sorted(r.status_code for r in responses) == [200] * 4 + [303] * 4
        assert await rows(app, Challenge) == []


async def test_a_code_expires(mail_app, mailbox, clock):
    visitor = await verified_alice(mail_app, mailbox)
    await ask(visitor, "alice@example.org")
    code = code_in((await mailbox.wait(2))[1])
    token = await visitor.token("/signin/code/enter")
    clock.advance(minutes=11)
    response = await visitor.client.post("/signin/code/enter", form={"code": code, "csrf_token": token})
    assert response.headers["Location"] == "/signin/code"


async def test_a_right_code_is_the_first_factor_only(mail_app, mailbox):
    alice = await signup_verified(mail_app, mailbox, "alice", "alice@example.org")
    await turn_on_totp(alice)
    await alice.signout()
    visitor = AuthActions(mail_app.test_client())
    await ask(visitor, "alice@example.org")
    [received] = [r for r in await mailbox.wait(3) if r.message["Subject"] == "Your sign-in code"]
    response = await enter(visitor, code_in(received))
    assert response.headers["Location"].startswith("/signin/second-factor")
    assert "alice" not in await (await visitor.get("/")).get_data(as_text=True)


async def test_codes_count_with_the_passwords_throttle_and_never_clear_it(mail_app, mailbox, clock, caplog):
    caplog.set_level(logging.INFO, logger="quartapp.audit")
    visitor = await verified_alice(mail_app, mailbox)
    for _ in range(4):
        assert (await visitor.signin("alice", "not the password")).status_code == 200
    await ask(visitor, "alice@example.org")
    code = code_in((await mailbox.wait(2))[1])
    await enter(visitor, "ABCD-2345")  # the fifth failure of the account
    await enter(visitor, "ABCD-2346")  # the sixth blocks the next attempt, code or password
    response = await enter(visitor, code)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1"
    clock.advance(seconds=2)
    assert (await enter(visitor, code)).headers["Location"] == "/"
    await visitor.signout()
    # The right code cleared nothing: the next wrong password blocks again, for longer.
    assert (await visitor.signin("alice", "not the password")).status_code == 200
    assert (await visitor.signin("alice", PASSWORD)).status_code == 429
    events = [json.loads(r.getMessage())["event"] for r in caplog.records if r.name == "quartapp.audit"]
    assert {"signin.code_sent", "signin.code_rejected", "signin.code_used", "signin.throttled"} <= set(events)


async def test_code_mails_share_the_mail_limits(mail_app, mailbox):
    await verified_alice(mail_app, mailbox)  # the verification mail was the first of three
    for _ in range(4):  # each from a browser of its own, so each has a challenge to mail a code for
        assert (await ask(AuthActions(mail_app.test_client()), "alice@example.org")).status_code == 303
    await mailbox.wait(3)
    assert len(await mailbox.quiet()) == 3


async def test_a_disabled_account_gets_no_code(mail_app, mailbox):
    visitor = await verified_alice(mail_app, mailbox)
    await execute(mail_app.config["DATABASE_URL"], "UPDATE users SET disabled_at = CURRENT_TIMESTAMP")
    assert (await ask(visitor, "alice@example.org")).status_code == 303
    assert len(await mailbox.quiet()) == 1


@pytest.mark.parametrize("path", ["/signin/code", "/signin/code/enter"])
async def test_sign_in_by_code_can_be_turned_off(tmp_path, path):
    async with running_app(tmp_path, SIGNIN_CODE_LIFETIME=0) as app:
        client = app.test_client()
        assert (await client.get(path)).status_code == 404
        assert "sign-in code" not in await (await client.get("/signin")).get_data(as_text=True)


async def test_the_signin_page_offers_a_code(client):
    page = await (await client.get("/signin?next=/sessions")).get_data(as_text=True)
    assert '<a href="/signin/code?next=/sessions">Email me a sign-in code</a>' in page


async def test_without_an_smtp_url_the_log_shows_the_code(tmp_path, caplog):
    """make run's terminal: the newcomer reads the code there, as the links of other mails."""
    caplog.set_level(logging.INFO, logger="quartapp.mail")
    async with running_app(tmp_path) as app:  # no SMTP_URL, as with make run
        await AuthActions(app.test_client()).signup("alice", email="alice@example.org")
        await execute(app.config["DATABASE_URL"], "UPDATE users SET verified_email_key = email_key")
        visitor = AuthActions(app.test_client())
        await ask(visitor, "alice@example.org")
        deadline = time.monotonic() + 5
        while not (lines := [r.getMessage() for r in caplog.records if "Your sign-in code" in r.getMessage()]):
            assert time.monotonic() < deadline, "no code in the log"
            await asyncio.sleep(0.02)
        [line] = lines
        assert re.fullmatch(r"mail to alice@example.org: Your sign-in code [A-Z2-9]{4}-[A-Z2-9]{4}", line)
        assert (await enter(visitor, line.split()[-1])).headers["Location"] == "/"
