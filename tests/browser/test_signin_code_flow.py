"""Signing in with a code by mail, read at a real SMTP server, in Chromium."""

import re
import secrets
from pathlib import Path

import pytest
from playwright.sync_api import expect

from ..mailbox import Mailbox
from .test_recovery_flow import mail_to, NewContext, sign_up_with_address

pytestmark = pytest.mark.browser


def test_a_code_by_mail_signs_in_the_browser_that_asked(
    new_context: NewContext, mail_server: Mailbox, screenshots: Path
) -> None:
    username = f"coded-{secrets.token_hex(4)}"
    address = f"{username}@example.org"
    page = new_context().new_page()
    sign_up_with_address(page, username, address)
    page.goto(mail_to(mail_server, address, "Verify your email address").link)
    page.get_by_role("button", name=f"Verify {address}").click()
    expect(page.get_by_text("is verified")).to_be_visible()
    page.goto("/")
    page.get_by_role("button", name="Sign out").click()

    page.goto("/sessions")  # a protected page: sign in, then back here
    page.get_by_role("link", name="Email me a sign-in code").click()
    expect(page).to_have_url(re.compile(r"/signin/code\?next=/sessions$"))
    page.get_by_label("Email address").fill(address)
    page.get_by_role("button", name="Email me a code").click()
    expect(page.get_by_text(f"If an account has the verified address {address}")).to_be_visible()
    page.screenshot(path=screenshots / "signin-code-enter.png", full_page=True)

    received = mail_to(mail_server, address, "Your sign-in code")
    code = re.search(r"[A-Z2-9]{4}-[A-Z2-9]{4}", received.text)
    assert code is not None
    page.get_by_label("Code", exact=True).fill(code.group(0))
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page).to_have_url(re.compile(r"/sessions$"))
    expect(page.get_by_text("This browser")).to_be_visible()
