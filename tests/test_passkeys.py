"""Passkeys: registering one, signing in with it alone or after the password, and every refusal."""

import json
import logging
import re
from typing import Any

import cbor2
import pytest
from quart import Quart, Response
from quart.typing import TestClientProtocol as Client
from sqlalchemy import update

from quartapp.db.engine import get_session
from quartapp.db.models import AuthSession, User, utcnow
from quartapp.mfa.models import Passkey, RecoveryCode
from quartapp.mfa.passkeys.ceremonies import PasskeyError, relying_party
from quartapp.testing.helpers import csrf_token, submit

from .conftest import auth_cookie, AuthActions, PASSWORD, rows, running_app
from .webauthn_device import AT, Authenticator, b64, UP

BASE_URL = "http://localhost"  # the test client's host: WebAuthn refuses IP addresses


@pytest.fixture
def quartapp_config():
    return {"BASE_URL": BASE_URL}  # the plugin's app, with links and passkeys at the test client's host


@pytest.fixture
async def alice(client, signed_in):
    return await signed_in(client, "alice", password=PASSWORD, email="alice@example.org")


async def token(client: Client, path: str) -> str:
    return csrf_token(await (await client.get(path)).get_data(as_text=True))


async def post_json(client: Client, path: str, body: Any, csrf: str | None) -> Response:
    return await client.post(path, json=body, headers={"X-CSRF-Token": csrf} if csrf else {})


async def options(client: Client, path: str, csrf: str, body: Any = None) -> dict[str, Any]:
    response = await post_json(client, path, body or {}, csrf)
    assert response.status_code == 200, await response.get_data(as_text=True)
    answer: dict[str, Any] = await response.get_json()
    return answer


async def register(client: Client, device: Authenticator, name: str = "Laptop", **create: Any) -> Response:
    csrf = await token(client, "/passkeys")
    offered = await options(client, "/passkeys/register/options", csrf, {"name": name})
    credential = device.create(offered, **create)
    return await post_json(client, "/passkeys/register/verify", {"name": name, "credential": credential}, csrf)


async def passkey_signin(client: Client, device: Authenticator, query: str = "", **get: Any) -> Response:
    csrf = await token(client, "/signin")
    offered = await options(client, "/passkeys/signin/options", csrf)
    return await post_json(client, f"/passkeys/signin/verify{query}", {"credential": device.get(offered, **get)}, csrf)


async def error_of(response: Response, status: int = 400) -> str:
    assert response.status_code == status, await response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    message: str = (await response.get_json())["error"]
    return message


async def registered(client: Client, **device: Any) -> Authenticator:
    authenticator = Authenticator(**device)
    response = await register(client, authenticator)
    assert response.status_code == 200, await response.get_data(as_text=True)
    return authenticator


async def set_user(app: Quart, username: str, **values: Any) -> None:
    async with app.app_context():
        db = get_session()
        await db.execute(update(User).where(User.username == username).values(**values))
        await db.commit()


def audited(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == "quartapp.audit"]


