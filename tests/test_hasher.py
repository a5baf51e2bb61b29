import asyncio
import contextlib
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


async def test_admission_takes_a_place_the_first_hash_uses_or_the_request_gives_back(hasher):
    hasher.seconds_per_hash = 1.0  # two slots: room for two hashes and one more waiting 0.5 s
    hasher.max_wait = 0.5
    async with hasher.places():
        hasher.admit()  # the form passed: its place is held while it asks the database
        assert hasher.pending == 1
        hasher.admit()  # asking again takes no second place
        assert hasher.pending == 1
        await hasher.run(lambda: None)  # its hash takes the place instead of queueing anew
        assert hasher.pending == 0
    async with hasher.places():
        hasher.admit()
    assert hasher.pending == 0  # throttled, say: it never hashed, and its place went back


async def test_forms_that_find_room_together_take_the_places_there_are_not_more(hasher):
    hasher.seconds_per_hash, hasher.max_wait = 1.0, 0.5  # room for three: two hashing, one waiting
    outcomes = []
    async with contextlib.AsyncExitStack() as requests:
        for _ in range(5):  # five forms that were held for room, all let in by it at once
            await requests.enter_async_context(hasher.places())  # each its own request, all still running
            try:
                hasher.admit()
                outcomes.append("admitted")
            except Overloaded:
                outcomes.append("refused")  # before asking the database anything
        assert outcomes == ["admitted"] * 3 + ["refused"] * 2
    assert hasher.pending == 0


async def test_a_queue_whose_oldest_hash_has_waited_max_wait_is_full_whatever_the_estimate():
    hasher = Hasher(threads=1, max_wait=0.2, patience=0, niceness=0)
    hasher.seconds_per_hash = 0.001  # the estimate: a queue of hundreds clears at once
    release = threading.Event()
    running = asyncio.create_task(hasher.run(release.wait, 5))  # the thread is taken (a starved core)
    queued = asyncio.create_task(hasher.run(lambda: None))
    await asyncio.sleep(0.05)
    assert not hasher.full()
    await asyncio.sleep(0.25)  # the queued hash has now waited longer than max_wait
    assert hasher.full()
    release.set()
    await asyncio.gather(running, queued)
    assert not hasher.full()
    hasher.shutdown()
