"""The account's export: everything the app keeps about it, in one JSON file, and no secret."""

import json

import pytest

import quartapp
from quartapp.audit.writer import AuditWriter
from quartapp.db.models import AuthSession, User
from quartapp.mfa.models import RecoveryCode, TrustedBrowser
from quartapp.ownership.export import export_account

from .conftest import AuthActions, PASSWORD, rows
from .test_account_deletion import add_passkey, sign_in_trusted
from .test_addresses import signup_verified
from .totp_actions import turn_on_totp


async def download(auth: AuthActions):
    return await auth.post("/account/export", {}, token_from="/account/export")


async def test_the_export_holds_the_account_and_what_it_did(mail_app, mailbox):
    alice = await signup_verified(mail_app, mailbox, "alice", "alice@example.org")
    secret, codes = await turn_on_totp(alice)
    phone = AuthActions(mail_app.test_client(), address="198.51.100.7", user_agent="Phone/2.0")
    await sign_in_trusted(phone, secret)
    await add_passkey(mail_app, "alice", "Alice's phone")
    await AuthActions(mail_app.test_client(), address="203.0.113.9").signin("alice", "wrong password")

    response = await download(alice)
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="account-')
    assert response.headers["Cache-Control"] == "no-store"
    body = await response.get_data(as_text=True)
    export = json.loads(body)

    assert export["format"] == "quartapp-account-export/1"
    profile = export["profile"]
    assert (profile["username"], profile["email"], profile["email_verified"]) == ("alice", "alice@example.org", True)
    assert [(s["user_agent"], s["current"]) for s in export["sessions"]] == [
        ("Phone/2.0", False),
        ("TestBrowser/1.0", True),
    ] or [(s["user_agent"], s["current"]) for s in export["sessions"]] == [
        ("TestBrowser/1.0", True),
        ("Phone/2.0", False),
    ]
    assert {s["address"] for s in export["sessions"]} == {"198.51.100.7", "<local>"}
    assert [t["user_agent"] for t in export["trusted_browsers"]] == ["Phone/2.0"]
    assert [(p["name"], p["last_used_at"]) for p in export["passkeys"]] == [("Alice's phone", None)]
    assert export["second_factors"]["totp"]["on"] is True
    assert export["second_factors"]["totp"]["since"] is not None
    assert export["second_factors"]["recovery_codes"]["left"] == 10
    events = [(e["event"], e["address"]) for e in export["audit_events"]]
    assert ("signup", "<local>") in events
    assert ("totp.enabled", "<local>") in events
    assert ("second_factor.trusted", "198.51.100.7") in events
    assert ("signin.failure", "203.0.113.9") in events
    assert events.index(("signup", "<local>")) < events.index(("totp.enabled", "<local>"))

    # Nothing that signs in or names a session: no hash, secret, code, key or token.
    [row] = await rows(mail_app, User)
    secrets = [row.password_hash, row.totp_secret, row.webauthn_handle, secret, *codes, "credential-1", "KEY"]
    secrets += [s.id for s in await rows(mail_app, AuthSession)]
    secrets += [c.code_hash for c in await rows(mail_app, RecoveryCode)]
    secrets += [t.id for t in await rows(mail_app, TrustedBrowser)]  # the trust cookie's hash
    assert [s for s in secrets if s and s in body] == []
    assert "sign_count" not in body
    assert "password" not in body


async def test_only_the_accounts_own_events_are_in_it(app, clock):
    stranger = AuthActions(app.test_client())
    await stranger.signin("alice", "guess before she existed")
    clock.advance(seconds=1)
    alice = AuthActions(app.test_client())
    await alice.signup("alice")
    await AuthActions(app.test_client()).signup("alice2")
    export = json.loads(await (await download(alice)).get_data(as_text=True))
    assert [e["event"] for e in export["audit_events"]] == ["signup", "signin.success"]


async def test_the_page_and_the_download_want_a_recent_password(app, signed_in):
    client = app.test_client()
    await signed_in(client, "alice", password=PASSWORD, recent=False)
    response = await client.get("/account/export")
    assert response.headers["Location"] == "/reauthenticate?next=/account/export"
    response = await client.post("/account/export", headers={"Referer": "http://localhost/account/export"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/reauthenticate?next=/account/export"


async def test_a_download_without_the_forms_token_is_refused(app, signed_in):
    client = app.test_client()
    await signed_in(client, "alice")
    response = await client.post("/account/export")
    assert response.status_code == 400
    assert "Content-Disposition" not in response.headers


async def test_the_pages_say_what_is_in_it_and_anonymous_visitors_are_sent_to_sign_in(app, signed_in):
    client = app.test_client()
    assert (await client.get("/account")).headers["Location"] == "/signin?next=/account"
    await signed_in(client, "alice", email="alice@example.org")
    page = await (await client.get("/account")).get_data(as_text=True)
    assert "alice@example.org (verified)" in page
    assert 'href="/account/export"' in page
    assert 'href="/account/delete"' in page
    page = await (await client.get("/account/export")).get_data(as_text=True)
    assert "It holds no password, secret, code or key" in page


async def test_an_application_adds_its_own_sections(app, signed_in):
    client = app.test_client()
    await signed_in(client, "alice")

    async def notes(sender, *, db, user):
        return {"notes": [f"{user.username}'s note"]}

    def nothing(sender, *, db, user):
        return None  # nothing of this user's to add

    quartapp.account_exporting.connect(notes, sender=app)
    quartapp.account_exporting.connect(nothing, sender=app)
    export = json.loads(await (await download(AuthActions(client))).get_data(as_text=True))
    assert export["notes"] == ["alice's note"]


async def test_a_section_may_not_replace_one_of_quartapps(app, signed_in):
    user = await signed_in(app.test_client(), "alice")
    quartapp.account_exporting.connect(lambda sender, **_: {"profile": {}}, sender=app, weak=False)
    async with app.test_request_context("/account/export"):
        db = quartapp.get_session()
        account = await db.get(User, user.id)
        assert account is not None
        with pytest.raises(ValueError, match=r"sections named like quartapp's own: \['profile'\]"):
            await export_account(db, account, current_session=user.session_id)


async def test_a_new_owner_of_a_deleted_name_sees_only_their_own_events(app, clock):
    first = AuthActions(app.test_client())
    await first.signup("alice")
    await first.post("/account/delete", {"username": "alice"}, token_from="/account/delete")
    clock.advance(seconds=5)
    alice = AuthActions(app.test_client())
    await alice.signup("alice")  # within a minute of the deletion, someone else takes the name
    # Another worker writes an event about the new alice late: it is hers, and stays so.
    clock.advance(seconds=1)
    other = AuditWriter(app.extensions["db_sessionmaker"], app.config)
    other.add(at=clock.now, event="signin.failure", username_key="alice", address=None, session_id=None, data={})
    await other.flush()
    export = json.loads(await (await download(alice)).get_data(as_text=True))
    assert [e["event"] for e in export["audit_events"]] == ["signup", "signin.success", "signin.failure"]
