import asyncio

from quart import Blueprint, current_app, render_template
from quart_auth import login_required
from sqlalchemy.exc import SQLAlchemyError

from .current_user import signed_in_user
from .db import engine

bp = Blueprint("pages", __name__)


@bp.get("/")
@login_required
async def index() -> str:
    return await render_template("index.html", user=await signed_in_user())


@bp.get("/livez")
async def livez() -> tuple[dict[str, str], int]:
    """Answer 200 while the process serves requests, asking nothing of the database.

    A liveness check: restart the process if this fails. /healthz (readiness) says whether it
    can do useful work.
    """
    return {"status": "ok"}, 200


@bp.get("/healthz")
async def healthz() -> tuple[dict[str, str], int]:
    """Answer 200 when the database answers within HEALTH_TIMEOUT seconds, else 503."""
    try:
        async with asyncio.timeout(current_app.config["HEALTH_TIMEOUT"]):
            await engine.ping()
    except (SQLAlchemyError, TimeoutError):
        return {"status": "unavailable"}, 503
    return {"status": "ok"}, 200
