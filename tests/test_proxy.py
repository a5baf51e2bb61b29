from quartapp.db.models import AuthSession

from .conftest import auth_cookie, AuthActions, rows, running_app

PROXY = "10.0.0.2"


class BehindProxy(AuthActions):
    """A visitor whose requests arrive through a proxy that names them in X-Forwarded-*."""

    def __init__(self, client, *, peer: str, forwarded_for: str, proto: str = "https") -> None:
        super().__init__(client, address=peer)
        self.options["headers"] |= {"X-Forwarded-For": forwarded_for, "X-Forwarded-Proto": proto}


async def test_a_trusted_proxy_names_the_client_and_the_scheme(tmp_path):
    async with running_app(tmp_path, TRUSTED_PROXIES=["10.0.0.0/24"]) as app:
        visitor = BehindProxy(app.test_client(), peer=PROXY, forwarded_for="198.51.100.1, 203.0.113.9")
        response = await visitor.signup("alice")
        assert response.status_code == 303
        cookie = auth_cookie(response)
        assert cookie is not None
        assert cookie.startswith("__Host-quartapp_auth=")
        assert "Secure" in cookie
        [session] = await rows(app, AuthSession)
        assert session.address == "203.0.113.9"  # the right-most address the proxy did not add itself


async def test_forwarded_headers_from_anyone_else_are_ignored(tmp_path):
    async with running_app(tmp_path, TRUSTED_PROXIES=["10.0.0.0/24"]) as app:
        visitor = BehindProxy(app.test_client(), peer="192.0.2.50", forwarded_for="203.0.113.9")
        response = await visitor.signup("alice")
        cookie = auth_cookie(response)
        assert cookie is not None
        assert "Secure" not in cookie
        [session] = await rows(app, AuthSession)
        assert session.address == "192.0.2.50"


async def test_without_trusted_proxies_forwarded_headers_are_ignored(tmp_path):
    async with running_app(tmp_path) as app:
        await BehindProxy(app.test_client(), peer=PROXY, forwarded_for="203.0.113.9").signup("alice")
        [session] = await rows(app, AuthSession)
        assert session.address == PROXY


async def test_throttling_counts_the_forwarded_client_not_the_proxy(tmp_path):
    async with running_app(tmp_path, TRUSTED_PROXIES=[PROXY], THROTTLE_ADDRESS_FAILURES=2) as app:
        attacker = BehindProxy(app.test_client(), peer=PROXY, forwarded_for="203.0.113.66")
        for name in ("ann", "bob", "cy"):
            assert (await attacker.signin(name, "wrong password")).status_code == 200
        assert (await attacker.signin("dee", "wrong password")).status_code == 429
        neighbour = BehindProxy(app.test_client(), peer=PROXY, forwarded_for="203.0.113.77")
        assert (await neighbour.signin("dee", "wrong password")).status_code == 200
