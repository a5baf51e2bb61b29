"""Several workers on one database share everything that must be shared (shutdown: test_shutdown.py)."""

import asyncio
import http.client
import re
import secrets
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest

from quartapp.testing.databases import execute
from quartapp.testing.helpers import csrf_token

from .conftest import PASSWORD
from .serving import app_env, BIN, migrate, ROOT, serve
from .totp_actions import code_at, codes_on, secret_on

# Each access-log line names the worker process that answered and the request's query string.
ACCESS_FORMAT = "%(p)s %(m)s %(U)s %(q)s %(s)s"


class Visitor:
    """A browser over real HTTP: one cookie jar, a new connection for every request, so
    whichever worker accepts it answers."""

    def __init__(self, url: str, cookies: dict[str, str] | None = None, timeout: float = 30) -> None:
        parts = urlsplit(url)
        assert parts.hostname is not None, url
        self.host, self.port = parts.hostname, parts.port
        self.cookies = dict(cookies or {})
        self.timeout = timeout

    def request(
        self, method: str, path: str, form: dict[str, str] | None = None, sent: threading.Barrier | None = None
    ) -> tuple[int, str, str]:
        """Send one request tagged with a fresh query string; return its status, body and tag.

        sent, if given, is waited at once the request is on the wire, before its answer is read.
        """
        tag = f"t={secrets.token_hex(6)}"
        path = f"{path}{'&' if '?' in path else '?'}{tag}"
        headers = {"Connection": "close", "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            connection.request(method, path, body=body, headers=headers)
            if sent is not None:
                sent.wait(30)
            response = connection.getresponse()
            text = response.read().decode()
            for header in response.headers.get_all("Set-Cookie") or []:
                name, value = header.split(";", 1)[0].split("=", 1)
                if "Max-Age=0" in header:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = value
            return response.status, text, tag
        finally:
            connection.close()

    def post_form(self, path: str, form: dict[str, str], token_from: str) -> tuple[int, str, str]:
        _, page, _ = self.request("GET", token_from)
        token = csrf_token(page)
        return self.request("POST", path, form | {"csrf_token": token})


def worker_of(access_log: Path, tag: str) -> str:
    """Return the process id that answered the request tagged tag."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        for line in access_log.read_text().splitlines():
            if tag in line:
                match = re.search(r"<(\d+)>", line)
                assert match, f"no process id in {line!r}"
                return match.group(1)
        time.sleep(0.05)
    raise AssertionError(f"no access-log line for {tag}")


@pytest.fixture
def two_workers(tmp_path, database):
    with serve_two_workers(tmp_path, database) as served:
        yield served


@contextmanager
def serve_two_workers(tmp_path, database, **settings: str):
    env = app_env(DATABASE_URL=database, SECRET_KEY=secrets.token_urlsafe(32), BCRYPT_ROUNDS="4", **settings)
    migrate(env)
    access_log = tmp_path / "access.log"
    options = ["--workers", "2", "--access-logfile", str(access_log), "--access-logformat", ACCESS_FORMAT]
    with serve(env, tmp_path, options) as server:
        yield server, access_log


def at_once(count: int, send) -> list[tuple[int, str, str]]:
    """Send count requests concurrently: a worker busy with one leaves the next to the other."""
    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(lambda _: send(), range(count)))


def test_a_session_signed_out_at_one_worker_is_refused_by_the_other(two_workers):
    server, access_log = two_workers
    alice = Visitor(server.url)
    status, _, _ = alice.post_form(
        "/signup", {"username": "alice", "password": PASSWORD, "confirm": PASSWORD}, "/signup"
    )
    assert status == 303
    copied = dict(alice.cookies)
    assert at_once(8, lambda: Visitor(server.url, copied).request("GET", "/"))[0][0] == 200
    status, _, _ = alice.post_form("/signout", {}, token_from="/")
    assert status == 303

    answered_by = set()
    for _ in range(5):
        replays = at_once(16, lambda: Visitor(server.url, copied).request("GET", "/"))
        assert {status for status, _, _ in replays} == {302}  # anonymous at every worker
        answered_by |= {worker_of(access_log, tag) for _, _, tag in replays}
        if len(answered_by) == 2:
            return
    pytest.fail("the replayed cookie never reached both workers")


def test_throttling_counts_failures_that_reached_either_worker(two_workers):
    server, access_log = two_workers
    for attempt in range(5):
        username = f"victim{attempt}"

        def fail(username: str = username) -> tuple[int, str, str]:
            return Visitor(server.url).post_form("/signin", {"username": username, "password": "wrong"}, "/signin")

        failures = at_once(6, fail)  # five free failures, and the sixth blocks the account
        assert {status for status, _, _ in failures} == {200}
        status, page, _ = fail()
        assert status == 429  # a counter per worker would have seen fewer than six
        assert "Too many failed sign-ins." in page
        if len({worker_of(access_log, tag) for _, _, tag in failures}) == 2:
            return
    pytest.fail("in five tries the failures never reached both workers")


def test_disabling_an_account_signs_it_out_at_every_worker(two_workers, database):
    server, access_log = two_workers
    alice = Visitor(server.url)
    form = {"username": "alice", "password": PASSWORD, "confirm": PASSWORD}
    assert alice.post_form("/signup", form, "/signup")[0] == 303
    copied = dict(alice.cookies)
    assert {status for status, _, _ in at_once(8, lambda: Visitor(server.url, copied).request("GET", "/"))} == {200}

    env = app_env(DATABASE_URL=database, SECRET_KEY="unused by the command")
    result = subprocess.run(
        [BIN / "quart", "--app", "quartapp", "disable-user", "alice"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    answered_by = set()
    for _ in range(5):
        replays = at_once(16, lambda: Visitor(server.url, copied).request("GET", "/"))
        assert {status for status, _, _ in replays} == {302}
        answered_by |= {worker_of(access_log, tag) for _, _, tag in replays}
        if len(answered_by) == 2:
            break
    else:
        pytest.fail("the replayed cookie never reached both workers")
    status, page, _ = Visitor(server.url).post_form("/signin", {"username": "alice", "password": PASSWORD}, "/signin")
    assert (status, "Invalid username or password." in page) == (200, True)


def test_deleting_an_account_signs_it_out_at_every_worker_and_no_row_keeps_its_name(tmp_path, database):
    with serve_two_workers(tmp_path, database) as (server, access_log):
        alice = Visitor(server.url)
        form = {"username": "alice", "password": PASSWORD, "confirm": PASSWORD}
        assert alice.post_form("/signup", form, "/signup")[0] == 303
        copied = dict(alice.cookies)

        def fail() -> tuple[int, str, str]:
            return Visitor(server.url).post_form("/signin", {"username": "alice", "password": "wrong"}, "/signin")

        failures = at_once(4, fail)  # events about alice held by both workers' writers
        status, _, _ = alice.post_form("/account/delete", {"username": "alice"}, "/account/delete")
        assert status == 303
        answered_by = set()
        for _ in range(5):
            replays = at_once(16, lambda: Visitor(server.url, copied).request("GET", "/"))
            assert {status for status, _, _ in replays} == {302}
            answered_by |= {worker_of(access_log, tag) for _, _, tag in [*replays, *failures]}
            if len(answered_by) == 2:
                break
        else:
            pytest.fail("the replayed cookie never reached both workers")
    # Stopped: every worker has written what it held, the failures' rows among them, most written
    # after the deletion (a worker writes once a second) and checked against its tombstone.
    names = asyncio.run(execute(database, "SELECT username_key, event FROM audit_events ORDER BY id"))
    assert len(names) >= 7  # sign-up, sign-in, four failures, the deletion
    assert {key for key, _ in names if not key.startswith("erased:")} == set()
    assert asyncio.run(execute(database, "SELECT count(*) FROM users")) == [(0,)]


def second_steps(server, count: int) -> list[tuple[Visitor, str]]:
    """count visitors past alice's password, each with the CSRF token of its second-step page."""
    visitors = []
    for _ in range(count):
        visitor = Visitor(server.url)
        assert visitor.post_form("/signin", {"username": "alice", "password": PASSWORD}, "/signin")[0] == 303
        visitors.append((visitor, csrf_token(visitor.request("GET", "/signin/second-factor")[1])))
    return visitors


def submit_at_once(visitors: list[tuple[Visitor, str]], code: str) -> list[tuple[int, str, str]]:
    with ThreadPoolExecutor(len(visitors)) as pool:
        send = lambda pair: pair[0].request("POST", "/signin/second-factor", {"code": code, "csrf_token": pair[1]})  # noqa: E731
        return list(pool.map(send, visitors))


@pytest.fixture
def two_patient_workers(tmp_path, database):
    """Two workers that let a thousand wrong codes go unthrottled: the losers of each race below."""
    with serve_two_workers(tmp_path, database, THROTTLE_ACCOUNT_FAILURES="1000") as served:
        yield served


def test_a_code_signs_in_once_whichever_worker_it_reaches(two_patient_workers):
    server, access_log = two_patient_workers
    alice = Visitor(server.url)
    signup = {"username": "alice", "password": PASSWORD, "confirm": PASSWORD}
    assert alice.post_form("/signup", signup, "/signup")[0] == 303
    assert alice.post_form("/2fa/totp/new", {}, token_from="/sessions")[0] == 303
    secret = secret_on(alice.request("GET", "/2fa/totp")[1])
    status, page, _ = alice.post_form("/2fa/totp", {"code": code_at(secret)}, "/2fa/totp")
    assert status == 200
    recovery = codes_on(page)

    # One TOTP code, seen over a shoulder and typed into 12 browsers at once: one session.
    statuses = [status for status, _, _ in submit_at_once(second_steps(server, 12), code_at(secret, 1))]
    assert sorted(statuses) == [200] * 11 + [303]
    # The same rule for recovery codes, until the submissions have reached both workers.
    for code in recovery[:5]:
        answers = submit_at_once(second_steps(server, 8), code)
        assert sorted(status for status, _, _ in answers) == [200] * 7 + [303]
        if len({worker_of(access_log, tag) for _, _, tag in answers}) == 2:
            return
    pytest.fail("in five tries the submissions never reached both workers")


def test_a_mailed_sign_in_code_works_once_whichever_worker_it_reaches(tmp_path, database):
    from .mailbox import smtp_server
    from .test_signin_code import code_in

    with (
        smtp_server() as mailbox,
        serve_two_workers(
            tmp_path, database, SMTP_URL=mailbox.url, MAIL_LIMIT_PER_ADDRESS="100", THROTTLE_ACCOUNT_FAILURES="1000"
        ) as (server, access_log),
    ):
        alice = Visitor(server.url)
        signup = {"username": "alice", "password": PASSWORD, "confirm": PASSWORD, "email": "alice@example.org"}
        assert alice.post_form("/signup", signup, "/signup")[0] == 303
        verify = mailbox.wait_blocking(1)[0].path
        assert alice.post_form(verify, {}, token_from=verify)[0] == 303
        for attempt in range(5):
            browser = Visitor(server.url)
            assert browser.post_form("/signin/code", {"email": "alice@example.org"}, "/signin/code")[0] == 303
            code = code_in(mailbox.wait_blocking(2 + attempt)[-1])
            token = csrf_token(browser.request("GET", "/signin/code/enter")[1])
            # The browser's form sent eight times at once: one sign-in, whichever worker answers.
            form, cookies = {"code": code, "csrf_token": token}, dict(browser.cookies)
            answers = at_once(8, partial(enter_code, server.url, cookies, form))
            assert [status for status, _, _ in answers] == [303] * 8
            assert sum('href="/"' in page for _, page, _ in answers) == 1
            assert sum('href="/signin/code"' in page for _, page, _ in answers) == 7
            if len({worker_of(access_log, tag) for _, _, tag in answers}) == 2:
                return
    pytest.fail("in five tries the entries never reached both workers")


def enter_code(url: str, cookies: dict[str, str], form: dict[str, str]) -> tuple[int, str, str]:
    return Visitor(url, cookies).request("POST", "/signin/code/enter", form)
