import asyncio
import logging
from typing import cast

from quart import Quart

from . import auth_sessions, throttle
from .audit import erasure
from .db.engine import get_session
from .mfa import challenges, trust
from .recovery import tokens

log = logging.getLogger(__name__)


def init_app(app: Quart) -> None:
    """Every HOUSEKEEPING_INTERVAL seconds, delete expired sessions and tokens, stale throttle
    counters and audit events past their retention."""

    async def loop() -> None:
        # A background task, so shutdown lets the pass in progress finish before the
        # engine is disposed (cancelling it mid-query could leave SQLite locked).
        shutdown = cast(asyncio.Event, app.shutdown_event)  # Quart types it as a protocol without wait()
        while True:
            try:
                await asyncio.wait_for(shutdown.wait(), app.config["HOUSEKEEPING_INTERVAL"])
                return
            except TimeoutError:
                await run_once(app)

    @app.before_serving
    async def start_housekeeping() -> None:
        app.add_background_task(loop)


async def run_once(app: Quart) -> None:
    """Run one housekeeping pass in its own app context (and so its own database session)."""
    try:
        async with app.app_context():
            db = get_session()
            expired = await auth_sessions.delete_expired(db)
            stale = await throttle.delete_stale(db)
            stale += await tokens.delete_expired(db)
            stale += await challenges.delete_expired(db)
            stale += await trust.delete_expired(db)
            stale += await erasure.delete_old(db, app.config["AUDIT_RETENTION_DAYS"])
            await db.commit()
    except Exception:
        log.exception("housekeeping failed; retrying at the next interval")
    else:
        log.debug("housekeeping deleted %d sessions and %d throttle counters and tokens", expired, stale)
