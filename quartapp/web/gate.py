import re
from collections.abc import Mapping
from gettext import NullTranslations
from typing import Any

from hypercorn.typing import ASGISendCallable, HTTPScope, Scope, WebsocketScope
from markupsafe import escape
from werkzeug.http import parse_date

from ..i18n import N_, negotiate_headers
from .headers import header_values

# A host name or IPv4 address, or an IPv6 literal in brackets, then an optional port.
HOST_PATTERN = re.compile(r"([a-z0-9.-]{1,253}|\[[a-f0-9]*:[a-f0-9.:]+\])(?::([0-9]{1,5}))?")
# RFC 9110: a conditional request's date that is not a valid HTTP-date is ignored.
DATE_HEADERS = frozenset({b"if-modified-since", b"if-unmodified-since", b"if-range"})

# No url_for, no template, no database: this page must render for a request whose Host or
# path is unusable, before anything that could fail on it runs. In the visitor's language,
# chosen from the raw headers.
REFUSAL_PAGE = """<!doctype html>
<html lang="{language}">
<head><meta charset="utf-8"><title>400 {title} · quartapp</title></head>
<body>
  <h1>400 {title}</h1>
  <p>{reason}</p>
</body>
</html>
"""
BAD_REQUEST = N_("Bad request")
BAD_HOST = N_("This server does not answer to the host name this request was sent to.")
BAD_TARGET = N_("The address of this request is not one this server can read.")


def normalize(name: str) -> str:
    """Return a host name as a Host header's is compared with it: lower case, no trailing
    dot, an IPv6 address in brackets."""
    name = name.strip().lower().removesuffix(".")
    if ":" in name and not name.startswith("["):
        name = f"[{name}]"
    return name


def host_name(header: bytes) -> str | None:
    """Return the host name of a Host header value without its port, or None if malformed."""
    match = HOST_PATTERN.fullmatch(header.decode("latin-1").lower())
    if match is None:
        return None
    name, port = match.groups()
    if port is not None and not 0 < int(port) < 65536:
        return None
    name = name.removesuffix(".")
    if not name or ".." in name or name.startswith(("-", ".")):
        return None
    return name


class Gate:
    """What every request passes before Quart sees it: a listed Host and a readable target.

    Quart and Werkzeug would answer some of these with a 500 (an empty path, a query that is
    not UTF-8, a date past year 9999), and a forged Host must never reach a link.
    """

    def __init__(self, config: Mapping[str, Any], translations: Mapping[str, NullTranslations]) -> None:
        names = [normalize(name) for name in config["TRUSTED_HOSTS"]]
        self.exact = frozenset(name.removeprefix(".") for name in names)
        self.suffixes = tuple(name for name in names if name.startswith("."))  # ".example.com": subdomains
        self.config = config
        self.translations = translations

    def allows_host(self, scope: HTTPScope | WebsocketScope) -> bool:
        # Exactly one Host header (RFC 9112 section 3.2), naming a listed host. Absolute links
        # in mails must never point wherever a client's Host says.
        values = [value for name, value in scope["headers"] if name == b"host"]
        if len(values) != 1 or (name := host_name(values[0])) is None:
            return False
        return name in self.exact or name.endswith(self.suffixes)

    async def refused(self, scope: Scope, send: ASGISendCallable) -> bool:
        """Answer scope here and return True if it may not go on to the app."""
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": "no websockets here"})  # a 403
            return True
        if scope["type"] != "http":
            return False
        if not self.allows_host(scope):
            await self._bad_request(scope, send, BAD_HOST)
            return True
        if not _readable_target(scope):
            await self._bad_request(scope, send, BAD_TARGET)
            return True
        if any(name in DATE_HEADERS for name, _ in scope["headers"]):
            scope["headers"] = [(name, value) for name, value in scope["headers"] if _valid_header(name, value)]
        return False

    async def _bad_request(self, scope: HTTPScope, send: ASGISendCallable, reason: str) -> None:
        language = negotiate_headers(self.config, scope["headers"])
        text = self.translations[language].gettext
        body = REFUSAL_PAGE.format(
            language=language.replace("_", "-"), title=escape(text(BAD_REQUEST)), reason=escape(text(reason))
        ).encode()
        headers = [(b"content-type", b"text/html; charset=utf-8"), (b"content-length", str(len(body)).encode())]
        secure = scope["scheme"] == "https"
        headers += [(n.lower().encode(), v.encode()) for n, v in header_values(self.config, secure=secure, html=True)]
        if scope["http_version"] in ("1.0", "1.1"):
            # The body of a refused request is never read, and hypercorn closes a connection whose
            # answer came first without a word: say so, so the client does not send more on it.
            # A forged Host gets no keep-alive either. (HTTP/2 and 3 forbid the header.)
            headers.append((b"connection", b"close"))
        await send({"type": "http.response.start", "status": 400, "headers": headers, "trailers": False})
        await send({"type": "http.response.body", "body": body, "more_body": False})


def _readable_target(scope: HTTPScope) -> bool:
    """Whether the path starts with "/" and path and query are text Quart can decode."""
    if not scope["path"].startswith("/"):
        return False
    try:
        scope["query_string"].decode()
    except UnicodeDecodeError:
        return False
    return True


def _valid_header(name: bytes, value: bytes) -> bool:
    if name not in DATE_HEADERS:
        return True
    try:
        parse_date(value.decode("latin-1"))  # None (ignored by Werkzeug) for most bad dates
    except (OverflowError, ValueError):
        return False  # Werkzeug would raise on these: drop the header, as RFC 9110 says to
    return True
