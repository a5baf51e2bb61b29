import errno
from typing import Any

from flask.sansio.blueprints import Blueprint
from flask.templating import _default_template_ctx_processor as flask_context_processor
from hypercorn.typing import ASGIReceiveCallable, ASGISendCallable, Scope
from quart import has_request_context, Quart, Request, request, Response
from werkzeug.exceptions import NotFound

from . import passwords
from .hasher import Hasher
from .i18n import negotiate_request
from .web.connection import LimitedRequest, RunToEnd
from .web.cookies import SessionInterface
from .web.gate import Gate
from .web.headers import security_headers

# url_for's options: a link built with any of them is built anew each time.
URL_OPTIONS = frozenset({"_anchor", "_external", "_method", "_scheme"})
URL_CACHE_SIZE = 1024


class QuartApp(Quart):
    """Quart, with the gate in front, bcrypt's admission control at the door, and requests
    that run to their end."""

    session_interface = SessionInterface()
    request_class = LimitedRequest
    asgi_http_class = RunToEnd
    gate: Gate
    _urls: dict[tuple[Any, ...], str] | None = None  # links built once, from startup on
    hashing_forms: frozenset[str] = frozenset()  # POST paths whose views are marked @hashes_password

    async def asgi_app(self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
        # Before routing, templates or the database: a forged Host or an unreadable target is
        # answered here, so nothing downstream can build a link from it or fail on it.
        if not await self.gate.refused(scope, send):
            await super().asgi_app(scope, receive, send)

    async def handle_request(self, request: Request) -> Any:
        hasher: Hasher | None = self.extensions.get("hasher")
        if request.method == "POST" and request.path in self.hashing_forms and hasher:
            if not await hasher.room():
                # Shed load at the door: a form that would wait too long for bcrypt is refused
                # before its body is read or a context pushed, so a flood of them costs little.
                return security_headers(self, request, hasher.refusal(negotiate_request(self.config, request)))
            async with hasher.places():
                return await super().handle_request(request)
        return await super().handle_request(request)

    async def startup(self) -> None:
        # Every blueprint is registered by now: the door's list is read off the views' own marks.
        self.hashing_forms = passwords.hashing_forms(self)
        # Links are built once unless something else may decide them: url_defaults functions,
        # or routes that depend on the host.
        fixed = not any(self.url_default_functions.values()) and not self.url_map.host_matching
        self._urls = {} if fixed and not self.subdomain_matching else None
        await super().startup()

    def register_blueprint(self, blueprint: Blueprint, **options: Any) -> None:
        super().register_blueprint(blueprint, **options)
        # Quart's Blueprint is Flask's, which gives each blueprint Flask's own (synchronous)
        # default context processor. Quart runs a synchronous processor in a thread, so every
        # page rendered by a blueprint's view paid a thread trip for an empty dict: Flask's
        # processor finds no Flask context under Quart. Quart's own (async) one stays.
        for processors in self.template_context_processors.values():
            processors[:] = [processor for processor in processors if processor is not flask_context_processor]

    def url_for(self, endpoint: str, **values: Any) -> str:
        # A page's fixed links (the menu, the stylesheet) are built anew on every page by
        # Werkzeug, about 8 µs each. A relative link depends on nothing but its route, its
        # values and the root path it is served under, so each is built once.
        if endpoint.startswith(".") or values.keys() & URL_OPTIONS or not has_request_context() or self._urls is None:
            return super().url_for(endpoint, **values)
        try:
            key = (endpoint, request.root_path, *values.items())
            return self._urls[key]
        except KeyError:
            if len(self._urls) >= URL_CACHE_SIZE:
                self._urls.clear()  # a route with many values (ids) must not grow it for ever
            url = self._urls[key] = super().url_for(endpoint, **values)
            return url
        except TypeError:  # a value that cannot be a key
            return super().url_for(endpoint, **values)

    async def send_static_file(self, filename: str) -> Response:
        try:
            return await super().send_static_file(filename)
        except OSError as error:
            if error.errno == errno.ENAMETOOLONG:  # no such file can exist
                raise NotFound() from None
            raise
