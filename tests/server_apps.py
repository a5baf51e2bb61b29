"""Small apps for the server's own tests: one that cannot start, one that starts a thread when created."""

import threading
import time

from quart import Quart


def failing() -> Quart:
    app = Quart(__name__)

    @app.before_serving
    async def cannot_start() -> None:
        raise RuntimeError("the database is not there")

    return app


def threaded() -> Quart:
    threading.Thread(target=time.sleep, args=(60,), name="poller", daemon=True).start()
    return Quart(__name__)


def stuck() -> Quart:
    app = Quart(__name__)

    @app.after_serving
    async def never_done() -> None:
        time.sleep(60)  # noqa: ASYNC251  # blocks its whole process, as a hung C call would

    return app
