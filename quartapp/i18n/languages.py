"""Which language a page or a mail is in: the visitor's choice, else their browser's, else the default."""

import contextlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from typing import Any

from quart import after_this_request, current_app, g, has_request_context, Request, request, Response
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header, parse_cookie
from werkzeug.wrappers import Response as WerkzeugResponse

from ..web.cookies import secure_cookies

# The picker's cookie: a language code, nothing secret, so not signed (any other value is ignored).
COOKIE = "quartapp_language"
YEAR = 365 * 24 * 60 * 60
# A language for what runs outside a visitor's request (a mail to an account's owner).
_chosen: ContextVar[str | None] = ContextVar("quartapp_language", default=None)


def offered(config: Mapping[str, Any]) -> Sequence[str]:
    """The languages offered (LANGUAGES), in the picker's order; the first is the default."""
    languages: Sequence[str] = config["LANGUAGES"]
    return languages


def negotiate(config: Mapping[str, Any], cookie: str | None, accept_language: str | None) -> str:
    """The language for a request: the picker's cookie if it names an offered language, else the
    best match of Accept-Language (a German "de-AT" gets "de"), else the first offered."""
    languages = offered(config)
    if cookie is not None and cookie in languages:
        return cookie
    if accept_language:
        # Werkzeug's parser never raises: a malformed header is an empty list, or its valid part.
        match = parse_accept_header(accept_language, LanguageAccept).best_match(languages)
        if match is not None:
            return match
    return languages[0]


def negotiate_request(config: Mapping[str, Any], request: Request) -> str:
    """negotiate() for a Quart request: its picker cookie and its Accept-Language."""
    return negotiate(config, request.cookies.get(COOKIE), request.headers.get("Accept-Language"))


def negotiate_headers(config: Mapping[str, Any], headers: Iterable[tuple[bytes, bytes]]) -> str:
    """negotiate() for an ASGI scope's raw headers: for answers given before Quart sees the request."""
    cookie = accept = None
    for name, value in headers:
        if name == b"cookie":
            cookie = parse_cookie(value.decode("latin-1")).get(COOKIE, cookie)
        elif name == b"accept-language":
            accept = value.decode("latin-1")
    return negotiate(config, cookie, accept)


def choose_for_request() -> None:
    """Before each request: its language, kept for the request's task (a page asks a dozen times).

    Each request runs in a task of its own, which the value dies with; a task it starts (a mail
    after the response) inherits it, and one that mails an account sets that account's instead.
    """
    _chosen.set(negotiate_request(current_app.config, request))


def current_language() -> str:
    """The language of what is being made: set by use_language() or before the request, else
    negotiated for the request (an answer made before the request's hooks ran), else the default."""
    language = _chosen.get()
    if language is not None:
        return language
    if has_request_context():
        try:
            return str(g.quartapp_language)
        except AttributeError:
            g.quartapp_language = language = negotiate_request(current_app.config, request)
            return language
    return offered(current_app.config)[0]


@contextlib.contextmanager
def use_language(language: str | None) -> Iterator[str]:
    """Make what is rendered inside the block speak language (a mail in its recipient's language).

    A language no longer offered (an account's stored choice, after LANGUAGES changed) is the default.
    """
    languages = offered(current_app.config)
    chosen = language if language is not None and language in languages else languages[0]
    token = _chosen.set(chosen)
    try:
        yield chosen
    finally:
        _chosen.reset(token)


def keep_language(language: str) -> None:
    """Set the picker's cookie to language on this request's response (a year; a preference only)."""
    # Not __Host- nor signed, unlike the other cookies: the worst a planted value can do is show
    # the pages in another offered language, and the raw gate reads it by one fixed name.
    secure = secure_cookies()

    @after_this_request
    async def set_cookie(response: Response | WerkzeugResponse) -> Response | WerkzeugResponse:
        response.set_cookie(COOKIE, language, max_age=YEAR, path="/", secure=secure, httponly=True, samesite="Lax")
        return response