async def test_register_then_sign_in_with_the_passkey_alone(app, client, alice, caplog):
    caplog.set_level(logging.INFO, logger="quartapp.audit")
    device = Authenticator()
    csrf = await token(client, "/passkeys")
    offered = await options(client, "/passkeys/register/options", csrf, {"name": "Laptop"})
    assert offered["rp"] == {"id": "localhost", "name": "quartapp"}
    assert offered["authenticatorSelection"]["residentKey"] == "required"
    assert offered["authenticatorSelection"]["userVerification"] == "required"
    assert offered["excludeCredentials"] == []
    [user] = await rows(app, User)
    assert offered["user"]["id"] == user.webauthn_handle
    assert len(user.webauthn_handle) == 43  # 32 random bytes, base64url
    credential = device.create(offered)
    response = await post_json(client, "/passkeys/register/verify", {"name": "Laptop", "credential": credential}, csrf)
    assert response.status_code == 200
    assert (await response.get_json()) == {"redirect": "/passkeys/recovery-codes"}  # the first second factor
    [passkey] = await rows(app, Passkey)
    assert (passkey.id, passkey.name, passkey.user_id, passkey.sign_count) == (device.id, "Laptop", user.id, 0)
    assert json.loads(passkey.transports) == ["internal", "hybrid"]
    assert passkey.last_used_at is None
    assert "passkey.added" in [event["event"] for event in audited(caplog)]

    page = await (await client.get("/passkeys/recovery-codes")).get_data(as_text=True)
    assert "Two-factor sign-in is on" in page
    assert len(re.findall(r"<li><code>[a-z2-9-]{19}</code></li>", page)) == len(await rows(app, RecoveryCode)) == 10
    assert (await client.get("/passkeys/recovery-codes")).status_code == 303  # shown once

    browser = app.test_client()
    response = await passkey_signin(browser, device, "?next=/sessions")
    assert response.status_code == 200
    assert await response.get_json() == {"redirect": "/sessions"}
    assert auth_cookie(response) is not None
    assert len(await rows(app, AuthSession)) == 2  # alice's first session, and this one
    page = await (await browser.get("/")).get_data(as_text=True)
    assert "Welcome, alice" in page
    [passkey] = await rows(app, Passkey)
    assert passkey.sign_count == 1
    assert passkey.last_used_at is not None
    events = [event["event"] for event in audited(caplog)]
    assert events[-2:] == ["signin.success", "passkey.used"]


async def test_next_leads_only_to_this_site(app, client, alice):
    device = await registered(client)
    response = await passkey_signin(app.test_client(), device, "?next=//evil.example/")
    assert await response.get_json() == {"redirect": "/"}


async def test_the_relying_party_comes_from_base_url_never_from_the_host(app, client, alice):
    csrf = await token(client, "/passkeys")
    response = await client.post(
        "/passkeys/register/options", json={"name": "x"}, headers={"X-CSRF-Token": csrf, "Host": "127.0.0.1:8000"}
    )
    assert response.status_code == 200  # a host the app serves...
    assert (await response.get_json())["rp"]["id"] == "localhost"  # ...yet the passkey is BASE_URL's
    # And a browser at that host would sign for its origin, which is not BASE_URL's.
    response = await register(client, Authenticator(origin="http://127.0.0.1:8000", rp_id="127.0.0.1"))
    assert await error_of(response) == "That passkey could not be verified. Try again."


@pytest.mark.parametrize(
    ("base_url", "rp_id", "origin"),
    [
        ("http://localhost", "localhost", "http://localhost"),
        ("http://localhost:8000", "localhost", "http://localhost:8000"),
        ("https://auth.example.com:443", "auth.example.com", "https://auth.example.com"),
        ("https://Auth.Example.com:8443/", "auth.example.com", "https://auth.example.com:8443"),
        ("http://app.localhost:5000", "app.localhost", "http://app.localhost:5000"),
    ],
)
def test_relying_party_of_base_url(base_url, rp_id, origin):
    rp = relying_party({"BASE_URL": base_url, "WEBAUTHN_RP_NAME": "quartapp"})
    assert (rp.id, rp.origin) == (rp_id, origin)


@pytest.mark.parametrize(
    ("base_url", "reason"),
    [
        ("http://127.0.0.1:8000", "not an IP address: set QUARTAPP_BASE_URL=http://localhost:8000 and open"),
        ("http://[::1]", "not an IP address: set QUARTAPP_BASE_URL=http://localhost and open"),
        ("http://auth.example.com", "Passkeys need https"),
    ],
)
def test_no_relying_party_at_an_ip_address_or_plain_http(base_url, reason):
    with pytest.raises(PasskeyError, match=re.escape(reason)):
        relying_party({"BASE_URL": base_url, "WEBAUTHN_RP_NAME": "quartapp"})


async def test_an_ip_base_url_is_explained_on_the_pages_without_a_500(tmp_path, signed_in):
    async with running_app(tmp_path, BASE_URL="http://127.0.0.1:8000") as app:
        client = app.test_client()
        await signed_in(client, "alice")
        explanation = (
            "Passkeys need a host name, not an IP address: set QUARTAPP_BASE_URL=http://localhost:8000 "
            "and open that address."
        )
        for path, explained in (("/passkeys", True), ("/signin", False)):  # the operator's words, not the visitor's
            response = await client.get(path)
            assert response.status_code == 200
            page = await response.get_data(as_text=True)
            assert (explanation in page) is explained
            assert 'data-passkey="' not in page  # no button that could only fail
        csrf = await token(client, "/passkeys")
        for path in ("/passkeys/register/options", "/passkeys/signin/options"):
            assert await error_of(await post_json(client, path, {"name": "x"}, csrf)) == explanation


