"""Error pages: an HTTP error as the site's page, a database outage as a 503, a vanished client as nothing."""

from quart import current_app, Quart, render_template
from quart.wrappers import ClientDisconnectedError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug import exceptions
from werkzeug.exceptions import HTTPException

from ..i18n import _l

# Werkzeug's names and explanations are English: those a visitor can meet, in the page's language.
TITLES = {
    400: _l("Bad request"),
    403: _l("Forbidden"),
    404: _l("Page not found"),
    405: _l("Method not allowed"),
    413: _l("Too much data"),
    429: _l("Too many requests"),
    500: _l("Something went wrong"),
    503: _l("Temporarily unavailable"),
}
EXPLANATIONS = {
    400: _l("The browser sent a request this site cannot read. Go back, reload the page and try again."),
    403: _l("You may not open this page."),
    404: _l("There is no page at this address. Check it for typing errors, or start again from the home page."),
    405: _l("This address does not take that kind of request."),
    413: _l("What was sent is larger than this site accepts."),
    429: _l("Too many requests came from your network. Wait a moment, then try again."),
    500: _l("This site failed to answer. The error has been logged; please try again later."),
    503: _l("The service cannot reach its database right now. Please try again in a few seconds."),
}


def init_app(app: Quart) -> None:
    app.register_error_handler(HTTPException, _error_page)
    for error in (DBAPIError, PoolTimeoutError):
        app.register_error_handler(error, _unavailable)
    app.register_error_handler(ClientDisconnectedError, _client_gone)


async def _error_page(error: HTTPException) -> tuple[str, int, list[tuple[str, str]]]:
    headers = [(name, value) for name, value in error.get_headers() if name.lower() != "content-type"]
    return await render_template("error.html", **describe(error)), error.code or 500, headers


def describe(error: HTTPException) -> dict[str, object]:
    """The error page's code, title and explanation: the error's own, unless it is Werkzeug's English one."""
    code = error.code or 500
    own = type(error).__module__ != exceptions.__name__ or error.description != type(error).description
    explanation = error.description if own or code not in EXPLANATIONS else EXPLANATIONS[code]
    return {"code": code, "title": TITLES.get(code, error.name), "explanation": explanation}


async def _unavailable(error: Exception) -> tuple[str, int, dict[str, str]]:
    """A database that is down, unreachable, slow or locked is a temporary 503."""
    if isinstance(error, DBAPIError) and not (
        isinstance(error, (OperationalError, InterfaceError)) or error.connection_invalidated
    ):
        raise error  # a failing statement is a bug, not an outage: let it be a logged 500
    current_app.logger.warning("database unavailable: %s", error)
    page = await render_template("error.html", code=503, title=TITLES[503], explanation=EXPLANATIONS[503])
    return page, 503, {"Retry-After": "5"}


async def _client_gone(error: ClientDisconnectedError) -> tuple[str, int]:
    return "", 400  # nobody is left to read it
