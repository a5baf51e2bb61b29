"""The sign-in flow as a person sees it in Chromium: pages, buttons, cookies, the keyboard."""

import re
import secrets
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Cookie, expect, Page, StorageState

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
AUTH_COOKIE = "quartapp_auth"
DAY = 24 * 60 * 60

NewContext = Callable[..., BrowserContext]


def fresh_username(story: str) -> str:
    return f"{story}-{secrets.token_hex(4)}"


def at(path: str) -> re.Pattern[str]:
    """Match a page URL whose path and query are exactly path."""
    return re.compile(rf"^https?://[^/]+{re.escape(path)}$")


def expect_signed_in(page: Page, username: str) -> None:
    expect(page).to_have_url(at("/"))
    expect(page.get_by_role("heading", name=f"Welcome, {username}")).to_be_visible()


def expect_signed_out(page: Page, username: str) -> None:
    expect(page).to_have_url(re.compile(r"/signin(\?next=/|\?signed_out=1)?$"))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_text(username)).to_have_count(0)


def fill_signup(page: Page, username: str, password: str = PASSWORD) -> None:
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_label("Confirm password").fill(password)
    page.get_by_role("button", name="Create account").click()


def fill_signin(page: Page, username: str, password: str = PASSWORD, *, remember: bool = False) -> None:
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_label("Remember me").set_checked(remember)
    page.get_by_role("button", name="Sign in", exact=True).click()


def create_account(new_context: NewContext, username: str) -> None:
    """Sign up in a browser of its own, so the story's browser starts signed out."""
    page = new_context().new_page()
    page.goto("/signup")
    fill_signup(page, username)
    expect_signed_in(page, username)
    page.context.close()


def auth_cookie(context: BrowserContext) -> Cookie:
    (cookie,) = [c for c in context.cookies() if c["name"] == AUTH_COOKIE]
    return cookie


def after_browser_restart(state: StorageState) -> StorageState:
    """The storage a closed and reopened browser keeps: everything but session cookies."""
    return {**state, "cookies": [c for c in state["cookies"] if c["expires"] != -1]}


def expect_labelled_inputs(page: Page) -> None:
    """Every visible input has a visible label that names it."""
    inputs = page.locator("main form input:not([type=hidden])")
    expect(inputs.first).to_be_visible()
    for field in inputs.all():
        field_id = field.get_attribute("id")
        assert field_id is not None, "an input without an id cannot be named by a label"
        label = page.locator(f"label[for='{field_id}']")
        expect(label).to_be_visible()
        expect(page.get_by_label(label.inner_text(), exact=True)).to_have_id(field_id)


def test_sign_up_from_the_sign_in_page(page: Page, screenshots: Path) -> None:
    username = fresh_username("newcomer")
    page.goto("/signin")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.screenshot(path=screenshots / "signin.png", full_page=True)

    page.get_by_role("link", name="Create an account").click()
    expect(page).to_have_url(at("/signup"))
    expect(page.get_by_role("heading", name="Create an account")).to_be_visible()
    page.screenshot(path=screenshots / "signup.png", full_page=True)

    fill_signup(page, username)
    expect_signed_in(page, username)
    expect(page.get_by_role("banner")).to_contain_text(f"Signed in as {username}")
    page.screenshot(path=screenshots / "home.png", full_page=True)


def test_sign_out_and_back_button(page: Page) -> None:
    username = fresh_username("leaver")
    page.goto("/signup")
    fill_signup(page, username)
    expect_signed_in(page, username)

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(at("/signin?signed_out=1"))
    expect_signed_out(page, username)

    # Pages are no-store, so going back loads "/" afresh and it sends a signed-out browser to sign
    # in. (A page restored from the back/forward cache fires no load event: wait for the commit.)
    page.go_back(wait_until="commit")
    expect(page).to_have_url(at("/signin?next=/"))
    expect_signed_out(page, username)


