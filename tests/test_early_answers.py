"""An answer sent before a POST's body has arrived leaves the kept-alive connection usable, or
says "Connection: close" and closes it: over raw sockets, against the served app."""

import http.client
import secrets
import socket
import threading
import time

import pytest

from quartapp.web.connection import BODY_GRACE

from .conftest import PASSWORD
from .serving import app_env, migrate, serve
from .test_workers import Visitor

BODY = b"username=bob"  # 12 bytes


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One worker with one bcrypt thread that a single hash fills: at cost 14 a sign-up keeps it
    full for about a second, and a hashing form posted meanwhile is refused at the door."""
    folder = tmp_path_factory.mktemp("early-answers")
    settings = {"HASH_WORKERS": "1", "HASH_MAX_WAIT": "0", "HASH_PATIENCE": "0", "BCRYPT_ROUNDS": "14"}
    env = app_env(INSTANCE_PATH=str(folder), SECRET_KEY=secrets.token_urlsafe(32), **settings)
    migrate(env)
    with serve(env, folder, ["--workers", "1"]) as served:
        yield served
    log = served.log.read_text()
    assert "Traceback" not in log


class Connection:
    """One HTTP/1.1 connection over a plain socket, kept alive between requests."""

    def __init__(self, url: str) -> None:
        host, port = url.removeprefix("http://").split(":")
        self.socket = socket.create_connection((host, int(port)), timeout=5)

    def send_head(self, method: str, path: str, length: int, host: str = "127.0.0.1") -> None:
        head = f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {length}\r\n"
        head += "Content-Type: application/x-www-form-urlencoded\r\n\r\n"
        self.socket.sendall(head.encode())

    def answer(self, method: str = "POST") -> http.client.HTTPResponse:
        response = http.client.HTTPResponse(self.socket, method=method)
        response.begin()
        response.read()
        return response

    def post_late(self, path: str, host: str = "127.0.0.1") -> http.client.HTTPResponse:
        """POST with the body 50 ms behind the headers, as a slow client sends it; return the answer."""
        self.send_head("POST", path, len(BODY), host)
        time.sleep(0.05)
        self.socket.sendall(BODY)
        return self.answer()

    def get(self, path: str) -> http.client.HTTPResponse:
        self.socket.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        return self.answer("GET")

    def closed(self) -> bool:
        """Whether the server closes the connection (within the socket's timeout)."""
        try:
            return self.socket.recv(1) == b""
        except ConnectionResetError:
            return True
        except TimeoutError:
            return False

    def close(self) -> None:
        self.socket.close()


@pytest.fixture
def connection(server):
    connection = Connection(server.url)
    yield connection
    connection.close()


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/2fa/recovery-codes", 302),  # login_required: signed out, to /signin
        ("/passkeys/signin/options", 400),  # the CSRF header is checked before the body is read
        ("/no-such-page", 404),
        ("/healthz", 405),
    ],
)
def test_the_connection_serves_the_next_request_after_an_early_answer(connection, path, status):
    answer = connection.post_late(path)
    assert answer.status == status
    assert answer.getheader("Connection") is None
    assert connection.get("/healthz").status == 200


def test_a_refusal_at_the_door_keeps_the_connection(server, connection):
    visitor = Visitor(server.url)
    form = {"username": "alice", "password": PASSWORD, "confirm": PASSWORD}
    signup = threading.Thread(target=visitor.post_form, args=("/signup", form, "/signup"))
    signup.start()
    refusals: list[http.client.HTTPResponse] = []
    while signup.is_alive() and not refusals:  # until the sign-up's hash fills the queue
        answer = connection.post_late("/signin")
        if answer.status == 503:
            refusals.append(answer)
        else:
            assert answer.status == 400  # no CSRF token: the form again, no hash
        assert connection.get("/healthz").status == 200
    signup.join(30)
    assert refusals, "the sign-up's hash never filled the queue"
    assert int(refusals[0].getheader("Retry-After", "")) >= 1
    assert refusals[0].getheader("Connection") is None


def test_a_body_that_never_comes_gets_connection_close(connection):
    started = time.monotonic()
    connection.send_head("POST", "/2fa/recovery-codes", len(BODY))
    answer = connection.answer()
    assert answer.status == 302
    assert answer.getheader("Connection") == "close"
    assert connection.closed()
    assert BODY_GRACE <= time.monotonic() - started < BODY_GRACE + 2


def test_a_declared_body_over_the_limit_is_413_with_connection_close_at_once(connection):
    started = time.monotonic()
    connection.send_head("POST", "/signin", 64 * 1024 + 1)
    answer = connection.answer()
    assert answer.status == 413
    assert answer.getheader("Connection") == "close"
    assert connection.closed()
    assert time.monotonic() - started < BODY_GRACE  # no wait for a body that is not wanted


def test_the_gate_refusing_a_host_closes_the_connection(connection):
    answer = connection.post_late("/signin", host="evil.example")
    assert answer.status == 400
    assert answer.getheader("Connection") == "close"
    assert connection.closed()
