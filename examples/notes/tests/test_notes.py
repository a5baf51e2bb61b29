"""The notes pages, tested with quartapp's pytest plugin only: app, client, signed_in."""

import json

from notes.models import Note
from sqlalchemy import func, select

from quartapp.db.models import AuthSession
from quartapp.testing import submit


async def count_notes(app) -> int:
    async with app.app_context():
        from quartapp import get_session

        return await get_session().scalar(select(func.count()).select_from(Note))


async def test_the_notes_page_is_for_signed_in_users(client):
    response = await client.get("/notes")
    assert response.status_code == 302
    assert response.headers["Location"] == "/signin?next=/notes"


async def test_a_signed_in_user_adds_a_note_and_sees_it(client, signed_in):
    await signed_in(client, "alice")
    response = await submit(client, "/notes", {"text": "buy milk"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/notes"
    page = await (await client.get("/notes")).get_data(as_text=True)
    assert "buy milk" in page
    assert "Signed in as <strong>alice</strong>" in page


async def test_each_user_sees_only_their_own_notes(app, signed_in):
    alice, bob = app.test_client(), app.test_client()
    await signed_in(alice, "alice")
    await signed_in(bob, "bob")
    await submit(alice, "/notes", {"text": "alice's secret"})
    page = await (await bob.get("/notes")).get_data(as_text=True)
    assert "alice's secret" not in page
    assert "No notes yet." in page


async def test_an_empty_note_is_refused_and_nothing_is_stored(app, client, signed_in):
    await signed_in(client, "alice")
    response = await submit(client, "/notes", {"text": ""})
    assert response.status_code == 200
    assert "This field is required." in await response.get_data(as_text=True)
    assert await count_notes(app) == 0


async def test_a_note_posted_without_the_csrf_token_is_refused(app, client, signed_in):
    await signed_in(client, "alice")
    response = await client.post("/notes", form={"text": "forged"})
    assert response.status_code == 400
    assert await count_notes(app) == 0


async def test_deleting_every_note_wants_a_recent_password(app, client, signed_in):
    await signed_in(client, "alice", password="correct horse battery", recent=False)
    await submit(client, "/notes", {"text": "keep me"})
    response = await submit(client, "/notes/clear", {}, token_from="/notes")
    assert response.status_code == 303
    assert response.headers["Location"] == "/reauthenticate?next=/notes"  # back to the page the button was on
    assert await count_notes(app) == 1

    response = await submit(client, "/reauthenticate?next=/notes", {"password": "correct horse battery"})
    assert response.headers["Location"] == "/notes"
    response = await submit(client, "/notes/clear", {}, token_from="/notes")
    assert response.headers["Location"] == "/notes"
    assert "All your notes were deleted." in await (await client.get("/notes")).get_data(as_text=True)
    assert await count_notes(app) == 0


async def test_signing_out_ends_the_session_the_fixture_made(app, client, signed_in):
    user = await signed_in(client, "alice")
    assert (await submit(client, "/signout", {}, token_from="/notes")).status_code == 303
    assert (await client.get("/notes")).status_code == 302
    async with app.app_context():
        from quartapp import get_session

        assert await get_session().get(AuthSession, user.session_id) is None


async def test_quartapp_pages_wear_the_apps_layout_and_signin_page(client, signed_in):
    page = await (await client.get("/signin")).get_data(as_text=True)
    assert "<title>Sign in · Notes</title>" in page
    assert "Sign in to read and add your notes." in page
    assert 'for="password"' in page  # quartapp's form, inside the app's page
    await signed_in(client, "alice")
    page = await (await client.get("/sessions")).get_data(as_text=True)
    assert '<a href="/notes">Notes</a>' in page
    assert '<a href="/sessions" aria-current="page">Sessions</a>' in page  # the page it is on, marked


async def test_signing_up_lands_on_a_home_page_pointing_at_the_notes(client):
    response = await submit(
        client, "/signup", {"username": "carol", "password": "a long passphrase", "confirm": "a long passphrase"}
    )
    assert response.headers["Location"] == "/"
    page = await (await client.get("/")).get_data(as_text=True)
    assert '<a href="/notes">Go to your notes</a>' in page


async def note_texts(app) -> list[str]:
    async with app.app_context():
        from quartapp import get_session

        return list(await get_session().scalars(select(Note.text).order_by(Note.id)))


async def test_deleting_the_account_deletes_its_notes_and_nobody_elses(app, signed_in):
    alice, bob = app.test_client(), app.test_client()
    await signed_in(alice, "alice")
    await signed_in(bob, "bob")
    await submit(alice, "/notes", {"text": "alice's note"})
    await submit(bob, "/notes", {"text": "bob's note"})
    page = await (await alice.get("/account/delete")).get_data(as_text=True)
    assert "your notes, every one of them" in page  # the page says what goes with the account
    response = await submit(alice, "/account/delete", {"username": "alice"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/signin"
    assert await note_texts(app) == ["bob's note"]  # by the foreign key's ON DELETE CASCADE


async def test_the_account_export_has_the_notes(app, client, signed_in):
    await signed_in(client, "alice")
    for text in ("first", "second"):
        await submit(client, "/notes", {"text": text})
    assert "your notes, with the time each was written" in await (await client.get("/account/export")).get_data(
        as_text=True
    )
    response = await submit(client, "/account/export", {})
    assert response.status_code == 200
    export = json.loads(await response.get_data(as_text=True))
    assert [note["text"] for note in export["notes"]] == ["first", "second"]
    assert export["profile"]["username"] == "alice"


async def test_the_notes_page_speaks_the_browsers_language(client, signed_in):
    await signed_in(client, "alice")
    page = await (await client.get("/notes", headers={"Accept-Language": "de"})).get_data(as_text=True)
    assert '<html lang="de">' in page
    assert "Deine Notizen" in page  # this app's own catalog
    assert "Neue Notiz" in page  # its form's label, translated when shown
    assert "Sitzungen" in page  # quartapp's menu, from quartapp's catalog
    assert "Your notes" not in page


async def test_the_apps_catalog_rewords_quartapps_text(client):
    german = await (await client.get("/signin", headers={"Accept-Language": "de"})).get_data(as_text=True)
    assert "Leg dir ein Konto an" in german  # the app's informal German, ahead of quartapp's own
    assert "Erstellen Sie ein Konto" not in german
    spanish = await (await client.get("/signin", headers={"Accept-Language": "es"})).get_data(as_text=True)
    assert '<html lang="es">' in spanish  # quartapp's Spanish, where the app says nothing of its own
