import asyncio
import contextlib
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

# Seconds an answer given before its request's body arrived waits for the rest of that body.
BODY_GRACE = 1.0


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

    @property
    def too_large(self) -> bool:
        """Whether the body is over MAX_CONTENT_LENGTH, as declared or as received: unwanted."""
        return self._must_raise is not None


class LimitedRequest(Request):
    body_class = LimitedBody


class RunToEnd(ASGIHTTPConnection):
    """Quart's HTTP connection, except that a client hanging up does not cancel its request,
    and an answer given before the request's body arrived does not break the connection.

    Quart cancels a request's task when its client disconnects. A cancel landing inside an
    aiosqlite query leaves the SQLite file locked until the garbage collector runs, and one
    landing between two writes leaves half a unit of work. So a request, once started, runs to
    its end (hypercorn's graceful shutdown waits for it); only its response is dropped.
    """

    _body: Body
    _body_received = False  # the request's last body message has arrived
    _arrival: asyncio.Future[None] | None = None  # what an early answer waits on

    def _create_request_from_scope(self, send: ASGISendCallable) -> Request:
        request = super()._create_request_from_scope(send)
        self._body = request.body
        return request

    async def handle_messages(self, request: Request, receive: ASGIReceiveCallable, *_: object) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.request":
                await request.body.put(message.get("body", b""))
                if not message.get("more_body", False):
                    request.body.set_complete()
                    self._body_received = True
                    self._wake()
                elif self._too_large():
                    self._wake()  # an early answer waiting for the rest stops waiting
            elif message["type"] == "http.disconnect":
                self._disconnected = True
                request.body.disconnect()  # a view still reading the body gets ClientDisconnectedError
                self._wake()
                return

    async def _send_response(self, send: ASGISendCallable, response: Any) -> None:
        if not self._body_received and self.scope["http_version"] in ("1.0", "1.1"):
            # Hypercorn closes a kept-alive HTTP/1 connection whose response ended before its
            # request did, without saying so: the client's next request on it goes unanswered. So
            # an early answer (a redirect to sign in, a CSRF 400, a 404, the door's 503) first waits
            # a moment for the body, which clients send right behind the headers and which
            # MAX_CONTENT_LENGTH keeps small; one still missing after BODY_GRACE, or over the limit
            # (unwanted, and maybe gigabytes), gets "Connection: close": the client opens a new one.
            # (HTTP/2 and 3 streams end on their own, and forbid the header.)
            await asyncio.sleep(0)  # a bodiless request's end is already queued for the message task
            if not self._body_received and not self._too_large():
                self._arrival = asyncio.get_running_loop().create_future()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(BODY_GRACE):
                        await self._arrival
            if not self._body_received:
                response.headers["Connection"] = "close"
        if not self._disconnected:  # else nobody is left to read it
            await super()._send_response(send, response)

    def _too_large(self) -> bool:
        return isinstance(self._body, LimitedBody) and self._body.too_large

    def _wake(self) -> None:
        if self._arrival is not None and not self._arrival.done():
            self._arrival.set_result(None)


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
