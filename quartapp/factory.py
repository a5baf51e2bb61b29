import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, cast

from jinja2 import ChoiceLoader
from quart import Blueprint, current_app, render_template
from quart.wrappers import ClientDisconnectedError
from quart_auth import Unauthorized
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware
from werkzeug.exceptions import HTTPException

from . import account, auth, cli, db, emails, housekeeping, mail, pages, passwords, reauth, recovery, security, users
from .app import QuartApp
from .config import configure
from .cookies import Auth
from .gate import Gate
from .mfa import passkey_signin, passkey_views
from .mfa import setup as mfa_setup
from .mfa import signin as mfa_signin
from .mfa import turn_off as mfa_turn_off
from .server.access_log import SecretConverter


def create_app(
    test_config: dict[str, Any] | None = None,
    *,
    instance_path: str | None = None,
    blueprints: Iterable[Blueprint] = (),
    migrations: Iterable[str | Path] = (),
) -> QuartApp:
    """Create the app: configuration, database, bcrypt pool, authentication, views, CLI.

    An application built on quartapp passes its own blueprints (their templates come before
    quartapp's, so they may replace any of them) and the folders of its alembic revisions.
    """
    instance = instance_path or os.environ.get("QUARTAPP_INSTANCE_PATH")
    app = QuartApp("quartapp", instance_path=os.path.abspath(instance) if instance else None)
    configure(app, test_config)
    app.gate = Gate(app.config)
    # /static//style.css would be a redirect to an absolute URL built from the Host: a 404 instead.
    app.url_map.merge_slashes = False
    # The token of a mailed link is a password for a while: the access log writes it as <secret>.
    app.url_map.converters["secret"] = SecretConverter
    if app.config["TRUSTED_PROXIES"]:
        # Only a request whose peer is a configured proxy may name its client's address and
        # scheme; anyone else could claim any address and dodge throttling or the audit log.
        # (uvicorn and hypercorn type the same ASGI messages with TypedDicts of their own that
        # mypy cannot match, hence the casts; assigning asgi_app is Quart's way to add middleware.)
        proxied = ProxyHeadersMiddleware(cast(Any, app.asgi_app), trusted_hosts=app.config["TRUSTED_PROXIES"])
        app.asgi_app = cast(Any, proxied)  # type: ignore[method-assign]

    db.init_app(app)
    passwords.init_app(app)
    mail.init_app(app)
    Auth(app, user_class=users.CurrentUser)
    app.register_blueprint(auth.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(account.bp)
    app.register_blueprint(emails.bp)
    app.register_blueprint(recovery.bp)
    app.register_blueprint(reauth.bp)
    app.register_blueprint(mfa_signin.bp)
    app.register_blueprint(mfa_setup.bp)
    app.register_blueprint(mfa_turn_off.bp)
    app.register_blueprint(passkey_views.bp)
    app.register_blueprint(passkey_signin.bp)
    add_blueprints(app, blueprints)
    app.extensions["migrations"] = list(migrations)
    housekeeping.init_app(app)
    security.init_app(app)
    cli.init_app(app)

    app.register_error_handler(Unauthorized, auth.redirect_to_signin)
    app.register_error_handler(HTTPException, _error_page)
    for error in (DBAPIError, PoolTimeoutError):
        app.register_error_handler(error, _unavailable)
    app.register_error_handler(ClientDisconnectedError, _client_gone)
    return app


def add_blueprints(app: QuartApp, blueprints: Iterable[Blueprint]) -> None:
    """Register the application's blueprints, their template folders searched before quartapp's."""
    blueprints = list(blueprints)
    for blueprint in blueprints:
        app.register_blueprint(blueprint)
    # Quart searches the app's own folder first, then blueprints in the order registered; the
    # application's folders go in front, so its base.html or auth/signin.html is the one used.
    loaders = [loader for blueprint in blueprints if (loader := blueprint.jinja_loader) is not None]
    if loaders and app.jinja_loader is not None:
        app.jinja_loader = ChoiceLoader([*loaders, app.jinja_loader])


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
