"""Passwords from the top of every cracking list are refused wherever a password is set, never at sign-in."""

import hashlib
import http.server
import logging
import socketserver
import string
import threading
from collections.abc import Iterator

import bcrypt
import pytest

from quartapp import breaches
from quartapp.testing.databases import execute

from .conftest import AuthActions, PASSWORD, run, running_app

WEAK = {
    "password1": "This is a very common password.",
    "Summer2026!": "This is similar to a commonly used password.",
    "qwertyuiop": "",
}
STRONG = "a brand new passphrase"


def refusal(page: str) -> bool:
    return "This password is too easy to guess." in page and "Try a passphrase" in page


@pytest.mark.parametrize("password", list(WEAK))
async def test_sign_up_refuses_a_common_password_and_says_why(client, auth, password):
    response = await auth.signup("alice", password)
    assert response.status_code == 200
    page = await response.get_data(as_text=True)
    assert refusal(page)
    assert WEAK[password] in page
    assert (await auth.signup("alice", STRONG)).status_code == 303


@pytest.mark.parametrize("password", ["alice2026", "4l1ce2026", "ecila123", "Bob.Smith99", "bobsmith!"])
async def test_the_username_or_address_with_small_changes_is_refused(client, auth, password):
    form = {"username": "alice", "password": password, "confirm": password, "email": "bob.smith@example.org"}
    response = await auth.post("/signup", form, token_from="/signup")
    assert refusal(await response.get_data(as_text=True)), password


async def test_a_new_password_and_a_reset_are_checked_too(mail_app, mailbox):
    from .test_addresses import signup_verified
    from .test_recovery import ask, open_link, set_password

    alice = await signup_verified(mail_app, mailbox, "alice", "alice@example.org")
    response = await alice.post("/password", {"password": "password1", "confirm": "password1"}, token_from="/password")
    assert response.status_code == 200
    assert refusal(await response.get_data(as_text=True))
    visitor = AuthActions(mail_app.test_client())
    await ask(visitor, "alice@example.org")
    await open_link(visitor, (await mailbox.wait(2))[1])
    response = await set_password(visitor, "Summer2026!")
    assert response.status_code == 200
    assert refusal(await response.get_data(as_text=True))
    assert (await set_password(visitor, STRONG)).status_code == 303


async def test_the_command_line_refuses_it_too(cli_app):
    result = await run(cli_app, "create-user", "alice", "--password-stdin", input="password1\n")
    assert result.exit_code == 1
    assert "password: This password is too easy to guess. This is a very common password." in result.output
    assert (await run(cli_app, "create-user", "alice", "--password-stdin", input=f"{PASSWORD}\n")).exit_code == 0
    result = await run(cli_app, "set-password", "alice", "--password-stdin", input="alice123\n")
    assert result.exit_code == 1
    assert "too easy to guess" in result.output


async def test_an_existing_weak_password_still_signs_in(app, auth):
    """Set before the rule, or by an operator: a sign-in compares hashes, it judges nothing."""
    await auth.signup("alice", STRONG)
    await auth.signout()
    weak = bcrypt.hashpw(b"password1", bcrypt.gensalt(4)).decode()
    assert set(weak) <= set("$./" + string.ascii_letters + string.digits)  # nothing to quote in the statement
    await execute(app.config["DATABASE_URL"], f"UPDATE users SET password_hash = '{weak}'")  # noqa: S608
    assert (await auth.signin("alice", "password1")).headers["Location"] == "/"


async def test_the_check_can_be_turned_off(tmp_path):
    async with running_app(tmp_path, PASSWORD_MIN_STRENGTH=0) as app:
        assert (await AuthActions(app.test_client()).signup("alice", "password1")).status_code == 303


class RangeServer(http.server.ThreadingHTTPServer):
    """A local stand-in for a Pwned-Passwords range API: it knows one password, and logs each path asked."""

    def __init__(self, known: str, count: int) -> None:
        digest = hashlib.sha1(known.encode(), usedforsecurity=False).hexdigest().upper()
        self.prefix, self.answer = digest[:5], f"{digest[5:]}:{count}\r\n{'0' * 35}:0\r\n"
        self.paths: list[str] = []
        super().__init__(("127.0.0.1", 0), RangeHandler)


class RangeHandler(http.server.BaseHTTPRequestHandler):
    server: RangeServer

    def do_GET(self) -> None:
        self.server.paths.append(self.path)
        known = self.path.endswith("/" + self.server.prefix)
        body = (self.server.answer if known else f"{'1' * 35}:3\r\n").encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def range_server() -> Iterator[RangeServer]:
    server = RangeServer(STRONG, 12345)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    breaches._cache.clear()
    yield server
    server.shutdown()
    server.server_close()


async def test_a_breached_password_is_refused_by_its_sha1_prefix_alone(tmp_path, range_server):
    url = f"http://127.0.0.1:{range_server.server_address[1]}/range"
    async with running_app(tmp_path, BREACHED_PASSWORD_URL=url) as app:
        auth = AuthActions(app.test_client())
        response = await auth.signup("alice", STRONG)
        assert response.status_code == 200
        page = await response.get_data(as_text=True)
        assert "This password has appeared in 12,345 leaks of other sites" in page
        assert range_server.paths == [f"/range/{range_server.prefix}"]  # five hex characters, nothing more
        assert (await auth.signup("alice", "another fine passphrase")).status_code == 303
        await auth.signout()
        await auth.signup("bob", STRONG)  # the same prefix again: from the cache
        assert len(range_server.paths) == 2


async def test_a_breach_service_that_is_down_allows_the_password(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="quartapp.breaches")
    breaches._cache.clear()
    async with running_app(tmp_path, BREACHED_PASSWORD_URL="http://127.0.0.1:9/range") as app:
        assert (await AuthActions(app.test_client()).signup("alice", STRONG)).status_code == 303
    assert any("breached-password check skipped" in r.getMessage() for r in caplog.records)


class MisbehavingServer(socketserver.ThreadingTCPServer):
    """A breach service gone wrong: a reply that is not HTTP, or a body trickling in for ever."""

    daemon_threads = True

    def __init__(self, reply: bytes, trickle: bool) -> None:
        self.reply, self.trickle, self.stop = reply, trickle, threading.Event()
        super().__init__(("127.0.0.1", 0), MisbehavingHandler)


class MisbehavingHandler(socketserver.BaseRequestHandler):
    server: MisbehavingServer

    def handle(self) -> None:
        self.request.recv(4096)
        self.request.sendall(self.server.reply)
        while self.server.trickle and not self.server.stop.wait(0.1):  # a byte within every socket timeout
            try:
                self.request.sendall(b"0")
            except OSError:
                return


@pytest.mark.parametrize(
    ("reply", "trickle"),
    [
        (b"this is not HTTP\r\n\r\n", False),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n", True),
    ],
    ids=["not-http", "endless-body"],
)
async def test_a_breach_service_that_misbehaves_allows_the_password(tmp_path, caplog, reply, trickle):
    caplog.set_level(logging.WARNING, logger="quartapp.breaches")
    breaches._cache.clear()
    server = MisbehavingServer(reply, trickle)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/range"
    try:
        async with running_app(tmp_path, BREACHED_PASSWORD_URL=url, BREACHED_PASSWORD_TIMEOUT=0.5) as app:
            assert (await AuthActions(app.test_client()).signup("alice", STRONG)).status_code == 303
    finally:
        server.stop.set()
        server.shutdown()
        server.server_close()
    assert any("breached-password check skipped" in r.getMessage() for r in caplog.records)
