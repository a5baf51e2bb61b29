import asyncio
import logging
import ssl
import subprocess
import time
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword

from quartapp.config import ConfigurationError
from quartapp.mail import smtp_options

from .conftest import AuthActions, make_app, running_app
from .mailbox import smtp_server
from .serving import ROOT


async def ask_reset(auth: AuthActions, address: str = "alice@example.org"):
    return await auth.post("/reset", {"email": address}, token_from="/reset")


async def test_a_mail_is_plain_text_and_html_with_one_absolute_link(mail_app, mailbox):
    await AuthActions(mail_app.test_client()).signup("alice", email="alice@example.org")
    [received] = await mailbox.wait(1)
    message = received.message
    assert received.sender == "quartapp@localhost"
    assert message["From"] == "quartapp <quartapp@localhost>"
    assert message["To"] == "alice@example.org"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Message-ID"].endswith("@localhost>")
    assert message["Date"]
    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]
    assert received.link.startswith("http://localhost/verify/")  # the same link in both parts
    assert f'<a href="{received.link}">' in received.html


async def test_without_an_smtp_url_mails_go_to_the_outbox_and_the_log(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="quartapp.mail")
    async with running_app(tmp_path) as app:  # no SMTP_URL, as with make run
        auth = AuthActions(app.test_client())
        await auth.signup("alice", email="alice@example.org")
        outbox = tmp_path / "instance" / "outbox"
        deadline = time.monotonic() + 5
        while not list(outbox.glob("*.eml")):
            assert time.monotonic() < deadline, "no mail in the outbox"
            await asyncio.sleep(0.02)
    [path] = outbox.iterdir()  # no temporary file left beside it
    assert path.suffix == ".eml"
    assert path.stat().st_mode & 0o777 == 0o600
    assert outbox.stat().st_mode & 0o777 == 0o700
    message = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert message["To"] == "alice@example.org"
    assert message["Subject"] == "Verify your email address"
    [line] = [r.getMessage() for r in caplog.records if r.name == "quartapp.mail"]
    assert line.startswith("mail to alice@example.org: Verify your email address http://localhost:8000/verify/")
    assert line.split()[-1] in message.as_string()


async def test_a_refused_connection_is_retried_logged_and_never_fails_the_page(tmp_path, caplog):
    from .serving import free_port

    settings = {"SMTP_URL": f"smtp://127.0.0.1:{free_port()}", "MAIL_ATTEMPTS": 3, "MAIL_RETRY_DELAY": 0.05}
    async with running_app(tmp_path, **settings) as app:
        auth = AuthActions(app.test_client())
        assert (await auth.signup("alice", email="alice@example.org")).status_code == 303
        assert (await ask_reset(auth)).status_code == 200
        await wait_for_log(caplog, "given up after 3 attempts", count=2)
    warnings = [r.getMessage() for r in caplog.records if r.name == "quartapp.mail"]
    assert sum("failed (attempt" in line for line in warnings) == 6
    assert "mail to example.org failed (attempt 1 of 3): SMTPConnectError" in warnings[0]
    assert all("alice@" not in line and "/reset/" not in line and "/verify/" not in line for line in warnings)


