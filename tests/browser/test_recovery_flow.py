"""A forgotten password, reset through a link mailed to a real SMTP server, in Chromium."""

import re
import secrets
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, expect, Page

from ..mailbox import Mailbox, Received

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
NEW = "a brand new passphrase"

NewContext = Callable[..., BrowserContext]


def mail_to(mailbox: Mailbox, address: str, subject: str, within: float = 10) -> Received:
    """Wait (bounded) for the mail with subject to address."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        for received in mailbox.wait_blocking(0):
            if received.recipients == [address] and received.message["Subject"] == subject:
                return received
        time.sleep(0.05)
    raise AssertionError(f"no mail {subject!r} to {address} within {within} s")


def sign_up_with_address(page: Page, username: str, address: str) -> None:
    page.goto("/signup")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Confirm password").fill(PASSWORD)
    page.get_by_label("Email address (optional)").fill(address)
    page.get_by_role("button", name="Create account").click()


def sign_in(page: Page, username: str, password: str) -> None:
    page.goto("/signin")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()


def test_forgotten_password(new_context: NewContext, mail_server: Mailbox, screenshots: Path) -> None:
    username = f"forgetful-{secrets.token_hex(4)}"
    address = f"{username}@example.org"
    elsewhere = new_context().new_page()  # a session left open on another computer
    sign_up_with_address(elsewhere, username, address)
    expect(elsewhere.get_by_role("heading", name=f"Welcome, {username}")).to_be_visible()

    page = new_context().new_page()
    page.goto("/signin")
    page.get_by_role("link", name="Forgot your password?").click()
    expect(page).to_have_url(re.compile(r"/reset$"))
    page.get_by_label("Email address").fill(address)
    page.get_by_role("button", name="Send the link").click()
    expect(page.get_by_role("status")).to_contain_text(
        f"If an account has the address {address}, a link is on its way."
    )

    received = mail_to(mail_server, address, "Reset your password")
    assert received.link.startswith(page.url.rsplit("/reset", 1)[0] + "/reset/")  # BASE_URL is the served URL
    page.goto(received.link)
    expect(page).to_have_url(re.compile(r"/reset/set-password$"))  # the token left the address bar
    expect(page.get_by_text(f"For the account {username}.")).to_be_visible()
    page.screenshot(path=screenshots / "reset-set-password.png", full_page=True)
    page.get_by_label("New password", exact=True).fill(NEW)
    page.get_by_label("Confirm new password").fill(NEW)
    page.get_by_role("button", name="Set the new password").click()
    expect(page).to_have_url(re.compile(r"/signin$"))
    expect(page.get_by_text("Your password was changed")).to_be_visible()
    assert mail_to(mail_server, address, "Your password was changed").recipients == [address]

    elsewhere.goto("/")
    expect(elsewhere).to_have_url(re.compile(r"/signin\?next=/$"))  # signed out there too

    sign_in(page, username, PASSWORD)
    expect(page.get_by_text("Invalid username or password.")).to_be_visible()
    sign_in(page, username, NEW)
    expect(page.get_by_role("heading", name=f"Welcome, {username}")).to_be_visible()
