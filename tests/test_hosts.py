import logging
import socket

import pytest
from werkzeug.datastructures import Headers

from quartapp.config import ConfigurationError

from .conftest import AuthActions, make_app, running_app
from .serving import app_env, migrate, serve

ROUTES = [("GET", "/"), ("GET", "/signin"), ("POST", "/signin"), ("GET", "/signup"), ("POST", "/signup"),
          ("POST", "/signout"), ("GET", "/sessions"), ("GET", "/password"), ("GET", "/healthz"),
          ("GET", "/static/style.css"), ("GET", "/no-such-page")]  # fmt: skip

BAD_HOSTS = [
    "..",
    "a" * 300,
    "",
    "evil.example",
    "localhost.evil.example",
    "127.0.0.1:99999",
    "127.0.0.1:0",
    "127.0.0.1:",
    "local host",
    "user@localhost",
    "localhost/..",
    "-localhost",
]


async def request(client, method: str, path: str, host: str | Headers):
    headers = host if isinstance(host, Headers) else Headers({"Host": host})
    return await client.open(path, method=method, headers=headers)


@pytest.mark.parametrize("host", BAD_HOSTS)
async def test_an_unlisted_or_malformed_host_is_a_plain_400_on_every_route(app, caplog, host):
    client = app.test_client()
    await AuthActions(client).signup()  # signed in, so protected pages would otherwise answer
    caplog.set_level(logging.WARNING)
    for method, path in ROUTES:
        response = await request(client, method, path, host)
        assert response.status_code == 400, (method, path)
        page = await response.get_data(as_text=True)
        assert "does not answer to the host name" in page
        assert response.headers["Content-Security-Policy"].startswith("default-src 'self'")
        assert response.headers["Cache-Control"] == "no-store"
        assert "Set-Cookie" not in response.headers
    assert [record for record in caplog.records if record.levelno >= logging.WARNING] == []


async def test_two_host_headers_are_a_400(client):
    response = await request(client, "GET", "/healthz", Headers([("Host", "localhost"), ("Host", "evil.example")]))
    assert response.status_code == 400


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1:8000", "[::1]:8000", "[::1]", "LOCALHOST", "localhost."])
async def test_the_default_hosts_with_or_without_a_port_are_served(client, host):
    assert (await request(client, "GET", "/healthz", host)).status_code == 200
    response = await request(client, "GET", "/signin", host)
    assert response.status_code == 200
    assert 'name="csrf_token"' in await response.get_data(as_text=True)


async def test_trusted_hosts_lists_the_names_and_subdomains_served(tmp_path):
    async with running_app(tmp_path, TRUSTED_HOSTS=["auth.example.com", ".example.org", "2001:db8::1"]) as app:
        client = app.test_client()
        for host in ("auth.example.com", "AUTH.example.com:443", "example.org", "a.b.example.org", "[2001:db8::1]:80"):
            assert (await request(client, "GET", "/signin", host)).status_code == 200, host
        for host in ("localhost", "127.0.0.1", "example.com", "evil-example.org", "auth.example.com.evil.example"):
            assert (await request(client, "GET", "/signin", host)).status_code == 400, host


@pytest.mark.parametrize("value", ["localhost", [], [""], [1], None])
def test_a_malformed_trusted_hosts_setting_is_refused_at_start(tmp_path, value):
    with pytest.raises(ConfigurationError, match="TRUSTED_HOSTS"):
        make_app(tmp_path, TRUSTED_HOSTS=value)


def raw_request(url: str, host_line: bytes) -> bytes:
    """Send a GET /healthz with the given Host line over a plain socket; return the status line."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as connection:
        connection.sendall(b"GET /healthz HTTP/1.1\r\n" + host_line + b"Connection: close\r\n\r\n")
        return connection.makefile("rb").readline()


def test_the_served_app_refuses_bad_hosts_and_keeps_serving(tmp_path):
    env = app_env(DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'served.sqlite3'}", INSTANCE_PATH=str(tmp_path))
    migrate(env)
    with serve(env, tmp_path) as server:
        # The test client cannot send "[::1" (its cookie jar parses the URL first): sent raw here.
        for line in (b"Host: ..\r\n", b"Host: " + b"a" * 300 + b"\r\n", b"Host: [::1\r\n", b""):
            assert raw_request(server.url, line).startswith(b"HTTP/1.1 400"), line
        assert raw_request(server.url, b"Host: 127.0.0.1\r\n").startswith(b"HTTP/1.1 200")
    log = server.log.read_text()
    assert "Traceback" not in log
    assert "ERROR" not in log
