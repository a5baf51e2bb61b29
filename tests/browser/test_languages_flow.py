"""A person whose browser speaks German signs up, changes language at the foot of the page, and signs in again."""

import functools
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from playwright.sync_api import expect, Page

from ..serving import ROOT
from .test_signin_flow import at, fresh_username, NewContext, PASSWORD

pytestmark = pytest.mark.browser

# Every page a signed-in person can open from the header, and the pages before signing in.
SIGNED_IN_PAGES = ["/", "/sessions", "/password", "/email", "/2fa", "/passkeys", "/account", "/account/delete"]
ANONYMOUS_PAGES = ["/signin", "/signup", "/reset", "/signin/code"]


@functools.cache
def catalog(language: str) -> dict[str, str]:
    """The shipped catalog of language: English text to its translation (singular entries)."""
    with (ROOT / "quartapp" / "translations" / language / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return {m.id: m.string for m in read_po(f) if isinstance(m.id, str) and m.id and isinstance(m.string, str)}


def said(language: str, english: str) -> str:
    return catalog(language)[english]


def fits(page: Page) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def test_a_german_browser_gets_german_pages_and_the_picker_changes_them(new_context: NewContext, screenshots: Path):
    username = fresh_username("sprache")
    page = new_context(locale="de-DE").new_page()
    page.goto("/signin")
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.get_by_role("heading", name=said("de", "Sign in"))).to_be_visible()
    page.screenshot(path=screenshots / "de-signin.png", full_page=True)

    page.locator("a[href^='/signup']").click()
    page.get_by_label(said("de", "Username")).fill(username)
    page.get_by_label(said("de", "Password"), exact=True).fill("short")
    page.get_by_label(said("de", "Confirm password")).fill("short")
    page.get_by_role("button", name=said("de", "Create account")).click()
    # The error summary at the top, and the focus in the first field in error (the password).
    expect(page.get_by_role("alert")).to_contain_text(said("de", "There is a problem"))
    expect(page.get_by_label(said("de", "Password"), exact=True)).to_be_focused()
    page.screenshot(path=screenshots / "de-signup-errors.png", full_page=True)
    page.get_by_label(said("de", "Password"), exact=True).fill(PASSWORD)
    page.get_by_label(said("de", "Confirm password")).fill(PASSWORD)
    page.get_by_role("button", name=said("de", "Create account")).click()
    expect(page).to_have_url(at("/"))
    expect(page.get_by_role("status")).to_have_text(said("de", "Your account is ready."))

    page.goto("/sessions")
    meta = page.locator(".sessions .meta").first
    expect(meta).to_contain_text(re.compile(r"\d{2}\.\d{2}\.\d{4}, \d{2}:\d{2} UTC"))

    page.get_by_role("button", name="Español").click()
    expect(page).to_have_url(at("/sessions"))
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.get_by_role("button", name="Español")).to_be_disabled()
    page.get_by_role("button", name=said("es", "Sign out"), exact=True).first.click()
    expect(page).to_have_url(at("/signin?signed_out=1"))
    expect(page.get_by_role("status")).to_have_text(said("es", "You are signed out."))
    expect(page.locator("html")).to_have_attribute("lang", "es")  # the choice outlives the sign-out

    # Back to German, and signed in again in German.
    page.get_by_role("button", name="Deutsch").click()
    expect(page.locator("html")).to_have_attribute("lang", "de")
    page.get_by_label(said("de", "Username")).fill(username)
    page.get_by_label(said("de", "Password")).fill(PASSWORD)
    page.get_by_role("button", name=said("de", "Sign in"), exact=True).click()
    expect(page).to_have_url(at("/"))
    expect(page.get_by_role("heading", name=said("de", "Welcome, %(name)s") % {"name": username})).to_be_visible()
    page.screenshot(path=screenshots / "de-home.png", full_page=True)


@pytest.mark.parametrize("width", [375, 1280])
@pytest.mark.parametrize("language", ["en", "de", "es"])
def test_every_page_fits_the_screen_in_every_language(
    new_context: NewContext, screenshots: Path, language: str, width: int
):
    page = new_context(locale=language, viewport={"width": width, "height": 740}).new_page()
    for path in ANONYMOUS_PAGES:
        page.goto(path)
        assert fits(page), (language, path)
    page.screenshot(path=screenshots / f"{language}-signin-{width}.png", full_page=True)
    page.goto("/signup")
    username = fresh_username(f"phone-{language}")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("input[name=confirm]").fill(PASSWORD)
    page.locator("form[action^='/signup'] button[type=submit]").click()
    expect(page).to_have_url(at("/"))
    header = page.locator("header").bounding_box()
    assert header is not None
    assert header["height"] <= 140, header  # on a phone, under a fifth of the screen: the page keeps its room
    for path in SIGNED_IN_PAGES:
        page.goto(path)
        assert fits(page), (language, path)
        page.screenshot(
            path=screenshots / f"{language}-{path.strip('/').replace('/', '-') or 'home'}-{width}.png", full_page=True
        )
