"""A person takes their data and deletes their account, in Chromium."""

import base64
import json
from pathlib import Path

import pytest
from playwright.sync_api import expect, Page

from .test_passkeys_flow import with_a_passkey
from .test_signin_flow import (
    at,
    expect_signed_in,
    expect_signed_out,
    fill_signin,
    fill_signup,
    fresh_username,
    NewContext,
)

pytestmark = pytest.mark.browser


def test_a_person_downloads_their_data_then_deletes_the_account(new_context: NewContext, screenshots: Path):
    username = fresh_username("leaving")
    page = new_context(accept_downloads=True).new_page()
    page.goto("/signup")
    fill_signup(page, username)
    expect_signed_in(page, username)
    laptop = new_context().new_page()  # the same account, signed in on another device
    laptop.goto("/signin")
    fill_signin(laptop, username)
    expect_signed_in(laptop, username)

    page.get_by_role("navigation", name="Account").get_by_role("link", name="Account").click()
    expect(page).to_have_url(at("/account"))
    expect(page.get_by_role("heading", name="Your account", exact=True)).to_be_visible()
    page.screenshot(path=screenshots / "account.png", full_page=True)
    page.get_by_role("link", name="Download your data").click()
    expect(page.get_by_role("heading", name="Download your data")).to_be_visible()
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download (JSON)").click()
    download = download_info.value
    assert download.suggested_filename.startswith("account-")
    assert download.suggested_filename.endswith(".json")
    export = json.loads(Path(download.path()).read_text())
    assert export["profile"]["username"] == username
    assert len(export["sessions"]) == 2
    assert [e["event"] for e in export["audit_events"]][:2] == ["signup", "signin.success"]
    expect(page.get_by_role("heading", name="Download your data")).to_be_visible()  # the page stays

    page.goto("/account")
    page.get_by_role("link", name="Delete your account").click()
    expect(page).to_have_url(at("/account/delete"))
    expect(page.get_by_text("This cannot be undone.")).to_be_visible()
    page.get_by_role("button", name="Delete my account for good").click()  # nothing typed
    expect(page.get_by_role("alert").get_by_text("Type your username to confirm.", exact=True)).to_be_visible()
    page.get_by_label("Your username").fill(username + "x")
    page.get_by_role("button", name="Delete my account for good").click()
    expect(page.get_by_role("alert").get_by_text("That is not the name of this account.")).to_be_visible()
    page.screenshot(path=screenshots / "account-delete.png", full_page=True)

    page.get_by_label("Your username").fill(username.upper())
    page.get_by_role("button", name="Delete my account for good").click()
    expect_signed_out(page, "Signed in as")
    expect(page.get_by_role("status")).to_have_text(f"Your account {username} was deleted, with everything it held.")
    page.screenshot(path=screenshots / "account-deleted.png", full_page=True)
    assert [c["name"] for c in page.context.cookies() if c["name"] == "quartapp_auth"] == []

    laptop.reload()  # the other device is signed out on its next request
    expect(laptop).to_have_url(at("/signin?next=/"))
    fill_signin(page, username)
    expect(page.get_by_text("Invalid username or password.")).to_be_visible()
    page.goto("/signup")
    fill_signup(page, username)  # the name is free again
    expect_signed_in(page, username)


def test_the_account_pages_fit_a_phone(new_context: NewContext, screenshots: Path):
    username = fresh_username("phone")
    page = new_context(viewport={"width": 375, "height": 740}).new_page()
    page.goto("/signup")
    fill_signup(page, username)
    for path in ("/account", "/account/export", "/account/delete"):
        page.goto(path)
        # Nothing wider than the screen: the header's links wrap rather than push the page sideways.
        assert page.evaluate("document.documentElement.scrollWidth") <= 375, path
    page.screenshot(path=screenshots / "account-delete-375.png", full_page=True)


def test_a_deleted_accounts_passkey_is_reported_to_the_browser_to_forget(page: Page) -> None:
    # What the page tells the browser (WebAuthn's Signal API), recorded; no autofill, the button alone.
    page.add_init_script(
        "window.signals = [];"
        "PublicKeyCredential.signalUnknownCredential = async (o) => { window.signals.push(o); };"
        "PublicKeyCredential.isConditionalMediationAvailable = async () => false;"
    )
    cdp, authenticator, username = with_a_passkey(page, "gone")
    page.goto("/account/delete")
    page.get_by_label("Your username").fill(username)
    page.get_by_role("button", name="Delete my account for good").click()
    expect(page).to_have_url(at("/signin"))

    page.get_by_role("button", name="Sign in with a passkey").click()  # the passkey is still on the device
    expect(page.get_by_text("That passkey is not registered here.")).to_be_visible()
    [credential] = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
    credential_id = base64.urlsafe_b64encode(base64.b64decode(credential["credentialId"])).rstrip(b"=").decode()
    assert page.evaluate("window.signals") == [{"rpId": "localhost", "credentialId": credential_id}]
