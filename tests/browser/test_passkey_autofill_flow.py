"""Passkeys offered by Chromium's autofill on /signin (WebAuthn conditional mediation).

Chromium's virtual authenticator answers a conditional request at once, with its stored passkey,
as soon as the page starts it: no focus on the username field and no choice from a list is needed
(headless Chromium shows no list). So a signed-out page with the passkey on the device signs in
by itself; to keep the request waiting, the authenticator's presence simulation is turned off
before the page starts it (turning it back on answers the next request, not that one). Without a
passkey on the device, Chromium refuses the conditional request at once.
"""

import pytest
from playwright.sync_api import expect, Page

from .test_passkeys_flow import with_a_passkey
from .test_signin_flow import at, expect_signed_in, fill_signin

pytestmark = pytest.mark.browser

# Reports each WebAuthn request the page makes (its mediation, then how it ended) and any passkey
# error the page shows, to the test: what the user would see, and what the browser was asked.
SPY = """
(() => {
  const get = navigator.credentials.get.bind(navigator.credentials);
  navigator.credentials.get = (options) => {
    const mediation = options.mediation || "optional";
    window.passkeyEvent(`${mediation} started`);
    const request = get(options);
    request.then(() => window.passkeyEvent(`${mediation} resolved`),
                 (error) => window.passkeyEvent(`${mediation} ${error.name}`));
    return request;
  };
  document.addEventListener("DOMContentLoaded", () => {
    const message = document.querySelector("[data-passkey-error]");
    if (!message) return;
    new MutationObserver(() => { if (!message.hidden) window.passkeyEvent(`shown: ${message.textContent}`); })
      .observe(message, { attributes: true, childList: true });
  });
})();
"""


def watched(page: Page) -> tuple[list[str], list[str]]:
    """The page's WebAuthn requests and shown errors, and the passkey endpoints it posts to."""
    events: list[str] = []
    posts: list[str] = []
    page.expose_function("passkeyEvent", lambda event: events.append(event))
    page.add_init_script(SPY)
    page.on("request", lambda request: posts.append(request.url.split("/", 3)[3]) if request.method == "POST" else None)
    return events, posts


def until(page: Page, events: list[str], expected: list[str]) -> None:
    """Wait for the page's reports to be expected (Playwright delivers them while it waits)."""
    for _ in range(100):
        if events == expected:
            return
        page.wait_for_timeout(50)
    assert events == expected


def test_the_autofill_signs_in_with_the_passkey_without_typing(page: Page) -> None:
    events, posts = watched(page)
    cdp, authenticator, username = with_a_passkey(page, "autofill")
    events.clear()

    page.get_by_role("button", name="Sign out").click()  # to /signin, whose field offers the passkey
    expect_signed_in(page, username)
    assert events == ["conditional started", "conditional resolved"]
    assert "passkeys/signin/autofill/verify" in posts
    assert "passkeys/signin/verify" not in posts
    [credential] = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
    assert credential["signCount"] == 2

    # The device away: Chromium refuses the conditional request at once, and the page says nothing.
    cdp.send("WebAuthn.clearCredentials", {"authenticatorId": authenticator})
    events.clear()
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(at("/signin?signed_out=1"))
    until(page, events, ["conditional started", "conditional NotAllowedError"])
    expect(page.get_by_role("button", name="Sign in with a passkey")).to_be_visible()

    # Back with the device, a protected page leads through /signin and, signed in, back to it.
    cdp.send("WebAuthn.addCredential", {"authenticatorId": authenticator, "credential": credential})
    page.goto("/sessions")
    expect(page).to_have_url(at("/sessions"))
    expect(page.get_by_role("heading", name="Active sessions")).to_be_visible()
    assert "passkeys/signin/autofill/verify?next=/sessions" in posts
    assert not [event for event in events if event.startswith("shown")]


def waiting_autofill(page: Page, story: str) -> tuple[list[str], list[str], str]:
    """A signed-out /signin whose conditional request waits, as for a person who has not chosen yet."""
    events, posts = watched(page)
    cdp, authenticator, username = with_a_passkey(page, story)
    cdp.send("WebAuthn.setAutomaticPresenceSimulation", {"authenticatorId": authenticator, "enabled": False})
    events.clear()
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(at("/signin?signed_out=1"))
    until(page, events, ["conditional started"])
    cdp.send("WebAuthn.setAutomaticPresenceSimulation", {"authenticatorId": authenticator, "enabled": True})
    return events, posts, username


def test_the_button_takes_over_from_a_waiting_autofill(page: Page) -> None:
    events, posts, username = waiting_autofill(page, "button")
    page.get_by_role("button", name="Sign in with a passkey").click()
    expect_signed_in(page, username)
    # Aborted first (only one request may be pending), quietly: no "already pending", no message.
    assert events == ["conditional started", "conditional AbortError", "optional started", "optional resolved"]
    assert "passkeys/signin/verify" in posts
    assert "passkeys/signin/autofill/verify" not in posts


def test_the_password_form_aborts_a_waiting_autofill(page: Page) -> None:
    events, _, username = waiting_autofill(page, "password")
    fill_signin(page, username)
    expect(page.get_by_role("heading", name="One more step")).to_be_visible()  # the passkey, as second factor
    assert events == ["conditional started", "conditional AbortError"]