async def test_a_second_passkey_excludes_the_first_and_the_same_one_twice_is_refused(app, client, alice):
    first = await registered(client)
    csrf = await token(client, "/passkeys")
    offered = await options(client, "/passkeys/register/options", csrf, {"name": "Phone"})
    assert [c["id"] for c in offered["excludeCredentials"]] == [first.id]
    assert offered["excludeCredentials"][0]["transports"] == ["internal", "hybrid"]
    [user] = await rows(app, User)
    assert offered["user"]["id"] == user.webauthn_handle  # the handle is made once

    assert await error_of(await register(client, first)) == "That passkey is already registered."
    response = await register(client, Authenticator(), name="Phone")
    assert await response.get_json() == {"redirect": "/passkeys"}  # recovery codes exist already
    assert sorted(p.name for p in await rows(app, Passkey)) == ["Laptop", "Phone"]


async def test_someone_elses_credential_id_cannot_be_registered_again(app, client, alice, signed_in):
    device = await registered(client)
    bob = app.test_client()
    await signed_in(bob, "bob")
    assert await error_of(await register(bob, device)) == "That passkey is already registered."
    [passkey] = await rows(app, Passkey)
    assert passkey.user_id == alice.id


async def test_a_user_has_at_most_so_many_passkeys(app, client, alice, monkeypatch):
    monkeypatch.setattr("quartapp.mfa.passkeys.options.MAX_PER_USER", 2)
    await registered(client)
    await registered(client)
    csrf = await token(client, "/passkeys")
    response = await post_json(client, "/passkeys/register/options", {"name": "Third"}, csrf)
    assert await error_of(response) == "You have 2 passkeys: remove one before adding another."


async def test_a_name_is_required_before_the_authenticator_is_asked(client, alice):
    csrf = await token(client, "/passkeys")
    for name in ("", "   ", "x" * 65, 7, None):
        response = await post_json(client, "/passkeys/register/options", {"name": name}, csrf)
        assert await error_of(response) == "Give the passkey a name of 1 to 64 characters."


async def test_a_sign_in_challenge_works_once(app, client, alice):
    device = await registered(client)
    browser = app.test_client()
    csrf = await token(browser, "/signin")
    offered = await options(browser, "/passkeys/signin/options", csrf)
    assertion = {"credential": device.get(offered)}
    assert (await post_json(browser, "/passkeys/signin/verify", assertion, csrf)).status_code == 200
    csrf = await token(browser, "/signin")
    replayed = await post_json(browser, "/passkeys/signin/verify", assertion, csrf)
    assert await error_of(replayed) == "That took too long or was already used. Try again."
    await options(browser, "/passkeys/signin/options", csrf)  # a new challenge does not take an old answer
    assert await error_of(await post_json(browser, "/passkeys/signin/verify", assertion, csrf)) == (
        "That passkey could not be verified. Try again."
    )
    assert len(await rows(app, AuthSession)) == 2


async def test_a_registration_challenge_works_once(app, client, alice):
    device = Authenticator()
    csrf = await token(client, "/passkeys")
    offered = await options(client, "/passkeys/register/options", csrf, {"name": "Laptop"})
    body = {"name": "Laptop", "credential": device.create(offered)}
    assert (await post_json(client, "/passkeys/register/verify", body, csrf)).status_code == 200
    replayed = await post_json(client, "/passkeys/register/verify", body, csrf)
    assert await error_of(replayed) == "That took too long or was already used. Try again."


async def test_an_expired_challenge_is_refused(app, client, alice, clock):
    device = await registered(client)
    browser = app.test_client()
    csrf = await token(browser, "/signin")
    offered = await options(browser, "/passkeys/signin/options", csrf)
    clock.advance(seconds=5 * 60 + 1)
    response = await post_json(browser, "/passkeys/signin/verify", {"credential": device.get(offered)}, csrf)
    assert await error_of(response) == "That took too long or was already used. Try again."
    assert auth_cookie(response) is None


