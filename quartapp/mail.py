import asyncio
import logging
import os
import secrets
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import aiosmtplib
from quart import current_app, Quart, render_template

from .config import ConfigurationError
from .db.models import User, utcnow
from .i18n import use_language

log = logging.getLogger(__name__)

# scheme: (default port, TLS from the first byte, STARTTLS required)
SCHEMES = {"smtp": (25, False, False), "smtp+starttls": (587, False, True), "smtps": (465, True, False)}


@dataclass(frozen=True)
class Mail:
    """A message ready to go, and the link or code it carries (logged by the outbox, never elsewhere)."""

    message: EmailMessage
    secret: str | None = None

    @property
    def to(self) -> str:
        return str(self.message["To"])


def init_app(app: Quart) -> None:
    """Check the mail settings at start-up rather than at the first mail."""
    if app.config["SMTP_URL"]:
        smtp_options(app.config["SMTP_URL"])
    if "@" not in parseaddr(app.config["MAIL_FROM"])[1]:
        raise ConfigurationError(
            f"MAIL_FROM must be an address, such as 'quartapp <auth@example.com>', not {app.config['MAIL_FROM']!r}"
        )


def smtp_options(url: str) -> dict[str, Any]:
    """Return aiosmtplib's connection arguments for an smtp://, smtp+starttls:// or smtps:// URL."""
    parts = urlsplit(url)
    shown = parts._replace(netloc=f"***@{parts.netloc.rpartition('@')[2]}" if "@" in parts.netloc else parts.netloc)
    try:
        port = parts.port
    except ValueError:
        port = -1
    if parts.scheme not in SCHEMES or not parts.hostname or port == -1 or parts.path not in ("", "/"):
        raise ConfigurationError(
            "SMTP_URL must be smtp://host:port, smtp+starttls://user:password@host:587 or "
            f"smtps://user:password@host:465, not {shown.geturl()!r}"
        )
    default_port, use_tls, start_tls = SCHEMES[parts.scheme]
    if parts.username and parts.scheme == "smtp":
        # Credentials never cross the network in clear text.
        raise ConfigurationError("SMTP_URL: a password needs smtp+starttls:// or smtps://, not smtp://")
    return {
        "hostname": parts.hostname,
        "port": port or default_port,
        "use_tls": use_tls,
        # smtp:// is a local relay: plain, even if it offers STARTTLS with a certificate nobody checks.
        "start_tls": start_tls,
        "username": unquote(parts.username) if parts.username else None,
        "password": unquote(parts.password) if parts.password else None,
    }


def external_url(endpoint: str, **values: Any) -> str:
    """An absolute link to endpoint for a mail, built from the app's routes under BASE_URL."""
    # Never from a request's Host, which a client chooses: a reset link must reach this site.
    base = urlsplit(current_app.config["BASE_URL"])
    routes = current_app.url_map.bind(base.netloc, script_name=base.path or "/", url_scheme=base.scheme)
    return routes.build(endpoint, values, force_external=True)


async def compose(template: str, to: str, subject: str, link: str | None = None, *, user: User, **context: Any) -> Mail:
    """Build a plain text and HTML message to user from templates mail/<template>.txt and .html.

    In the language of the account (subject too: pass it as _l("...")), not of the page that
    caused it: whoever asked for a reset link, it is the owner who reads it.
    """
    with use_language(user.language):
        return await _compose(template, to, str(subject), link, user=user, **context)


async def _compose(template: str, to: str, subject: str, link: str | None, **context: Any) -> Mail:
    config = current_app.config
    message = EmailMessage()
    message["From"] = config["MAIL_FROM"]
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate()
    # The sender's own domain, so no DNS lookup of this host's name happens here.
    message["Message-ID"] = make_msgid(domain=parseaddr(config["MAIL_FROM"])[1].rpartition("@")[2])
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to this
    context |= {"link": link, "base_url": config["BASE_URL"], "subject": subject}
    message.set_content(await render_template(f"mail/{template}.txt", **context))
    message.add_alternative(await render_template(f"mail/{template}.html", **context), subtype="html")
    return Mail(message, link or context.get("code"))


def send_later(template: str, to: str, subject: str, *, user: User, **context: Any) -> None:
    """Compose and deliver a message in a background task: no request waits for the mail server."""

    async def compose_and_deliver() -> None:
        await deliver(await compose(template, to, subject, user=user, **context))

    current_app.add_background_task(compose_and_deliver)


async def deliver(mail: Mail) -> bool:
    """Send mail through SMTP_URL, retrying with backoff, or into the outbox; True once sent."""
    config = current_app.config
    if not config["SMTP_URL"]:
        path = await asyncio.to_thread(_write_outbox, Path(current_app.instance_path) / "outbox", mail)
        log.info("mail to %s: %s %s", mail.to, mail.message["Subject"], mail.secret or f"({path.name})")
        return True
    options = smtp_options(config["SMTP_URL"])
    # Logged by the recipient's domain: enough to see which provider fails, no address, no link.
    domain = mail.to.rpartition("@")[2]
    attempts, delay = config["MAIL_ATTEMPTS"], config["MAIL_RETRY_DELAY"]
    for attempt in range(1, attempts + 1):
        try:
            # A bound on the whole attempt: aiosmtplib's timeout is per step, and a server
            # that answers slowly at every step would otherwise hold the task for minutes.
            async with asyncio.timeout(config["MAIL_TIMEOUT"]):
                await aiosmtplib.send(mail.message, timeout=config["MAIL_TIMEOUT"], **options)
            return True
        except TimeoutError:
            log.warning(
                "mail to %s failed (attempt %d of %d): no answer within %s s",
                domain,
                attempt,
                attempts,
                config["MAIL_TIMEOUT"],
            )
        except (aiosmtplib.SMTPException, OSError) as error:
            log.warning("mail to %s failed (attempt %d of %d): %s", domain, attempt, attempts, _describe(error))
        if attempt < attempts:
            await asyncio.sleep(delay)
            delay *= 2
    log.warning("mail to %s given up after %d attempts", domain, attempts)
    return False


def _describe(error: Exception) -> str:
    if isinstance(error, aiosmtplib.SMTPResponseException):
        return f"{type(error).__name__} {error.code}"  # the server's text may quote the recipient
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def _write_outbox(folder: Path, mail: Mail) -> Path:
    """Write mail to folder as an .eml file, atomically: a reader never sees half a message."""
    # Only the owner may read the outbox: its mails carry live reset links.
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / f"{utcnow():%Y%m%dT%H%M%S}-{secrets.token_hex(4)}.eml"
    partial = path.with_name(f".{path.name}.tmp")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(mail.message.as_bytes())
    os.replace(partial, path)
    return path
