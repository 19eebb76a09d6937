"""TokenBucket lanes, reserve and max_wait on a virtual clock (looptime).

Interactive waiters get a free slot before bulk ones; bulk requests never hold more than
``capacity - reserve`` slots of a window; a waiter past ``max_wait`` leaves the queue
with ``RateLimitTimeout`` and takes no slot. The window guarantee holds throughout.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest

import harvest_async as ha
from harvest_async._ratelimit import acquire_slot, bulk_work, current_priority

from .test_ratelimit import max_in_window

pytestmark = pytest.mark.looptime


async def hold(bucket: ha.TokenBucket, n: int, priority: str = "interactive") -> list[Any]:
    return [await bucket.acquire(priority=priority) for _ in range(n)]  # type: ignore[arg-type]


async def test_a_free_slot_goes_to_the_interactive_waiter_first() -> None:
    bucket = ha.TokenBucket(4, 10, reserve=0)
    handles = await hold(bucket, 4)
    order: list[str] = []

    async def wait(lane: str) -> None:
        handle = await bucket.acquire(priority=lane)  # type: ignore[arg-type]
        order.append(lane)
        await bucket.release(handle)

    bulk = [asyncio.create_task(wait("bulk")) for _ in range(3)]
    await asyncio.sleep(1)
    interactive = asyncio.create_task(wait("interactive"))  # arrives last
    await asyncio.sleep(1)
    for handle in handles:
        await bucket.release(handle)
    await asyncio.gather(interactive, *bulk)
    assert order[0] == "interactive"
    assert order == ["interactive", "bulk", "bulk", "bulk"]


async def test_bulk_holds_at_most_capacity_minus_reserve() -> None:
    loop = asyncio.get_running_loop()
    bucket = ha.TokenBucket(10, 15, reserve=3)
    assert bucket.bulk_capacity == 7
    handles = await hold(bucket, 7, "bulk")
    eighth = asyncio.create_task(bucket.acquire(priority="bulk"))
    await asyncio.sleep(5)
    assert not eighth.done()  # 3 slots free, but kept for interactive calls
    start = loop.time()
    mine = await hold(bucket, 3)  # interactive: at once
    assert loop.time() == start
    assert bucket.in_use == 10
    for handle in handles + mine:
        await bucket.release(handle)
    await eighth  # the bulk quota frees period s after the first bulk release
    assert loop.time() == pytest.approx(start + 15)


async def test_interactive_calls_find_room_while_bulk_saturates_the_window() -> None:
    loop = asyncio.get_running_loop()
    bucket = ha.TokenBucket(20, 1.5, reserve=4)
    sent: list[tuple[float, str]] = []
    waits: list[float] = []
    stop = loop.time() + 30

    async def streamer() -> None:
        while loop.time() < stop:
            handle = await bucket.acquire(priority="bulk")
            sent.append((loop.time(), "bulk"))
            await asyncio.sleep(0.05)
            await bucket.release(handle)

    async def interactive(at: float) -> None:
        await asyncio.sleep(at)
        asked = loop.time()
        handle = await bucket.acquire()
        waits.append(loop.time() - asked)
        sent.append((loop.time(), "interactive"))
        await asyncio.sleep(0.05)
        await bucket.release(handle)

    rng = random.Random(3)
    # At random, but at most 3 in any window (the reserve is 4).
    arrivals = [1 + 0.7 * i + rng.uniform(0, 0.1) for i in range(40)]
    await asyncio.gather(*(streamer() for _ in range(8)), *(interactive(t) for t in arrivals))
    assert max(waits) == 0.0  # the reserve always had room
    bulk = [t for t, lane in sent if lane == "bulk"]
    assert max_in_window([t for t, _ in sent], 1.5) <= 20  # the window guarantee
    assert max_in_window(bulk, 1.5) <= 16
    assert len(bulk) > 16 * 30 / 1.55 * 0.9  # and the stream still uses its quota


async def test_a_bulk_waiter_goes_once_no_interactive_one_waits() -> None:
    bucket = ha.TokenBucket(2, 10, reserve=0)
    first = await hold(bucket, 2)
    bulk = asyncio.create_task(bucket.acquire(priority="bulk"))
    inter = asyncio.create_task(bucket.acquire())
    await asyncio.sleep(0)
    inter.cancel()  # the interactive waiter gives up: bulk is next in line
    for handle in first:
        await bucket.release(handle)
    await asyncio.wait_for(bulk, 11)
    assert bucket.waiting == {"interactive": 0, "bulk": 0}


async def test_max_wait_times_out_frees_its_place_and_takes_no_slot() -> None:
    loop = asyncio.get_running_loop()
    bucket = ha.TokenBucket(3, 10, reserve=0)
    handles = await hold(bucket, 3)
    start = loop.time()
    with pytest.raises(ha.RateLimitTimeout) as caught:
        await bucket.acquire(max_wait=0.5)
    assert loop.time() - start == pytest.approx(0.5)
    assert isinstance(caught.value, ha.RateLimitError)
    assert caught.value.waited == pytest.approx(0.5)
    assert caught.value.retry_after is None  # every slot in flight: no known end
    assert bucket.waiting == {"interactive": 0, "bulk": 0}
    assert bucket.in_use == 3
    later = asyncio.create_task(bucket.acquire())
    await asyncio.sleep(0)
    await bucket.release(handles[0])
    await asyncio.sleep(10)
    await later  # the waiter behind got the slot; the timed-out one took none
    assert bucket.in_use == 3


async def test_max_wait_zero_and_a_known_end() -> None:
    bucket = ha.TokenBucket(1, 10, reserve=0)
    await bucket.release(await bucket.acquire())
    await asyncio.sleep(4)
    with pytest.raises(ha.RateLimitTimeout) as caught:
        await bucket.acquire(max_wait=0)
    assert caught.value.retry_after == pytest.approx(6)
    assert (await bucket.acquire(max_wait=6)) is not None


async def test_max_wait_long_enough_is_served() -> None:
    bucket = ha.TokenBucket(1, 2, reserve=0)
    await bucket.release(await bucket.acquire())
    assert await bucket.acquire(max_wait=2.5) is not None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"priority": "urgent"}, "priority must be 'interactive' or 'bulk'"),
        ({"max_wait": -1}, "max_wait must be a finite number >= 0"),
        ({"max_wait": float("nan")}, "max_wait must be a finite number >= 0"),
        ({"max_wait": "2"}, "max_wait must be a number of seconds or None"),
    ],
)
async def test_bad_lane_or_deadline_is_a_typed_error(kwargs: Any, message: str) -> None:
    with pytest.raises(ha.InvalidRequestError, match=message):
        await ha.TokenBucket(5, 1).acquire(**kwargs)


def test_reserve_is_checked_and_capped() -> None:
    assert ha.TokenBucket(5, 1).reserve == 4  # default 10, capped: bulk keeps one slot
    assert ha.TokenBucket(100, 15).bulk_capacity == 90
    with pytest.raises(ha.ConfigurationError, match="reserve must be an int >= 0"):
        ha.TokenBucket(5, 1, reserve=-1)


async def test_bulk_work_sets_the_default_lane_of_a_context() -> None:
    bucket = ha.TokenBucket(3, 10, reserve=1)
    assert current_priority() == "interactive"
    with bulk_work():
        assert current_priority() == "bulk"
        handles = [await bucket.acquire() for _ in range(2)]
        assert bucket.bulk_in_use == 2
        task = asyncio.create_task(bucket.acquire())  # tasks inherit the lane
        await asyncio.sleep(1)
        assert not task.done()
    assert current_priority() == "interactive"
    extra = await bucket.acquire()  # interactive: the reserved slot
    assert bucket.in_use == 3
    task.cancel()
    for handle in [*handles, extra]:
        await bucket.release(handle)


class AcquireOnly:
    """A user limiter of the old protocol: ``acquire()`` and nothing else."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.cancelled = 0

    async def acquire(self) -> None:
        try:
            await self.gate.wait()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise


async def test_a_limiter_with_acquire_alone_still_gets_a_deadline() -> None:
    loop = asyncio.get_running_loop()
    limiter = AcquireOnly()
    start = loop.time()
    with pytest.raises(ha.RateLimitTimeout):
        await acquire_slot(limiter, priority="interactive", max_wait=1.5)
    assert loop.time() - start == pytest.approx(1.5)
    assert limiter.cancelled == 1  # cancelled: it frees its own place
    limiter.gate.set()
    await acquire_slot(limiter, priority="bulk", max_wait=None)
