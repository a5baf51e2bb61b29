"""quartapp.testing, the pytest plugin: its signed_in sessions are real ones, and it stays off
in projects that do not ask for it."""

import subprocess
import sys
import textwrap

import pytest

from quartapp.db.models import AuthSession, User
from quartapp.testing import sign_in

from .conftest import AuthActions, PASSWORD, rows, running_app


async def test_signed_in_creates_the_user_and_a_session_row(app, client, signed_in):
    user = await signed_in(client, "alice", email="alice@example.org")
    [row] = await rows(app, User)
    assert (row.id, row.username, row.verified_email_key) == (user.id, "alice", "alice@example.org")
    [session] = await rows(app, AuthSession)
    assert (session.id, session.user_id, session.user_agent) == (user.session_id, user.id, "quartapp.testing")
    page = await (await client.get("/")).get_data(as_text=True)
    assert "Signed in as <strong>alice</strong>" in page


async def test_signing_an_existing_user_in_again_adds_a_session(app, signed_in):
    first, second = app.test_client(), app.test_client()
    one, two = await signed_in(first, "alice"), await signed_in(second, "Alice")
    assert one.id == two.id
    assert one.session_id != two.session_id
    assert len(await rows(app, AuthSession)) == 2


async def test_without_a_password_no_password_signs_the_user_in(app, client, signed_in):
    await signed_in(client, "alice")
    form_user = AuthActions(app.test_client())
    for guess in ("", "not a password", PASSWORD):
        assert (await form_user.signin("alice", guess)).status_code in (200, 400)
    [row] = await rows(app, User)
    assert row.password_hash.startswith("$2b$04$")


async def test_with_a_password_the_form_accepts_it(app, client, signed_in):
    await signed_in(client, "alice", password=PASSWORD)
    assert (await AuthActions(app.test_client()).signin("alice", PASSWORD)).status_code == 303


async def test_sign_out_ends_the_fixtures_session(app, signed_in):
    auth = AuthActions(app.test_client())
    await signed_in(auth.client, "alice")
    assert (await auth.signout()).status_code == 303
    assert await rows(app, AuthSession) == []
    assert (await auth.get("/")).status_code == 302


async def test_revocation_and_expiry_apply_to_the_fixtures_session(app, signed_in, clock):
    laptop, phone = app.test_client(), app.test_client()
    await signed_in(laptop, "alice")
    await signed_in(phone, "alice", remember=True)
    auth = AuthActions(laptop)
    await auth.post("/sessions/revoke-others", {}, token_from="/sessions")
    assert (await phone.get("/")).status_code == 302
    clock.advance(hours=3)  # past the idle timeout of a session without "remember me"
    assert (await laptop.get("/")).status_code == 302


async def test_recent_false_makes_sensitive_pages_ask_for_the_password(client, signed_in):
    await signed_in(client, "alice", recent=False)
    assert (await client.get("/password")).headers["Location"] == "/reauthenticate?next=/password"


async def test_the_cookie_follows_the_apps_cookie_policy(tmp_path, signed_in):
    async with running_app(tmp_path, COOKIE_SECURE=True) as app:
        client = app.test_client()
        await signed_in(client, "alice")
        assert client.cookie_jar is not None
        [cookie] = list(client.cookie_jar)
        assert (cookie.name, cookie.secure) == ("__Host-quartapp_auth", True)
        assert (await client.get("/", scheme="https")).status_code == 200


async def test_a_name_the_signup_form_would_refuse_is_an_error(client):
    with pytest.raises(ValueError, match="not a username"):
        await sign_in(client, "no spaces allowed")


@pytest.mark.parametrize(
    ("ini", "expected"),
    [
        ("", "no quartapp fixtures"),
        ("quartapp_app = quartapp:create_app", "signed_in\n.\n1 passed"),
        ("quartapp_app = no_such_module:create_app", "names no app factory: No module named 'no_such_module'"),
        ("quartapp_app = quartapp:no_such_factory", "names no app factory"),
    ],
)
def test_the_plugin_is_on_only_where_the_project_names_its_app(tmp_path, ini, expected, monkeypatch):
    monkeypatch.delenv("QUARTAPP_TEST_DATABASE_URL", raising=False)
    assert expected in run_project(tmp_path, ini)


def test_a_test_database_it_cannot_reach_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("QUARTAPP_TEST_DATABASE_URL", "postgresql+psycopg_async://u@127.0.0.1/x")
    output = run_project(tmp_path, "quartapp_app = quartapp:create_app")
    assert (
        "QUARTAPP_TEST_DATABASE_URL: DATABASE_URL postgresql+psycopg_async://u@127.0.0.1/x needs the psycopg" in output
    )
    assert "Traceback" not in output


def run_project(tmp_path, ini: str) -> str:
    """Run pytest on a one-test project with ini; return what it printed."""
    (tmp_path / "pytest.ini").write_text(f"[pytest]\nasyncio_default_fixture_loop_scope = function\n{ini}\n")
    (tmp_path / "test_it.py").write_text(
        textwrap.dedent("""
            import pytest

            def test_fixtures(request):
                try:
                    request.getfixturevalue("signed_in")
                except pytest.FixtureLookupError:
                    print("no quartapp fixtures")
                else:
                    print("signed_in")
                    request.getfixturevalue("quartapp_factory")
        """)
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-s", "-q", "-p", "no:cacheprovider", "test_it.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout + result.stderr