@pytest.mark.parametrize(
    "claimed",
    [
        {"origin": "http://evil.example"},
        {"origin": "https://localhost"},
        {"origin": "http://localhost:8000"},
        {"rp_id": "evil.example"},
        {"flags": UP | AT},  # the user was not verified
    ],
    ids=["foreign-origin", "other-scheme", "other-port", "foreign-rp-id", "no-user-verification"],
)
async def test_a_registration_for_another_site_or_without_verification_is_refused(app, client, alice, claimed):
    response = await register(client, Authenticator(), **claimed)
    assert await error_of(response) == "That passkey could not be verified. Try again."
    assert await rows(app, Passkey) == []


@pytest.mark.parametrize(
    "claimed",
    [{"origin": "http://evil.example"}, {"origin": "http://localhost:8000"}, {"rp_id": "evil.example"}, {"flags": UP}],
    ids=["foreign-origin", "other-port", "foreign-rp-id", "no-user-verification"],
)
async def test_a_sign_in_for_another_site_or_without_verification_is_refused(app, client, alice, claimed):
    device = await registered(client)
    response = await passkey_signin(app.test_client(), device, **claimed)
    assert await error_of(response) == "That passkey could not be verified. Try again."
    assert auth_cookie(response) is None
    assert len(await rows(app, AuthSession)) == 1


async def test_a_counter_that_does_not_grow_is_refused_as_a_possible_clone(app, client, alice, caplog):
    caplog.set_level(logging.INFO, logger="quartapp.audit")
    device = await registered(client, sign_count=5)
    assert (await passkey_signin(app.test_client(), device, sign_count=6)).status_code == 200
    for count in (6, 3, 0):
        response = await passkey_signin(app.test_client(), device, sign_count=count)
        assert await error_of(response) == "That passkey could not be verified. Try again."
    assert (await passkey_signin(app.test_client(), device, sign_count=9)).status_code == 200
    [passkey] = await rows(app, Passkey)
    assert passkey.sign_count == 9
    regressions = [e for e in audited(caplog) if e["event"] == "passkey.counter_regressed"]
    assert [(e["stored"], e["reported"]) for e in regressions] == [(6, 6), (6, 3), (6, 0)]
    assert any("possibly cloned" in r.getMessage() for r in caplog.records if r.name == "quartapp")


async def test_an_authenticator_without_a_counter_signs_in_every_time(app, client, alice):
    device = await registered(client, counter_step=0)
    for _ in range(3):
        assert (await passkey_signin(app.test_client(), device)).status_code == 200
    [passkey] = await rows(app, Passkey)
    assert passkey.sign_count == 0


async def test_an_unknown_passkey_and_a_disabled_account_get_the_same_refusal(app, client, alice):
    device = await registered(client)
    response = await passkey_signin(app.test_client(), Authenticator())
    assert await error_of(response) == "That passkey is not registered here."
    # Only a passkey with no record at all is one the browser may forget (signalUnknownCredential).
    assert (await response.get_json())["unknown_credential"] is True
    await set_user(app, "alice", disabled_at=utcnow())
    response = await passkey_signin(app.test_client(), device)
    assert await error_of(response) == "That passkey is not registered here."
    assert "unknown_credential" not in await response.get_json()  # it still works once re-enabled
    assert len(await rows(app, AuthSession)) == 1


async def test_a_deleted_accounts_passkey_is_one_the_browser_may_forget(app, client, alice):
    device = await registered(client)
    response = await submit(client, "/account/delete", {"username": "alice"})
    assert response.headers["Location"] == "/signin"
    response = await passkey_signin(app.test_client(), device)
    assert (await response.get_json()) == {"error": "That passkey is not registered here.", "unknown_credential": True}


