"""Deleting an account: every row that names it goes at once, its audit trail stays without its name."""

import asyncio
import json
import logging
from datetime import timedelta
from typing import Any

import pytest
from quart import Quart
from quart_auth import Unauthorized
from sqlalchemy import delete, select

import quartapp
from quartapp.audit import erasure
from quartapp.audit.models import AuditEvent
from quartapp.audit.writer import AuditWriter
from quartapp.db.models import AccountToken, AuthSession, Throttle, User
from quartapp.login import sign_in
from quartapp.mfa.models import Challenge, Passkey, RecoveryCode, TrustedBrowser
from quartapp.random_tokens import token_digest

from .conftest import auth_cookie, AuthActions, PASSWORD, rows
from .mailbox import Mailbox
from .test_addresses import signup_verified
from .totp_actions import code_at, password_step, turn_on_totp

OWNED = [AuthSession, AccountToken, Challenge, RecoveryCode, Passkey, TrustedBrowser]


async def delete_account(auth: AuthActions, typed: str = "alice"):
    return await auth.post("/account/delete", {"username": typed}, token_from="/account/delete")


async def stored_events(app: Quart) -> list[Any]:
    """Every audit row, once this app's pending events are written."""
    async with app.app_context():
        await quartapp.audit.write_pending()
    return sorted(await rows(app, AuditEvent), key=lambda row: row.id)


async def sign_in_trusted(auth: AuthActions, secret: str) -> None:
    """Sign in as alice with her password and a TOTP code, ticking "Don't ask again"."""
    await password_step(auth)
    form = {"code": code_at(secret, 1), "trust": "y"}
    assert (await auth.post("/signin/second-factor", form, token_from="/signin/second-factor")).status_code == 303


async def add_passkey(app: Quart, username: str, name: str) -> None:
    """A passkey row, its key and id made up: what deletion and export see of one."""
    async with app.app_context():
        db = quartapp.get_session()
        user = await db.scalar(select(User).where(User.username == username))
        assert user is not None
        db.add(Passkey(id="credential-1", user_id=user.id, name=name, public_key=b"KEY", sign_count=7))
        await db.commit()


async def alice_with_everything(app: Quart, mailbox: Mailbox) -> AuthActions:
    """alice, verified, with TOTP, recovery codes, a trusted browser, a passkey, a second
    session, a reset link in her mailbox, a second step in progress and failed sign-ins."""
    alice = await signup_verified(app, mailbox, "alice", "alice@example.org")
    secret, _ = await turn_on_totp(alice)
    await alice.signout()
    await sign_in_trusted(alice, secret)
    await add_passkey(app, "alice", "Alice's phone")
    before = mailbox.count()
    assert (await alice.post("/reset", {"email": "alice@example.org"}, token_from="/reset")).status_code == 200
    await mailbox.wait(before + 1)
    await password_step(AuthActions(app.test_client()))  # a half-finished sign-in: a challenge row
    for _ in range(2):
        await AuthActions(app.test_client(), address="203.0.113.9").signin("alice", "wrong password")
    return alice


