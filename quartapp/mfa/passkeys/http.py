"""What the passkey endpoints share: JSON in and out, the CSRF token in a header, BASE_URL's relying party."""

import json
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any

from quart import current_app, request

from ...forms import csrf_header_valid, CSRFError
from ...i18n import _
from . import ceremonies
from .ceremonies import PasskeyError, UnknownCredential

Json = dict[str, Any] | tuple[dict[str, Any], int] | tuple[dict[str, Any], int, dict[str, str]]


def json_view[**P](view: Callable[P, Awaitable[Json]]) -> Callable[P, Awaitable[Json]]:
    """A JSON endpoint: the CSRF token in X-CSRF-Token (there is no form), a refusal as 400 {"error": ...}."""

    @wraps(view)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> Json:
        try:
            if not csrf_header_valid():  # the forms' session-bound token, in a header: a JSON post has no form
                raise PasskeyError(CSRFError.description)
            return await view(*args, **kwargs)
        except PasskeyError as error:
            answer: dict[str, Any] = {"error": str(error)}
            if isinstance(error, UnknownCredential):
                answer["unknown_credential"] = True  # the page tells the browser to forget it
            return answer, 400

    return wrapper


async def json_body() -> dict[str, Any]:
    try:
        body = json.loads(await request.get_data())
    except (ValueError, RecursionError):  # not UTF-8, not JSON, or nested deeper than the parser goes
        body = None
    if not isinstance(body, dict):
        raise PasskeyError(_("The browser sent no passkey. Reload the page and try again."))
    return body


def site() -> ceremonies.RelyingParty:
    return ceremonies.relying_party(current_app.config)
