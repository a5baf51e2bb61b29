"""Operators lock and unlock accounts from the command line; a disabled account is out at once."""

import json
import logging

import bcrypt
import pytest
from sqlalchemy import update

from quartapp.db.models import User

from .conftest import AuthActions, make_app, migrated, PASSWORD, rows, run
from .test_addresses import verify


def mail_settings(mailbox) -> dict[str, object]:
    return {"SMTP_URL": mailbox.url, "BASE_URL": "http://localhost", "MAIL_RETRY_DELAY": 0.05}


@pytest.fixture
def served(tmp_path, mailbox):
    """An app on a migrated database (as the CLI needs) whose mail goes to the mailbox."""
    app = make_app(tmp_path, **mail_settings(mailbox))
    migrated(app)
    return app


@pytest.fixture
def operator(tmp_path, mailbox, served):
    """The same deployment as served, as the command line sees it: an app object of its own."""
    return make_app(tmp_path, **mail_settings(mailbox))


async def create_alice(app, mailbox) -> None:
    args = ["create-user", "alice", "--password-stdin", "--email", "Alice@Example.org"]
    result = await run(app, *args, input=f"{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert "Created user alice; a verification link was sent to Alice@example.org." in result.output
    [received] = await mailbox.wait(1)
    assert received.recipients == ["Alice@example.org"]


async def test_create_user_takes_an_address_and_mails_it_a_verification_link(served, mailbox):
    await create_alice(served, mailbox)
    [user] = await rows(served, User)
    assert (user.email, user.verified_email_key) == ("Alice@example.org", None)
    async with served.test_app():
        [received] = await mailbox.wait(1)
        assert (await verify(AuthActions(served.test_client()), received)).status_code == 303
    [user] = await rows(served, User)
    assert user.verified_email_key == "alice@example.org"


async def test_create_user_refuses_a_bad_address(served):
    result = await run(served, "create-user", "alice", "--password-stdin", "--email", "nope", input=f"{PASSWORD}\n")
    assert result.exit_code == 1
    assert "email:" in result.output
    assert await rows(served, User) == []


async def test_a_disabled_account_is_signed_out_everywhere_and_cannot_sign_in(
    served, operator, mailbox, monkeypatch, caplog
):
    caplog.set_level(logging.INFO, logger="quartapp.audit")
    await create_alice(served, mailbox)
    async with served.test_app():
        browsers = [AuthActions(served.test_client()) for _ in range(2)]
        for browser in browsers:
            assert (await browser.signin("alice")).status_code == 303
        result = await run(operator, "disable-user", "ALICE")
        assert result.exit_code == 0, result.output
        assert "Disabled; 2 session(s) signed out." in result.output
        assert [(await b.get("/")).status_code for b in browsers] == [302, 302]

        checks = []
        real = bcrypt.checkpw

        def counting_checkpw(password: bytes, hashed_password: bytes) -> bool:
            checks.append(hashed_password[:7])
            return real(password, hashed_password)

        monkeypatch.setattr(bcrypt, "checkpw", counting_checkpw)
        stranger = AuthActions(served.test_client())
        right = await stranger.signin("alice", PASSWORD)
        wrong = await stranger.signin("alice", "not the password")
        for response in (right, wrong):
            assert response.status_code == 200
            assert "Invalid username or password." in await response.get_data(as_text=True)
        assert checks == [b"$2b$04$", b"$2b$04$"]  # the same bcrypt check either way

        response = await stranger.post("/reset", {"email": "alice@example.org"}, token_from="/reset")
        assert response.status_code == 200
        assert "If an account has the address <strong>alice@example.org</strong>, a link is on its way." in (
            await response.get_data(as_text=True)
        )
        assert len(await mailbox.quiet()) == 1  # only the verification mail of the account's creation

        result = await run(operator, "enable-user", "alice")
        assert result.exit_code == 0, result.output
        assert "Enabled alice." in result.output
        assert (await stranger.signin("alice", PASSWORD)).status_code == 303
    events = [json.loads(r.getMessage()) for r in caplog.records if r.name == "quartapp.audit"]
    assert [(e["event"], e.get("revoked")) for e in events if e["event"].startswith("account.")] == [
        ("account.disabled", 2),
        ("account.enabled", None),
    ]
    assert {"event": "reset.requested", "sent": False, "reason": "disabled"}.items() <= next(
        e for e in events if e["event"] == "reset.requested"
    ).items()


async def test_a_session_of_a_disabled_account_is_refused_even_if_its_row_survived(served, mailbox):
    """The session check itself refuses disabled accounts, so nothing racing the deletion gets in."""
    await create_alice(served, mailbox)
    async with served.test_app():
        browser = AuthActions(served.test_client())
        await browser.signin("alice")
        async with served.extensions["db_sessionmaker"]() as session:
            await session.execute(update(User).values(disabled_at=User.created_at))
            await session.commit()
        assert (await browser.get("/")).status_code == 302


async def test_set_password_voids_a_mailed_reset_link(served, operator, mailbox):
    await create_alice(served, mailbox)
    async with served.test_app():
        browser = AuthActions(served.test_client())
        await browser.post("/reset", {"email": "alice@example.org"}, token_from="/reset")
        link = (await mailbox.wait(2))[1]
        result = await run(operator, "set-password", "alice", "--password-stdin", input="another long password\n")
        assert result.exit_code == 0, result.output
        assert (await browser.get(link.path)).status_code == 404


@pytest.mark.parametrize("name", ["disable-user", "enable-user"])
async def test_disabling_an_unknown_user_fails_clearly(served, name):
    result = await run(served, name, "nobody")
    assert result.exit_code == 1
    assert "Error: there is no user 'nobody'" in result.output
