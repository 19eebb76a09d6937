"""Limiters and clients belong to the event loop they were first used in.

Used from a second loop (a thread with its own ``asyncio.run``) while the first is alive,
a `TokenBucket`, a `HarvestClient` or a `RedisRateLimiter` raises `ConfigurationError`
at once instead of hanging or failing deep inside asyncio. Every thread is joined with
a timeout, so a hang fails the test instead of stalling the run.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from aioresponses import aioresponses

import harvest_async as ha

from .conftest import ACCOUNT, BASE, TOKEN, sent_requests
from .records import complete
from .redis_server import INSTALL_HINT, RedisServer, find_redis_server

try:
    from harvest_async._redis_ratelimit import RedisRateLimiter
except ImportError:  # pragma: no cover - the redis extra is part of the test extra
    RedisRateLimiter = None  # type: ignore[assignment,misc]

JOIN_TIMEOUT = 20.0
ME = complete(ha.models.User, '{"id": 1, "first_name": "Ada"}')


def in_other_loop(work: Callable[[], Awaitable[Any]]) -> BaseException | Any:
    """Run ``work()`` with ``asyncio.run`` in a new thread; its result or its error."""
    outcome: list[Any] = []

    def target() -> None:
        try:
            outcome.append(asyncio.run(_bounded(work)))
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(JOIN_TIMEOUT)
    assert not thread.is_alive(), "the second event loop hung"
    return outcome[0]


async def _bounded(work: Callable[[], Awaitable[Any]]) -> Any:
    # A hang inside the thread's loop ends there too, so the thread can be joined.
    return await asyncio.wait_for(work(), JOIN_TIMEOUT / 2)


def assert_bound_to_the_first_loop(outcome: Any, name: str) -> None:
    assert isinstance(outcome, ha.ConfigurationError), repr(outcome)
    message = str(outcome)
    assert name in message
    assert "create one" in message


# -- TokenBucket ---------------------------------------------------------------------


async def test_bucket_used_from_a_second_loop_is_a_configuration_error() -> None:
    bucket = ha.TokenBucket(10, 15.0)
    await bucket.release(await bucket.acquire())  # bound to this (still running) loop
    outcome = in_other_loop(bucket.acquire)
    assert_bound_to_the_first_loop(outcome, "TokenBucket")
    assert str(outcome) == (
        "a TokenBucket is bound to the event loop it was first used in; create one per loop"
    )
    # The bucket is untouched and still works here.
    assert bucket.in_use == 1
    await bucket.release(await bucket.acquire())
    assert bucket.in_use == 2


async def test_full_bucket_from_a_second_loop_does_not_hang() -> None:
    bucket = ha.TokenBucket(1, 3600.0)
    handle = await bucket.acquire()  # the only slot, held by this loop
    waiter = asyncio.create_task(bucket.acquire())
    await asyncio.sleep(0)
    outcome = in_other_loop(bucket.acquire)
    assert_bound_to_the_first_loop(outcome, "TokenBucket")
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    await bucket.release(handle)


async def test_pause_release_and_in_use_from_a_second_loop_are_refused() -> None:
    bucket = ha.TokenBucket(10, 15.0)
    handle = await bucket.acquire()

    async def pause() -> None:
        await bucket.pause(5)

    async def release() -> None:
        await bucket.release(handle)

    async def in_use() -> int:
        return bucket.in_use

    for work in (pause, release, in_use):
        assert_bound_to_the_first_loop(in_other_loop(work), "TokenBucket")
    await bucket.release(handle)
    assert bucket.in_use == 1


def test_bucket_moves_to_a_new_loop_once_its_loop_is_closed() -> None:
    """One ``asyncio.run`` after another: the window's history carries over."""
    bucket = ha.TokenBucket(2, 3600.0)

    async def use() -> int:
        await bucket.release(await bucket.acquire())
        return bucket.in_use

    assert asyncio.run(use()) == 1
    assert asyncio.run(use()) == 2  # the first request still counts in this window

    async def third() -> None:
        await bucket.acquire()

    async def full() -> None:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(third(), 0.05)

    asyncio.run(full())  # the window is full: the guarantee held across loops


