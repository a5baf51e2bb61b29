import asyncio
import hashlib
import re
import time

import pytest
from quart import Quart
from sqlalchemy import update

from quartapp.db.models import AccountToken, Throttle, User
from quartapp.testing.helpers import csrf_token

from .conftest import auth_cookie, AuthActions, PASSWORD, rows, running_app
from .mailbox import Received
from .test_addresses import change_email, signup_verified, user_row, verify

NEW = "a brand new passphrase"
SENT = "If an account has the address <strong>{}</strong>, a link is on its way."


async def ask(auth: AuthActions, address: str):
    return await auth.post("/reset", {"email": address}, token_from="/reset")


async def open_link(auth: AuthActions, received: Received):
    """Follow a reset link: the token moves into the session, the form is at a URL without it."""
    response = await auth.get(received.path)
    assert response.status_code == 303, await response.get_data(as_text=True)
    assert response.headers["Location"] == "/reset/set-password"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    return await auth.get("/reset/set-password")


async def set_password(auth: AuthActions, password: str = NEW, confirm: str | None = None):
    form = {"password": password, "confirm": password if confirm is None else confirm}
    return await auth.post("/reset/set-password", form, token_from="/reset/set-password")


async def set_disabled(app: Quart, username: str) -> None:
    async with app.extensions["db_sessionmaker"]() as session:
        await session.execute(update(User).where(User.username == username).values(disabled_at=User.created_at))
        await session.commit()


def without_token(page: str) -> str:
    return page.replace(csrf_token(page), "")


async def test_a_forgotten_password_is_reset_through_the_mailed_link(mail_app, mailbox):
    alice = await signup_verified(mail_app, mailbox, "alice", "alice@example.org")
    laptop = AuthActions(mail_app.test_client())
    assert (await laptop.signin("alice")).status_code == 303
    await alice.signout()
    assert 'href="/reset"' in await (await alice.get("/signin")).get_data(as_text=True)

    response = await ask(alice, "ALICE@example.org")
    assert response.status_code == 200
    assert SENT.format("ALICE@example.org") in await response.get_data(as_text=True)
    received = (await mailbox.wait(2))[1]
    assert received.recipients == ["alice@example.org"]
    assert received.message["Subject"] == "Reset your password"
    assert received.link.startswith("http://localhost/reset/")
    assert "within 60 minutes" in received.text

    form = await open_link(alice, received)
    assert form.status_code == 200
    assert form.headers["Referrer-Policy"] == "no-referrer"
    page = await form.get_data(as_text=True)
    assert "For the account <strong>alice</strong>" in page
    assert received.link.rsplit("/", 1)[1] not in page
    response = await set_password(alice)
    assert response.status_code == 303
    assert response.headers["Location"] == "/signin"
    assert auth_cookie(response) is None  # not signed in: the sign-in page is where it lands
    assert "Your password was changed" in await (await alice.get("/signin")).get_data(as_text=True)

    assert (await laptop.get("/")).status_code == 302  # the session open elsewhere is over
    assert (await alice.signin("alice", PASSWORD)).status_code == 200
    assert (await alice.signin("alice", NEW)).status_code == 303
    notice = (await mailbox.wait(3))[2]
    assert notice.recipients == ["alice@example.org"]
    assert notice.message["Subject"] == "Your password was changed"
    assert "every session of the account was signed out" in notice.text

    [token] = [t for t in await rows(mail_app, AccountToken) if t.purpose == "reset"]
    secret = received.link.rsplit("/", 1)[1]
    assert token.id == hashlib.sha256(secret.encode()).hexdigest()  # only its hash is stored
    assert len(secret) >= 43  # 256 random bits
    assert token.used_at is not None


@pytest.mark.parametrize("language", ["en", "de", "es"])
async def test_the_answer_is_the_same_whatever_the_address(mail_app, mailbox, language):
    await signup_verified(mail_app, mailbox, "alice", "alice@example.org")
    for name, address in [("bob", "bob@example.org"), ("carol", "twins@example.org"), ("dave", "twins@example.org")]:
        await AuthActions(mail_app.test_client()).signup(name, email=address)
    await AuthActions(mail_app.test_client()).signup("erin", email="erin@example.org")
    before = len(await mailbox.wait(5))  # each sign-up's verification mail, erin's before she is disabled
    await set_disabled(mail_app, "erin")

    pages, statuses = set(), set()
    for address in ["alice@example.org", "bob@example.org", "twins@example.org", "erin@example.org", "x@example.org"]:
        started = time.monotonic()
        visitor = AuthActions(mail_app.test_client())
        visitor.options["headers"]["Accept-Language"] = language
        response = await ask(visitor, address)
        assert time.monotonic() - started < 2  # no mail server round trip in it
        statuses.add(response.status_code)
        page = without_token(await response.get_data(as_text=True))
        assert f"<strong>{address}</strong>" in page  # the address typed, to spot a typing error
        pages.add(page.replace(address, "ADDRESS"))
    assert statuses == {200}
    assert len(pages) == 1  # the same words in every language, for every address
    page = pages.pop()
    assert f'<html lang="{language}">' in page
    if language == "en":
        assert SENT.format("ADDRESS") in page

    received = (await mailbox.wait(before + 4))[before:]
    assert len(await mailbox.quiet()) == before + 4  # nothing for erin (disabled) or the unknown address
    sent = sorted((r.recipients[0], re.search(r"Hello (\w+)", r.text).group(1)) for r in received)  # type: ignore[union-attr]
    assert sent == [
        ("alice@example.org", "alice"),
        ("bob@example.org", "bob"),  # unverified: a reset link is how it gets verified
        ("twins@example.org", "carol"),
        ("twins@example.org", "dave"),
    ]


