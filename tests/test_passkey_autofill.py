"""Passkeys in the browser's autofill on /signin (WebAuthn conditional mediation), at the HTTP level.

The page's request stays open while the visitor uses the page, so it has a challenge of its own:
the button's, fetched meanwhile, must neither replace it nor be replaced by it.
"""

import logging
from html.parser import HTMLParser

import pytest

from quartapp.db.models import AuthSession

from .conftest import auth_cookie, PASSWORD, rows, running_app
from .test_passkeys import audited, BASE_URL, error_of, options, post_json, registered, token

AUTOFILL = "/passkeys/signin/autofill"
BUTTON = "/passkeys/signin"
SPENT = "That took too long or was already used. Try again."
NOT_VALID = "That passkey could not be verified. Try again."


@pytest.fixture
def quartapp_config():
    return {"BASE_URL": BASE_URL}  # the plugin's app, with links and passkeys at the test client's host


@pytest.fixture
async def alice(client, signed_in):
    return await signed_in(client, "alice", password=PASSWORD)


class Inputs(HTMLParser):
    """The attributes of each <input> of a page, by its name."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.inputs: dict[str | None, dict[str, str | None]] = {}
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "input":
            self.inputs[dict(attrs).get("name")] = dict(attrs)


async def username_input(client, path: str = "/signin", **headers: str) -> dict[str, str | None]:
    response = await client.get(path, headers=headers)
    assert response.status_code == 200
    return Inputs(await response.get_data(as_text=True)).inputs["username"]


async def test_the_username_field_offers_passkeys_to_the_browsers_autofill(client):
    username = await username_input(client, "/signin?next=/sessions")
    assert username["autocomplete"] == "username webauthn"
    assert username["data-passkey"] == "autofill"  # passkeys.js starts the conditional request for this field
    assert username["data-options"] == f"{AUTOFILL}/options"
    assert username["data-verify"] == f"{AUTOFILL}/verify?next=/sessions"  # next, as the button's
    assert "autofocus" in username


async def test_where_passkeys_cannot_work_the_field_is_a_plain_username_field(tmp_path):
    async with running_app(tmp_path, BASE_URL="http://localhost:8000") as app:
        username = await username_input(app.test_client(), Host="127.0.0.1:8000")  # another origin
        assert username["autocomplete"] == "username"
        assert "data-passkey" not in username
    async with running_app(tmp_path / "ip", BASE_URL="http://127.0.0.1:8000") as app:
        username = await username_input(app.test_client(), Host="127.0.0.1:8000")  # no passkey at an IP
        assert username["autocomplete"] == "username"
        assert "data-passkey" not in username


async def test_a_passkey_chosen_from_the_autofill_signs_in_and_follows_next(app, client, alice, caplog):
    caplog.set_level(logging.INFO, logger="quartapp.audit")
    device = await registered(client)
    browser = app.test_client()
    csrf = await token(browser, "/signin")
    offered = await options(browser, f"{AUTOFILL}/options", csrf)
    assert offered["allowCredentials"] == []  # any of the site's passkeys on the device: none is named
    assert offered["userVerification"] == "required"
    assertion = {"credential": device.get(offered)}
    response = await post_json(browser, f"{AUTOFILL}/verify?next=/sessions", assertion, csrf)
    assert response.status_code == 200
    assert await response.get_json() == {"redirect": "/sessions"}
    assert auth_cookie(response) is not None
    assert "Welcome, alice" in await (await browser.get("/")).get_data(as_text=True)
    assert [(e["event"], e.get("via")) for e in audited(caplog)][-2:] == [
        ("signin.success", None),
        ("passkey.used", "autofill"),
    ]
    csrf = await token(browser, "/signin")
    assert await error_of(await post_json(browser, f"{AUTOFILL}/verify", assertion, csrf)) == SPENT  # once only


async def test_the_button_and_the_autofill_keep_their_own_challenges(app, client, alice):
    device = await registered(client)
    # The page opens the autofill's request, then the visitor presses the button (or the other way
    # round: a failed button renews the autofill's). Either answer still works, at its own verify only.
    for first, then in ((AUTOFILL, BUTTON), (BUTTON, AUTOFILL)):
        for answered, other in ((first, then), (then, first)):
            browser = app.test_client()
            csrf = await token(browser, "/signin")
            offered = {path: await options(browser, f"{path}/options", csrf) for path in (first, then)}
            answer = {"credential": device.get(offered[answered])}
            assert await error_of(await post_json(browser, f"{other}/verify", answer, csrf)) == NOT_VALID
            assert (await post_json(browser, f"{answered}/verify", answer, csrf)).status_code == 200
    assert len(await rows(app, AuthSession)) == 5  # alice's first session, and four passkey sign-ins
