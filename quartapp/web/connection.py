"""A request's connection to Quart: its body capped as it arrives, and its request run to the end."""

import asyncio
import contextlib
from typing import Any

from hypercorn.typing import ASGIReceiveCallable, ASGISendCallable
from quart import Request
from quart.asgi import ASGIHTTPConnection
from quart.wrappers.request import Body
from werkzeug.exceptions import RequestEntityTooLarge

# Seconds an answer given before its request's body arrived waits for the rest of that body.
BODY_GRACE = 1.0


class LimitedBody(Body):
    """A request body that stops at MAX_CONTENT_LENGTH as it arrives, not once complete.

    Quart checks a declared Content-Length up front but buffers a chunked body whole before
    comparing: a client could stream gigabytes into memory. (Quart's private names used here
    and below are listed in internals.py.)
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
