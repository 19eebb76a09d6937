"""TokenBucket on a virtual clock (looptime): rolling windows, FIFO, cancellation, pauses.

Every test here runs with looptime, so ``loop.time()`` advances instantly when the loop
is idle: waiting 135 s of limiter time costs no real time.
"""

from __future__ import annotations

import asyncio
import bisect
from collections import deque
from collections.abc import Sequence
from typing import Any

import pytest

import harvest_async as ha

pytestmark = pytest.mark.looptime


def max_in_window(times: Sequence[float], period: float) -> int:
    """Largest number of events in any half-open window [t, t + period)."""
    ordered = sorted(times)
    best = 0
    for i, start in enumerate(ordered):
        best = max(best, bisect.bisect_left(ordered, start + period) - i)
    return best


async def request(
    limiter: ha.RateLimiter,
    arrivals: list[float],
    *,
    latency: float = 0.0,
    service: float = 0.0,
) -> float:
    """One simulated request: acquire, travel ``latency``, served, response comes back.

    Returns the moment acquire() returned; records when Harvest saw the request.
    """
    loop = asyncio.get_running_loop()
    handle = await limiter.acquire()
    sent = loop.time()
    try:
        if latency:
            await asyncio.sleep(latency)
        arrivals.append(loop.time())
        if service:
            await asyncio.sleep(service)
    finally:
        await limiter.release(handle)
    return sent


async def test_caller_under_the_limit_is_not_delayed() -> None:
    loop = asyncio.get_running_loop()
    bucket = ha.TokenBucket(100, 15)
    start = loop.time()
    for _ in range(100):
        handle = await bucket.acquire()
        await bucket.release(handle)
    assert loop.time() == start
    assert bucket.in_use == 100


async def test_1000_acquisitions_respect_every_window_and_finish_near_ideal() -> None:
    loop = asyncio.get_running_loop()
    bucket = ha.TokenBucket(100, 15)
    arrivals: list[float] = []
    start = loop.time()
    sent = await asyncio.gather(*(request(bucket, arrivals) for _ in range(1000)))
    finished = loop.time() - start
    relative = [t - start for t in arrivals]
    assert len(relative) == 1000
    assert max_in_window(relative, 15.0) <= 100
    assert max_in_window([t - start for t in sent], 15.0) <= 100
    # The ideal is 135 s (batches at 0, 15, ..., 135); the acceptance bound is 136.35 s.
    assert 135.0 <= finished <= 136.35
    print(
        f"1000 acquisitions: max per 15 s window {max_in_window(relative, 15.0)}, "
        f"last at {finished:.2f} s virtual"
    )


class TextbookBucket:
    """Capacity 100 refilled continuously at 100/15 s: the classic that overshoots."""

    def __init__(self, capacity: int, period: float) -> None:
        self.capacity = capacity
        self.rate = capacity / period
        self.tokens = float(capacity)
        self.stamp: float | None = None

    async def acquire(self, *, priority: Any = None, max_wait: float | None = None) -> None:
        loop = asyncio.get_running_loop()
        while True:
            now = loop.time()
            if self.stamp is not None:
                self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            if self.tokens >= 1:
                self.tokens -= 1
                return
            # Sleep at least 1 ms so float rounding cannot spin on a zero-length sleep.
            await asyncio.sleep(max(1e-3, (1 - self.tokens) / self.rate))

    async def release(self, handle: object) -> None:
        return None

    async def pause(self, seconds: float) -> None:
        return None


class CountAtAcquire:
    """Counts a request when acquire() returns, forgetting it ``period`` later."""

    def __init__(self, capacity: int, period: float) -> None:
        self.capacity = capacity
        self.period = period
        self.stamps: deque[float] = deque()

    async def acquire(self, *, priority: Any = None, max_wait: float | None = None) -> None:
        loop = asyncio.get_running_loop()
        while True:
            now = loop.time()
            while self.stamps and self.stamps[0] + self.period <= now:
                self.stamps.popleft()
            if len(self.stamps) < self.capacity:
                self.stamps.append(now)
                return
            await asyncio.sleep(self.stamps[0] + self.period - now)

    async def release(self, handle: object) -> None:
        return None

    async def pause(self, seconds: float) -> None:
        return None


async def burst_after_idle(limiter: ha.RateLimiter) -> list[float]:
    """Idle bucket, then 200 requests at once, as Harvest sees them."""
    arrivals: list[float] = []
    await asyncio.gather(*(request(limiter, arrivals) for _ in range(200)))
    return arrivals


async def test_textbook_bucket_admits_200_in_one_window_ours_does_not() -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()
    textbook = await burst_after_idle(TextbookBucket(100, 15))
    # The scenario discriminates: a full bucket plus refill lets far more than 100 in.
    assert max_in_window([t - start for t in textbook], 15.0) > 150

    start = loop.time()
    ours = await burst_after_idle(ha.TokenBucket(100, 15))
    assert max_in_window([t - start for t in ours], 15.0) == 100


async def slow_then_fast(limiter: ha.RateLimiter) -> list[float]:
    """100 requests with a 10 s connection set-up, then 100 fast ones 15 s later."""
    arrivals: list[float] = []
    slow = [asyncio.ensure_future(request(limiter, arrivals, latency=10.0)) for _ in range(100)]
    await asyncio.sleep(15.0)
    fast = [asyncio.ensure_future(request(limiter, arrivals)) for _ in range(100)]
    await asyncio.gather(*slow, *fast)
    return arrivals


