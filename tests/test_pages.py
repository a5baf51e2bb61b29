import os
import re

from sqlalchemy.exc import OperationalError

from .conftest import auth_cookie, sqlite_only


async def test_home_sends_anonymous_visitors_to_sign_in_and_back(client, auth):
    response = await client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/signin?next=/"
    response = await client.get("/?tab=2")
    assert response.headers["Location"] == "/signin?next=/?tab%3D2"

    await auth.signup()
    await auth.signout()
    response = await auth.signin(path="/signin?next=/")
    assert response.headers["Location"] == "/"


async def test_home_names_the_user_with_a_signout_button(client, auth):
    await auth.signup("Zoë")
    page = await (await client.get("/")).get_data(as_text=True)
    assert "Signed in as <strong>Zoë</strong>" in page
    assert '<form class="signout" method="post" action="/signout">' in page
    assert '<button type="submit">Sign out</button>' in page


async def test_signin_page_has_the_form_fields(app, client):
    response = await client.get("/signin")
    assert response.status_code == 200
    page = await response.get_data(as_text=True)
    for field in ('name="username"', 'name="password"', 'name="remember" type="checkbox"', 'name="csrf_token"'):
        assert field in page
    for label in ('<label for="username">Username</label>', '<label for="password">Password</label>'):
        assert label in page
    page = page.replace(app.config["BASE_URL"], "")  # a passkey hint may name BASE_URL, never the Host
    assert "http://" not in page
    assert "https://" not in page


async def test_html_pages_are_hardened_and_never_cached(client, auth):
    await auth.signup()
    for path in ("/", "/signin", "/signup", "/no-such-page"):
        response = await client.get(path)
        assert response.headers["Cache-Control"] == "no-store"
        assert "default-src 'self'" in response.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"


async def test_unknown_pages_and_methods_get_an_error_page(client):
    response = await client.get("/no-such-page")
    assert response.status_code == 404
    page = await response.get_data(as_text=True)
    assert "<h1>404 Page not found</h1>" in page
    assert "There is no page at this address." in page
    response = await client.put("/signin")
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS", "POST"}
    assert "<h1>405 Method not allowed</h1>" in await response.get_data(as_text=True)


async def test_livez_answers_without_the_database(client, monkeypatch):
    async def unreachable() -> None:
        raise OperationalError("SELECT 1", None, ConnectionRefusedError())

    monkeypatch.setattr("quartapp.db.engine.ping", unreachable)
    response = await client.get("/livez")
    assert response.status_code == 200
    assert await response.get_json() == {"status": "ok"}
    assert (await client.get("/healthz")).status_code == 503


async def test_healthz_answers_ok_when_the_database_does(client):
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert await response.get_json() == {"status": "ok"}


@sqlite_only
async def test_healthz_and_signin_answer_503_when_the_database_is_unreadable(app, client, auth, tmp_path):
    token = await auth.token()
    os.remove(tmp_path / "test.sqlite3")
    await app.extensions["db_engine"].dispose()  # pooled connections still see the old file
    response = await client.get("/healthz")
    assert response.status_code == 503
    assert await response.get_json() == {"status": "unavailable"}

    response = await client.post("/signin", form={"username": "a", "password": "b", "csrf_token": token})
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert "Temporarily unavailable" in await response.get_data(as_text=True)
    assert auth_cookie(response) is None


async def test_signup_hints_are_tied_to_their_fields(client):
    page = await (await client.get("/signup")).get_data(as_text=True)
    assert 'aria-describedby="username-hint"' in page
    assert 'id="username-hint"' in page
    assert 'aria-describedby="password-hint"' in page
    assert "At least 8 characters, and not one everyone tries first" in page
    assert (await client.get("/static/favicon.svg")).status_code == 200
    assert 'rel="icon"' in page


async def test_a_page_with_several_forms_repeats_no_id(client, signed_in):
    await signed_in(client, "alice")
    for path in ("/sessions", "/2fa", "/email", "/account/export"):
        page = await (await client.get(path)).get_data(as_text=True)
        ids = re.findall(r'\sid="([^"]+)"', page)
        assert len(ids) == len(set(ids)), (path, sorted(ids))
        assert page.count('name="csrf_token"') >= 2, path  # the forms all carry their token


async def test_the_menu_marks_the_page_it_is_on(client, signed_in):
    await signed_in(client, "alice")
    page = await (await client.get("/2fa")).get_data(as_text=True)
    assert '<a href="/2fa" aria-current="page">Two-factor</a>' in page
    assert '<a href="/sessions">Sessions</a>' in page
