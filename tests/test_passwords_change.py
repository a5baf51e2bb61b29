import asyncio
import json
import threading

import bcrypt
import pytest

from quartapp.db.models import User

from .conftest import AuthActions, make_app, PASSWORD, rows, running_app

NEW = "a brand new passphrase"


async def change(auth: AuthActions, new: str = NEW, confirm: str | None = None):
    form = {"password": new, "confirm": new if confirm is None else confirm}
    return await auth.post("/password", form, token_from="/password")


async def test_changing_the_password_signs_out_every_other_session(app, auth):
    await auth.signup("alice")
    others = [AuthActions(app.test_client()) for _ in range(2)]
    for other in others:
        await other.signin("alice")
    response = await change(auth)
    assert response.status_code == 303
    assert response.headers["Location"] == "/sessions"
    page = await (await auth.get("/sessions")).get_data(as_text=True)
    assert "Your password was changed and your other sessions were signed out." in page
    assert [(await o.get("/")).status_code for o in others] == [302, 302]
    assert (await auth.get("/")).status_code == 200

    await auth.signout()
    assert (await auth.signin("alice", PASSWORD)).status_code == 200  # the old one is refused
    assert (await auth.signin("alice", NEW)).status_code == 303


@pytest.mark.parametrize(
    ("new", "confirm", "message"),
    [
        ("short", "short", "Use at least 8 characters."),
        (NEW, "something else", "The passwords do not match."),
        ("é" * 40, "é" * 40, "Use at most 72 bytes"),
        ("", "", "This field is required."),
    ],
)
async def test_a_refused_password_change_says_why_and_changes_nothing(app, auth, new, confirm, message):
    await auth.signup("alice")
    [before] = await rows(app, User)
    response = await change(auth, new, confirm)
    assert response.status_code == 200
    assert message in await response.get_data(as_text=True)
    [after] = await rows(app, User)
    assert after.password_hash == before.password_hash


async def test_the_new_password_may_not_be_the_username(tmp_path):
    async with running_app(tmp_path, PASSWORD_MIN_LENGTH=4) as app:
        auth = AuthActions(app.test_client())
        await auth.signup("Alice")
        response = await change(auth, new="aLiCe")
        assert "Your password must differ from your username." in await response.get_data(as_text=True)


async def test_the_password_page_is_only_for_signed_in_users(client):
    response = await client.get("/password")
    assert response.headers["Location"] == "/signin?next=/password"
    assert (await client.post("/password", form={})).status_code == 302


async def test_a_hash_at_an_old_cost_is_upgraded_after_the_signin_response(tmp_path, monkeypatch):
    old_app = make_app(tmp_path)
    async with old_app.test_app():
        await AuthActions(old_app.test_client()).signup("alice")
    [user] = await rows(old_app, User)
    assert user.password_hash.startswith("$2b$04$")

    release = threading.Event()
    real_hashpw = bcrypt.hashpw

    def slow_hashpw(password: bytes, salt: bytes) -> bytes:
        release.wait(10)  # the re-hash cannot finish until the sign-in has been answered
        return real_hashpw(password, salt)

    app = make_app(tmp_path, BCRYPT_ROUNDS=5)
    async with app.test_app():
        monkeypatch.setattr(bcrypt, "hashpw", slow_hashpw)
        running = set(app.background_tasks)  # housekeeping
        response = await AuthActions(app.test_client()).signin("alice")
        assert response.status_code == 303
        [user] = await rows(app, User)
        assert user.password_hash.startswith("$2b$04$")  # answered before the re-hash
        release.set()
        await asyncio.gather(*(app.background_tasks - running))
        [user] = await rows(app, User)
        assert user.password_hash.startswith("$2b$05$")
        monkeypatch.setattr(bcrypt, "hashpw", real_hashpw)
        auth = AuthActions(app.test_client())
        assert (await auth.signin("alice")).status_code == 303


async def test_security_events_are_logged_without_secrets(app, auth, caplog):
    caplog.set_level("INFO", logger="quartapp.audit")
    await auth.signup("alice")
    await auth.signout()
    await auth.signin("alice", "wrong password")
    await auth.signin("alice", remember=True)
    other = AuthActions(app.test_client())
    await other.signin("alice")
    await change(auth)
    token = next(c.value for c in auth.client.cookie_jar if c.name == "quartapp_auth")

    lines = [r.getMessage() for r in caplog.records if r.name == "quartapp.audit"]
    events = [json.loads(line) for line in lines]
    assert [e["event"] for e in events] == [
        "signup",
        "signin.success",
        "signout",
        "signin.failure",
        "signin.success",
        "signin.success",
        "password.changed",
    ]
    for event in events:
        assert event["username_key"] == "alice"
        assert event["address"] == "<local>"
    assert all(len(e["session_id"]) == 64 for e in events if e["event"] != "signin.failure" and e["event"] != "signup")
    assert events[-1]["revoked"] == 1
    for line in lines:
        assert PASSWORD not in line
        assert NEW not in line
        assert "wrong password" not in line
        assert token.split(".")[0] not in line