async def test_slow_first_burst_and_fast_second_never_share_a_window() -> None:
    naive = await slow_then_fast(CountAtAcquire(100, 15))
    # Counting at acquire(): the slow burst lands at 10 s, the fast one at 15 s.
    assert max_in_window(naive, 15.0) == 200

    ours = await slow_then_fast(ha.TokenBucket(100, 15))
    assert max_in_window(ours, 15.0) <= 100


async def test_slots_are_held_until_period_after_the_response() -> None:
    loop = asyncio.get_running_loop()
    bucket = ha.TokenBucket(2, 10)
    start = loop.time()
    first = await bucket.acquire()
    second = await bucket.acquire()
    await asyncio.sleep(4)  # a 4 s request
    await bucket.release(first)
    await bucket.release(second)
    handle = await bucket.acquire()
    assert loop.time() - start == pytest.approx(14.0)
    await bucket.release(handle)


async def test_waiters_are_served_fifo() -> None:
    bucket = ha.TokenBucket(1, 5)
    held = await bucket.acquire()
    order: list[int] = []

    async def waiter(n: int) -> None:
        handle = await bucket.acquire()
        order.append(n)
        await bucket.release(handle)

    tasks = []
    for n in range(5):
        tasks.append(asyncio.create_task(waiter(n)))
        await asyncio.sleep(0)  # enqueue in this order
    await bucket.release(held)
    await asyncio.gather(*tasks)
    assert order == [0, 1, 2, 3, 4]


async def test_new_caller_queues_behind_existing_waiters() -> None:
    bucket = ha.TokenBucket(1, 5)
    held = await bucket.acquire()
    order: list[str] = []

    async def take(name: str) -> None:
        handle = await bucket.acquire()
        order.append(name)
        await bucket.release(handle)

    early = asyncio.create_task(take("early"))
    await asyncio.sleep(0)
    await bucket.release(held)
    late = asyncio.create_task(take("late"))
    await asyncio.gather(early, late)
    assert order == ["early", "late"]


async def test_cancelled_waiter_takes_no_slot() -> None:
    loop = asyncio.get_running_loop()
    bucket = ha.TokenBucket(1, 10)
    start = loop.time()
    held = await bucket.acquire()
    await bucket.release(held)  # frees at start + 10
    doomed = asyncio.create_task(bucket.acquire())
    await asyncio.sleep(1)
    doomed.cancel()
    with pytest.raises(asyncio.CancelledError):
        await doomed
    handle = await bucket.acquire()
    assert loop.time() - start == pytest.approx(10.0)
    assert bucket.in_use == 1
    await bucket.release(handle)


async def test_waiter_cancelled_as_it_is_granted_gives_the_slot_back() -> None:
    bucket = ha.TokenBucket(1, 10)
    held = await bucket.acquire()
    doomed = asyncio.create_task(bucket.acquire())
    follower = asyncio.create_task(bucket.acquire())
    await asyncio.sleep(0)
    await bucket.release(held)
    loop = asyncio.get_running_loop()
    # The limiter's timer grants `doomed`'s future; a callback right behind it, in the
    # same loop iteration, cancels the task before it can resume with its slot.
    loop.call_at(bucket._timer_at, doomed.cancel)  # same time, queued after the timer
    with pytest.raises(asyncio.CancelledError):
        await doomed
    handle = await asyncio.wait_for(follower, timeout=1)
    assert bucket.in_use == 1
    await bucket.release(handle)


async def test_pause_holds_back_every_acquisition() -> None:
    loop = asyncio.get_running_loop()
    bucket = ha.TokenBucket(100, 15)
    start = loop.time()
    await bucket.pause(2.0)
    times = await asyncio.gather(*(request(bucket, []) for _ in range(3)))
    assert all(t - start == pytest.approx(2.0) for t in times)


async def test_pause_extends_but_never_shortens() -> None:
    loop = asyncio.get_running_loop()
    bucket = ha.TokenBucket(100, 15)
    start = loop.time()
    await bucket.pause(5.0)
    await bucket.pause(1.0)
    handle = await bucket.acquire()
    assert loop.time() - start == pytest.approx(5.0)
    await bucket.release(handle)


async def test_release_is_idempotent_and_checks_its_handle() -> None:
    bucket = ha.TokenBucket(2, 15)
    other = ha.TokenBucket(2, 15)
    handle = await bucket.acquire()
    await bucket.release(handle)
    await bucket.release(handle)
    assert bucket.in_use == 1
    with pytest.raises(ValueError, match="handle"):
        await other.release(handle)


def test_rejects_bad_parameters() -> None:
    with pytest.raises(ValueError, match="capacity"):
        ha.TokenBucket(0, 15)
    with pytest.raises(ValueError, match="period"):
        ha.TokenBucket(10, 0)
    with pytest.raises(ValueError, match="capacity"):
        ha.TokenBucket(True, 15)


async def test_one_bucket_shared_by_two_clients_limits_both() -> None:
    bucket = ha.TokenBucket(10, 15)
    arrivals: list[float] = []
    start = asyncio.get_running_loop().time()
    await asyncio.gather(*(request(bucket, arrivals) for _ in range(30)))
    assert max_in_window([t - start for t in arrivals], 15.0) == 10
    assert isinstance(bucket, ha.RateLimiter)
