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


async def test_changing_a_verified_address_waits_for_the_new_one_to_be_verified(mail_app, mailbox):
    alice = await signup_verified(mail_app, mailbox, "alice", "old@example.org")
    assert (await change_email(alice, "new@example.org")).status_code == 303
    by_recipient = {r.recipients[0]: r for r in (await mailbox.wait(3))[1:]}
    assert set(by_recipient) == {"old@example.org", "new@example.org"}
    link = by_recipient["new@example.org"]
    assert link.message["Subject"] == "Verify your email address"
    assert "To verify new@example.org" in link.text
    notice = by_recipient["old@example.org"]
    assert notice.message["Subject"] == "A change of your email address was requested"
    assert "to change its email address to new@example.org" in notice.text
    assert "cancel the change" in notice.text
    user = await user_row(mail_app, "alice")
    assert (user.email, user.verified_email_key) == ("old@example.org", "old@example.org")
    assert (user.pending_email, user.pending_email_key) == ("new@example.org", "new@example.org")
    page = await (await alice.get("/email")).get_data(as_text=True)
    assert "A change to <strong>new@example.org</strong> is pending verification" in page
    assert "Until then your address stays old@example.org." in page

    # Meanwhile the verified address is the way back in; the pending one is not.
    visitor = AuthActions(mail_app.test_client())
    for address in ("old@example.org", "new@example.org"):
        assert (await visitor.post("/reset", {"email": address}, token_from="/reset")).status_code == 200
    [reset] = (await mailbox.wait(4))[3:]
    assert (reset.recipients, reset.message["Subject"]) == (["old@example.org"], "Reset your password")
    assert len(await mailbox.quiet()) == 4

    assert (await verify(alice, link)).status_code == 303
    user = await user_row(mail_app, "alice")
    assert (user.email, user.email_key, user.verified_email_key) == ("new@example.org",) * 3
    assert (user.pending_email, user.pending_email_key) == (None, None)
    [changed] = (await mailbox.wait(5))[4:]
    assert (changed.recipients, changed.message["Subject"]) == (["old@example.org"], "Your email address was changed")
    assert "to new@example.org" in changed.text
    # The reset link mailed to the old address died with it.
    assert "not valid" in await (await visitor.get(reset.path)).get_data(as_text=True)
    page = await (await alice.get("/email")).get_data(as_text=True)
    assert "Your address is <strong>new@example.org</strong>" in page
    assert "pending verification" not in page
    assert "not verified yet" not in page


async def test_a_pending_change_can_be_cancelled_or_replaced_and_its_link_dies(mail_app, mailbox):
    alice = await signup_verified(mail_app, mailbox, "alice", "old@example.org")
    await change_email(alice, "typo@example.org")
    [typo] = [r for r in await mailbox.wait(3) if r.recipients == ["typo@example.org"]]
    await change_email(alice, "new@example.org")  # the second change replaces the first
    [new] = [r for r in await mailbox.wait(5) if r.recipients == ["new@example.org"]]
    assert (await alice.get(typo.path)).status_code == 404
    assert (await user_row(mail_app, "alice")).pending_email == "new@example.org"

    response = await alice.post("/email/cancel", {}, token_from="/email")
    assert response.status_code == 303
    page = await (await alice.get("/email")).get_data(as_text=True)
    assert "The change to new@example.org is cancelled. Your address stays old@example.org." in page
    assert "pending verification" not in page
    assert (await alice.get(new.path)).status_code == 404
    user = await user_row(mail_app, "alice")
    assert (user.email, user.verified_email_key, user.pending_email) == ("old@example.org", "old@example.org", None)

    # Typing the verified address again drops a pending change too, and mails nobody.
    await change_email(alice, "again@example.org")
    await mailbox.wait(7)
    assert (await change_email(alice, "OLD@example.org")).status_code == 303
    assert len(await mailbox.quiet()) == 7
    user = await user_row(mail_app, "alice")
    assert (user.email, user.verified_email_key, user.pending_email) == ("OLD@example.org", "old@example.org", None)


async def test_cancelling_needs_a_recent_password_and_the_pages_token(mail_app, mailbox, clock):
    alice = await signup_verified(mail_app, mailbox, "alice", "old@example.org")
    await change_email(alice, "new@example.org")
    assert (await alice.client.post("/email/cancel", form={})).status_code == 400
    token = await alice.token("/email")
    clock.advance(minutes=11)  # the sign-in is no longer recent
    # From the /email page, whose Referer the browser sends: back there once the password is proved.
    assert (await alice.get("/email")).headers["Referrer-Policy"] == "same-origin"
    headers = {"Referer": "http://localhost/email"}
    response = await alice.client.post("/email/cancel", form={"csrf_token": token}, headers=headers)
    assert response.status_code == 303
    assert response.headers["Location"] == "/reauthenticate?next=/email"
    assert (await user_row(mail_app, "alice")).pending_email == "new@example.org"


async def test_a_pending_address_another_account_verified_is_refused_and_the_old_one_stays(mail_app, mailbox):
    alice = await signup_verified(mail_app, mailbox, "alice", "alice@example.org")
    await change_email(alice, "shared@example.org")
    [link] = [r for r in await mailbox.wait(3) if r.recipients == ["shared@example.org"]]
    await signup_verified(mail_app, mailbox, "bob", "Shared@example.org")  # bob proves it first
    page = await alice.get(link.path)
    token = csrf_token(await page.get_data(as_text=True))
    response = await alice.client.post(link.path, form={"csrf_token": token})
    assert response.status_code == 409
    assert "is already verified on another account" in await response.get_data(as_text=True)
    user = await user_row(mail_app, "alice")
    assert (user.email, user.verified_email_key) == ("alice@example.org", "alice@example.org")
    assert user.pending_email == "shared@example.org"  # until she cancels it or bob lets go


async def test_an_address_never_verified_is_replaced_at_once(mail_app, mailbox, alice):
    """Nothing proved is at stake, and a reset link to the typed address is the account's only way back in."""
    await alice.signup("alice", email="first@example.org")
    [first] = await mailbox.wait(1)
    assert (await change_email(alice, "second@example.org")).status_code == 303
    [second] = (await mailbox.wait(2))[1:]
    assert second.recipients == ["second@example.org"]  # no notice: the address it replaced was never verified
    user = await user_row(mail_app, "alice")
    assert (user.email, user.verified_email_key, user.pending_email) == ("second@example.org", None, None)
    assert (await alice.get(first.path)).status_code == 404
    assert (await verify(alice, second)).status_code == 303
    assert (await user_row(mail_app, "alice")).verified_email_key == "second@example.org"


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


async def test_a_new_password_drops_a_pending_change_and_its_link(mail_app, mailbox):
    """Asked for by whoever had the password: once the owner has set a new one, the link must not move the account."""
    alice = await signup_verified(mail_app, mailbox, "alice", "alice@example.org")
    await change_email(alice, "attacker@example.org")
    [link] = [r for r in await mailbox.wait(3) if r.recipients == ["attacker@example.org"]]
    new = "a brand new passphrase"
    assert (await alice.post("/password", {"password": new, "confirm": new}, token_from="/password")).status_code == 303
    user = await user_row(mail_app, "alice")
    assert (user.email, user.pending_email) == ("alice@example.org", None)
    assert (await AuthActions(mail_app.test_client()).get(link.path)).status_code == 404
