"""Recovery codes: each signs in once instead of a code, a new set voids the old, and turning
TOTP off needs a code or the password and a recovery code. Every change is mailed and audited."""

import html
import re
from urllib.parse import unquote

import pytest

from quartapp.db.models import AuthSession, User
from quartapp.mfa.models import RecoveryCode

from .conftest import AuthActions, PASSWORD, rows
from .test_addresses import user_row
from .totp_actions import code_at, codes_on, password_step, second_step, secret_on, turn_on_totp


@pytest.fixture
async def alice(mail_app, signed_in) -> AuthActions:
    client = mail_app.test_client()
    await signed_in(client, "alice", password=PASSWORD, email="alice@example.org")
    return AuthActions(client)


async def test_a_recovery_code_signs_in_once_and_the_owner_is_told(mail_app, mailbox, alice):
    _, codes = await turn_on_totp(alice)
    [enabled] = await mailbox.wait(1)
    assert enabled.message["Subject"] == "Two-factor sign-in was turned on"
    await alice.signout()

    await password_step(alice)
    response = await second_step(alice, codes[0].upper().replace("-", " "))  # typed loosely
    assert response.status_code == 303
    [_, used] = await mailbox.wait(2)
    assert used.message["Subject"] == "A recovery code was used to sign in"
    assert "9 unused codes are left" in used.text

    await alice.signout()
    await password_step(alice)
    assert (await second_step(alice, codes[0])).status_code == 200  # spent
    assert (await second_step(alice, codes[1])).status_code == 303


async def test_codes_are_stored_hashed(mail_app, alice):
    _, codes = await turn_on_totp(alice)
    stored = [row.code_hash for row in await rows(mail_app, RecoveryCode)]
    assert len(stored) == 10
    assert not any(code.replace("-", "") in hash_ for code in codes for hash_ in stored)


async def test_a_new_set_voids_the_old_one(mail_app, mailbox, alice):
    _, old = await turn_on_totp(alice)
    response = await alice.post("/2fa/recovery-codes", {}, token_from="/sessions")
    new = codes_on(await response.get_data(as_text=True))
    assert len(new) == 10
    assert not set(old) & set(new)
    [_, renewed] = await mailbox.wait(2)
    assert renewed.message["Subject"] == "New recovery codes were made"
    await alice.signout()
    await password_step(alice)
    assert (await second_step(alice, old[0])).status_code == 200
    assert (await second_step(alice, new[0])).status_code == 303


async def test_turning_totp_off_needs_a_code_or_the_password_and_a_recovery_code(mail_app, mailbox, alice):
    _, codes = await turn_on_totp(alice)
    for form in (
        {"code": "123456"},
        {"password": PASSWORD},
        {"recovery_code": codes[0]},
        {"password": "wrong password", "recovery_code": codes[0]},
        {"password": PASSWORD, "recovery_code": "aaaa-bbbb-cccc-dddd"},
    ):
        response = await alice.post("/2fa/totp/disable", form, token_from="/sessions")
        assert response.headers["Location"] == "/2fa"
        assert (await user_row(mail_app, "alice")).totp_secret is not None, form

    form = {"password": PASSWORD, "recovery_code": codes[1]}
    response = await alice.post("/2fa/totp/disable", form, token_from="/sessions")
    assert response.headers["Location"] == "/2fa"
    user = await user_row(mail_app, "alice")
    assert (user.totp_secret, user.totp_last_step) == (None, None)
    assert await rows(mail_app, RecoveryCode) == []  # nothing left for them to stand in for
    subjects = [received.message["Subject"] for received in await mailbox.wait(2)]
    assert subjects == ["Two-factor sign-in was turned on", "Two-factor sign-in was turned off"]

    await alice.signout()
    assert (await alice.signin("alice", PASSWORD)).headers["Location"] == "/"  # the password alone again


async def test_turning_totp_off_with_a_current_code(mail_app, alice):
    secret, _ = await turn_on_totp(alice)
    await alice.post("/2fa/totp/disable", {"code": code_at(secret, 1)}, token_from="/sessions")
    assert (await user_row(mail_app, "alice")).totp_secret is None


async def test_without_a_verified_address_nothing_is_mailed(mail_app, mailbox, signed_in):
    bob = AuthActions(mail_app.test_client())
    await signed_in(bob.client, "bob", password=PASSWORD)
    await turn_on_totp(bob)
    assert await mailbox.quiet(0.2) == []
    assert [row.username for row in await rows(mail_app, User) if row.totp_secret] == ["bob"]
    assert len(await rows(mail_app, AuthSession)) == 1


async def test_a_password_reset_leaves_the_second_factor_on(mail_app, mailbox, alice):
    from .test_recovery import ask, NEW, open_link, set_password

    secret, _ = await turn_on_totp(alice)
    await alice.signout()
    await mailbox.wait(1)  # the notice that the app is on
    await ask(alice, "alice@example.org")
    [_, reset] = await mailbox.wait(2)
    await open_link(alice, reset)
    assert (await set_password(alice)).headers["Location"] == "/signin"
    # Whoever reads the mailbox gets the password, not the account: the code is still asked for.
    response = await alice.signin("alice", NEW)
    assert response.headers["Location"].startswith("/signin/second-factor")
    assert await rows(mail_app, AuthSession) == []
    assert (await second_step(alice, code_at(secret, 1))).status_code == 303


async def test_turning_totp_off_without_the_csrf_token_is_a_400(mail_app, alice):
    secret, _ = await turn_on_totp(alice)
    response = await alice.client.post("/2fa/totp/disable", form={"code": code_at(secret, 1)})
    assert response.status_code == 400
    assert (await user_row(mail_app, "alice")).totp_secret is not None


async def test_the_codes_can_be_taken_away_as_a_file_and_copied(alice):
    await alice.post("/2fa/totp/new", {}, token_from="/sessions")
    page = await (await alice.get("/2fa/totp")).get_data(as_text=True)
    assert 'inputmode="numeric"' in page  # a phone shows its number pad for the code
    secret = secret_on(page)
    response = await alice.post("/2fa/totp", {"code": code_at(secret)}, token_from="/2fa/totp")
    page = await response.get_data(as_text=True)
    codes = codes_on(page)
    link = re.search(r'download="recovery-codes.txt" href="data:text/plain;charset=utf-8,([^"]+)"', page)
    assert link is not None
    text = unquote(html.unescape(link.group(1)))
    assert text.startswith("Recovery codes for alice at http://localhost")
    assert text.split("\n\n", 1)[1] == "\n".join(codes) + "\n"
    assert 'data-copy-codes data-copied="Copied" hidden>Copy</button>' in page  # shown by its script
    assert '<script src="/static/recovery-codes.js" defer></script>' in page