async def test_an_address_verified_elsewhere_gets_no_link_for_an_account_that_only_typed_it(mail_app, mailbox):
    await AuthActions(mail_app.test_client()).signup("mallory", email="alice@example.org")
    await mailbox.wait(1)
    await signup_verified(mail_app, mailbox, "alice", "alice@example.org")
    await ask(AuthActions(mail_app.test_client()), "alice@example.org")
    received = await mailbox.wait(3)
    assert len(await mailbox.quiet()) == 3
    assert "Hello alice" in received[2].text


async def test_the_page_does_not_wait_for_a_hung_mail_server(tmp_path, caplog):
    connections: list[asyncio.StreamWriter] = []

    async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)  # accepted, never greeted

    server = await asyncio.start_server(hang, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with running_app(tmp_path, SMTP_URL=f"smtp://127.0.0.1:{port}", MAIL_TIMEOUT=2, MAIL_ATTEMPTS=1) as app:
        auth = AuthActions(app.test_client())
        await auth.signup("alice", email="alice@example.org")
        response = await ask(auth, "alice@example.org")
        assert response.status_code == 200
        assert SENT.format("alice@example.org") in await response.get_data(as_text=True)
        assert not [r for r in caplog.records if "failed (attempt" in r.getMessage()]  # answered first
    for writer in connections:
        writer.close()
    server.close()
    await server.wait_closed()


async def test_a_link_works_once(mail_app, mailbox):
    alice = await signup_verified(mail_app, mailbox, "alice", "alice@example.org")
    await ask(alice, "alice@example.org")
    received = (await mailbox.wait(2))[1]
    other = AuthActions(mail_app.test_client())  # a second browser opened the link before it was used
    others_form = csrf_token(await (await open_link(other, received)).get_data(as_text=True))
    await open_link(alice, received)
    assert (await set_password(alice)).status_code == 303

    again = await alice.get(received.path)
    assert again.status_code == 404
    page = await again.get_data(as_text=True)
    assert "This reset link is not valid" in page
    assert 'href="/reset"' in page
    form = {"password": "yet another passphrase", "confirm": "yet another passphrase", "csrf_token": others_form}
    response = await other.client.post("/reset/set-password", form=form)
    assert response.status_code == 404
    assert (await alice.signin("alice", NEW)).status_code == 303


async def test_of_two_submissions_at_once_exactly_one_sets_the_password(mail_app, mailbox):
    await signup_verified(mail_app, mailbox, "alice", "alice@example.org")
    await ask(AuthActions(mail_app.test_client()), "alice@example.org")
    received = (await mailbox.wait(2))[1]
    browsers = [AuthActions(mail_app.test_client()) for _ in range(2)]
    forms = []
    for browser, password in zip(browsers, ["first new passphrase", "second new passphrase"], strict=True):
        page = await (await open_link(browser, received)).get_data(as_text=True)
        forms.append((browser, {"password": password, "confirm": password, "csrf_token": csrf_token(page)}))
    responses = await asyncio.gather(*(b.client.post("/reset/set-password", form=f) for b, f in forms))
    statuses = [r.status_code for r in responses]
    assert sorted(statuses) in ([303, 400], [303, 404])
    winner = forms[statuses.index(303)][1]["password"]
    loser = forms[1 - statuses.index(303)][1]["password"]
    assert (await browsers[0].signin("alice", loser)).status_code == 200
    assert (await browsers[0].signin("alice", winner)).status_code == 303


async def test_a_link_expires(tmp_path, mailbox, clock):
    async with running_app(
        tmp_path, SMTP_URL=mailbox.url, BASE_URL="http://localhost", RESET_TOKEN_LIFETIME=120
    ) as app:
        auth = AuthActions(app.test_client())
        await auth.signup("alice", email="alice@example.org")
        await mailbox.wait(1)
        await ask(auth, "alice@example.org")
        received = (await mailbox.wait(2))[1]
        assert "within 2 minutes" in received.text
        assert (await open_link(auth, received)).status_code == 200
        clock.advance(seconds=121)
        assert (await auth.get("/reset/set-password")).status_code == 404
        assert (await set_password(auth)).status_code == 404
        assert (await auth.get(received.path)).status_code == 404


async def test_a_newer_request_or_a_password_change_voids_a_link(mail_app, mailbox):
    alice = await signup_verified(mail_app, mailbox, "alice", "alice@example.org")
    await ask(alice, "alice@example.org")
    first = (await mailbox.wait(2))[1]
    await ask(alice, "alice@example.org")
    second = (await mailbox.wait(3))[2]
    assert (await alice.get(first.path)).status_code == 404
    assert (await alice.get(second.path)).status_code == 303

    form = {"current": PASSWORD, "password": NEW, "confirm": NEW}
    assert (await alice.post("/password", form, token_from="/password")).status_code == 303
    assert (await alice.get("/reset/set-password")).status_code == 404
    assert (await alice.get(second.path)).status_code == 404


async def test_changing_the_address_voids_reset_links_sent_to_the_old_one_once_it_takes_effect(mail_app, mailbox):
    alice = await signup_verified(mail_app, mailbox, "alice", "alice@example.org")
    await ask(alice, "alice@example.org")
    link = (await mailbox.wait(2))[1]
    assert (await change_email(alice, "new@example.org")).status_code == 303
    [verification] = [r for r in (await mailbox.wait(4))[2:] if r.recipients == ["new@example.org"]]
    # While the change is pending the verified address, and its reset link, still stand.
    visitor = AuthActions(mail_app.test_client())
    assert (await visitor.get(link.path)).status_code == 303
    assert (await visitor.get("/reset/set-password")).status_code == 200
    assert (await verify(alice, verification)).status_code == 303
    assert (await visitor.get("/reset/set-password")).status_code == 404
    assert (await AuthActions(mail_app.test_client()).get(link.path)).status_code == 404


async def test_the_new_password_follows_the_signup_rules(mail_app, mailbox):
    await AuthActions(mail_app.test_client()).signup("alice", email="alice@example.org")
    await mailbox.wait(1)
    visitor = AuthActions(mail_app.test_client())
    await ask(visitor, "alice@example.org")
    await open_link(visitor, (await mailbox.wait(2))[1])
    for password, confirm, message in [
        ("short", "short", "Use at least 8 characters."),
        (NEW, "something else", "The passwords do not match."),
        ("Alice", "Alice", "Use at least"),
    ]:
        response = await set_password(visitor, password, confirm)
        assert response.status_code == 200
        assert message in await response.get_data(as_text=True)
    assert (await set_password(visitor)).status_code == 303


@pytest.mark.parametrize("path", ["/reset/nonsense", "/reset/" + "x" * 3000, "/reset/set-password"])
async def test_a_bad_link_is_a_page_saying_so_never_an_error(mail_app, path):
    response = await mail_app.test_client().get(path)
    assert response.status_code == 404
    page = await response.get_data(as_text=True)
    assert "This reset link is not valid" in page
    assert 'href="/reset"' in page


async def test_reset_mails_are_limited_per_address_and_per_network(tmp_path, mailbox):
    settings = {"SMTP_URL": mailbox.url, "BASE_URL": "http://localhost", "MAIL_LIMIT_PER_NETWORK": 5}
    async with running_app(tmp_path, **settings) as app:
        await AuthActions(app.test_client()).signup("alice", email="alice@example.org")
        await mailbox.wait(1)
        for address in ("203.0.113.1", "203.0.113.2", "203.0.113.3", "203.0.113.4"):
            response = await ask(AuthActions(app.test_client(), address=address), "alice@example.org")
            assert response.status_code == 200
            assert SENT.format("alice@example.org") in await response.get_data(as_text=True)
        assert len(await mailbox.wait(3)) == 3  # the sign-up's verification and two resets: three an hour

        office = AuthActions(app.test_client(), address="198.51.100.7")
        for n in range(7):
            signup = AuthActions(app.test_client(), address=f"192.0.2.{n}")
            await signup.signup(f"user{n}", email=f"user{n}@example.org")
        await mailbox.wait(10)
        for n in range(7):
            assert (await ask(office, f"user{n}@example.org")).status_code == 200
        assert len(await mailbox.wait(15)) == 15
        assert len(await mailbox.quiet()) == 15  # five from one network, then none
        assert any(row.keep_until is not None for row in await rows(app, Throttle))


async def test_a_reset_clears_the_sign_in_throttle_and_verifies_the_address(mail_app, mailbox):
    alice = AuthActions(mail_app.test_client())
    await alice.signup("alice", email="alice@example.org")
    await mailbox.wait(1)
    await alice.signout()
    for _ in range(7):
        await alice.signin("alice", "wrong password")
    assert (await alice.signin("alice")).status_code == 429
    await ask(alice, "alice@example.org")
    await open_link(alice, (await mailbox.wait(2))[1])
    assert (await set_password(alice)).status_code == 303
    assert (await alice.signin("alice", NEW)).status_code == 303
    assert (await user_row(mail_app, "alice")).verified_email_key == "alice@example.org"


async def test_a_reset_still_works_when_another_account_verified_the_address_meanwhile(mail_app, mailbox):
    bob = AuthActions(mail_app.test_client())
    await bob.signup("bob", email="shared@example.org")
    await mailbox.wait(1)
    await ask(bob, "shared@example.org")
    link = (await mailbox.wait(2))[1]
    await signup_verified(mail_app, mailbox, "alice", "shared@example.org")
    await open_link(bob, link)
    assert (await set_password(bob)).status_code == 303
    assert (await bob.signin("bob", NEW)).status_code == 303
    assert (await user_row(mail_app, "bob")).verified_email_key is None
    assert (await user_row(mail_app, "alice")).verified_email_key == "shared@example.org"


async def test_links_are_made_from_base_url_whatever_the_host_header(tmp_path, mailbox):
    settings = {"SMTP_URL": mailbox.url, "BASE_URL": "https://auth.example.com/"}
    async with running_app(tmp_path, **settings, TRUSTED_HOSTS=["localhost", "127.0.0.1"]) as app:
        auth = AuthActions(app.test_client())
        await auth.signup("alice", email="alice@example.org")
        token = await auth.token("/reset")
        headers = {"Host": "127.0.0.1"}
        response = await auth.client.post(
            "/reset", form={"email": "alice@example.org", "csrf_token": token}, headers=headers
        )
        assert response.status_code == 200
        evil = await auth.client.post("/reset", form={"email": "alice@example.org"}, headers={"Host": "evil.example"})
        assert evil.status_code == 400
        received = await mailbox.wait(2)
        assert len(await mailbox.quiet()) == 2
        assert all(r.link.startswith("https://auth.example.com/") for r in received)
        # BASE_URL's host is served, so the link does not land on a 400.
        assert (await auth.client.get("/signin", headers={"Host": "auth.example.com"})).status_code == 200


async def test_the_reset_pages_load_nothing_from_other_sites(mail_app):
    response = await mail_app.test_client().get("/reset")
    page = await response.get_data(as_text=True)
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert all(url.startswith("/") for url in re.findall(r'(?:src|href|action)="([^"]*)"', page))


async def test_each_step_is_audited_without_a_token_or_password(mail_app, mailbox, caplog):
    import json
    import logging

    caplog.set_level(logging.INFO, logger="quartapp.audit")
    alice = await signup_verified(mail_app, mailbox, "alice", "alice@example.org")
    await ask(alice, "alice@example.org")
    await ask(alice, "nobody@example.org")
    received = (await mailbox.wait(2))[1]
    await alice.get("/reset/not-a-token")
    await open_link(alice, received)
    await set_password(alice)
    assert (await alice.signin("alice", NEW)).status_code == 303
    assert (await change_email(alice, "x@example.org")).status_code == 303
    await mailbox.wait(5)

    lines = [r.getMessage() for r in caplog.records if r.name == "quartapp.audit"]
    events = [json.loads(line) for line in lines]
    names = {event["event"] for event in events}
    assert {
        "email.verification_sent",
        "email.verified",
        "reset.requested",
        "reset.rejected",
        "reset.completed",
    } <= names
    requested = [e for e in events if e["event"] == "reset.requested"]
    # Each request's background task finishes when it does: compare without their order.
    assert sorted((e["username_key"] or "", e["sent"]) for e in requested) == [("", False), ("alice", True)]
    secrets = [r.link.rsplit("/", 1)[1] for r in (await mailbox.wait(3))[:2]]  # the verify and reset links
    assert not any(secret in line or NEW in line or PASSWORD in line for secret in secrets for line in lines)


async def test_links_keep_the_path_base_url_serves_under(tmp_path, mailbox):
    settings = {"SMTP_URL": mailbox.url, "BASE_URL": "https://example.com/accounts", "MAIL_RETRY_DELAY": 0.05}
    async with running_app(tmp_path, **settings) as app:
        auth = AuthActions(app.test_client())
        await auth.signup("alice", email="alice@example.org")
        await auth.post("/reset", {"email": "alice@example.org"}, token_from="/reset")
        received = await mailbox.wait(2)
        assert sorted(r.link.rpartition("/")[0] for r in received) == [
            "https://example.com/accounts/reset",
            "https://example.com/accounts/verify",
        ]
