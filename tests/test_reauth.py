"""Pages that change how one signs in ask for the password again once the sign-in is not recent."""

import json
import logging
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from quartapp.db.models import AuthSession, User

from .conftest import AuthActions, PASSWORD, rows, running_app


async def stale(auth: AuthActions, clock, minutes: float = 11) -> None:
    await auth.signup("alice")
    clock.advance(minutes=minutes)


@pytest.fixture
async def alice(auth: AuthActions, signed_in) -> AuthActions:
    """Signed in long ago: the password was last proved past the window."""
    await signed_in(auth.client, "alice", password=PASSWORD, recent=False)
    return auth


async def reauthenticate(auth: AuthActions, password: str = PASSWORD, next: str = "/password"):
    return await auth.post(f"/reauthenticate?next={next}", {"password": password}, token_from="/reauthenticate")


async def test_a_recent_signin_opens_sensitive_pages_without_asking(app, auth, clock):
    await stale(auth, clock, minutes=9)
    assert (await auth.get("/password")).status_code == 200
    assert (await auth.get("/email")).status_code == 200


@pytest.mark.parametrize("path", ["/password", "/email", "/email?from=menu"])
async def test_a_stale_signin_is_asked_for_the_password_then_sent_back(app, alice, path):
    response = await alice.get(path)
    assert response.status_code == 303
    location = urlsplit(response.headers["Location"])
    assert (location.path, parse_qs(location.query)) == ("/reauthenticate", {"next": [path]})
    page = await (await alice.get(response.headers["Location"])).get_data(as_text=True)
    assert "Confirm your password" in page
    assert 'autocomplete="username" value="alice"' in page  # password managers know whose password

    response = await reauthenticate(alice, next=quote(path))
    assert response.status_code == 303
    assert response.headers["Location"] == path
    assert (await alice.get(path)).status_code == 200


async def test_a_wrong_password_is_refused_and_the_session_stays_stale(app, alice):
    [before] = await rows(app, AuthSession)
    response = await reauthenticate(alice, password="not it")
    assert response.status_code == 200
    assert "That is not your password." in await response.get_data(as_text=True)
    [after] = await rows(app, AuthSession)
    assert after.verified_at == before.verified_at
    assert (await alice.get("/password")).status_code == 303


async def test_a_form_submitted_after_the_window_changes_nothing(app, auth, clock):
    await auth.signup("alice")
    token = await auth.token("/password")
    [before] = await rows(app, User)
    clock.advance(minutes=11)
    form = {"password": "a brand new passphrase", "confirm": "a brand new passphrase", "csrf_token": token}
    response = await auth.client.post("/password", form=form)
    assert response.status_code == 303
    assert response.headers["Location"] == "/reauthenticate?next=/password"
    [after] = await rows(app, User)
    assert after.password_hash == before.password_hash


async def test_proving_the_password_counts_for_that_session_only(app, auth, clock):
    await stale(auth, clock)
    other = AuthActions(app.test_client())
    assert (await other.signin("alice")).status_code == 303
    assert (await other.get("/password")).status_code == 200  # just signed in
    assert (await auth.get("/password")).status_code == 303  # the older session is still stale


async def test_reauthentication_is_throttled_like_signing_in(app, alice):
    statuses = [(await reauthenticate(alice, password=f"guess {i}")).status_code for i in range(7)]
    assert statuses[:5] == [200] * 5
    assert statuses[-1] == 429
    response = await reauthenticate(alice)
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert "Too many failed attempts." in await response.get_data(as_text=True)


async def test_next_must_stay_on_this_site(app, alice):
    response = await reauthenticate(alice, next="//evil.example/")
    assert response.headers["Location"] == "/"


async def test_the_page_is_for_signed_in_visitors_only(client):
    response = await client.get("/reauthenticate")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/signin?next=")
    assert (await client.post("/reauthenticate", form={"password": PASSWORD})).status_code == 302


async def test_reauthenticating_is_audited(app, alice, caplog):
    token = await alice.token("/reauthenticate")
    with caplog.at_level(logging.INFO, logger="quartapp.audit"):
        caplog.clear()
        await alice.client.post("/reauthenticate", form={"password": PASSWORD, "csrf_token": token})
    [event] = [json.loads(record.getMessage()) for record in caplog.records if record.name == "quartapp.audit"]
    assert (event["event"], event["username_key"]) == ("signin.reauthenticated", "alice")
    assert PASSWORD not in caplog.text


async def test_the_window_is_configurable(tmp_path, clock):
    async with running_app(tmp_path, RECENT_SIGNIN_WINDOW=60 * 60) as app:
        auth = AuthActions(app.test_client())
        await stale(auth, clock, minutes=59)
        assert (await auth.get("/password")).status_code == 200
        clock.advance(minutes=2)
        assert (await auth.get("/password")).status_code == 303


@pytest.mark.parametrize("window", [0, -5, "ten", True])
def test_a_window_that_could_never_be_met_is_refused_at_start(tmp_path, window):
    from quartapp.config import ConfigurationError

    from .conftest import make_app

    with pytest.raises(ConfigurationError, match="RECENT_SIGNIN_WINDOW"):
        make_app(tmp_path, RECENT_SIGNIN_WINDOW=window)


@pytest.mark.parametrize(
    ("referer", "back"),
    [
        ("http://localhost/email?tab=address", "/email?tab=address"),  # the page the form was on
        ("http://evil.example/email", "/password"),  # another site names no page here
        ("https://localhost/email", "/password"),  # nor does another scheme
        ("", "/password"),
    ],
)
async def test_a_form_posted_too_late_comes_back_to_the_page_it_was_on(app, alice, referer, back):
    token = await alice.token("/signin")
    headers = {"Referer": referer} if referer else {}
    response = await alice.client.post("/password", form={"csrf_token": token}, headers=headers)
    location = urlsplit(response.headers["Location"])
    assert parse_qs(location.query) == {"next": [back]}
