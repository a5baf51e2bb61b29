import asyncio
import os
import threading
import time

import bcrypt
import pytest

from quartapp.passwords import hash_password, hash_threads, verify_password

from .conftest import running_app


async def test_hashes_verify_and_use_the_configured_cost(app):
    async with app.app_context():
        password_hash = await hash_password("correct horse")
        assert password_hash.startswith("$2b$04$")
        assert await verify_password("correct horse", password_hash)
        assert not await verify_password("Correct horse", password_hash)
        assert not await verify_password("correct horse", None)
        assert not await verify_password("correct horse", "not a bcrypt hash")
        assert not await verify_password("x" * 100, password_hash)
    assert app.extensions["dummy_hash"].startswith(b"$2b$04$")


async def test_bcrypt_runs_off_the_event_loop_in_a_bounded_pool(app, monkeypatch):
    loop_thread = threading.get_ident()
    threads: set[int] = set()
    running = peak = 0
    lock = threading.Lock()
    real_hashpw = bcrypt.hashpw

    def spy(password: bytes, salt: bytes) -> bytes:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
            threads.add(threading.get_ident())
        try:
            threading.Event().wait(0.02)  # long enough for the pool to fill up
            return real_hashpw(password, salt)
        finally:
            with lock:
                running -= 1

    monkeypatch.setattr(bcrypt, "hashpw", spy)
    niceness = []
    real_gensalt = bcrypt.gensalt

    def spy_gensalt(rounds: int) -> bytes:
        niceness.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        return real_gensalt(rounds)

    monkeypatch.setattr(bcrypt, "gensalt", spy_gensalt)
    async with app.app_context():
        await asyncio.gather(*(hash_password(f"password {i}") for i in range(6)))  # 2 threads + 4 queued
    assert loop_thread not in threads
    assert peak == app.config["HASH_WORKERS"] == 2
    assert len(threads) <= 2
    assert set(niceness) == {os.getpriority(os.PRIO_PROCESS, 0) + 10}  # pages before hashing


async def test_signins_that_would_wait_too_long_are_refused(tmp_path, monkeypatch):
    from .conftest import AuthActions

    # One thread; hashes of about a second each (set below), so one more may wait for it.
    async with running_app(tmp_path, HASH_WORKERS=1, HASH_MAX_WAIT=1.5, HASH_PATIENCE=0.05) as app:
        await AuthActions(app.test_client()).signup("alice")
        release = threading.Event()
        real_checkpw = bcrypt.checkpw
        monkeypatch.setattr(bcrypt, "checkpw", lambda pw, h: release.wait(10) and real_checkpw(pw, h))

        visitors = [AuthActions(app.test_client()) for _ in range(3)]
        tokens = [await v.token() for v in visitors]

        async def signin(visitor: AuthActions, token: str):
            form = {"username": "alice", "password": "correct horse battery", "csrf_token": token}
            return await visitor.client.post("/signin", form=form)

        app.extensions["hasher"].seconds_per_hash = 1.0
        first, second = (asyncio.create_task(signin(v, t)) for v, t in zip(visitors[:2], tokens[:2], strict=True))
        while app.extensions["hasher"].pending < 2:  # one hashing, one queued
            await asyncio.sleep(0.001)
        started = time.monotonic()
        refused = await signin(visitors[2], tokens[2])
        assert 0.05 <= time.monotonic() - started < 1  # held for the patience, then refused
        assert refused.status_code == 503
        assert int(refused.headers["Retry-After"]) >= 1
        assert "Too many people are signing in right now." in await refused.get_data(as_text=True)
        assert refused.headers["Cache-Control"] == "no-store"
        assert "Content-Security-Policy" in refused.headers
        release.set()
        assert [(await first).status_code, (await second).status_code] == [303, 303]
        assert app.extensions["hasher"].pending == 0


@pytest.mark.parametrize(("cores", "workers", "threads"), [(2, 1, 2), (2, 2, 2), (8, 8, 2), (8, 3, 6), (64, 4, 32)])
def test_each_worker_hashes_in_twice_its_share_of_the_cores(monkeypatch, cores, workers, threads):
    monkeypatch.setattr(os, "process_cpu_count", lambda: cores)
    assert hash_threads({"HASH_WORKERS": None, "SERVER_WORKERS": workers}) == threads
    assert hash_threads({"HASH_WORKERS": 3, "SERVER_WORKERS": workers}) == 3