async def test_the_user_handle_must_be_the_owners(app, client, alice):
    device = await registered(client)
    response = await passkey_signin(app.test_client(), device, user_handle=b"someone else")
    assert await error_of(response) == "That passkey is not registered here."
    assert "unknown_credential" not in await response.get_json()  # the passkey is real: never forgotten
    response = await passkey_signin(app.test_client(), device, with_user_handle=False)
    assert await error_of(response) == "That passkey is not registered here."  # alone, it must name its account


def junk_credentials(device: Authenticator, offered: dict[str, Any]) -> list[Any]:
    good = device.get(offered)
    garbage = b64(b"\xff\x00" * 40)
    return [
        None,
        "text",
        [],
        {},
        {"id": 1, "rawId": 2, "type": "public-key", "response": {}},
        {**good, "id": "not base64 ~"},
        {**good, "id": "\x00" * 8, "rawId": "AAAA"},
        {**good, "type": "password"},
        {**good, "response": "nope"},
        {**good, "response": {**good["response"], "clientDataJSON": garbage}},
        {**good, "response": {**good["response"], "clientDataJSON": "%%%"}},
        {**good, "response": {**good["response"], "authenticatorData": garbage}},
        {**good, "response": {**good["response"], "authenticatorData": b64(b"short")}},
        {**good, "response": {**good["response"], "signature": garbage}},
        {**good, "response": {**good["response"], "signature": 42}},
        {**good, "response": {**good["response"], "userHandle": "~~~"}},
        {**good, "response": {**good["response"], "userHandle": 5}},
        {**good, "response": {**good["response"], "clientDataJSON": b64(b'{"type": 1, "challenge": 2, "origin": 3}')}},
    ]


async def test_malformed_sign_in_answers_are_400_json_never_500(app, client, alice):
    device = await registered(client)
    browser = app.test_client()
    csrf = await token(browser, "/signin")
    nested = "[" * 20000 + "]" * 20000
    for body in ("not json", b"\xff\xfe", "[1, 2]", '"credential"', "{}", '{"credential": null}', nested, ""):
        await options(browser, "/passkeys/signin/options", csrf)
        response = await browser.post(
            "/passkeys/signin/verify", data=body, headers={"X-CSRF-Token": csrf, "Content-Type": "application/json"}
        )
        await error_of(response)
    for credential in junk_credentials(device, await options(browser, "/passkeys/signin/options", csrf)):
        await options(browser, "/passkeys/signin/options", csrf)
        response = await post_json(browser, "/passkeys/signin/verify", {"credential": credential}, csrf)
        await error_of(response)
    assert len(await rows(app, AuthSession)) == 1


async def test_malformed_registrations_are_400_json_never_500(app, client, alice):
    csrf = await token(client, "/passkeys")
    device = Authenticator()
    for mangle in (
        lambda c: None,
        lambda c: {**c, "rawId": "AAAA"},
        lambda c: {**c, "response": {**c["response"], "attestationObject": b64(b"\xa1\x01")}},
        lambda c: {**c, "response": {**c["response"], "attestationObject": b64(b"\x9b" + b"\xff" * 8)}},
        lambda c: {**c, "response": {**c["response"], "attestationObject": "!!"}},
        lambda c: {
            **c,
            "response": {**c["response"], "attestationObject": b64(cbor2.dumps({"fmt": "x", "authData": b""}))},
        },
        lambda c: {**c, "response": {**c["response"], "attestationObject": b64(cbor2.dumps([1, 2]))}},
    ):
        offered = await options(client, "/passkeys/register/options", csrf, {"name": "Laptop"})
        body = {"name": "Laptop", "credential": mangle(device.create(offered))}
        await error_of(await post_json(client, "/passkeys/register/verify", body, csrf))
    offered = await options(client, "/passkeys/register/options", csrf, {"name": "Laptop"})
    body = {"name": "Laptop", "credential": device.create(offered)}
    response = await client.post(
        "/passkeys/register/verify", data="{", headers={"X-CSRF-Token": csrf, "Content-Type": "application/json"}
    )
    await error_of(response)
    assert await rows(app, Passkey) == []
    # A body that is no JSON at all is no answer: the challenge waits for the real one.
    assert (await post_json(client, "/passkeys/register/verify", body, csrf)).status_code == 200


