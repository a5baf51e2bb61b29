import asyncio

from markupsafe import escape, Markup
from quart import Blueprint, current_app, render_template, request, url_for
from quart_auth import login_required
from sqlalchemy.exc import SQLAlchemyError

from .current_user import signed_in_user
from .db import engine
from .i18n import _, N_
from .i18n.fragments import fragment

bp = Blueprint("pages", __name__)


# The signed-in menu: the page each link leads to, and its text.
MENU = (
    ("account.sessions_page", N_("Sessions")),
    ("account.password", N_("Password")),
    ("addresses.email", N_("Email")),
    ("mfa_settings.overview", N_("Two-factor")),
    ("ownership.overview", N_("Account")),
)


@bp.app_template_global()
def account_menu() -> Markup:
    """The menu's links in the page's language, the one to this page marked aria-current.

    Made in Python and kept per language and page: drawn by Jinja, its dozen calls and a macro
    cost the signed-in page a third more CPU.
    """
    return fragment("menu", request.path, _menu)


def _menu() -> Markup:
    links = []
    for endpoint, text in MENU:
        href = url_for(endpoint)
        current = ' aria-current="page"' if href == request.path else ""
        links.append(f'<a href="{escape(href)}"{current}>{escape(_(text))}</a>')
    return Markup("\n".join(links))  # noqa: S704  # every part escaped


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
