import asyncio

import pytest
from quart import Quart

from quartapp.db.models import AccountToken, User
from quartapp.testing.helpers import csrf_token

from .conftest import AuthActions, PASSWORD, rows
from .mailbox import Mailbox, Received


@pytest.fixture
def alice(mail_app: Quart) -> AuthActions:
    return AuthActions(mail_app.test_client())


async def user_row(app: Quart, username: str):
    return next(user for user in await rows(app, User) if user.username == username)


async def verify(auth: AuthActions, received: Received):
    """Open a verification link and press its button, as its recipient does."""
    page = await auth.get(received.path)
    assert page.status_code == 200, await page.get_data(as_text=True)
    token = csrf_token(await page.get_data(as_text=True))
    return await auth.client.post(received.path, form={"csrf_token": token})


async def signup_verified(app: Quart, mailbox: Mailbox, username: str, address: str) -> AuthActions:
    """A new visitor signs up with an address and verifies it from the mail; returns them signed in."""
    auth = AuthActions(app.test_client())
    before = mailbox.count()
    assert (await auth.signup(username, email=address)).status_code == 303
    [received] = [r for r in (await mailbox.wait(before + 1))[before:] if f"Hello {username}," in r.text]
    assert (await verify(auth, received)).status_code == 303
    return auth


async def change_email(auth: AuthActions, address: str):
    return await auth.post("/email", {"email": address}, token_from="/email")


async def test_signup_with_an_address_mails_a_link_that_only_a_button_press_verifies(mail_app, mailbox, alice):
    page = await (await alice.get("/signup")).get_data(as_text=True)
    assert "needed to reset your password" in page
    assert (await alice.signup("alice", email=" Alice@EXAMPLE.org")).status_code == 303
    [received] = await mailbox.wait(1)
    assert received.recipients == ["Alice@example.org"]  # normalised: the domain in lower case
    assert received.message["Subject"] == "Verify your email address"
    assert received.link.startswith("http://localhost/verify/")
    assert "alice" in received.text
    [user] = await rows(mail_app, User)
    assert (user.email, user.email_key, user.verified_email_key) == ("Alice@example.org", "alice@example.org", None)

    scanner = AuthActions(mail_app.test_client())  # a mail scanner following the link, twice
    for _ in range(2):
        response = await scanner.get(received.path)
        assert response.status_code == 200
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert "is not verified yet" in await response.get_data(as_text=True)
    assert (await user_row(mail_app, "alice")).verified_email_key is None

    response = await verify(AuthActions(mail_app.test_client()), received)  # any browser may press it
    assert response.status_code == 303
    assert response.headers["Location"] == received.path
    page = await (await alice.get(received.path)).get_data(as_text=True)
    assert "Alice@example.org</strong> is verified" in page
    assert (await user_row(mail_app, "alice")).verified_email_key == "alice@example.org"
    assert "verified." in await (await alice.get("/email")).get_data(as_text=True)


async def test_the_verify_button_needs_the_pages_csrf_token(mail_app, mailbox, alice):
    await alice.signup("alice", email="alice@example.org")
    [received] = await mailbox.wait(1)
    response = await alice.client.post(received.path, form={})
    assert response.status_code == 400
    assert (await user_row(mail_app, "alice")).verified_email_key is None


@pytest.mark.parametrize("address", ["not an address", "alice@", "alice@localhost", "a b@example.org"])
async def test_invalid_addresses_are_refused_with_a_reason(mail_app, mailbox, alice, address):
    response = await alice.signup("alice", email=address)
    assert response.status_code == 200
    assert 'aria-invalid="true"' in await response.get_data(as_text=True)
    assert await rows(mail_app, User) == []
    assert await mailbox.quiet(0.1) == []


async def test_signup_without_an_address_still_works_and_sends_nothing(mail_app, mailbox, alice):
    assert (await alice.signup("alice")).status_code == 303
    assert (await user_row(mail_app, "alice")).email is None
    page = await (await alice.get("/email")).get_data(as_text=True)
    assert "Your account has no email address" in page
    assert await mailbox.quiet(0.1) == []


async def test_adding_an_address_needs_a_recent_password(mail_app, mailbox, alice, clock):
    await alice.signup("alice")
    token = await alice.token("/email")
    clock.advance(minutes=11)  # the sign-in is no longer recent
    response = await alice.client.post("/email", form={"email": "alice@example.org", "csrf_token": token})
    assert response.status_code == 303
    assert response.headers["Location"] == "/reauthenticate?next=/email"
    assert (await user_row(mail_app, "alice")).email is None
    form = {"password": PASSWORD}
    assert (await alice.post("/reauthenticate?next=/email", form, token_from="/reauthenticate")).status_code == 303

    response = await change_email(alice, "alice@example.org")
    assert response.status_code == 303
    assert response.headers["Location"] == "/email"
    page = await (await alice.get("/email")).get_data(as_text=True)
    assert "A link to verify alice@example.org is on its way." in page
    assert "not verified yet" in page
    [received] = await mailbox.wait(1)
    assert received.recipients == ["alice@example.org"]
    assert (await verify(alice, received)).status_code == 303


