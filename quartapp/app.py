import errno
from typing import Any

from flask.sansio.blueprints import Blueprint
from flask.templating import _default_template_ctx_processor as flask_context_processor
from hypercorn.typing import ASGIReceiveCallable, ASGISendCallable, Scope
from quart import Quart, Request, Response
from quart.asgi import ASGIHTTPConnection
from quart.wrappers.request import Body
from werkzeug.exceptions import NotFound, RequestEntityTooLarge

from . import passwords, security
from .cookies import SessionInterface
from .gate import Gate
from .hasher import Hasher


class LimitedBody(Body):
    """A request body that stops at MAX_CONTENT_LENGTH as it arrives, not once complete.

    Quart checks a declared Content-Length up front but buffers a chunked body whole before
    comparing: a client could stream gigabytes into memory.
    """

    received = 0

    async def put(self, data: bytes) -> None:
        self.received += len(data)
        if self._max_content_length is not None and self.received > self._max_content_length:
            if self._must_raise is None:
                self._must_raise = RequestEntityTooLarge()
                self.set_complete()  # wake the view, which raises 413; the rest is dropped
            return
        await super().put(data)


class LimitedRequest(Request):
    body_class = LimitedBody


class RunToEnd(ASGIHTTPConnection):
    """Quart's HTTP connection, except that a client hanging up does not cancel its request.

    Quart cancels a request's task when its client disconnects. A cancel landing inside an
    aiosqlite query leaves the SQLite file locked until the garbage collector runs, and one
    landing between two writes leaves half a unit of work. So a request, once started, runs to
    its end (hypercorn's graceful shutdown waits for it); only its response is dropped.
    """

    async def handle_messages(self, request: Request, receive: ASGIReceiveCallable, *_: object) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.request":
                await request.body.put(message.get("body", b""))
                if not message.get("more_body", False):
                    request.body.set_complete()
            elif message["type"] == "http.disconnect":
                self._disconnected = True
                request.body.disconnect()  # a view still reading the body gets ClientDisconnectedError
                return

    async def _send_response(self, send: ASGISendCallable, response: Any) -> None:
        if not self._disconnected:  # else nobody is left to read it
            await super()._send_response(send, response)


class QuartApp(Quart):
    """Quart, with the gate in front, bcrypt's admission control at the door, and requests
    that run to their end."""

    session_interface = SessionInterface()
    request_class = LimitedRequest
    asgi_http_class = RunToEnd
    gate: Gate

    async def asgi_app(self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
        # Before routing, templates or the database: a forged Host or an unreadable target is
        # answered here, so nothing downstream can build a link from it or fail on it.
        if not await self.gate.refused(scope, send):
            await super().asgi_app(scope, receive, send)

    async def handle_request(self, request: Request) -> Any:
        hasher: Hasher | None = self.extensions.get("hasher")
        if request.method == "POST" and request.path in passwords.HASHING_FORMS and hasher and not await hasher.room():
            # Shed load at the door: a form that would wait too long for bcrypt is refused
            # before its body is read or a context pushed, so a flood of them costs little.
            return security.security_headers(self, request, hasher.refusal())
        return await super().handle_request(request)

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