async def test_deleting_removes_every_row_naming_the_account_and_nobody_elses(mail_app, mailbox):
    alice = await alice_with_everything(mail_app, mailbox)
    bob = await signup_verified(mail_app, mailbox, "bob", "bob@example.org")
    await turn_on_totp(bob)
    await AuthActions(mail_app.test_client()).signin("bob", "wrong password")
    counts = {model: len(await rows(mail_app, model)) for model in [*OWNED, Throttle]}
    alice_id = next(u.id for u in await rows(mail_app, User) if u.username == "alice")
    mine = {model: [r for r in await rows(mail_app, model) if r.user_id == alice_id] for model in OWNED}
    assert all(mine.values()), {model.__name__: len(found) for model, found in mine.items()}

    page = await (await alice.get("/account/delete")).get_data(as_text=True)
    assert "the account <strong>alice</strong> and its address alice@example.org" in page
    assert "A last mail goes to alice@example.org" in page
    before = mailbox.count()
    response = await delete_account(alice, "ALICE")  # the name in any case, as sign-in takes it
    assert response.status_code == 303
    assert response.headers["Location"] == "/signin"
    assert "Max-Age=0" in (auth_cookie(response) or "")
    page = await (await alice.get("/signin")).get_data(as_text=True)
    assert "Your account alice was deleted, with everything it held. A notice was sent to alice@example.org." in page

    assert [u.username for u in await rows(mail_app, User)] == ["bob"]
    for model in OWNED:
        left = await rows(mail_app, model)
        assert [r for r in left if r.user_id == alice_id] == []
        assert len(left) == counts[model] - len(mine[model]), model.__name__  # bob's are all there
    keys = {row.key for row in await rows(mail_app, Throttle)}
    assert token_digest("account:alice") not in keys
    assert token_digest("account:bob") in keys
    assert token_digest("address:203.0.113.9") in keys  # the attacker's network is still counted
    assert token_digest("mail-to:alice@example.org") in keys  # no way around the per-inbox limit

    [notice] = (await mailbox.wait(before + 1))[before:]
    assert notice.recipients == ["alice@example.org"]
    assert notice.message["Subject"] == "Your account was deleted"
    assert "Your account alice was deleted on" in notice.text
    assert "Your account alice was deleted on" in notice.html


