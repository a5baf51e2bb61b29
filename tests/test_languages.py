"""Languages: negotiation, the picker, the account's language, mails in the recipient's, and the gate's pages."""

import re

import pytest
from quart import Quart
from sqlalchemy import select

from quartapp.config import ConfigurationError
from quartapp.db.models import User
from quartapp.i18n import translations

from .conftest import AuthActions, make_app, rows
from .test_addresses import signup_verified

GERMAN = {"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"}
SPANISH = {"Accept-Language": "es-MX,es;q=0.8"}


def html_lang(page: str) -> str:
    match = re.search(r'<html lang="([^"]+)">', page)
    assert match is not None
    return match.group(1)


async def text_of(app: Quart, language: str, message: str, **variables: object) -> str:
    """message as the shipped catalog of language has it."""
    async with app.app_context():
        text = translations(language).gettext(message)
    return text % variables if variables else text


async def page(client, path: str, **headers: str) -> str:
    response = await client.get(path, headers=headers)
    assert response.status_code == 200, response.status_code
    text: str = await response.get_data(as_text=True)
    return text


async def test_the_browser_language_is_served(app, client):
    german = await page(client, "/signin", **GERMAN)
    assert html_lang(german) == "de"
    assert "<h1>Anmelden</h1>" in german
    spanish = await page(client, "/signin", **SPANISH)
    assert html_lang(spanish) == "es"
    assert f"<h1>{await text_of(app, 'es', 'Sign in')}</h1>" in spanish
    # A language not offered, no header, a malformed one: English, never an error.
    for headers in ({"Accept-Language": "fr-FR,fr;q=0.9"}, {}, {"Accept-Language": ";;q=x,\x7f,de;q=abc"}):
        assert html_lang(await page(client, "/signin", **headers)) == "en"


async def test_quality_values_decide(client):
    assert html_lang(await page(client, "/signin", **{"Accept-Language": "es;q=0.4, de;q=0.8, fr"})) == "de"
    assert html_lang(await page(client, "/signin", **{"Accept-Language": "fr, es;q=0.1"})) == "es"


async def test_the_picker_sets_a_cookie_that_outranks_the_browser(client):
    response = await client.post("/language", form={"language": "es", "next": "/signup?next=/2fa"}, headers=GERMAN)
    assert response.status_code == 303
    assert response.headers["Location"] == "/signup?next=/2fa"
    [cookie] = response.headers.getlist("Set-Cookie")
    assert cookie.startswith("quartapp_language=es;")
    for attribute in ("HttpOnly", "Path=/", "SameSite=Lax", "Max-Age=31536000"):
        assert attribute in cookie
    assert html_lang(await page(client, "/signup", **GERMAN)) == "es"


async def test_the_picker_is_in_every_page_footer_marking_the_current_language(client):
    german = await page(client, "/signup", **GERMAN)
    footer = german[german.index("<footer>") :]
    assert '<input type="hidden" name="next" value="/signup">' in footer
    assert 'value="de" lang="de" aria-current="true" disabled>Deutsch</button>' in footer
    assert 'value="en" lang="en">English</button>' in footer
    assert 'value="es" lang="es">Español</button>' in footer
    assert "csrf_token" not in footer  # nothing to protect for a visitor: it only sets this browser's cookie


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil.example", ""])
async def test_the_picker_goes_back_only_to_this_site(client, target):
    response = await client.post("/language", form={"language": "de", "next": target})
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize("language", ["fr", "", "de\r\nSet-Cookie: x=y", "de" * 100])
async def test_an_unknown_language_is_refused_in_the_page_language(client, language):
    response = await client.post("/language", form={"language": language}, headers=GERMAN)
    assert response.status_code == 400
    page = await response.get_data(as_text=True)
    assert "Diese Sprache" in page or "Sprache" in page
    assert "Set-Cookie" not in response.headers


async def test_a_signed_in_pick_is_stored_on_the_account_only_from_this_site(app, client, auth):
    await auth.signup("alice")
    forged = await client.post("/language", form={"language": "es", "next": "/"})  # no CSRF token
    assert forged.status_code == 303
    assert [user.language for user in await rows(app, User)] == ["en"]  # the page's at sign-up
    assert html_lang(await page(client, "/")) == "es"  # this browser's pages changed, nothing else

    response = await auth.post("/language", {"language": "de", "next": "/"}, token_from="/")
    assert response.status_code == 303
    assert [user.language for user in await rows(app, User)] == ["de"]


async def test_sign_up_keeps_the_page_language_for_the_account_mails(app, client):
    german = AuthActions(client)
    german.options["headers"] |= GERMAN
    response = await german.signup("jonas")
    assert response.status_code == 303
    assert [user.language for user in await rows(app, User)] == ["de"]
    notice = await page(client, "/", **GERMAN)
    assert await text_of(app, "de", "Your account is ready.") in notice

    # Pages follow each browser: signed in elsewhere, with English settings, the pages are English.
    elsewhere = AuthActions(app.test_client())
    response = await elsewhere.signin("jonas")
    assert not any(c.startswith("quartapp_language=") for c in response.headers.getlist("Set-Cookie"))
    assert html_lang(await page(elsewhere.client, "/")) == "en"


