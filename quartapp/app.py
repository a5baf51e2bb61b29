import errno
from typing import Any

from flask.sansio.blueprints import Blueprint
from flask.templating import _default_template_ctx_processor as flask_context_processor
from hypercorn.typing import ASGIReceiveCallable, ASGISendCallable, Scope
from quart import Quart, Request, Response
from werkzeug.exceptions import NotFound

from . import passwords, security
from .connection import LimitedRequest, RunToEnd
from .cookies import SessionInterface
from .gate import Gate
from .hasher import Hasher


class QuartApp(Quart):
    """Quart, with the gate in front, bcrypt's admission control at the door, and requests
    that run to their end."""

    session_interface = SessionInterface()
    request_class = LimitedRequest
    asgi_http_class = RunToEnd
    gate: Gate
    hashing_forms: frozenset[str] = frozenset()  # POST paths whose views are marked @hashes_password

    async def asgi_app(self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
        # Before routing, templates or the database: a forged Host or an unreadable target is
        # answered here, so nothing downstream can build a link from it or fail on it.
        if not await self.gate.refused(scope, send):
            await super().asgi_app(scope, receive, send)

    async def handle_request(self, request: Request) -> Any:
        hasher: Hasher | None = self.extensions.get("hasher")
        if request.method == "POST" and request.path in self.hashing_forms and hasher and not await hasher.room():
            # Shed load at the door: a form that would wait too long for bcrypt is refused
            # before its body is read or a context pushed, so a flood of them costs little.
            return security.security_headers(self, request, hasher.refusal())
        return await super().handle_request(request)

    async def startup(self) -> None:
        # Every blueprint is registered by now: the door's list is read off the views' own marks.
        self.hashing_forms = passwords.hashing_forms(self)
        await super().startup()

    def register_blueprint(self, blueprint: Blueprint, **options: Any) -> None:
        super().register_blueprint(blueprint, **options)
        # Quart's Blueprint is Flask's, which gives each blueprint Flask's own (synchronous)
        # default context processor. Quart runs a synchronous processor in a thread, so every
        # page rendered by a blueprint's view paid a thread trip for an empty dict: Flask's
        # processor finds no Flask context under Quart. Quart's own (async) one stays.
        for processors in self.template_context_processors.values():
            processors[:] = [processor for processor in processors if processor is not flask_context_processor]

    async def send_static_file(self, filename: str) -> Response:
        try:
            return await super().send_static_file(filename)
        except OSError as error:
            if error.errno == errno.ENAMETOOLONG:  # no such file can exist
                raise NotFound() from None
            raise