async def test_every_session_of_the_account_is_anonymous_on_its_next_request(app):
    alice, phone = AuthActions(app.test_client()), AuthActions(app.test_client())
    await alice.signup("alice")
    await phone.signin("alice")
    assert (await phone.get("/")).status_code == 200
    assert (await delete_account(alice)).status_code == 303
    response = await phone.get("/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/signin?next=/"
    assert "Max-Age=0" in (auth_cookie(response) or "")  # the dead cookie is dropped


async def test_the_name_and_the_address_are_free_again(mail_app, mailbox):
    alice = await signup_verified(mail_app, mailbox, "alice", "alice@example.org")
    before = mailbox.count()
    assert (await delete_account(alice)).status_code == 303
    await mailbox.wait(before + 1)  # the notice
    again = await signup_verified(mail_app, mailbox, "Alice", "Alice@example.org")
    assert "Signed in as <strong>Alice</strong>" in await (await again.get("/")).get_data(as_text=True)
    [user] = await rows(mail_app, User)
    assert (user.username, user.verified_email_key) == ("Alice", "alice@example.org")


async def test_the_audit_trail_stays_without_the_persons_name(mail_app, mailbox, caplog):
    caplog.set_level(logging.INFO, logger="quartapp.audit")
    alice = await alice_with_everything(mail_app, mailbox)
    await AuthActions(mail_app.test_client()).signup("bob")
    await AuthActions(mail_app.test_client(), address="203.0.113.9").signin("bob", "wrong password")
    events = await stored_events(mail_app)
    assert {e.event for e in events if e.username_key == "alice"} >= {
        "signup",
        "totp.enabled",
        "second_factor.trusted",
        "signin.failure",
        "reset.requested",
    }
    assert any(e.address == "203.0.113.9" for e in events if e.username_key == "alice")

    assert (await delete_account(alice)).status_code == 303
    config = mail_app.config
    alias = erasure.pseudonym(config, "username", "alice")
    after = await stored_events(mail_app)
    assert [e for e in after if e.username_key == "alice"] == []
    erased = [e for e in after if e.username_key == alias and e.event != "account.deleted"]
    assert len(erased) == len([e for e in events if e.username_key == "alice"])
    for event in erased:
        assert event.address is None or event.address.startswith("erased:")
        assert event.session_id is None
        assert set(json.loads(event.data)) <= erasure.ERASED_FIELDS_KEPT
    failures = [e for e in after if e.event == "signin.failure"]
    # One attacker's address is one pseudonym in the erased rows, and stays readable in bob's.
    assert {e.address for e in failures if e.username_key == alias} == {
        erasure.pseudonym(config, "address", "203.0.113.9")
    }
    assert {e.address for e in failures if e.username_key == "bob"} == {"203.0.113.9"}
    [deleted] = [e for e in after if e.event == "account.deleted"]
    assert (deleted.username_key, deleted.address) == (alias, erasure.pseudonym(config, "address", "<local>"))
    assert json.loads(deleted.data)["removed"]["passkeys"] == 1
    assert "Alice's phone" not in json.dumps([e.data for e in after])

    [line] = [json.loads(r.getMessage()) for r in caplog.records if '"account.deleted"' in r.getMessage()]
    assert (line["username_key"], line["via"]) == (alias, "web")


async def test_events_another_worker_writes_late_are_pseudonymised_as_it_writes_them(app, clock):
    alice = AuthActions(app.test_client())
    await alice.signup("alice")
    # Another worker's writer, holding events about alice: one stamped before the deletion, one by
    # a request of hers still in flight just after it. Its database is away until after the deletion.
    other = AuditWriter(app.extensions["db_sessionmaker"], app.config)
    row = {"address": "192.0.2.1", "session_id": "0" * 64, "data": {"name": "Alice's phone"}}
    other.add(at=clock.now, event="passkey.added", username_key="alice", **row)
    clock.advance(seconds=1)
    assert (await delete_account(alice)).status_code == 303
    clock.advance(seconds=1)
    other.add(at=clock.now, event="signout", username_key="alice", **row)
    await other.flush()

    alias = erasure.pseudonym(app.config, "username", "alice")
    late = [e for e in await stored_events(app) if e.event in ("passkey.added", "signout")]
    assert [(e.username_key, e.address, e.session_id, e.data) for e in late] == [
        (alias, erasure.pseudonym(app.config, "address", "192.0.2.1"), None, "{}")
    ] * 2


async def test_ids_of_deleted_accounts_are_never_given_again(app):
    alice, bob = AuthActions(app.test_client()), AuthActions(app.test_client())
    await alice.signup("alice")
    await bob.signup("bob")
    bob_id = max(u.id for u in await rows(app, User))
    assert (await delete_account(bob, "bob")).status_code == 303
    await AuthActions(app.test_client()).signup("carol")
    assert max(u.id for u in await rows(app, User)) > bob_id  # carol does not inherit what was bob's


async def test_a_sign_in_that_finishes_after_the_deletion_is_sent_back_to_sign_in(app):
    alice = AuthActions(app.test_client())
    await alice.signup("alice")
    async with app.test_request_context("/signin", method="POST"):
        db = quartapp.get_session()
        user = await db.scalar(select(User).where(User.username == "alice"))
        assert user is not None
        async with app.app_context():  # meanwhile, at another worker, the account is deleted
            other = quartapp.get_session()
            await other.execute(delete(User))
            await other.commit()
        with pytest.raises(Unauthorized):
            await sign_in(user, remember=False)
    assert await rows(app, AuthSession) == []  # no session left naming the account that is gone


async def test_the_page_and_the_button_want_a_recent_password(app, signed_in):
    client = app.test_client()
    await signed_in(client, "alice", password=PASSWORD, recent=False)
    response = await client.get("/account/delete")
    assert response.status_code == 303
    assert response.headers["Location"] == "/reauthenticate?next=/account/delete"
    response = await client.post("/account/delete", form={"username": "alice"})
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/reauthenticate")
    assert [u.username for u in await rows(app, User)] == ["alice"]


@pytest.mark.parametrize(
    ("typed", "status", "message"),
    [
        ("", 200, "Type your username to confirm."),
        ("bob", 200, "That is not the name of this account."),
        ("alicia", 200, "That is not the name of this account."),
    ],
)
async def test_the_name_must_be_typed_to_delete(app, typed, status, message):
    alice = AuthActions(app.test_client())
    await alice.signup("alice")
    await AuthActions(app.test_client()).signup("bob")
    response = await delete_account(alice, typed)
    assert response.status_code == status
    assert message in await response.get_data(as_text=True)
    assert sorted(u.username for u in await rows(app, User)) == ["alice", "bob"]


async def test_a_deletion_without_the_forms_token_is_refused(app):
    alice = AuthActions(app.test_client())
    await alice.signup("alice")
    response = await alice.client.post("/account/delete", form={"username": "alice"})
    assert response.status_code == 400
    assert [u.username for u in await rows(app, User)] == ["alice"]


async def test_two_deletions_at_once_delete_once_and_answer_both(app):
    alice = AuthActions(app.test_client())
    await alice.signup("alice")
    token = await alice.token("/account/delete")
    form = {"username": "alice", "csrf_token": token}
    responses = await asyncio.gather(*(alice.client.post("/account/delete", form=form) for _ in range(2)))
    assert sorted(r.status_code for r in responses) == [302, 303] or [r.status_code for r in responses] == [303, 303]
    assert await rows(app, User) == []
    assert len([e for e in await stored_events(app) if e.event == "account.deleted"]) == 1


async def test_an_application_may_refuse_and_then_nothing_changes(app):
    alice = AuthActions(app.test_client())
    await alice.signup("alice")

    async def keep_owners(sender, *, db, user):
        await db.execute(delete(AuthSession))  # undone with the rest
        raise quartapp.DeletionRefused("You still own the team Ops: hand it over first.")

    quartapp.account_deleting.connect(keep_owners, sender=app)
    response = await delete_account(alice)
    assert response.status_code == 409
    assert "You still own the team Ops: hand it over first." in await response.get_data(as_text=True)
    assert [u.username for u in await rows(app, User)] == ["alice"]
    assert len(await rows(app, AuthSession)) == 1
    assert (await alice.get("/")).status_code == 200


async def test_receivers_hear_of_the_deletion_inside_and_after_the_transaction(app, caplog):
    alice = AuthActions(app.test_client())
    await alice.signup("alice")
    heard = []

    def deleting(sender, *, db, user):
        heard.append(("deleting", sender is app, user.username))

    async def deleted(sender, *, user_id, username):
        heard.append(("deleted", sender is app, username))

    def failing(sender, **_):
        raise RuntimeError("the search index is down")

    quartapp.account_deleting.connect(deleting, sender=app)
    quartapp.account_deleted.connect(deleted, sender=app)
    quartapp.account_deleted.connect(failing, sender=app)
    response = await delete_account(alice)
    assert heard == [("deleting", True, "alice"), ("deleted", True, "alice")]
    # A receiver failing after the commit changes nothing for the person: gone, signed out, told.
    assert (response.status_code, response.headers["Location"]) == (303, "/signin")
    assert "Your account alice was deleted" in await (await alice.get("/signin")).get_data(as_text=True)
    assert "an account_deleted receiver failed" in caplog.text


async def test_a_late_event_already_written_when_the_deletion_runs_is_pseudonymised(app, clock):
    alice = AuthActions(app.test_client())
    await alice.signup("alice")
    await stored_events(app)  # written: no later batch names alice, so the deletion's own pass must do it
    # A batch written just before the deletion took its lock, holding an event of alice's other
    # session stamped a moment later than the deletion's own clock reading.
    async with app.app_context():
        db = quartapp.get_session()
        db.add(AuditEvent(at=clock.now + timedelta(seconds=2), event="signout", username_key="alice", data="{}"))
        await db.commit()
    assert (await delete_account(alice)).status_code == 303
    alias = erasure.pseudonym(app.config, "username", "alice")
    assert [e.username_key for e in await stored_events(app) if e.event == "signout"] == [alias]


async def test_workers_on_a_new_key_still_find_the_tombstones_of_the_old(app, clock):
    alice = AuthActions(app.test_client())
    await alice.signup("alice")
    await stored_events(app)  # written: no later batch of this worker's names alice
    assert (await delete_account(alice)).status_code == 303  # a worker still on the old key
    rotated = app.config | {"SECRET_KEY": "the new key", "SECRET_KEY_FALLBACKS": [app.config["SECRET_KEY"]]}
    other = AuditWriter(app.extensions["db_sessionmaker"], rotated)
    other.add(at=clock.now, event="signout", username_key="alice", address=None, session_id=None, data={})
    await other.flush()
    [late] = [e for e in await stored_events(app) if e.event == "signout"]
    assert late.username_key == erasure.pseudonym(rotated, "username", "alice")  # named no more
