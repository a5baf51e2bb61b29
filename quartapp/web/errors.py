"""Error pages: an HTTP error as the site's page, a database outage as a 503, a vanished client as nothing."""

from quart import current_app, Quart, render_template
from quart.wrappers import ClientDisconnectedError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import HTTPException


def init_app(app: Quart) -> None:
    app.register_error_handler(HTTPException, _error_page)
    for error in (DBAPIError, PoolTimeoutError):
        app.register_error_handler(error, _unavailable)
    app.register_error_handler(ClientDisconnectedError, _client_gone)


async def _error_page(error: HTTPException) -> tuple[str, int, list[tuple[str, str]]]:
    headers = [(name, value) for name, value in error.get_headers() if name.lower() != "content-type"]
    return await render_template("error.html", error=error), error.code or 500, headers


async def _unavailable(error: Exception) -> tuple[str, int, dict[str, str]]:
    """A database that is down, unreachable, slow or locked is a temporary 503."""
    if isinstance(error, DBAPIError) and not (
        isinstance(error, (OperationalError, InterfaceError)) or error.connection_invalidated
    ):
        raise error  # a failing statement is a bug, not an outage: let it be a logged 500
    current_app.logger.warning("database unavailable: %s", error)
    page = await render_template("error.html", error=None)
    return page, 503, {"Retry-After": "5"}


async def _client_gone(error: ClientDisconnectedError) -> tuple[str, int]:
    return "", 400  # nobody is left to read it
