"""The headers every response carries: no sniffing, no framing, no inline script, no caching of pages."""

from collections.abc import Mapping
from typing import Any

from quart import Quart, Request, request, Response

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; object-src 'none'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)


def init_app(app: Quart) -> None:
    """Add the security headers to every response."""

    @app.after_request
    async def add_security_headers(response: Response) -> Response:
        return security_headers(app, request, response)


async def no_referrer(response: Response) -> Response:
    """After-request hook for pages whose URL holds a secret: browsers send no Referer from them."""
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def strict_transport_security(config: Mapping[str, Any]) -> str | None:
    """The Strict-Transport-Security value for responses over https, None if turned off."""
    # Once a browser has seen the site over https it never again tries plain http, where
    # anyone on the path could strip TLS and read the sign-in form.
    max_age = config["HSTS_MAX_AGE"]
    return None if max_age is None else f"max-age={max_age}"


def header_values(config: Mapping[str, Any], *, secure: bool, html: bool) -> list[tuple[str, str]]:
    """The headers every response carries, as (name, value): the app's pages and the gate's refusals."""
    values = [("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "same-origin")]
    hsts = strict_transport_security(config)
    if hsts is not None and (secure or config["COOKIE_SECURE"] is True):
        values.append(("Strict-Transport-Security", hsts))
    if html:
        # No inline script or style, no plugins and no framing: injected markup can neither
        # run nor be dressed up, and no other site can overlay these forms (clickjacking).
        values.append(("Content-Security-Policy", CONTENT_SECURITY_POLICY))
        # Every page shows who is signed in or carries a CSRF token: never keep a copy.
        values.append(("Cache-Control", "no-store"))
    return values


def security_headers(app: Quart, request: Request, response: Response) -> Response:
    """Add the headers every response of the app carries (a page's own Referrer-Policy stays)."""
    for name, value in header_values(app.config, secure=request.is_secure, html=response.mimetype == "text/html"):
        if name == "Referrer-Policy":
            response.headers.setdefault(name, value)
        else:
            response.headers[name] = value
    return response
