from quart import current_app, has_request_context, Quart, request
from quart.sessions import SecureCookieSessionInterface
from quart_auth import QuartAuth


def secure_cookies() -> bool:
    """Return whether the cookies set by this request are Secure.

    COOKIE_SECURE is True, False or "auto"; "auto" follows the request's scheme, so https
    deployments get Secure cookies while `make run` on plain http still signs people in.
    """
    if not has_request_context():
        return False
    setting = current_app.config["COOKIE_SECURE"]
    return request.is_secure if setting == "auto" else bool(setting)


def cookie_name(name: str) -> str:
    # A `__Host-` cookie must be Secure, have Path=/ and no Domain, so neither a sibling
    # subdomain nor a plain-http page on this host can plant or overwrite it.
    return f"__Host-{name}" if secure_cookies() else name


class Auth(QuartAuth):
    """Quart-Auth whose cookie flag and name follow the app's cookie policy per request."""

    @property
    def cookie_secure(self) -> bool:
        return secure_cookies()

    @cookie_secure.setter
    def cookie_secure(self, value: bool | None) -> None:
        """Ignored: COOKIE_SECURE decides."""

    @property
    def cookie_name(self) -> str | None:
        return None if self._cookie_name is None else cookie_name(self._cookie_name)

    @cookie_name.setter
    def cookie_name(self, value: str | None) -> None:
        self._cookie_name = value


class SessionInterface(SecureCookieSessionInterface):
    """Quart's signed-cookie session (it carries the CSRF secret) under the same policy."""

    def get_cookie_name(self, app: Quart) -> str:
        return cookie_name(app.config["SESSION_COOKIE_NAME"])

    def get_cookie_secure(self, app: Quart) -> bool:
        return secure_cookies()
