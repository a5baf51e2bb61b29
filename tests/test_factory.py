import inspect

import pytest

from quartapp import create_app

from .conftest import auth_cookie, AuthActions, make_app, running_app


def test_config_precedence_defaults_then_environment_then_test_config(tmp_path, monkeypatch):
    app = create_app(instance_path=str(tmp_path))
    assert app.config["BCRYPT_ROUNDS"] == 12
    assert app.config["DATABASE_URL"] == f"sqlite+aiosqlite:///{tmp_path / 'quartapp.sqlite3'}"

    monkeypatch.setenv("QUARTAPP_BCRYPT_ROUNDS", "10")
    monkeypatch.setenv("QUARTAPP_DATABASE_URL", "sqlite+aiosqlite:///elsewhere.sqlite3")
    monkeypatch.setenv("QUARTAPP_SECRET_KEY", "from the environment")
    app = create_app(instance_path=str(tmp_path))
    assert app.config["BCRYPT_ROUNDS"] == 10
    assert app.config["DATABASE_URL"] == "sqlite+aiosqlite:///elsewhere.sqlite3"
    assert app.secret_key == "from the environment"

    app = create_app({"BCRYPT_ROUNDS": 4}, instance_path=str(tmp_path))
    assert app.config["BCRYPT_ROUNDS"] == 4
    assert app.secret_key == "from the environment"


def test_secret_key_is_generated_once_and_kept(tmp_path):
    first = create_app(instance_path=str(tmp_path / "instance")).secret_key
    second = create_app(instance_path=str(tmp_path / "instance")).secret_key
    assert first == second
    assert first is not None
    assert len(first) >= 64
    assert (tmp_path / "instance" / "secret_key").stat().st_mode & 0o777 == 0o600
    assert create_app(instance_path=str(tmp_path / "other")).secret_key != first


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("BCRYPT_ROUNDS", 3),
        ("BCRYPT_ROUNDS", "12"),
        ("COOKIE_SECURE", "yes"),
        ("SERVER_WORKERS", 0),
        ("SIGNIN_CODE_LIFETIME", -1),
        ("SIGNIN_CODE_ATTEMPTS", 0),
        ("TRUSTED_BROWSER_DAYS", "30"),
        ("PASSWORD_MIN_STRENGTH", 5),
        ("BREACHED_PASSWORD_URL", "file:///etc/passwd"),
    ],
)
def test_bad_settings_fail_at_start_up(tmp_path, name, value):
    with pytest.raises(ValueError, match=name):
        make_app(tmp_path, **{name: value})


async def test_cookies_over_https_are_secure_and_host_prefixed(tmp_path):
    async with running_app(tmp_path) as app:
        client = app.test_client()
        page = await client.get("/signup", scheme="https")
        assert page.headers["Set-Cookie"].startswith("__Host-quartapp_session=")
        assert "Secure" in page.headers["Set-Cookie"]
        actions = AuthActions(client)
        token = await actions.token("/signup")  # over http: a different, unprefixed cookie
        assert token
        from quartapp.testing.helpers import csrf_token

        token = csrf_token(await page.get_data(as_text=True))
        form = {"username": "alice", "password": "correct horse", "confirm": "correct horse", "csrf_token": token}
        response = await client.post("/signup", form=form, scheme="https")
        assert response.status_code == 303
        cookie = auth_cookie(response)
        assert cookie is not None
        assert cookie.startswith("__Host-quartapp_auth=")
        assert "Secure" in cookie
        assert "HttpOnly" in cookie
        assert "Path=/" in cookie
        assert "Domain" not in cookie
        assert (await client.get("/", scheme="https")).status_code == 200
        # The same cookie is not accepted over plain http, where it would not have been sent.
        assert (await client.get("/")).status_code == 302


async def test_cookie_secure_false_serves_plain_http_behind_any_scheme(tmp_path):
    async with running_app(tmp_path, COOKIE_SECURE=False) as app:
        client = app.test_client()
        page = await client.get("/signup", scheme="https")
        assert page.headers["Set-Cookie"].startswith("quartapp_session=")
        assert "Secure" not in page.headers["Set-Cookie"]


def test_the_instance_folder_can_live_elsewhere(tmp_path, monkeypatch):
    monkeypatch.setenv("QUARTAPP_INSTANCE_PATH", str(tmp_path / "state"))
    app = create_app()
    assert app.config["DATABASE_URL"] == f"sqlite+aiosqlite:///{tmp_path / 'state' / 'quartapp.sqlite3'}"
    assert (tmp_path / "state" / "secret_key").read_text().strip() == app.secret_key


def test_trusted_proxies_may_be_a_json_list_or_a_comma_separated_string(tmp_path, monkeypatch):
    monkeypatch.setenv("QUARTAPP_TRUSTED_PROXIES", '["10.0.0.5", "10.1.0.0/16"]')
    assert create_app({"SECRET_KEY": "x"}, instance_path=str(tmp_path)).config["TRUSTED_PROXIES"] == [
        "10.0.0.5",
        "10.1.0.0/16",
    ]
    monkeypatch.setenv("QUARTAPP_TRUSTED_PROXIES", "10.0.0.5, 10.1.0.0/16")
    assert (
        create_app({"SECRET_KEY": "x"}, instance_path=str(tmp_path)).config["TRUSTED_PROXIES"]
        == "10.0.0.5, 10.1.0.0/16"
    )


async def test_an_applications_blueprint_adds_pages_and_replaces_templates(tmp_path):
    from quart import Blueprint

    from quartapp import create_app

    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "error.html").write_text("The app's own error page: {{ code }}")
    (templates / "hello.html").write_text('{% extends "base.html" %}{% block content %}Hello{% endblock %}')
    bp = Blueprint("hello", __name__, template_folder=str(templates))

    @bp.get("/hello")
    async def hello() -> str:
        from quart import render_template

        return await render_template("hello.html")

    settings = {"TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'db'}"}
    app = create_app(settings, instance_path=str(tmp_path / "instance"), blueprints=[bp])
    async with app.test_app():
        client = app.test_client()
        response = await client.get("/no-such-page")
        assert (response.status_code, await response.get_data(as_text=True)) == (404, "The app's own error page: 404")
        page = await (await client.get("/hello")).get_data(as_text=True)
        assert "Hello" in page
        assert "<title> · quartapp</title>" in page  # quartapp's layout, not replaced


async def test_a_page_runs_no_context_processor_in_a_thread(tmp_path, monkeypatch):
    # Quart runs a synchronous context processor in a thread: a trip per page, for every page
    # of every blueprint, when Flask's default one came along with each blueprint.
    from quart import Blueprint, render_template_string

    bp = Blueprint("late", __name__)

    @bp.get("/late")
    async def late() -> str:
        return await render_template_string("{{ 1 + 1 }}")

    app = make_app(tmp_path)
    app.register_blueprint(bp)  # registered after the factory, too
    assert all(inspect.iscoroutinefunction(f) for fs in app.template_context_processors.values() for f in fs)
    monkeypatch.setattr(app, "sync_to_async", lambda func: pytest.fail(f"{func} would run in a thread"))
    async with app.test_app():
        assert await (await app.test_client().get("/late")).get_data(as_text=True) == "2"
