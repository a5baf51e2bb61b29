import asyncio

import pytest
from quart import Quart
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import async_sessionmaker, AsyncSession

from quartapp.db.models import AuthSession
from quartapp.testing.helpers import csrf_token

from .conftest import auth_cookie, AuthActions, PASSWORD, running_app, usernames


async def count_sessions(app: Quart) -> int:
    sessionmaker: async_sessionmaker[AsyncSession] = app.extensions["db_sessionmaker"]
    async with sessionmaker() as session:
        count = await session.scalar(select(func.count()).select_from(AuthSession))
        assert count is not None  # COUNT(*) always answers a row
        return count


async def test_signup_signs_in_and_home_names_the_user(app, client, auth):
    response = await auth.signup("Alice")
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    cookie = auth_cookie(response)
    assert cookie is not None
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Path=/" in cookie
    assert "Max-Age" not in cookie
    assert "Expires" not in cookie
    home = await client.get("/")
    assert home.status_code == 200
    assert "Welcome, Alice" in await home.get_data(as_text=True)
    assert await usernames(app) == ["Alice"]


async def test_signin_sets_session_cookie_and_follows_next(client, auth):
    await auth.signup()
    await auth.signout()
    response = await auth.signin(path="/signin?next=/healthz")
    assert response.status_code == 303
    assert response.headers["Location"] == "/healthz"
    cookie = auth_cookie(response)
    assert cookie is not None
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Max-Age" not in cookie
    assert "Secure" not in cookie  # served over plain http with COOKIE_SECURE="auto"
    assert (await client.get("/")).status_code == 200


async def test_remember_me_makes_the_cookie_persistent(app, auth):
    await auth.signup()
    await auth.signout()
    cookie = auth_cookie(await auth.signin(remember=True))
    assert cookie is not None
    assert f"Max-Age={app.config['REMEMBER_LIFETIME']}" in cookie


async def test_signin_is_case_insensitive_on_usernames(client, auth):
    await auth.signup("Straße")
    await auth.signout()
    assert (await auth.signin("STRASSE")).status_code == 303
    assert "Welcome, Straße" in await (await client.get("/")).get_data(as_text=True)


async def test_unknown_user_and_wrong_password_look_the_same(app, client, auth, monkeypatch):
    import bcrypt

    checked = []
    real_checkpw = bcrypt.checkpw

    def counting_checkpw(password: bytes, hashed_password: bytes) -> bool:
        checked.append(hashed_password[:7])
        return real_checkpw(password, hashed_password)

    monkeypatch.setattr(bcrypt, "checkpw", counting_checkpw)
    await auth.signup("alice")
    await auth.signout()

    wrong = await auth.signin("alice", "not the password")
    unknown = await auth.signin("mallory", "not the password")
    pages = []
    for response in (wrong, unknown):
        assert response.status_code == 200
        assert auth_cookie(response) is None
        pages.append(await response.get_data(as_text=True))
        assert "Invalid username or password." in pages[-1]
    assert pages[0].replace(csrf_token(pages[0]), "").replace('value="alice"', "") == pages[1].replace(
        csrf_token(pages[1]), ""
    ).replace('value="mallory"', "")
    # Each failure cost one bcrypt check at the configured cost ($2b$04$ here).
    assert checked == [b"$2b$04$", b"$2b$04$"]
    assert (await client.get("/")).status_code == 302


