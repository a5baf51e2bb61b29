import asyncio

import bcrypt
import pytest

from quartapp.db.models import Throttle
from quartapp.housekeeping import run_once

from .conftest import auth_cookie, AuthActions, PASSWORD, rows, running_app

WRONG = "not the password"


@pytest.fixture
def bcrypt_checks(monkeypatch):
    calls = []
    real = bcrypt.checkpw

    def counting_checkpw(password: bytes, hashed_password: bytes) -> bool:
        calls.append(1)
        return real(password, hashed_password)

    monkeypatch.setattr(bcrypt, "checkpw", counting_checkpw)
    return calls


async def fail(auth: AuthActions, username: str = "alice", times: int = 1) -> list[int]:
    return [(await auth.signin(username, WRONG)).status_code for _ in range(times)]


@pytest.mark.parametrize("username", ["alice", "nobody"])
async def test_failures_past_five_are_throttled_without_bcrypt_work(app, auth, clock, bcrypt_checks, username):
    await auth.signup("alice")
    await auth.signout()
    assert await fail(auth, username, times=6) == [200] * 6  # five free, the sixth blocks the next
    checks = len(bcrypt_checks)
    response = await auth.signin(username, PASSWORD)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1"
    page = await response.get_data(as_text=True)
    assert "Too many failed sign-ins. Try again in 1 second." in page
    assert 'name="password"' in page  # the form, to try again from
    assert auth_cookie(response) is None
    assert len(bcrypt_checks) == checks  # no hashing for a throttled attempt


async def test_each_further_failure_doubles_the_wait_up_to_the_cap(app, auth, clock):
    waits = []
    await fail(auth, "alice", times=5)
    for _ in range(12):
        assert await fail(auth) == [200]
        response = await auth.signin("alice", WRONG)
        assert response.status_code == 429
        waits.append(int(response.headers["Retry-After"]))
        clock.advance(seconds=waits[-1])
        if waits[-1] == 256:
            assert "Try again in 5 minutes." in await response.get_data(as_text=True)
    assert waits == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]


async def test_the_right_password_after_the_wait_signs_in_and_resets_the_count(app, client, auth, clock):
    await auth.signup("alice")
    await auth.signout()
    await fail(auth, times=8)
    assert (await auth.signin()).status_code == 429
    clock.advance(seconds=300)
    assert (await auth.signin()).status_code == 303
    await auth.signout()
    assert await fail(auth, times=5) == [200] * 5  # free failures again


async def test_a_quiet_window_forgets_old_failures(app, auth, clock):
    await fail(auth, times=5)
    clock.advance(minutes=16)
    assert await fail(auth, times=5) == [200] * 5
    assert (await auth.signin("alice", WRONG)).status_code == 200


async def test_the_address_limit_spans_usernames_but_not_addresses(tmp_path, clock):
    async with running_app(tmp_path, THROTTLE_ADDRESS_FAILURES=3) as app:
        office = AuthActions(app.test_client(), address="203.0.113.7")
        for name in ("ann", "bob", "cy", "dee"):
            assert await fail(office, name) == [200]
        assert (await office.signin("eve", WRONG)).status_code == 429
        elsewhere = AuthActions(app.test_client(), address="198.51.100.1")
        assert (await elsewhere.signin("eve", WRONG)).status_code == 200


async def test_ipv6_addresses_are_throttled_by_their_slash_64(tmp_path, clock):
    async with running_app(tmp_path, THROTTLE_ADDRESS_FAILURES=1) as app:
        for host in ("2001:db8:1:2::1", "2001:db8:1:2::2"):
            assert await fail(AuthActions(app.test_client(), address=host), f"user{host[-1]}") == [200]
        neighbour = AuthActions(app.test_client(), address="2001:db8:1:2:ffff::9")
        assert (await neighbour.signin("someone", WRONG)).status_code == 429
        other_network = AuthActions(app.test_client(), address="2001:db8:1:3::1")
        assert (await other_network.signin("someone", WRONG)).status_code == 200


async def test_concurrent_failures_are_all_counted(tmp_path, clock):
    async with running_app(tmp_path, HASH_MAX_WAIT=60) as app:  # no sign-in is refused for overload here
        visitors = [AuthActions(app.test_client(), address=f"192.0.2.{i}") for i in range(12)]
        statuses = [status for [status] in await asyncio.gather(*(fail(v) for v in visitors))]
        # Attempts checked after the sixth failure was recorded are refused (429) uncounted; every
        # other one is a failure, and each must be in the account's counter: none lost to a race.
        failed = statuses.count(200)
        assert failed >= 6, statuses
        assert failed + statuses.count(429) == 12, statuses
        counters = sorted(row.failures for row in await rows(app, Throttle))
        assert counters == [1] * failed + [failed]  # each failing address once, the account all of them


async def test_stale_counters_are_cleaned_up(app, auth, clock):
    await fail(auth, times=7)
    assert len(await rows(app, Throttle)) == 2
    clock.advance(minutes=10)
    await run_once(app)
    assert len(await rows(app, Throttle)) == 2  # still within the window
    clock.advance(minutes=6)
    await run_once(app)
    assert await rows(app, Throttle) == []


@pytest.mark.parametrize("language", ["en", "de", "es"])
async def test_a_throttled_page_is_the_same_for_a_known_and_an_unknown_name_in_every_language(
    app, client, clock, language
):
    await AuthActions(app.test_client()).signup("alice")
    pages = set()
    for username in ("alice", "nobody"):
        visitor = AuthActions(app.test_client())
        visitor.options["headers"]["Accept-Language"] = language
        await fail(visitor, username, times=6)
        response = await visitor.signin(username, WRONG)
        page = await response.get_data(as_text=True)
        assert f'<html lang="{language}">' in page
        token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
        page = page.replace(token, "").replace(f'value="{username}"', 'value="NAME"')
        pages.add((response.status_code, response.headers["Retry-After"], page))
    assert len(pages) == 1  # one answer for both names: status, wait and words
    [(status, retry_after, page)] = pages
    assert (status, retry_after) == (429, "1")
    if language == "en":
        assert "Too many failed sign-ins. Try again in 1 second." in page