def test_bucket_holding_a_slot_of_a_closed_loop_is_not_moved() -> None:
    bucket = ha.TokenBucket(2, 15.0)

    async def take() -> None:
        await bucket.acquire()  # never released: its loop ends with the slot held

    asyncio.run(take())
    with pytest.raises(ha.ConfigurationError, match="still hold slots"):
        asyncio.run(take())


# -- HarvestClient -------------------------------------------------------------------


async def test_client_used_from_a_second_loop_is_a_configuration_error(
    mock: aioresponses,
) -> None:
    mock.get(f"{BASE}/users/me", body=ME, repeat=True)
    async with ha.HarvestClient(access_token=TOKEN, account_id=ACCOUNT) as client:
        assert (await client.users.me()).id == 1
        outcome = in_other_loop(client.users.me)
        assert_bound_to_the_first_loop(outcome, "event loop")
        assert "aiohttp session" in str(outcome)
        # Refused before anything was sent; the client still works in its own loop.
        assert len(sent_requests(mock)) == 1
        assert (await client.users.me()).id == 1


async def test_client_with_a_shared_limiter_is_refused_before_the_limiter(
    mock: aioresponses,
) -> None:
    """The client's own check comes first: a second loop never reaches the bucket."""
    mock.get(f"{BASE}/users/me", body=ME, repeat=True)
    bucket = ha.TokenBucket(100, 15.0)
    async with ha.HarvestClient(
        access_token=TOKEN, account_id=ACCOUNT, rate_limiter=bucket
    ) as client:
        await client.users.me()
        outcome = in_other_loop(client.users.me)
        assert_bound_to_the_first_loop(outcome, "client")
        assert bucket.in_use == 1


async def test_client_closed_from_a_second_loop_is_refused(mock: aioresponses) -> None:
    mock.get(f"{BASE}/users/me", body=ME)
    client = ha.HarvestClient(access_token=TOKEN, account_id=ACCOUNT)
    try:
        await client.users.me()
        outcome = in_other_loop(client.aclose)
        assert isinstance(outcome, ha.ConfigurationError), repr(outcome)
    finally:
        await client.aclose()


async def test_client_first_used_in_another_loop_is_refused_here(mock: aioresponses) -> None:
    mock.get(f"{BASE}/users/me", body=ME, repeat=True)
    client = ha.HarvestClient(access_token=TOKEN, account_id=ACCOUNT)
    ready = threading.Event()
    done = threading.Event()
    outcome: list[Any] = []

    async def other() -> None:
        outcome.append(await client.users.me())
        ready.set()
        await asyncio.to_thread(done.wait, JOIN_TIMEOUT)  # that loop stays alive meanwhile
        await client.aclose()

    thread = threading.Thread(target=lambda: asyncio.run(other()), daemon=True)
    thread.start()
    try:
        assert await asyncio.to_thread(ready.wait, JOIN_TIMEOUT)
        with pytest.raises(ha.ConfigurationError, match="first used in"):
            await client.users.me()
    finally:
        done.set()
        await asyncio.to_thread(thread.join, JOIN_TIMEOUT)
    assert not thread.is_alive()
    assert outcome[0].id == 1


# -- RedisRateLimiter ----------------------------------------------------------------


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    if RedisRateLimiter is None:
        pytest.skip("RedisRateLimiter needs redis-py: pip install 'harvest_async[redis]'")
    binary = find_redis_server()
    if binary is None:
        pytest.skip(INSTALL_HINT)
    with RedisServer(binary) as server:
        yield server


async def test_redis_limiter_used_from_a_second_loop_is_a_configuration_error(
    redis_server: RedisServer,
) -> None:
    key = f"test:{uuid.uuid4().hex}"
    async with RedisRateLimiter(redis_server.url, key=key, capacity=5, period=0.5) as limiter:
        handle = await limiter.acquire()
        await limiter.release(handle)

        async def pause() -> None:
            await limiter.pause(1.0)

        for work in (limiter.acquire, pause, limiter.in_use, limiter.aclose):
            outcome = in_other_loop(work)
            assert isinstance(outcome, ha.ConfigurationError), repr(outcome)
            assert "RedisRateLimiter" in str(outcome)
        # Still fine in its own loop.
        handle = await limiter.acquire()
        await limiter.release(handle)
        assert await limiter.in_use() == 2
