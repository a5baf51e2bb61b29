import asyncio
import threading

import bcrypt

from quartapp.passwords import hash_password, verify_password


async def test_hashes_verify_and_use_the_configured_cost(app):
    async with app.app_context():
        password_hash = await hash_password("correct horse")
        assert password_hash.startswith("$2b$04$")
        assert await verify_password("correct horse", password_hash)
        assert not await verify_password("Correct horse", password_hash)
        assert not await verify_password("correct horse", None)
        assert not await verify_password("correct horse", "not a bcrypt hash")
        assert not await verify_password("x" * 100, password_hash)
    assert app.extensions["hasher"].dummy_hash.startswith(b"$2b$04$")


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
    async with app.app_context():
        await asyncio.gather(*(hash_password(f"password {i}") for i in range(12)))
    assert loop_thread not in threads
    assert peak == app.config["HASH_WORKERS"] == 2
    assert len(threads) <= 2
