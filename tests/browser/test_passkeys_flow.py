"""Passkeys in Chromium, with its virtual authenticator standing in for a phone or security key.

The package's server has BASE_URL http://localhost:<port> and its pages are opened there:
WebAuthn refuses IP addresses as the site a passkey belongs to.
"""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, CDPSession, expect, Page

from .test_signin_flow import at, expect_signed_in, fill_signin, fill_signup, fresh_username, PASSWORD

pytestmark = pytest.mark.browser

NewContext = Callable[..., BrowserContext]


def virtual_authenticator(page: Page) -> tuple[CDPSession, str]:
    """A platform authenticator that holds passkeys and verifies its user (a fingerprint, say)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    options = {
        "protocol": "ctap2",
        "transport": "internal",
        "hasResidentKey": True,
        "hasUserVerification": True,
        "isUserVerified": True,
    }
    added: dict[str, Any] = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": options})
    return cdp, str(added["authenticatorId"])


def with_a_passkey(page: Page, story: str) -> tuple[CDPSession, str, str]:
    """Sign up and add a passkey on the page's virtual authenticator; still signed in."""
    cdp, authenticator = virtual_authenticator(page)
    username = fresh_username(story)
    page.goto("/signup")
    fill_signup(page, username)
    page.goto("/passkeys")
    page.get_by_role("button", name="Add a passkey").click()
    expect(page.get_by_role("heading", name="Two-factor sign-in is on")).to_be_visible()
    page.goto("/passkeys")
    return cdp, authenticator, username


def without_autofill(page: Page) -> None:
    """A browser without conditional mediation: passkeys behind the button only, as before autofill had them.

    (Chromium's virtual authenticator answers a conditional request by itself: see test_passkey_autofill_flow.)
    """
    page.add_init_script("PublicKeyCredential.isConditionalMediationAvailable = async () => false;")


def test_add_a_passkey_then_sign_in_with_it_alone(page: Page, screenshots: Path) -> None:
    without_autofill(page)
    cdp, authenticator = virtual_authenticator(page)
    username = fresh_username("passkey")
    page.goto("/signup")
    fill_signup(page, username)
    expect_signed_in(page, username)

    page.goto("/passkeys")
    expect(page.get_by_role("heading", name="Passkeys", exact=True)).to_be_visible()
    expect(page.get_by_text("No passkeys yet.")).to_be_visible()
    page.get_by_label("Name", exact=True).fill("Work laptop")
    page.screenshot(path=screenshots / "passkeys-empty.png", full_page=True)
    page.get_by_role("button", name="Add a passkey").click()
    # The first second factor comes with recovery codes, shown once.
    expect(page.get_by_role("heading", name="Two-factor sign-in is on")).to_be_visible()
    assert len(page.locator("[data-recovery-codes] code").all_inner_texts()) == 10

    [credential] = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
    assert credential["isResidentCredential"] is True
    assert credential["rpId"] == "localhost"
    assert credential["signCount"] == 1

    page.goto("/passkeys")
    expect(page.locator("[data-passkeys] strong")).to_have_text(["Work laptop"])
    expect(page.get_by_text("never used")).to_be_visible()
    page.screenshot(path=screenshots / "passkeys-list.png", full_page=True)

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(at("/signin?signed_out=1"))
    page.screenshot(path=screenshots / "passkeys-signin.png", full_page=True)
    page.get_by_role("button", name="Sign in with a passkey").click()
    expect_signed_in(page, username)

    page.goto("/passkeys")
    expect(page.get_by_text("last used")).to_be_visible()
    [credential] = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
    assert credential["signCount"] == 2


def test_a_passkey_after_the_password_and_a_refusal_on_the_page(page: Page, screenshots: Path) -> None:
    without_autofill(page)
    cdp, authenticator, username = with_a_passkey(page, "second")
    page.get_by_role("button", name="Add a passkey").click()  # the same authenticator again
    expect(page.locator("[data-passkey-error]")).to_have_text(
        "This authenticator already holds a passkey for your account."
    )
    page.screenshot(path=screenshots / "passkeys-error.png", full_page=True)

    page.get_by_role("button", name="Sign out").click()
    fill_signin(page, username, PASSWORD)
    expect(page.get_by_role("heading", name="One more step")).to_be_visible()
    page.goto("/")  # half signed in: still anonymous
    expect(page).to_have_url(at("/signin?next=/"))
    fill_signin(page, username, PASSWORD)
    expect(page.get_by_role("heading", name="One more step")).to_be_visible()
    page.screenshot(path=screenshots / "passkeys-second-factor.png", full_page=True)
    page.get_by_label("Don't ask for a code on this browser for 30 days").check()  # counts for the passkey too
    page.get_by_role("button", name="Use a passkey").click()
    expect_signed_in(page, username)
    page.get_by_role("button", name="Sign out").click()
    fill_signin(page, username, PASSWORD)
    expect_signed_in(page, username)  # a trusted browser: no second step

    # Removed here, the passkey is still on the device: signing in with it is refused, on the page,
    # and the page tells the browser (signalUnknownCredential), whose authenticator then drops it.
    page.goto("/passkeys")
    page.get_by_role("button", name="Remove").click()
    expect(page.get_by_text("No passkeys yet.")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name="Sign in with a passkey").click()
    expect(page.locator("[data-passkey-error]")).to_have_text("That passkey is not registered here.")
    expect(page).to_have_url(at("/signin?signed_out=1"))
    page.screenshot(path=screenshots / "passkeys-signin-refused.png", full_page=True)
    assert cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"] == []
