"""Signed cookies are checked once per browser and remembered: never a tampered or expired one."""

import time

import pytest
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from quartapp.web.cookies import Verified

from .conftest import AuthActions, running_app


@pytest.fixture
def serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer("a secret key", salt="cookies")


def test_a_value_checked_once_is_remembered_by_its_exact_text(serializer, monkeypatch):
    verified = Verified()
    token = serializer.dumps("session 42")
    assert verified.loads(serializer, token, 60) == "session 42"
    monkeypatch.setattr(serializer, "loads", lambda *args, **kwargs: pytest.fail("checked again"))
    assert verified.loads(serializer, token, 60) == "session 42"


def test_any_other_text_is_checked_in_full(serializer):
    verified = Verified()
    token = serializer.dumps("session 42")
    verified.loads(serializer, token, 60)
    # The first character carries six whole bits of the payload (the last one only padding, partly).
    tampered = ("B" if token[0] != "B" else "C") + token[1:]
    with pytest.raises(BadSignature):
        verified.loads(serializer, tampered, 60)
    other_key = URLSafeTimedSerializer("another key", salt="cookies").dumps("session 42")
    with pytest.raises(BadSignature):
        verified.loads(serializer, other_key, 60)


def test_a_remembered_value_still_ages(serializer, monkeypatch):
    verified = Verified()
    token = serializer.dumps("session 42")
    verified.loads(serializer, token, 60)
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + 61)  # cookies.py reads time.time()
    with pytest.raises(SignatureExpired):
        verified.loads(serializer, token, 60)


def test_it_forgets_the_oldest_past_its_size_and_never_keeps_mutable_values(serializer):
    verified = Verified(size=2)
    tokens = [serializer.dumps(f"session {n}") for n in range(3)]
    for token in tokens:
        verified.loads(serializer, token, 60)
    assert list(verified._values) == tokens[1:]
    flashes = serializer.dumps({"csrf": "x", "_flashes": [["message", "Saved."]]})
    verified.loads(serializer, flashes, 60)
    assert flashes not in verified._values  # a list a page could change in place


async def test_a_flashed_message_shows_once_though_the_session_cookie_is_remembered(tmp_path):
    async with running_app(tmp_path) as app:
        visitor = AuthActions(app.test_client())
        await visitor.signup("alice")
        assert (await visitor.get("/")).status_code == 200  # the cookies are remembered now
        assert (await visitor.post("/sessions/revoke-others", {}, token_from="/sessions")).status_code == 303
        first = await (await visitor.get("/sessions")).get_data(as_text=True)
        second = await (await visitor.get("/sessions")).get_data(as_text=True)
        assert "Signed out 0 other sessions." in first
        assert "Signed out 0 other sessions." not in second
