import asyncio
import errno
from typing import Any

from hypercorn.typing import ASGIReceiveCallable, ASGISendCallable, Scope
from quart import Quart, Request, Response
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


class QuartApp(Quart):
    """Quart, with the gate in front and bcrypt's admission control at the door."""

    session_interface = SessionInterface()
    request_class = LimitedRequest
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
        # Quart cancels a request's task when its client disconnects. A cancel landing inside
        # an aiosqlite query leaves the SQLite file locked until the garbage collector runs,
        # and one landing between two writes leaves half a unit of work. So a request, once
        # started, runs to its end (and shutdown waits for it); only its response is dropped.
        task = asyncio.ensure_future(super().handle_request(request))
        self.background_tasks.add(task)
        task.add_done_callback(self.background_tasks.discard)
        return await asyncio.shield(task)

    async def send_static_file(self, filename: str) -> Response:
        try:
            return await super().send_static_file(filename)
        except OSError as error:
            if error.errno == errno.ENAMETOOLONG:  # no such file can exist
                raise NotFound() from None
            raise