async def test_registering_wants_a_recent_password(client, signed_in):
    await signed_in(client, "alice", recent=False)
    assert (await client.get("/passkeys")).headers["Location"] == "/reauthenticate?next=/passkeys"
    csrf = await token(client, "/sessions")
    for path in ("/passkeys/register/options", "/passkeys/register/verify"):
        response = await post_json(client, path, {"name": "Laptop"}, csrf)
        assert response.status_code == 303
        assert response.headers["Location"].startswith("/reauthenticate?next=")


async def test_anonymous_visitors_cannot_register(client):
    assert (await client.get("/passkeys")).status_code == 302
    assert (await post_json(client, "/passkeys/register/options", {"name": "x"}, None)).status_code == 302


@pytest.mark.parametrize("path", ["/passkeys/register/options", "/passkeys/register/verify"])
async def test_registering_needs_the_csrf_header(client, alice, path):
    for csrf in (None, "", "garbage", "20990101000000##" + "0" * 40):
        response = await post_json(client, path, {"name": "Laptop"}, csrf)
        assert "did not come from this site" in await error_of(response)


@pytest.mark.parametrize(
    "path",
    [
        "/passkeys/signin/options",
        "/passkeys/signin/verify",
        "/passkeys/signin/autofill/options",
        "/passkeys/signin/autofill/verify",
        "/signin/second-factor/passkey/options",
        "/signin/second-factor/passkey/verify",
    ],
)
async def test_signing_in_needs_the_csrf_header(app, client, path):
    await client.get("/signin")  # the visitor has a CSRF secret; the request just does not carry a token
    assert "did not come from this site" in await error_of(await post_json(client, path, {}, None))
    other = await token(app.test_client(), "/signin")  # another visitor's token
    fresh = app.test_client()  # no page seen yet: no CSRF secret in its session at all
    assert "did not come from this site" in await error_of(await post_json(fresh, path, {}, other))
    assert "did not come from this site" in await error_of(await post_json(client, path, {}, other))


async def second_factor(
    client: Client, device: Authenticator, query: str = "", trust: bool | None = None, **get: Any
) -> Response:
    csrf = await token(client, "/signin/second-factor")
    offered = await options(client, "/signin/second-factor/passkey/options", csrf)
    body = {"credential": device.get(offered, **get)} | ({} if trust is None else {"trust": trust})
    return await post_json(client, f"/signin/second-factor/passkey/verify{query}", body, csrf)


async def test_a_passkey_is_the_second_factor_after_the_password(app, client, alice, caplog):
    caplog.set_level(logging.INFO, logger="quartapp.audit")
    device = await registered(client)
    browser = AuthActions(app.test_client())
    response = await browser.signin("alice", PASSWORD, path="/signin?next=/sessions")
    assert response.status_code == 303
    assert response.headers["Location"] == "/signin/second-factor?next=/sessions"
    assert auth_cookie(response) is None
    for path in ("/", "/sessions", "/passkeys", "/2fa"):  # half signed in is not signed in
        assert (await browser.get(path)).status_code == 302
    csrf = await token(browser.client, "/signin/second-factor")
    offered = await options(browser.client, "/signin/second-factor/passkey/options", csrf)
    assert [c["id"] for c in offered["allowCredentials"]] == [device.id]
    assert offered["userVerification"] == "preferred"
    assertion = {"credential": device.get(offered, flags=UP)}  # possession, after the password
    response = await post_json(browser.client, "/signin/second-factor/passkey/verify?next=/sessions", assertion, csrf)
    assert response.status_code == 200
    assert await response.get_json() == {"redirect": "/sessions"}
    assert auth_cookie(response) is not None
    assert (await browser.get("/sessions")).status_code == 200
    assert len(await rows(app, AuthSession)) == 2
    assert ("second_factor.success", "passkey") in [(e["event"], e.get("via")) for e in audited(caplog)]


async def test_a_passkey_second_step_can_trust_the_browser(app, client, alice):
    device = await registered(client)
    browser = AuthActions(app.test_client())
    await browser.signin("alice", PASSWORD)
    response = await second_factor(browser.client, device, flags=UP, trust=True)
    assert response.status_code == 200
    assert any(h.startswith("quartapp_trust=") for h in response.headers.getlist("Set-Cookie"))
    await browser.signout()
    assert (await browser.signin("alice", PASSWORD)).headers["Location"] == "/"