def test_wrong_password_shows_generic_error(page: Page, new_context: NewContext, screenshots: Path) -> None:
    username = fresh_username("typo")
    create_account(new_context, username)

    page.goto("/signin")
    fill_signin(page, username, "not the password")
    expect(page).to_have_url(at("/signin"))
    form = page.locator("form", has=page.get_by_role("button", name="Sign in"))
    expect(form.get_by_role("alert")).to_have_text("There is a problem Invalid username or password.")
    expect(page.get_by_label("Username")).to_have_value(username)
    expect(page.get_by_label("Password")).to_have_value("")
    expect(page.get_by_label("Password")).to_be_focused()
    page.screenshot(path=screenshots / "signin-error.png", full_page=True)


def test_protected_page_comes_back_after_sign_in(page: Page, new_context: NewContext) -> None:
    username = fresh_username("returner")
    create_account(new_context, username)

    page.goto("/")
    expect(page).to_have_url(at("/signin?next=/"))
    fill_signin(page, username)
    expect_signed_in(page, username)


@pytest.mark.parametrize("remember", [True, False], ids=["remembered", "forgotten"])
def test_remember_me_survives_browser_restart(new_context: NewContext, remember: bool) -> None:
    username = fresh_username("remembered" if remember else "forgotten")
    create_account(new_context, username)
    context = new_context()
    page = context.new_page()
    page.goto("/signin")
    fill_signin(page, username, remember=remember)
    expect_signed_in(page, username)

    cookie = auth_cookie(context)
    assert cookie["httpOnly"]
    assert cookie["sameSite"] == "Lax"
    if remember:
        assert cookie["expires"] == pytest.approx(time.time() + 30 * DAY, abs=3600)
    else:
        assert cookie["expires"] == -1, "without remember me the auth cookie must die with the browser"

    restarted = new_context(storage_state=after_browser_restart(context.storage_state())).new_page()
    restarted.goto("/")
    if remember:
        expect_signed_in(restarted, username)
    else:
        expect_signed_out(restarted, username)


def test_keyboard_only(new_context: NewContext) -> None:
    username = fresh_username("keyboard")
    page = new_context().new_page()
    keyboard = page.keyboard

    page.goto("/signup")
    expect_labelled_inputs(page)
    expect(page.get_by_label("Username")).to_be_focused()
    keyboard.type(username)
    keyboard.press("Tab")
    expect(page.get_by_label("Password", exact=True)).to_be_focused()
    keyboard.type(PASSWORD)
    keyboard.press("Tab")
    expect(page.get_by_label("Confirm password")).to_be_focused()
    keyboard.type(PASSWORD)
    keyboard.press("Tab")
    expect(page.get_by_label("Email address (optional)")).to_be_focused()  # left empty
    keyboard.press("Tab")
    expect(page.get_by_role("button", name="Create account")).to_be_focused()
    keyboard.press("Enter")
    expect_signed_in(page, username)

    page = new_context().new_page()
    keyboard = page.keyboard
    page.goto("/signin")
    expect_labelled_inputs(page)
    expect(page.get_by_label("Username")).to_be_focused()
    keyboard.type(username)
    keyboard.press("Tab")
    expect(page.get_by_label("Password")).to_be_focused()
    keyboard.type(PASSWORD)
    keyboard.press("Tab")
    expect(page.get_by_label("Remember me")).to_be_focused()
    keyboard.press("Space")
    expect(page.get_by_label("Remember me")).to_be_checked()
    keyboard.press("Tab")
    expect(page.get_by_role("button", name="Sign in", exact=True)).to_be_focused()
    keyboard.press("Enter")
    expect_signed_in(page, username)


def test_a_common_password_is_refused_with_a_better_idea(page: Page, screenshots: Path) -> None:
    page.goto("/signup")
    page.get_by_label("Username").fill(fresh_username("weak"))
    page.get_by_label("Password", exact=True).fill("password1")
    page.get_by_label("Confirm password").fill("password1")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "This password is too easy to guess. This is a very common password."
    )
    expect(page.get_by_role("alert")).to_contain_text("Try a passphrase")
    # Said again at the field, which takes the focus; the summary's link leads to it too.
    password = page.get_by_label("Password", exact=True)
    expect(password).to_be_focused()
    expect(password).to_have_accessible_description(re.compile("This password is too easy to guess"))
    page.get_by_role("alert").get_by_role("link").click()
    expect(page).to_have_url(re.compile("#password$"))
    page.screenshot(path=screenshots / "signup-weak-password.png", full_page=True)
