import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, cast

from jinja2 import ChoiceLoader
from quart import Blueprint
from quart_auth import Unauthorized
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from . import account, audit, auth, cli, housekeeping, language, mail, pages, passwords
from .app import QuartApp
from .config import configure
from .current_user import CurrentUser
from .db import engine
from .i18n import setup as languages
from .mfa import signin as mfa_signin
from .mfa import totp_views
from .mfa import views as mfa_views
from .mfa.passkeys import signin as passkey_signin
from .mfa.passkeys import views as passkey_views
from .ownership import views as ownership
from .recovery import addresses, reset, verification
from .server.access_log import SecretConverter
from .signin_code import views as signin_code
from .web import errors, headers
from .web.cookies import Auth
from .web.gate import Gate


def create_app(
    test_config: dict[str, Any] | None = None,
    *,
    instance_path: str | None = None,
    blueprints: Iterable[Blueprint] = (),
    migrations: Iterable[str | Path] = (),
    translations: Iterable[str | Path] = (),
) -> QuartApp:
    """Create the app: configuration, languages, database, bcrypt pool, authentication, views, CLI.

    An application built on quartapp passes its own blueprints (their templates come before
    quartapp's, so they may replace any of them), the folders of its alembic revisions and those
    of its gettext catalogs (searched before quartapp's, so they may also reword quartapp's text).
    """
    instance = instance_path or os.environ.get("QUARTAPP_INSTANCE_PATH")
    app = QuartApp("quartapp", instance_path=os.path.abspath(instance) if instance else None)
    configure(app, test_config)
    languages.init_app(app, translations)
    app.gate = Gate(app.config, app.extensions["translations"])
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

    # The audit log before the database: its last rows are written before the engine is disposed.
    audit.init_app(app)
    engine.init_app(app)
    passwords.init_app(app)
    mail.init_app(app)
    Auth(app, user_class=CurrentUser)
    # The sign-in core: sign-in, sign-up, sign-out and /reauthenticate; the home page; the account;
    # a sign-in code by mail.
    app.register_blueprint(auth.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(account.bp)
    app.register_blueprint(signin_code.bp)
    # A way back in by mail: the address and its verification, then password resets.
    app.register_blueprint(addresses.bp)
    app.register_blueprint(verification.bp)
    app.register_blueprint(reset.bp)
    # Second factors: the step at sign-in, the /2fa page, the authenticator app, passkeys.
    app.register_blueprint(mfa_signin.bp)
    app.register_blueprint(mfa_views.bp)
    app.register_blueprint(totp_views.bp)
    app.register_blueprint(passkey_views.bp)
    app.register_blueprint(passkey_signin.bp)
    # The account's own: its data to take away, its deletion.
    app.register_blueprint(ownership.bp)
    # The language picker at the foot of every page.
    app.register_blueprint(language.bp)
    add_blueprints(app, blueprints)
    app.extensions["migrations"] = list(migrations)
    housekeeping.init_app(app)
    headers.init_app(app)
    cli.init_app(app)

    app.register_error_handler(Unauthorized, auth.redirect_to_signin)
    errors.init_app(app)
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
