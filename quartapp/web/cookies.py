import time
from typing import Any, cast

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from quart import current_app, has_request_context, Quart, request
from quart.sessions import SecureCookieSession, SecureCookieSessionInterface
from quart.wrappers import BaseRequestWebsocket
from quart_auth import AuthUser, QuartAuth


def signing_keys(app: Quart) -> tuple[str | bytes, ...]:
    """The keys cookies are checked with, the current one last (itsdangerous' order)."""
    return (*(app.config.get("SECRET_KEY_FALLBACKS") or ()), app.secret_key or "")


def secure_cookies() -> bool:
    """Return whether the cookies set by this request are Secure.

    COOKIE_SECURE is True, False or "auto"; "auto" follows the request's scheme, so https
    deployments get Secure cookies while `make run` on plain http still signs people in.
    """
    if not has_request_context():
        return False
    setting = current_app.config["COOKIE_SECURE"]
    return request.is_secure if setting == "auto" else bool(setting)


class Verified:
    """Signed cookie values already checked, remembered by their exact text.

    A browser sends the same cookies page after page, and checking a signature costs a page
    about 25 µs each (itsdangerous in Python: key derivation, HMAC, base64, JSON). A value is
    remembered only once its signature has passed with the current keys, with its signing
    time, so its age is checked anew on every use; any other text, one character off, is
    checked in full. Revoking a sign-in never relied on the signature: the server-side
    session it names is looked up on every request.
    """

    def __init__(self, size: int = 1024) -> None:
        self.size = size  # per worker: an active browser each, and the oldest forgotten first
        self._values: dict[str, tuple[Any, float]] = {}

    def loads(self, serializer: URLSafeTimedSerializer, text: str, max_age: int | None) -> Any:
        """serializer.loads(text, max_age=max_age), from memory when text was checked before."""
        if (known := self._values.get(text)) is not None:
            value, signed = known
            if max_age is not None and not 0 <= time.time() - signed <= max_age:
                raise SignatureExpired("the signed value is too old")
            return value
        value, signed_at = serializer.loads(text, max_age=max_age, return_timestamp=True)
        if _immutable(value):
            if len(self._values) >= self.size:
                del self._values[next(iter(self._values))]
            self._values[text] = (value, signed_at.timestamp())
        return value


def _immutable(value: Any) -> bool:
    """Whether value can be handed out again and again: a string, or a dict of strings and numbers."""
    if isinstance(value, dict):
        return all(isinstance(item, str | int | float | bool) for item in value.values())
    return isinstance(value, str)


def cookie_name(name: str) -> str:
    # A `__Host-` cookie must be Secure, have Path=/ and no Domain, so neither a sibling
    # subdomain nor a plain-http page on this host can plant or overwrite it.
    return f"__Host-{name}" if secure_cookies() else name


class Auth(QuartAuth):
    """Quart-Auth whose cookie flag and name follow the app's cookie policy per request."""

    _serializers: dict[tuple[str | bytes, ...], URLSafeTimedSerializer]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._serializers = {}
        self._verified = Verified()
        super().__init__(*args, **kwargs)

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

    def load_token(self, token: str, app: Quart | None = None) -> str | None:
        """Quart-Auth's load_token, with its serializer made once per set of keys, not per request."""
        keys = signing_keys(app or current_app)
        if (serializer := self._serializers.get(keys)) is None:
            # The same arguments as Quart-Auth's own, which are typed more loosely than used.
            serializer = self._serializers[keys] = self.serializer_class(cast(Any, list(keys)), cast(str, self.salt))
        try:
            loaded: str | None = self._verified.loads(serializer, token, self.duration)
        except (BadSignature, SignatureExpired):
            return None
        return loaded

    async def _template_context(self) -> dict[str, AuthUser]:  # type: ignore[override]
        # Quart-Auth's private context processor (see internals.py), made async: Quart runs a
        # synchronous one in a thread, a trip per page.
        return {"current_user": self.load_user()}


class SessionInterface(SecureCookieSessionInterface):
    """Quart's signed-cookie session (it carries the CSRF secret) under the same policy."""

    def __init__(self) -> None:
        self._serializers: dict[tuple[str | bytes, ...], URLSafeTimedSerializer | None] = {}
        self._verified = Verified()

    async def open_session(self, app: Quart, request: BaseRequestWebsocket) -> SecureCookieSession | None:
        """Quart's open_session, the cookie's signature checked once per browser (see Verified)."""
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        cookie = request.cookies.get(self.get_cookie_name(app))
        if cookie is None:
            return self.session_class()
        try:
            data = self._verified.loads(serializer, cookie, int(app.permanent_session_lifetime.total_seconds()))
        except BadSignature:  # SignatureExpired included
            return self.session_class()
        return self.session_class(data)  # a copy: the remembered value stays as it was

    def get_cookie_name(self, app: Quart) -> str:
        return cookie_name(app.config["SESSION_COOKIE_NAME"])

    def get_cookie_secure(self, app: Quart) -> bool:
        return secure_cookies()

    def get_signing_serializer(self, app: Quart) -> URLSafeTimedSerializer | None:
        """Quart's serializer, made once per set of keys instead of twice per request."""
        if not app.secret_key:
            return None
        keys = signing_keys(app)
        if (serializer := self._serializers.get(keys)) is None:
            serializer = self._serializers[keys] = super().get_signing_serializer(app)
        return serializer
