import logging

import pytest

from .conftest import running_app


async def test_html_pages_forbid_plugins(client):
    policy = (await client.get("/signin")).headers["Content-Security-Policy"]
    assert "object-src 'none'" in policy.split("; ")


async def test_strict_transport_security_is_sent_over_https(client):
    response = await client.get("/signin", scheme="https")
    assert response.headers["Strict-Transport-Security"] == "max-age=63072000"
    assert (await client.get("/static/style.css", scheme="https")).headers["Strict-Transport-Security"]


async def test_no_strict_transport_security_over_plain_http_by_default(client):
    assert "Strict-Transport-Security" not in (await client.get("/signin")).headers


async def test_strict_transport_security_whenever_cookies_are_always_secure(tmp_path):
    async with running_app(tmp_path, COOKIE_SECURE=True, HSTS_MAX_AGE=600) as app:
        response = await app.test_client().get("/healthz")
        assert response.headers["Strict-Transport-Security"] == "max-age=600"


async def test_strict_transport_security_can_be_turned_off(tmp_path):
    async with running_app(tmp_path, HSTS_MAX_AGE=None) as app:
        assert "Strict-Transport-Security" not in (await app.test_client().get("/signin", scheme="https")).headers


@pytest.mark.parametrize("error", [FileNotFoundError("templates/missing.html"), TimeoutError("a slow call")])
async def test_an_io_error_outside_the_database_is_a_logged_500(tmp_path, caplog, error):
    async with running_app(tmp_path, TESTING=False) as app:

        async def broken() -> str:
            raise error

        app.add_url_rule("/broken", "broken", broken)
        caplog.set_level(logging.ERROR)
        response = await app.test_client().get("/broken")
        assert response.status_code == 500
        assert "Temporarily unavailable" not in await response.get_data(as_text=True)
        assert "Retry-After" not in response.headers
        logged = [record for record in caplog.records if record.levelno == logging.ERROR]
        assert logged
        assert logged[0].exc_info is not None
        assert logged[0].exc_info[1] is error
