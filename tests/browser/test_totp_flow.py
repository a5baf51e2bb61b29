"""Two-factor sign-in with an authenticator app, as a person sets it up and uses it in Chromium:
the secret read off the page as a phone app would, codes made with pyotp."""

import time
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import expect, Page

from .test_signin_flow import at, expect_signed_in, fill_signin, fill_signup, fresh_username, PASSWORD

pytestmark = pytest.mark.browser


def test_turn_on_totp_then_sign_in_with_a_code(page: Page, screenshots: Path) -> None:
    username = fresh_username("totp")
    page.goto("/signup")
    fill_signup(page, username)
    expect_signed_in(page, username)

    page.get_by_role("link", name="Two-factor").click()
    expect(page.get_by_role("heading", name="Two-factor sign-in")).to_be_visible()
    page.get_by_role("button", name="Set up an authenticator app").click()
    expect(page).to_have_url(at("/2fa/totp"))
    expect(page.get_by_role("img", name="QR code of the secret")).to_be_visible()
    page.screenshot(path=screenshots / "totp-setup.png", full_page=True)
    totp = pyotp.TOTP(page.locator("[data-totp-secret]").inner_text().replace(" ", ""))

    page.get_by_label("Code from the app").fill(totp.now())
    page.get_by_role("button", name="Turn on").click()
    expect(page.get_by_role("heading", name="Two-factor sign-in is on")).to_be_visible()
    codes = page.locator("[data-recovery-codes] code").all_inner_texts()
    assert len(codes) == 10
    page.screenshot(path=screenshots / "totp-recovery-codes.png", full_page=True)

    page.get_by_role("button", name="Sign out").click()
    fill_signin(page, username, PASSWORD)
    expect(page.get_by_role("heading", name="One more step")).to_be_visible()
    page.screenshot(path=screenshots / "totp-second-step.png", full_page=True)
    page.get_by_label("Code", exact=True).fill("000000")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("alert")).to_contain_text("That code is not right or was already used.")
    page.get_by_label("Code", exact=True).fill(totp.at(time.time() + 30))  # the setup code's step is spent
    page.get_by_role("button", name="Continue").click()
    expect_signed_in(page, username)

    page.get_by_role("button", name="Sign out").click()
    fill_signin(page, username, PASSWORD)
    page.get_by_label("Code", exact=True).fill(codes[0])
    page.get_by_role("button", name="Continue").click()
    expect_signed_in(page, username)


def test_a_trusted_browser_skips_the_code_until_it_is_revoked(page: Page, screenshots: Path) -> None:
    username = fresh_username("trusted")
    page.goto("/signup")
    fill_signup(page, username)
    page.goto("/2fa")
    page.get_by_role("button", name="Set up an authenticator app").click()
    totp = pyotp.TOTP(page.locator("[data-totp-secret]").inner_text().replace(" ", ""))
    page.get_by_label("Code from the app").fill(totp.now())
    page.get_by_role("button", name="Turn on").click()
    page.get_by_role("button", name="Sign out").click()

    fill_signin(page, username, PASSWORD)
    page.get_by_label("Code", exact=True).fill(totp.at(time.time() + 30))
    page.get_by_label("Don't ask for a code on this browser for 30 days").check()
    page.screenshot(path=screenshots / "totp-second-step-trust.png", full_page=True)
    page.get_by_role("button", name="Continue").click()
    expect_signed_in(page, username)
    page.get_by_role("button", name="Sign out").click()

    fill_signin(page, username, PASSWORD)  # no second step on this browser now
    expect_signed_in(page, username)
    page.goto("/sessions")
    expect(page.get_by_role("heading", name="Trusted browsers")).to_be_visible()
    page.screenshot(path=screenshots / "sessions-trusted.png", full_page=True)
    page.get_by_role("button", name="Stop trusting").click()
    expect(page.get_by_text("That browser will be asked for the second step again.")).to_be_visible()
    page.get_by_role("button", name="Sign out", exact=True).click()
    fill_signin(page, username, PASSWORD)
    expect(page.get_by_role("heading", name="One more step")).to_be_visible()
