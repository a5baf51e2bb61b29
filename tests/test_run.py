"""`make run` as a newcomer types it, on SQLite or PostgreSQL, and what it says when it cannot."""

import re
import subprocess
import time
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import cast

from quartapp.testing.databases import database_url, execute, run_async

from .conftest import PASSWORD, postgres_only
from .serving import app_env, free_port, migrate, ROOT, run_server
from .test_workers import Visitor


def dry_run(env: dict[str, str], venv: Path) -> str:
    """The commands `make run` would run to set up a venv that does not exist yet."""
    result = subprocess.run(
        ["make", "-n", "run", f"VENV={venv}"], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return result.stdout


def test_make_run_installs_the_postgresql_driver_only_for_a_postgresql_url(tmp_path):
    on_postgres = dry_run(app_env(DATABASE_URL="postgresql+asyncpg://quartapp@db.internal/quartapp"), tmp_path / "v")
    assert 'pip install --quiet -e ".[postgres]"' in on_postgres
    on_sqlite = dry_run(app_env(), tmp_path / "v")
    assert 'pip install --quiet -e "."' in on_sqlite
    assert "postgres" not in on_sqlite


def test_a_database_url_without_its_driver_is_one_line_not_a_traceback(tmp_path):
    # psycopg's async driver is a real SQLAlchemy dialect whose package is not installed here.
    url = "postgresql+psycopg_async://quartapp:secret@127.0.0.1/quartapp"
    env = app_env(DATABASE_URL=url, INSTANCE_PATH=str(tmp_path))
    result = subprocess.run(["make", "migrate"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    message = [line for line in result.stderr.splitlines() if line.startswith("quartapp:")]
    assert message == [
        "quartapp: DATABASE_URL postgresql+psycopg_async://quartapp:***@127.0.0.1/quartapp needs the psycopg "
        "package, which is not installed"
    ]
    assert "secret" not in result.stderr


@postgres_only
def test_make_run_serves_on_postgresql(tmp_path):
    url = database_url(tmp_path)
    env = app_env(DATABASE_URL=url, INSTANCE_PATH=str(tmp_path))
    address = f"127.0.0.1:{free_port()}"
    log = tmp_path / "make-run.log"
    with run_server(["make", "run", f"BIND={address}"], env, f"http://{address}", log) as server:
        visitor = Visitor(server.url)
        status, _, _ = visitor.post_form(
            "/signup", {"username": "alice", "password": PASSWORD, "confirm": PASSWORD}, "/signup"
        )
        assert status == 303
        assert visitor.request("GET", "/")[0] == 200
    assert run_async(execute(url, "SELECT username FROM users")) == [("alice",)]
    migrate(env)  # the schema make run created is at head already: nothing to do, no error


def test_make_run_lets_a_newcomer_verify_and_reset_through_the_outbox(tmp_path):
    """No mail server: sign up with an address, verify it and reset the password from the .eml files."""
    env = app_env(INSTANCE_PATH=str(tmp_path))  # no SMTP_URL, no BASE_URL: make run's defaults
    address = f"127.0.0.1:{free_port()}"
    log = tmp_path / "make-run.log"
    with run_server(["make", "run", f"BIND={address}"], env, f"http://{address}", log) as server:
        visitor = Visitor(server.url)
        form = {"username": "newcomer", "password": PASSWORD, "confirm": PASSWORD, "email": "me@example.org"}
        assert visitor.post_form("/signup", form, "/signup")[0] == 303
        link = outbox_link(tmp_path / "outbox", log, count=1)
        # BASE_URL followed BIND, 127.0.0.1 named localhost (passkeys need a name)
        linked = server.url.replace("127.0.0.1", "localhost")
        assert link.startswith(f"{linked}/verify/")
        path = link.removeprefix(linked)
        assert visitor.post_form(path, {}, token_from=path)[0] == 303
        assert "is verified" in visitor.request("GET", path)[1]

        assert visitor.post_form("/signout", {}, token_from="/")[0] == 303
        assert visitor.post_form("/reset", {"email": "me@example.org"}, "/reset")[0] == 200
        path = outbox_link(tmp_path / "outbox", log, count=2).removeprefix(linked)
        assert path.startswith("/reset/")
        assert visitor.request("GET", path)[0] == 303
        # The access log names the page, not its token: only the outbox's own line has the link.
        deadline = time.monotonic() + 10  # the line is written just after the answer
        while '"GET /reset/<secret>?t=' not in log.read_text():
            assert time.monotonic() < deadline, "no access line for the reset page"
            time.sleep(0.05)
        assert all("mail to me@example.org" in line for line in log.read_text().splitlines() if path in line)
        new = {"password": "a brand new passphrase", "confirm": "a brand new passphrase"}
        assert visitor.post_form("/reset/set-password", new, "/reset/set-password")[0] == 303
        signin = {"username": "newcomer", "password": "a brand new passphrase"}
        assert visitor.post_form("/signin", signin, "/signin")[0] == 303


def outbox_link(outbox: Path, log: Path, count: int) -> str:
    """Wait for the count-th mail in the outbox; return its link, checked against the log's line for it."""
    deadline = time.monotonic() + 10
    while len(mails := sorted(outbox.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns)) < count:
        assert time.monotonic() < deadline, f"{len(mails)} of {count} mails in the outbox"
        time.sleep(0.05)
    message = message_from_bytes(mails[-1].read_bytes(), policy=policy.default)
    text = message.get_body(preferencelist=("plain",))
    assert text is not None
    [link] = re.findall(r"http://\S+/(?:verify|reset)/[\w-]+", cast(EmailMessage, text).get_content())
    while f"mail to me@example.org: {message['Subject']} {link}" not in log.read_text():
        assert time.monotonic() < deadline, "the link is not in the log"
        time.sleep(0.05)
    return str(link)
