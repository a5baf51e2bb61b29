import ipaddress
import json
import logging
from collections.abc import Mapping
from datetime import datetime, UTC
from typing import Any

from quart import has_request_context, Quart, Request, request, Response

audit_log = logging.getLogger("quartapp.audit")

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; object-src 'none'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)


def init_app(app: Quart) -> None:
    """Add the security headers to every response, and make the app's log lines visible."""

    @app.after_request
    async def add_security_headers(response: Response) -> Response:
        return security_headers(app, request, response)

    # Quart gives the "quartapp" logger a stderr handler unless logging is configured; its
    # INFO lines (the database closing at shutdown) would otherwise be dropped.
    if app.logger.level == logging.NOTSET:
        app.logger.setLevel(logging.INFO)
    # Audit lines are JSON alone, one per line, ready for a log shipper.
    if not audit_log.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        audit_log.addHandler(handler)
        audit_log.propagate = False


def client_address() -> str:
    """Return the address of the client that sent this request."""
    return (request.remote_addr or "unknown")[:45]  # the column width; an IPv6 address fits


def address_network(address: str) -> str:
    """Return the network an address is throttled as: itself, or its /64 for IPv6.

    One IPv6 subscriber usually holds a whole /64, so counting single addresses would give
    an attacker 2**64 fresh ones.
    """
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def audit(event: str, *, username_key: str | None = None, session_id: str | None = None, **fields: object) -> None:
    """Log one security event as a JSON line: who, from where, which session (by its hash).

    Never pass a password or a raw token: session_id is the stored SHA-256 of the token.
    """
    if username_key is not None:
        username_key = username_key[:128]  # a sign-in may type any length; the log stays readable
    record = {"time": datetime.now(UTC).isoformat(timespec="seconds"), "event": event, "username_key": username_key}
    if has_request_context():
        record["address"] = client_address()
    record["session_id"] = session_id
    audit_log.info(json.dumps(record | fields, ensure_ascii=False))


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