async def test_signout_revokes_the_session_so_a_copied_cookie_is_anonymous(app, client, auth):
    await auth.signup()
    copied = {c.name: c.value for c in client.cookie_jar}
    assert await count_sessions(app) == 1
    response = await auth.signout()
    assert response.status_code == 303
    assert response.headers["Location"] == "/signin?signed_out=1"
    page = await (await auth.get(response.headers["Location"])).get_data(as_text=True)
    assert '<p class="notice" role="status">You are signed out.</p>' in page
    cookie = auth_cookie(response)
    assert cookie is not None
    assert "Max-Age=0" in cookie
    assert await count_sessions(app) == 0

    replay = app.test_client()
    replay.set_cookie("localhost", "quartapp_auth", copied["quartapp_auth"])
    response = await replay.get("/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/signin?next=/"
    cookie = auth_cookie(response)
    assert cookie is not None
    assert "Max-Age=0" in cookie  # the dead cookie is cleared


async def test_get_signout_signs_nobody_out(client, auth):
    await auth.signup()
    assert (await client.get("/signout")).status_code == 405
    assert (await client.get("/")).status_code == 200


@pytest.mark.parametrize("token", [None, "", "20991231235959##0123456789abcdef0123456789abcdef01234567", "garbage"])
async def test_signup_without_a_valid_csrf_token_is_400_and_creates_nothing(app, client, token):
    await client.get("/signup")  # the visitor has a session, just not this token
    form = {"username": "alice", "password": PASSWORD, "confirm": PASSWORD}
    if token is not None:
        form["csrf_token"] = token
    response = await client.post("/signup", form=form)
    assert response.status_code == 400
    page = await response.get_data(as_text=True)
    assert "Reload the page and try again" in page
    assert csrf_token(page)  # the form again, with a fresh token to resend it
    assert await usernames(app) == []


async def test_a_token_from_another_visitor_is_refused(app, client):
    other = app.test_client()
    token = csrf_token(await (await other.get("/signin")).get_data(as_text=True))
    response = await client.post("/signin", form={"username": "a", "password": "b", "csrf_token": token})
    assert response.status_code == 400


async def test_a_stale_csrf_token_is_refused(tmp_path):
    async with running_app(tmp_path, CSRF_TIME_LIMIT=-1) as app:
        actions = AuthActions(app.test_client())
        assert (await actions.signup()).status_code == 400
        assert await usernames(app) == []


async def test_signout_without_csrf_token_keeps_the_session(app, client, auth):
    await auth.signup()
    assert (await client.post("/signout", form={})).status_code == 400
    assert (await client.get("/")).status_code == 200
    assert await count_sessions(app) == 1


@pytest.mark.parametrize(
    ("username", "password", "confirm", "message"),
    [
        ("", PASSWORD, PASSWORD, "This field is required."),
        ("bob", "", "", "This field is required."),
        ("bob", PASSWORD, "something else", "The passwords do not match."),
        ("bob", "short", "short", "Use at least 8 characters."),
        ("bobby-tables", "Bobby-Tables", "Bobby-Tables", "must differ from your username"),
        ("x" * 10_000, PASSWORD, PASSWORD, "Field cannot be longer than 32 characters."),
        ("bob\x00", PASSWORD, PASSWORD, "A username cannot contain U+0000."),
        ("bob smith", PASSWORD, PASSWORD, "A username cannot contain a space."),
        ("<script>", PASSWORD, PASSWORD, "A username cannot contain “&lt;”, “&gt;”."),
        ("bob", "€" * 25, "€" * 25, "Use at most 72 bytes"),
    ],
)
async def test_signup_bad_input_shows_the_form_with_an_error(app, auth, username, password, confirm, message):
    response = await auth.signup(username, password, confirm)
    assert response.status_code == 200
    page = await response.get_data(as_text=True)
    assert message in page
    assert "<script>" not in page.split("<main>")[1]  # what the visitor typed is escaped
    assert await usernames(app) == []


async def test_signup_of_a_taken_name_in_any_case_is_a_form_error(app, auth):
    await auth.signup("Straße")
    await auth.signout()
    response = await auth.signup("STRASSE")
    assert response.status_code == 200
    assert "That username is taken." in await response.get_data(as_text=True)
    assert await usernames(app) == ["Straße"]


@pytest.mark.parametrize("max_wait", [60, 0], ids=["all-admitted", "no-queue"])
async def test_concurrent_signups_of_one_name_create_exactly_one_account(tmp_path, max_wait):
    async with running_app(tmp_path, HASH_MAX_WAIT=max_wait) as app:
        clients = [AuthActions(app.test_client()) for _ in range(20)]
        tokens = [await c.token("/signup") for c in clients]

        async def signup(actions: AuthActions, token: str):
            form = {"username": "racer", "password": PASSWORD, "confirm": PASSWORD, "csrf_token": token}
            return await actions.client.post("/signup", form=form)

        responses = await asyncio.gather(*(signup(c, t) for c, t in zip(clients, tokens, strict=True)))
        statuses = [r.status_code for r in responses]
        assert statuses.count(303) == 1
        for response in responses:
            page = await response.get_data(as_text=True)
            if response.status_code == 200:
                assert "That username is taken." in page
            elif response.status_code == 503:  # past the hash queue: refused before any work
                assert max_wait == 0
                assert "Too many people are signing in" in page
            else:
                assert response.status_code == 303
        assert await usernames(app) == ["racer"]
        assert await count_sessions(app) == 1


@pytest.mark.parametrize(
    "form",
    [
        {},
        {"username": "alice"},
        {"password": PASSWORD},
        {"username": "alice\x00", "password": PASSWORD},
        {"username": "a" * 10_000, "password": PASSWORD},
        {"username": "alice", "password": PASSWORD + "x" * 100},
        {"username": "\ufffe\uffff\U0010ffff", "password": "\x00" * 80},
    ],
)
async def test_signin_bad_input_is_a_failure_not_an_error(client, auth, form):
    await auth.signup()
    await auth.signout()
    response = await client.post("/signin", form=form | {"csrf_token": await auth.token()})
    assert response.status_code == 200
    assert auth_cookie(response) is None
    assert (await client.get("/")).status_code == 302


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        # Neither carries a form, so neither carries a CSRF token: the form again, as a 400.
        (b'{"username": "alice", "password": "x", "csrf_token": "TOKEN"}', "application/json", 400),
        (b"\xff\xfe\x00garbage=\x00&&==&csrf_token=TOKEN", "application/x-www-form-urlencoded", 400),
        # Garbage inside well-formed fields is an ordinary failed sign-in.
        (b"username=%ff%fe%00&password=%00%ff&x=&&==&csrf_token=TOKEN", "application/x-www-form-urlencoded", 200),
        (b"--x\r\nContent-Disposition: form-data\r\n\r\n\xff--x--", "multipart/form-data; boundary=x", 400),
    ],
)
async def test_signin_with_a_json_or_garbage_body_shows_the_form(client, auth, body, content_type, status):
    await auth.signup()
    await auth.signout()
    token = await auth.token()
    body = body.replace(b"TOKEN", token.encode())
    response = await client.post("/signin", data=body, headers={"Content-Type": content_type})
    assert response.status_code == status
    page = await response.get_data(as_text=True)
    assert '<form method="post"' in page
    assert 'name="password"' in page
    assert auth_cookie(response) is None