async def test_languages_limits_and_orders_the_offer(tmp_path):
    app = make_app(tmp_path, LANGUAGES="de, en")
    client = app.test_client()
    assert html_lang(await page(client, "/signin")) == "de"  # the first is the default
    assert html_lang(await page(client, "/signin", **SPANISH)) == "de"  # Spanish is not offered
    footer = await page(client, "/signin")
    footer = footer[footer.index("<footer>") :]
    assert footer.index(">Deutsch<") < footer.index(">English<")
    assert "Español" not in footer
    response = await client.post("/language", form={"language": "es"})
    assert response.status_code == 400


async def test_one_language_needs_no_picker(tmp_path):
    page_ = await page(make_app(tmp_path, LANGUAGES=["en"]).test_client(), "/signin", **GERMAN)
    assert html_lang(page_) == "en"
    assert "<footer>" in page_
    assert "language" not in page_[page_.index("<footer>") :]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("fr", "no catalog translates 'fr'"),
        ([], "LANGUAGES must list language codes"),
        (["de", "de"], "LANGUAGES must list language codes"),
        ("de;rm -rf", "LANGUAGES must list language codes"),
        (["../../etc"], "LANGUAGES must list language codes"),
    ],
)
def test_languages_that_cannot_be_served_stop_the_start(tmp_path, value, message):
    with pytest.raises(ConfigurationError, match=re.escape(message)):
        make_app(tmp_path, LANGUAGES=value)


@pytest.mark.parametrize(("language", "others"), [("en", 1), ("en", 3), ("de", 1), ("de", 3), ("es", 1), ("es", 3)])
async def test_plural_forms_follow_the_language(app, client, auth, language, others):
    await auth.signup("alice")
    for _ in range(others):
        await AuthActions(app.test_client()).signin("alice")
    await client.post("/language", form={"language": language})
    response = await auth.post("/sessions/revoke-others", {}, token_from="/sessions")
    assert response.status_code == 303
    singular, plural = "Signed out %(num)d other session.", "Signed out %(num)d other sessions."
    async with app.app_context():
        expected = translations(language).ngettext(singular, plural, others) % {"num": others}
    assert expected in await page(client, "/sessions")
    if language == "en":
        assert expected == ("Signed out 1 other session." if others == 1 else "Signed out 3 other sessions.")


async def test_session_dates_are_written_as_the_language_writes_them(app, client, auth):
    await auth.signup("alice")
    english = await page(client, "/sessions")
    assert re.search(r"[A-Z][a-z]{2} \d{1,2}, \d{4}, \d{1,2}:\d{2}\s?[AP]M UTC", english)
    german = await page(client, "/sessions", **GERMAN)
    assert re.search(r"\d{2}\.\d{2}\.\d{4}, \d{2}:\d{2} UTC", german)
    spanish = await page(client, "/sessions", **SPANISH)
    assert re.search(r"\d{1,2} [a-z]{3,4}\.? \d{4}, \d{1,2}:\d{2} UTC", spanish)


async def test_the_gate_refuses_a_forged_host_in_the_browser_language(client):
    response = await client.get("/signin", headers={"Host": "evil.example", **GERMAN})
    assert response.status_code == 400
    body = await response.get_data(as_text=True)
    assert html_lang(body) == "de"
    assert "This server" not in body
    assert "400" in body
    response = await client.get("/signin", headers={"Host": "evil.example", "Cookie": "quartapp_language=es"})
    assert html_lang(await response.get_data(as_text=True)) == "es"


async def test_the_overload_refusal_is_made_in_every_language(app):
    pages = app.extensions["hasher"].refusal_pages
    assert set(pages) == {"en", "de", "es"}
    assert html_lang(pages["de"]) == "de"
    assert html_lang(pages["es"]) == "es"
    message = "Too many people are signing in right now. Please try again in a moment."
    assert await text_of(app, "de", message) in pages["de"] != message


async def test_a_mail_speaks_its_recipient_language_not_the_requester(mail_app, mailbox):
    alice = await signup_verified(mail_app, mailbox, "alice", "alice@example.org")
    await alice.post("/language", {"language": "es", "next": "/"}, token_from="/")
    stranger = AuthActions(mail_app.test_client())
    stranger.options["headers"] |= GERMAN
    before = mailbox.count()
    response = await stranger.post("/reset", {"email": "alice@example.org"}, token_from="/reset")
    assert response.status_code == 200
    assert html_lang(await response.get_data(as_text=True)) == "de"  # the page is the requester's
    [received] = (await mailbox.wait(before + 1))[before:]
    subject = await text_of(mail_app, "es", "Reset your password")
    assert received.message["Subject"] == subject != "Reset your password"
    assert "Hello alice" not in received.text
    assert "alice" in received.text
    assert 'lang="es"' in received.html


async def test_an_account_from_before_languages_gets_the_default(mail_app, mailbox):
    await signup_verified(mail_app, mailbox, "alice", "alice@example.org")
    async with mail_app.extensions["db_sessionmaker"]() as db:
        user = await db.scalar(select(User))
        user.language = None  # as migration 0008 leaves the accounts made before it
        await db.commit()
    stranger = AuthActions(mail_app.test_client())
    stranger.options["headers"] |= GERMAN
    before = mailbox.count()
    await stranger.post("/reset", {"email": "alice@example.org"}, token_from="/reset")
    [received] = (await mailbox.wait(before + 1))[before:]
    assert received.message["Subject"] == "Reset your password"


async def test_wtforms_own_messages_are_translated(app, client):
    page_ = await (await client.post("/signup", form={}, headers=GERMAN)).get_data(as_text=True)
    assert "This field is required." not in page_
    assert "Dieses Feld wird benötigt." in page_ or "erforderlich" in page_
