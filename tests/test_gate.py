import logging
import socket
from typing import Any

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


def raw(url: str, request: bytes, *, chunks: int = 0) -> bytes:
    """Send request bytes over a plain socket (then chunks of 16 KiB, never the last one);
    return the status line of the answer."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as connection:
        connection.sendall(request)
        for _ in range(chunks):
            connection.sendall(b"4000\r\n" + b"x" * 0x4000 + b"\r\n")
        return connection.makefile("rb").readline()


def get(target: bytes, host: bytes = b"127.0.0.1", extra: bytes = b"") -> bytes:
    return b"GET " + target + b" HTTP/1.1\r\nHost: " + host + b"\r\n" + extra + b"Connection: close\r\n\r\n"


def test_the_served_app_refuses_what_it_cannot_read_and_keeps_serving(tmp_path):
    env = app_env(DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'served.sqlite3'}", INSTANCE_PATH=str(tmp_path))
    migrate(env)
    with serve(env, tmp_path) as server:
        # The test client cannot send "[::1" (its cookie jar parses the URL first): sent raw here.
        for host in (b"..", b"a" * 300, b"[::1", b"evil.example"):
            assert raw(server.url, get(b"/healthz", host)).startswith(b"HTTP/1.1 400"), host
        assert raw(server.url, b"GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n").startswith(b"HTTP/1.1 400")
        # Quart would index an empty path and fail with a 500.
        for target in (b"?x=1", b"?"):
            assert raw(server.url, get(target)).startswith(b"HTTP/1.1 400"), target
        # No websockets here: refused before the app, whatever the Host.
        upgrade = b"GET /signin HTTP/1.1\r\nHost: evil.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        upgrade += b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        assert raw(server.url, upgrade).startswith(b"HTTP/1.1 403")
        # A chunked body past MAX_CONTENT_LENGTH is refused as it arrives, not after the end.
        post = b"POST /signin HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
        post += b"Content-Type: application/x-www-form-urlencoded\r\n\r\n"
        assert raw(server.url, post, chunks=8).startswith(b"HTTP/1.1 413")
        assert raw(server.url, get(b"/healthz")).startswith(b"HTTP/1.1 200")
    log = server.log.read_text()
    assert "Traceback" not in log
    assert "ERROR" not in log


async def call(app, scope: dict[str, Any]) -> list[dict[str, Any]]:
    """Send one request straight through the app's ASGI interface; return what it sent."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    base = {"type": "http", "http_version": "1.1", "method": "GET", "scheme": "http", "root_path": "",
            "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8000), "extensions": {}}  # fmt: skip
    await app(base | scope, receive, send)
    return sent


async def test_a_query_that_is_not_utf8_is_a_400(app):
    # HTTP/2 lets raw bytes through where HTTP/1.1's parser refuses them.
    sent = await call(app, {"path": "/signin", "raw_path": b"/signin", "query_string": b"next=\xff",
                            "headers": [(b"host", b"localhost")]})  # fmt: skip
    assert sent[0]["status"] == 400
    assert b"not one this server can read" in sent[1]["body"]


@pytest.mark.parametrize(
    "header",
    [
        {"If-Modified-Since": "Mon, 01 Jan 99999999999 00:00:00 GMT"},
        {"If-Modified-Since": "Mon, 01 Jan 2020 00:00:00 +99999999999999"},
        {"Range": "bytes=0-1", "If-Range": "Mon, 01 Jan 99999999999 00:00:00 GMT"},
    ],
)
async def test_an_impossible_date_in_a_conditional_request_is_ignored(client, header):
    response = await client.get("/static/style.css", headers=header)
    assert response.status_code in (200, 206)
    assert await response.get_data()


async def test_static_names_too_long_for_any_file_are_404(client):
    for path in ("/static/" + "a" * 256, "/static/" + "a/" * 2100 + "b"):
        assert (await client.get(path)).status_code == 404


async def test_double_slashes_are_not_redirected_to_an_absolute_url(client):
    response = await client.get("/static//style.css")
    assert response.status_code == 404
    assert "Location" not in response.headers


async def test_a_refusal_carries_the_security_headers_of_a_page(client):
    names = ["X-Content-Type-Options", "Referrer-Policy", "Strict-Transport-Security", "Content-Security-Policy",
             "Cache-Control"]  # fmt: skip
    page = await client.get("/signin", scheme="https")
    refused = await client.open("/signin", headers=Headers({"Host": "evil.example"}), scheme="https")
    assert refused.status_code == 400
    assert page.headers["Strict-Transport-Security"] == "max-age=63072000"
    assert [refused.headers.get(name) for name in names] == [page.headers.get(name) for name in names]