async def test_the_second_factor_takes_only_the_users_own_passkey(app, client, alice, signed_in):
    await registered(client)
    bob = app.test_client()
    await signed_in(bob, "bob")
    bobs = await registered(bob)
    browser = AuthActions(app.test_client())
    await browser.signin("alice", PASSWORD)
    response = await second_factor(browser.client, bobs)
    assert await error_of(response) == "That passkey is not registered here."
    assert len(await rows(app, AuthSession)) == 2  # alice's and bob's first sessions only


async def test_a_sign_in_challenge_cannot_serve_as_a_second_factor(app, client, alice):
    device = await registered(client)
    browser = AuthActions(app.test_client())
    await browser.signin("alice", PASSWORD)
    csrf = await token(browser.client, "/signin/second-factor")
    offered = await options(browser.client, "/passkeys/signin/options", csrf)  # for the passkey alone
    body = {"credential": device.get(offered)}
    response = await post_json(browser.client, "/signin/second-factor/passkey/verify", body, csrf)
    assert await error_of(response) == "That took too long or was already used. Try again."


async def test_second_factor_failures_are_throttled(tmp_path, signed_in):
    async with running_app(tmp_path, BASE_URL=BASE_URL, THROTTLE_ACCOUNT_FAILURES=1, THROTTLE_BASE_DELAY=60) as app:
        client = app.test_client()
        await signed_in(client, "alice", password=PASSWORD)
        await registered(client)
        browser = AuthActions(app.test_client())
        await browser.signin("alice", PASSWORD)
        for _ in range(2):
            await error_of(await second_factor(browser.client, Authenticator()))
        csrf = await token(browser.client, "/signin/second-factor")
        response = await post_json(browser.client, "/signin/second-factor/passkey/options", {}, csrf)
        assert "Too many failed attempts." in await error_of(response, 429)
        assert response.headers["Retry-After"] == "60"
        response = await post_json(browser.client, "/signin/second-factor/passkey/verify", {"credential": {}}, csrf)
        assert "Too many failed attempts." in await error_of(response, 429)


async def test_the_second_factor_needs_the_password_first(app, client, alice):
    await registered(client)
    browser = app.test_client()
    csrf = await token(browser, "/signin")
    response = await post_json(browser, "/signin/second-factor/passkey/options", {}, csrf)
    assert await error_of(response) == "That sign-in took too long. Sign in again."


async def test_rename_and_remove(app, client, alice):
    await registered(client)
    phone = await registered(client)
    page = await (await client.get("/passkeys")).get_data(as_text=True)
    assert page.count("never used") == 2
    csrf = await token(client, "/passkeys")
    response = await client.post(f"/passkeys/{phone.id}/rename", form={"name": "  My  phone ", "csrf_token": csrf})
    assert response.status_code == 303
    assert sorted(p.name for p in await rows(app, Passkey)) == ["Laptop", "My phone"]
    response = await client.post(f"/passkeys/{phone.id}/rename", form={"name": "", "csrf_token": csrf})
    assert "Give the passkey a name of 1 to 64 characters." in await (await client.get("/passkeys")).get_data(
        as_text=True
    )
    assert (await client.post(f"/passkeys/{phone.id}/rename", form={"name": "x"})).status_code == 400  # no token

    response = await client.post(f"/passkeys/{phone.id}/remove", form={"csrf_token": csrf})
    assert response.status_code == 303
    assert [p.name for p in await rows(app, Passkey)] == ["Laptop"]
    assert "The passkey “My phone” was removed." in await (await client.get("/passkeys")).get_data(as_text=True)
    assert len(await rows(app, RecoveryCode)) == 10  # one passkey is left
    assert (await client.post(f"/passkeys/{phone.id}/remove", form={"csrf_token": csrf})).status_code == 404


