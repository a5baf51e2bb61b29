"""One worker process: hypercorn serving the app on the worker's own sockets until it is told to stop.

It stops gracefully, whoever sends the signal: SIGTERM or SIGINT from the supervisor, from a
process manager signalling the whole process group (systemd's default), from Ctrl-C in a
terminal, or the supervisor's end (the pipe it holds open closes). Hypercorn then stops
accepting, lets the requests in flight finish (up to graceful_timeout), and runs the app's
shutdown (database pools closed).
"""

import asyncio
import copy
import os
import signal
import ssl
from collections.abc import Callable
from typing import Any

from hypercorn.asyncio import serve
from hypercorn.config import Config
from hypercorn.typing import ASGIFramework, ASGIReceiveCallable, ASGISendCallable, ASGISendEvent, Scope

STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP}


def run(app: ASGIFramework, config: Config, binds: tuple[list[str], list[str]], parent: int, ready: int) -> int:
    """Serve app with config on binds until told to stop; return the exit status.

    parent is the read end of a pipe only the supervisor writes to; ready is the write end of
    the pipe on which the worker reports, once, that the app has started.
    """
    config = copy.copy(config)
    # Each worker is one process serving its own sockets: hypercorn's serve() knows no workers.
    config.workers = 1
    config.bind, config.insecure_bind = binds if config.ssl_enabled else (binds[1], [])
    loop_factory = _loop_factory(config.worker_class)
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.get_loop().set_exception_handler(_ignore_handshake_errors)
        runner.run(_serve(ReportsReady(app, ready), config, parent))
    return 0


async def _serve(app: ASGIFramework, config: Config, parent: int) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in STOP_SIGNALS:
        loop.add_signal_handler(signum, stop.set)

    def supervisor_gone() -> None:
        loop.remove_reader(parent)
        stop.set()

    loop.add_reader(parent, supervisor_gone)
    # The supervisor blocked these signals before it forked: one sent meanwhile lands now.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    await serve(app, config, shutdown_trigger=stop.wait)


class ReportsReady:
    """The app, which reports on a pipe when its lifespan startup has completed."""

    def __init__(self, app: ASGIFramework, ready: int) -> None:
        self.app, self.ready = app, ready

    async def __call__(self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
        if scope["type"] != "lifespan":
            return await self.app(scope, receive, send)

        async def report(message: ASGISendEvent) -> None:
            await send(message)
            if message["type"] == "lifespan.startup.complete":
                os.write(self.ready, os.getpid().to_bytes(4, "little"))
                os.close(self.ready)

        return await self.app(scope, receive, report)


def _loop_factory(worker_class: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    if worker_class == "uvloop":
        import uvloop

        return uvloop.new_event_loop
    return None


def _ignore_handshake_errors(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    # As hypercorn's own workers do: a client that fails its TLS handshake is no error of ours.
    if not isinstance(context.get("exception"), ssl.SSLError):
        loop.default_exception_handler(context)