async def test_passwords_sharing_their_first_72_bytes_are_not_interchangeable(client, auth):
    password = "seven quiet zebras hum over a lazy fox while the brown kettle sings tonight"[:72]
    assert (await auth.signup("alice", password)).status_code == 303
    await auth.signout()
    assert auth_cookie(await auth.signin("alice", password + "extra")) is None
    assert (await auth.signin("alice", password)).status_code == 303


async def test_an_oversized_body_is_413_and_the_server_keeps_serving(app, client, auth):
    response = await client.post(
        "/signin",
        data=b"username=" + b"a" * (app.config["MAX_CONTENT_LENGTH"] + 1),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 413
    assert (await auth.signup()).status_code == 303


@pytest.mark.parametrize(
    "cookie",
    ["", "garbage", "InRva2VuIg.aaaaaa.bbbbbb", "{tampered}", "x" * 4000],
)
async def test_a_tampered_or_foreign_auth_cookie_is_anonymous(app, client, auth, cookie):
    await auth.signup()
    real = next(c.value for c in client.cookie_jar if c.name == "quartapp_auth")
    for value in (cookie, real[:-3] + "AAA", real[: len(real) // 2]):
        visitor = app.test_client()
        visitor.set_cookie("localhost", "quartapp_auth", value)
        response = await visitor.get("/")
        assert response.status_code == 302


@pytest.mark.parametrize("auth_id", [123, ["a"], {"a": 1}, None])
async def test_a_validly_signed_cookie_naming_no_string_is_anonymous(app, auth_id):
    from quart_auth import QuartAuth

    ext: QuartAuth = app.extensions["QUART_AUTH"][0]
    async with app.app_context():
        cookie = ext.dump_token(auth_id, app=app)
    visitor = app.test_client()
    visitor.set_cookie("localhost", "quartapp_auth", cookie)
    assert (await visitor.get("/")).status_code == 302


async def test_a_cookie_signed_with_a_retired_key_still_works_while_it_is_a_fallback(tmp_path, app, auth):
    from .conftest import make_app

    await auth.signup()
    cookies = {c.name: c.value for c in auth.client.cookie_jar}
    rotated = make_app(tmp_path, SECRET_KEY="the new secret", SECRET_KEY_FALLBACKS=[app.config["SECRET_KEY"]])
    async with rotated.test_app():
        visitor = rotated.test_client()
        for name, value in cookies.items():
            visitor.set_cookie("localhost", name, value)
        assert (await visitor.get("/")).status_code == 200
    retired = make_app(tmp_path, SECRET_KEY="the new secret")
    async with retired.test_app():
        visitor = retired.test_client()
        for name, value in cookies.items():
            visitor.set_cookie("localhost", name, value)
        assert (await visitor.get("/")).status_code == 302


async def test_a_cookie_signed_with_another_key_is_anonymous(tmp_path, app, auth):
    from quart_auth import QuartAuth

    from .conftest import make_app

    await auth.signup()
    real = next(c.value for c in auth.client.cookie_jar if c.name == "quartapp_auth")
    other = make_app(tmp_path / "other", SECRET_KEY="another secret")
    ext: QuartAuth = other.extensions["QUART_AUTH"][0]
    async with app.app_context():
        auth_id = ext.load_token(real, app=app)
    assert auth_id is not None
    forged = ext.dump_token(auth_id, app=other)
    visitor = app.test_client()
    visitor.set_cookie("localhost", "quartapp_auth", forged)
    assert (await visitor.get("/")).status_code == 302


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/", "/"),
        ("/healthz?x=1", "/healthz?x=1"),
        ("/café?q=ü", "/caf%C3%A9?q=%C3%BC"),  # a Location header is ASCII
        ("//evil.example", "/"),
        ("///evil.example", "/"),
        ("/\\evil.example", "/"),
        ("\\\\evil.example", "/"),
        ("https://evil.example", "/"),
        ("https:evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("/\t/evil.example", "/"),
        ("/\x00/evil.example", "/"),
        (" //evil.example", "/"),
        ("evil.example", "/"),
        ("", "/"),
    ],
)
async def test_next_is_followed_only_to_paths_on_this_site(client, auth, target, expected):
    await auth.signup()
    await auth.signout()
    form = {"username": "alice", "password": PASSWORD, "csrf_token": await auth.token()}
    response = await client.post("/signin", form=form, query_string={"next": target})
    assert response.status_code == 303
    assert response.headers["Location"] == expected


async def test_signing_in_replaces_the_csrf_secret_with_the_redirect(client, auth):
    await auth.signup()
    await auth.signout()
    before = await auth.token()  # a token of the anonymous visitor, as a login-CSRF attacker holds
    response = await auth.signin()
    assert any(h.startswith("quartapp_session=") for h in response.headers.getlist("Set-Cookie"))
    page = await client.get("/")
    assert "Set-Cookie" not in page.headers  # the next page finds its secret in place
    refused = await client.post("/sessions/revoke-others", form={"csrf_token": before})
    assert refused.status_code == 400
    accepted = await client.post("/sessions/revoke-others", form={"csrf_token": await auth.token("/")})
    assert accepted.status_code == 303
