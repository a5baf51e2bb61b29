import asyncio
import threading

import pytest

from quartapp.hasher import Hasher, Overloaded


@pytest.fixture
async def hasher():
    hasher = Hasher(threads=2, max_wait=1.5, patience=0.2, niceness=0)
    yield hasher
    hasher.shutdown()


def test_the_queue_holds_what_the_threads_clear_within_max_wait(hasher):
    hasher.seconds_per_hash = 0.3  # two threads: 6.7 hashes a second
    admitted = 0
    while not hasher.full():
        hasher.pending += 1
        admitted += 1
    assert admitted == 2 + 10  # two hashing, and ten that each start within 1.5 s
    assert hasher.wait(hasher.pending - 1) <= 1.5 < hasher.wait(hasher.pending)
    assert hasher.retry_after() == 2  # 12 hashes on 2 threads at 0.3 s: 1.8 s, rounded up


def test_slower_hashes_shorten_the_queue(hasher):
    hasher.seconds_per_hash = 1.5  # a cost twice as high, or cores busy elsewhere
    hasher.pending = 4
    assert hasher.full()
    hasher.pending = 3
    assert not hasher.full()


async def test_hash_times_are_measured_in_the_thread(hasher):
    await hasher.run(lambda: threading.Event().wait(0.05))
    assert 0.05 <= hasher.seconds_per_hash < 0.5
    for _ in range(10):
        await hasher.run(lambda: None)
    assert hasher.seconds_per_hash < 0.01  # the estimate follows what hashing costs now


async def test_a_full_pool_refuses_at_once(hasher):
    hasher.seconds_per_hash = 10.0
    hasher.pending = 2
    with pytest.raises(Overloaded) as refused:
        await hasher.run(lambda: None)
    assert refused.value.retry_after == 10


async def test_a_form_that_finds_the_pool_full_waits_for_room_up_to_its_patience(hasher):
    release = threading.Event()
    hasher.seconds_per_hash = 10.0  # nothing may queue behind the two running
    running = [asyncio.create_task(hasher.run(release.wait, 5)) for _ in range(2)]
    while hasher.pending < 2:
        await asyncio.sleep(0.001)
    assert not await hasher.room()  # no room came within the patience

    waiting = asyncio.create_task(hasher.room())
    await asyncio.sleep(0.05)
    release.set()  # a thread frees up while the form waits
    assert await waiting
    await asyncio.gather(*running)
