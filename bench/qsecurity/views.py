from collections.abc import Awaitable, Callable
from typing import cast

from quart import Blueprint, current_app, render_template
from quart_security import auth_required
from sqlalchemy import text

bp = Blueprint("views", __name__)

View = Callable[[], Awaitable[str]]
# Its decorator, typed as what it is (its package has no annotations): a session cookie of its
# own signing in, else a redirect to its login view.
signed_in = cast(Callable[[View], View], auth_required("session"))


@bp.route("/")
@signed_in
async def index() -> str:
    """The signed-in user's page."""
    # No sign-out form here: its CSRF token would be written to the session cookie on every
    # visit of a page client that does not keep cookies.
    return await render_template("index.html")


@bp.route("/healthz")
async def healthz() -> dict[str, str]:
    """Answer once the database does."""
    # The request's own datastore session, which quart-security closes when the request ends.
    await current_app.extensions["security"].datastore.session.execute(text("SELECT 1"))
    return {"status": "ok"}


@bp.route("/plain")
async def plain() -> str:
    """The cheapest route: no database, no session, no template (quart-security's hooks still run)."""
    return "ok"
