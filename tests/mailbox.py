"""A real SMTP server in-process (aiosmtpd, in a thread of its own) that keeps what it receives."""

import asyncio
import email
import email.policy
import re
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, cast

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope, Session, SMTP

LINK = re.compile(r"https?://[^\s\"<>]+/(?:reset|verify)/[\w-]+")


@dataclass(frozen=True)
class Received:
    sender: str
    recipients: list[str]
    message: EmailMessage

    @property
    def text(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        assert part is not None, "the mail has no plain text part"
        return str(cast(EmailMessage, part).get_content())

    @property
    def html(self) -> str:
        part = self.message.get_body(preferencelist=("html",))
        assert part is not None, "the mail has no HTML part"
        return str(cast(EmailMessage, part).get_content())

    @property
    def link(self) -> str:
        """The one reset or verification link in the mail, the same in both parts."""
        links = set(LINK.findall(self.text))
        assert len(links) == 1, f"expected one link in {self.text!r}"
        assert links == set(LINK.findall(self.html))
        return str(links.pop())

    @property
    def path(self) -> str:
        return "/" + self.link.split("/", 3)[3]


class Mailbox:
    """The server's handler: every message accepted, kept in the order received."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.url = ""
        self._lock = threading.Lock()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or envelope.content
        assert isinstance(content, bytes)
        message = email.message_from_bytes(content, policy=email.policy.default)
        with self._lock:
            self.received.append(Received(str(envelope.mail_from), list(envelope.rcpt_tos), message))
        return "250 Message accepted"

    def count(self) -> int:
        with self._lock:
            return len(self.received)

    async def wait(self, count: int, within: float = 10.0) -> list[Received]:
        """Wait (bounded) until count messages have arrived in all; return them all."""
        deadline = time.monotonic() + within
        while self.count() < count:
            assert time.monotonic() < deadline, f"{self.count()} of {count} mails arrived within {within} s"
            await asyncio.sleep(0.02)
        with self._lock:
            return list(self.received)

    def wait_blocking(self, count: int, within: float = 10.0) -> list[Received]:
        """wait() for synchronous tests (the browser's), whose app runs in another process."""
        deadline = time.monotonic() + within
        while self.count() < count:
            assert time.monotonic() < deadline, f"{self.count()} of {count} mails arrived within {within} s"
            time.sleep(0.05)
        with self._lock:
            return list(self.received)

    async def quiet(self, seconds: float = 0.3) -> list[Received]:
        """Wait a moment for mail that should not come; return what did."""
        await asyncio.sleep(seconds)
        with self._lock:
            return list(self.received)


class _Controller(Controller):
    """aiosmtpd's Controller on port 0: its readiness check connects to self.port, which would
    still say 0, so learn the port the kernel chose first."""

    def _trigger_server(self) -> None:
        server = cast(Any, self.server)
        self.port = server.sockets[0].getsockname()[1]
        super()._trigger_server()


@contextmanager
def smtp_server(scheme: str = "smtp", ssl_context: ssl.SSLContext | None = None, **smtp: Any) -> Iterator[Mailbox]:
    """Run an SMTP server on a free loopback port until the block ends; its url is scheme://127.0.0.1:port.

    ssl_context: TLS from the first byte (smtps); smtp: aiosmtpd's SMTP parameters (tls_context, authenticator...).
    """
    mailbox = Mailbox()
    controller = _Controller(mailbox, hostname="127.0.0.1", port=0, ssl_context=ssl_context, **smtp)
    controller.start()
    mailbox.url = f"{scheme}://127.0.0.1:{controller.port}"
    try:
        yield mailbox
    finally:
        controller.stop()