async def test_changing_a_verified_address_tells_the_old_one_and_voids_its_links(mail_app, mailbox):
    alice = await signup_verified(mail_app, mailbox, "alice", "old@example.org")
    assert (await change_email(alice, "new@example.org")).status_code == 303
    received = await mailbox.wait(3)
    by_recipient = {r.recipients[0]: r for r in received[1:]}
    assert set(by_recipient) == {"old@example.org", "new@example.org"}
    notice = by_recipient["old@example.org"]
    assert notice.message["Subject"] == "Your email address was changed"
    assert "changed on" in notice.text
    assert "to new@example.org" in notice.text
    assert "If that was not you" in notice.text
    user = await user_row(mail_app, "alice")
    assert (user.email, user.verified_email_key) == ("new@example.org", None)

    # A link sent to the first new address dies when the address changes again.
    assert (await change_email(alice, "third@example.org")).status_code == 303
    received = await mailbox.wait(4)  # no notice: the address it replaced was never verified
    response = await alice.get(by_recipient["new@example.org"].path)
    assert response.status_code == 404
    assert "This verification link is not valid" in await response.get_data(as_text=True)
    assert (await verify(alice, received[3])).status_code == 303
    assert (await user_row(mail_app, "alice")).verified_email_key == "third@example.org"


async def test_nobody_can_claim_an_address_someone_else_verified(mail_app, mailbox):
    bob = AuthActions(mail_app.test_client())
    await bob.signup("bob", email="Shared@example.org")  # typed first, never verified
    [bobs_link] = await mailbox.wait(1)
    await signup_verified(mail_app, mailbox, "alice", "shared@EXAMPLE.org")

    page = await bob.get(bobs_link.path)
    assert page.status_code == 200
    token = csrf_token(await page.get_data(as_text=True))
    response = await bob.client.post(bobs_link.path, form={"csrf_token": token})
    assert response.status_code == 409
    assert "is already verified on another account" in await response.get_data(as_text=True)
    assert (await user_row(mail_app, "bob")).verified_email_key is None
    assert (await user_row(mail_app, "alice")).verified_email_key == "shared@example.org"
    assert "not verified yet" in await (await bob.get("/email")).get_data(as_text=True)


async def test_a_verification_link_works_once_and_two_presses_at_once_verify_once(mail_app, mailbox, alice):
    await alice.signup("alice", email="alice@example.org")
    [received] = await mailbox.wait(1)
    browsers = [AuthActions(mail_app.test_client()) for _ in range(2)]
    tokens = [csrf_token(await (await b.get(received.path)).get_data(as_text=True)) for b in browsers]
    responses = await asyncio.gather(
        *(b.client.post(received.path, form={"csrf_token": t}) for b, t in zip(browsers, tokens, strict=True))
    )
    assert sorted(r.status_code for r in responses) == [303, 400]
    [token] = await rows(mail_app, AccountToken)
    assert token.used_at is not None


async def test_the_link_can_be_sent_again_and_only_the_newest_works(mail_app, mailbox, alice):
    await alice.signup("alice", email="alice@example.org")
    [first] = await mailbox.wait(1)
    response = await alice.post("/email/resend", {}, token_from="/email")
    assert response.status_code == 303
    assert "A new link to verify" in await (await alice.get("/email")).get_data(as_text=True)
    second = (await mailbox.wait(2))[1]
    assert first.link != second.link
    assert (await alice.get(first.path)).status_code == 404
    assert (await verify(alice, second)).status_code == 303


async def test_verification_mails_are_limited_per_address(mail_app, mailbox, alice):
    await alice.signup("alice", email="alice@example.org")  # the first of three an hour
    for _ in range(4):
        assert (await alice.post("/email/resend", {}, token_from="/email")).status_code == 303
    await mailbox.wait(3)
    assert len(await mailbox.quiet()) == 3


async def test_a_bad_verification_link_is_a_404_page_not_an_error(mail_app):
    for path in ("/verify/nonsense", "/verify/" + "x" * 2000):
        response = await mail_app.test_client().get(path)
        assert response.status_code == 404
        assert "send a new link" in await response.get_data(as_text=True)