async def test_nobody_elses_passkey_can_be_renamed_or_removed(app, client, alice, signed_in):
    device = await registered(client)
    bob = app.test_client()
    await signed_in(bob, "bob")
    csrf = await token(bob, "/passkeys")
    for action in ("rename", "remove"):
        response = await bob.post(f"/passkeys/{device.id}/{action}", form={"name": "mine", "csrf_token": csrf})
        assert response.status_code == 404
    for passkey_id in ("%00", "a" * 1401, "not~base64"):
        response = await bob.post(f"/passkeys/{passkey_id}/remove", form={"csrf_token": csrf})
        assert response.status_code == 404
    [passkey] = await rows(app, Passkey)
    assert passkey.name == "Laptop"


async def test_removing_the_last_second_factor_removes_the_recovery_codes(app, client, alice):
    device = await registered(client)
    assert len(await rows(app, RecoveryCode)) == 10
    csrf = await token(client, "/passkeys")
    await client.post(f"/passkeys/{device.id}/remove", form={"csrf_token": csrf})
    assert await rows(app, Passkey) == []
    assert await rows(app, RecoveryCode) == []
    browser = AuthActions(app.test_client())
    assert (await browser.signin("alice", PASSWORD)).headers["Location"] == "/"  # the password alone again


async def test_with_totp_on_the_codes_outlive_the_last_passkey(app, client, alice):
    device = await registered(client)
    await set_user(app, "alice", totp_secret="v1.sealed")  # TOTP counts as on, whatever the secret
    csrf = await token(client, "/passkeys")
    await client.post(f"/passkeys/{device.id}/remove", form={"csrf_token": csrf})
    assert len(await rows(app, RecoveryCode)) == 10


async def test_adding_and_removing_are_mailed_to_the_verified_address(mail_app, mailbox, signed_in, caplog):
    caplog.set_level(logging.INFO, logger="quartapp.audit")
    client = mail_app.test_client()
    await signed_in(client, "alice", email="alice@example.org")
    device = await registered(client)
    [added] = await mailbox.wait(1)
    assert added.recipients == ["alice@example.org"]
    assert added.message["Subject"] == "A passkey was added to your account"
    assert 'The passkey "Laptop" was added' in added.text
    csrf = await token(client, "/passkeys")
    await client.post(f"/passkeys/{device.id}/remove", form={"csrf_token": csrf})
    [_, removed] = await mailbox.wait(2)
    assert removed.message["Subject"] == "A passkey was removed from your account"
    events = [(e["event"], e.get("name")) for e in audited(caplog) if e["event"].startswith("passkey.")]
    assert events == [("passkey.added", "Laptop"), ("passkey.removed", "Laptop")]


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)


async def test_the_pages_keep_to_the_content_security_policy(app, client, alice):
    await registered(client)
    pages = {"/passkeys": client}
    browser = AuthActions(app.test_client())
    pages["/signin"] = browser.client
    await browser.signin("alice", PASSWORD)
    pages["/signin/second-factor"] = browser.client
    for path, visitor in pages.items():
        response = await visitor.get(path)
        page = await response.get_data(as_text=True)
        assert response.status_code == 200, path
        assert "default-src 'self'" in response.headers["Content-Security-Policy"]
        assert INLINE_SCRIPT.search(page) is None, path
        assert HANDLER.search(page) is None, path
        assert re.search(r'<script src="/static/passkeys.js" defer\s+data-msg-', page), path
        assert 'data-passkey="' in page, path
        assert "data-passkey-error" in page, path
    script = await client.get("/static/passkeys.js")
    assert script.status_code == 200
    assert script.mimetype in ("text/javascript", "application/javascript")
    source = await script.get_data(as_text=True)
    assert "navigator.credentials.create" in source
    assert "X-CSRF-Token" in source


async def test_at_another_origin_the_signin_page_points_at_base_url(tmp_path):
    async with running_app(tmp_path, BASE_URL="http://localhost:8000") as app:
        page = await (await app.test_client().get("/signin", headers={"Host": "127.0.0.1:8000"})).get_data(as_text=True)
        assert 'Passkeys work at <a href="http://localhost:8000/signin">' in page
        assert 'data-passkey="' not in page  # a ceremony here could only fail: the passkey belongs to localhost
        page = await (await app.test_client().get("/signin", headers={"Host": "localhost:8000"})).get_data(as_text=True)
        assert 'data-passkey="signin"' in page