async def test_a_hung_server_is_timed_out_and_retried(tmp_path, caplog):
    connections: list[asyncio.StreamWriter] = []

    async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)  # accepted, never greeted

    server = await asyncio.start_server(hang, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    settings = {
        "SMTP_URL": f"smtp://127.0.0.1:{port}",
        "MAIL_TIMEOUT": 1,
        "MAIL_ATTEMPTS": 2,
        "MAIL_RETRY_DELAY": 0.05,
    }
    try:
        async with running_app(tmp_path, **settings) as app:
            auth = AuthActions(app.test_client())
            assert (await auth.signup("alice", email="alice@example.org")).status_code == 303
            assert (await auth.get("/email")).status_code == 200
            # Both pages were answered before the first attempt timed out.
            assert not [r for r in caplog.records if "failed (attempt" in r.getMessage()]
            await wait_for_log(caplog, "given up after 2 attempts")
        assert len(connections) == 2  # one connection per attempt
        warnings = [r.getMessage() for r in caplog.records if r.name == "quartapp.mail"]
        assert warnings[0] == "mail to example.org failed (attempt 1 of 2): no answer within 1 s"
    finally:
        for writer in connections:
            writer.close()
        server.close()
        await server.wait_closed()


async def wait_for_log(caplog, text: str, count: int = 1, within: float = 5) -> None:
    deadline = time.monotonic() + within
    while sum(text in r.getMessage() for r in caplog.records) < count:
        assert time.monotonic() < deadline, f"no log line with {text!r}"
        await asyncio.sleep(0.02)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1 (the key beside it), made by openssl."""
    folder = tmp_path_factory.mktemp("tls")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", folder / "key.pem", "-out", folder / "cert.pem"],
        check=True, capture_output=True,
    )  # fmt: skip
    return folder / "cert.pem"


def server_context(certificate: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificate, certificate.with_name("key.pem"))
    return context


def only(user: str, password: str, logins: list[bool]):
    """An aiosmtpd authenticator accepting one user and password, noting each attempt in logins."""

    def authenticator(server, session, envelope, mechanism, auth_data) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            user.encode(),
            password.encode(),
        )
        logins.append(ok)
        return AuthResult(success=ok)

    return authenticator


@pytest.mark.parametrize("scheme", ["smtp+starttls", "smtps"])
async def test_tls_and_a_password_from_the_url(tmp_path, monkeypatch, certificate, scheme):
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate))  # the only certificate authority trusted
    context = server_context(certificate)
    logins: list[bool] = []
    authenticator = only("mailer", "p@ss:word", logins)
    if scheme == "smtps":
        # aiosmtpd counts only STARTTLS as TLS when it decides whether to offer AUTH; this
        # connection is TLS from its first byte all the same.
        server = smtp_server(scheme, ssl_context=context, authenticator=authenticator, auth_require_tls=False)
    else:
        server = smtp_server(
            scheme, tls_context=context, require_starttls=True, authenticator=authenticator, auth_required=True
        )
    with server as mailbox:
        url = mailbox.url.replace("://", "://mailer:p%40ss%3Aword@")
        async with running_app(tmp_path, SMTP_URL=url) as app:
            await AuthActions(app.test_client()).signup("alice", email="alice@example.org")
            [received] = await mailbox.wait(1)
    assert received.recipients == ["alice@example.org"]
    assert logins == [True]  # decoded from the URL, sent only once TLS was up


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://127.0.0.1:2525", ("127.0.0.1", 2525, False, False, None, None)),
        ("smtp://relay.internal", ("relay.internal", 25, False, False, None, None)),
        ("smtp+starttls://me:s%40cret@mail.example.com", ("mail.example.com", 587, False, True, "me", "s@cret")),
        ("smtps://me:pw@mail.example.com:4650", ("mail.example.com", 4650, True, False, "me", "pw")),
    ],
)
def test_smtp_urls(url, expected):
    options = smtp_options(url)
    keys = ("hostname", "port", "use_tls", "start_tls", "username", "password")
    assert tuple(options[key] for key in keys) == expected


@pytest.mark.parametrize(
    "url",
    ["http://mail.example.com", "smtp://", "smtp://host:99999", "smtp://user:secret@relay.internal", "smtps://h/x"],
)
def test_bad_smtp_urls_fail_at_start_up_without_the_password(tmp_path, url):
    with pytest.raises(ConfigurationError, match="SMTP_URL") as error:
        make_app(tmp_path, SMTP_URL=url)
    assert "secret" not in str(error.value)


@pytest.mark.parametrize(
    "base_url", ["ftp://example.com", "example.com", "https://", "https://u@example.com", "http://x/?a"]
)
def test_a_bad_base_url_fails_at_start_up(tmp_path, base_url):
    with pytest.raises(ConfigurationError, match="BASE_URL"):
        make_app(tmp_path, BASE_URL=base_url)


def test_base_urls_host_is_served_and_its_trailing_slash_dropped(tmp_path):
    app = make_app(tmp_path, BASE_URL="https://Auth.Example.com:8443/", TRUSTED_HOSTS=["localhost"])
    assert app.config["BASE_URL"] == "https://Auth.Example.com:8443"
    assert app.config["TRUSTED_HOSTS"] == ["localhost", "auth.example.com"]
    assert make_app(tmp_path, BASE_URL="http://[::1]:8000").config["TRUSTED_HOSTS"] == [
        "127.0.0.1",
        "localhost",
        "[::1]",
    ]


def test_make_run_points_links_at_the_address_it_serves(tmp_path):
    def dry_run(*args: str, **env: str) -> str:
        import os

        environment = {k: v for k, v in os.environ.items() if not k.startswith("QUARTAPP_")} | env
        result = subprocess.run(["make", "-n", "run", *args], cwd=ROOT, env=environment, capture_output=True, text=True)
        return result.stdout

    assert 'QUARTAPP_BASE_URL="${QUARTAPP_BASE_URL:-http://0.0.0.0:9000}"' in dry_run("BIND=0.0.0.0:9000")
    assert "QUARTAPP_BASE_URL" not in dry_run()
