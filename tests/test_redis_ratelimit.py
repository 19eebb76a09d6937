"""RedisRateLimiter against a real redis-server on loopback (started by the fixtures).

Real time, scaled down: windows of a fraction of a second stand for Harvest's 15 s. Several
limiter instances on one key stand for several processes; the last test runs 4 real OS
processes through HarvestClient against a loopback server that enforces the window.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import random
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from typing import Any

import pytest

redis = pytest.importorskip(
    "redis", reason="RedisRateLimiter needs redis-py: pip install 'harvest_async[redis]'"
)
import redis.asyncio as aioredis  # noqa: E402

import harvest_async as ha  # noqa: E402
from harvest_async._redis_ratelimit import (  # noqa: E402
    RedisRateLimiter,
    RedisUnavailableError,
)

from .redis_server import INSTALL_HINT, RedisServer, find_redis_server  # noqa: E402

MakeLimiter = Callable[..., RedisRateLimiter]
EPS = 0.002  # local clocks vs the Redis server's: loopback, same machine


# -- fixtures ------------------------------------------------------------------------


def _new_server() -> RedisServer:
    binary = find_redis_server()
    if binary is None:
        pytest.skip(INSTALL_HINT)
    return RedisServer(binary)


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    with _new_server() as server:
        yield server


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A server of the test's own, to stop and start."""
    with _new_server() as server:
        yield server


@pytest.fixture
def key() -> str:
    return f"test:{uuid.uuid4().hex}"


@pytest.fixture
async def make(redis_server: RedisServer, key: str) -> AsyncIterator[MakeLimiter]:
    made: list[RedisRateLimiter] = []

    def factory(**kwargs: Any) -> RedisRateLimiter:
        kwargs.setdefault("key", key)
        limiter = RedisRateLimiter(kwargs.pop("url", redis_server.url), **kwargs)
        made.append(limiter)
        return limiter

    yield factory
    for limiter in made:
        await limiter.aclose()


@pytest.fixture
async def admin(redis_server: RedisServer) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.from_url(redis_server.url)
    yield client
    await client.aclose()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# -- helpers -------------------------------------------------------------------------


def max_in_window(times: Sequence[float], period: float) -> int:
    """Largest number of events in any half-open window [t, t + period)."""
    ordered = sorted(times)
    return max(
        (bisect.bisect_left(ordered, start + period) - i for i, start in enumerate(ordered)),
        default=0,
    )


def max_overlap(spans: Sequence[tuple[float, float]]) -> int:
    """Most spans [start, end) covering one instant."""
    events = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])
    best = current = 0
    for _, step in events:
        current += step
        best = max(best, current)
    return best


async def request(
    limiter: RedisRateLimiter, spans: list[tuple[float, float]], latency: float = 0.0
) -> None:
    """Acquire, 'send' for ``latency``, release; records [acquired, released + period)."""
    loop = asyncio.get_running_loop()
    handle = await limiter.acquire()
    start = loop.time()
    try:
        if latency:
            await asyncio.sleep(latency)
    finally:
        end = loop.time()
        await limiter.release(handle)
    spans.append((start, end + limiter.period))


async def wait_for(check: Callable[[], Awaitable[bool]], within: float = 5.0) -> None:
    """Poll ``check`` until it holds; fail the test if it does not within ``within`` s."""
    deadline = time.monotonic() + within
    while not await check():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


async def listed(admin: aioredis.Redis, key: str, count: int) -> bool:
    """Whether ``count`` interactive waiters are listed in the key's ``waiting`` set.

    An interactive caller is listed there (by the acquire script) once Redis has refused
    it a slot, and unlisted when it gets one or gives up. Bulk callers are never listed.
    """
    return int(await admin.zcard(f"{{{key}}}:waiting")) == count


def script_answers(limiter: RedisRateLimiter, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The status of every acquire-script answer ``limiter`` gets from now on.

    1 granted, 0 refused (window full), 2 paused, 3 bulk behind interactive waiters. A
    refused bulk caller leaves no trace in Redis: this is how a test sees it waiting.
    """
    answers: list[int] = []
    real = limiter._run_acquire

    async def recording(member: str, bulk: bool, waiter: str) -> tuple[int, int]:
        status, value = await real(member, bulk, waiter)
        answers.append(status)
        return status, value

    monkeypatch.setattr(limiter, "_run_acquire", recording)
    return answers


# -- protocol ------------------------------------------------------------------------


async def test_protocol_conformance(make: MakeLimiter) -> None:
    limiter = make(capacity=3, period=0.5)
    assert isinstance(limiter, ha.RateLimiter)
    handles = [await limiter.acquire() for _ in range(2)]
    assert await limiter.in_use() == 2
    await limiter.release(handles[0])
    await limiter.release(handles[0])  # a second release is a no-op
    assert await limiter.in_use() == 2  # ended, but counted for `period` more
    with pytest.raises(ValueError, match="handle"):
        await limiter.release(object())
    other = make(capacity=3, period=0.5)
    with pytest.raises(ValueError, match="handle"):
        await other.release(handles[1])
    await limiter.release(handles[1])
    await wait_for(lambda: _is(limiter.in_use(), 0))


async def _is(value: Awaitable[int], expected: int) -> bool:
    return await value == expected


async def _true(value: bool) -> bool:
    return value


async def test_caller_under_the_limit_is_not_delayed(make: MakeLimiter) -> None:
    limiter = make(capacity=50, period=10.0)
    loop = asyncio.get_running_loop()
    start = loop.time()
    for _ in range(50):
        await limiter.release(await limiter.acquire())
    assert loop.time() - start < 1.0
    assert await limiter.in_use() == 50


async def test_rolling_window_holds_across_instances_sharing_a_key(make: MakeLimiter) -> None:
    capacity, period = 5, 0.2
    limiters = [make(capacity=capacity, period=period) for _ in range(3)]
    spans: list[tuple[float, float]] = []
    rng = random.Random(7)
    await asyncio.gather(
        *(request(limiters[i % 3], spans, latency=rng.uniform(0.0, 0.03)) for i in range(36))
    )
    assert len(spans) == 36
    assert max_overlap([(s + EPS, e - EPS) for s, e in spans]) <= capacity
    # Busy the whole time: 36 requests need at least 7 windows, and not many more.
    first = min(s for s, _ in spans)
    last = max(s for s, _ in spans)
    assert 6 * period <= last - first < 20 * period


async def test_slow_first_burst_and_fast_second_burst_never_share_a_window(
    make: MakeLimiter,
) -> None:
    capacity, period = 4, 0.3
    slow, fast = make(capacity=capacity, period=period), make(capacity=capacity, period=period)
    spans_slow: list[tuple[float, float]] = []
    spans_fast: list[tuple[float, float]] = []
    first = asyncio.gather(*(request(slow, spans_slow, latency=0.2) for _ in range(capacity)))
    await wait_for(lambda: _is(slow.in_use(), capacity))
    await asyncio.gather(*(request(fast, spans_fast) for _ in range(capacity)), first)
    slow_ends = sorted(e - period for _, e in spans_slow)  # each response's arrival
    fast_starts = sorted(s for s, _ in spans_fast)
    # Each fast request needed a slow one's slot: `period` after that slow response.
    for end, start in zip(slow_ends, fast_starts, strict=True):
        assert start >= end + period - EPS
    assert max_overlap([(s + EPS, e - EPS) for s, e in spans_slow + spans_fast]) <= capacity


async def test_pause_by_one_instance_blocks_the_others(make: MakeLimiter) -> None:
    a, b = make(capacity=10, period=0.5), make(capacity=10, period=0.5)
    loop = asyncio.get_running_loop()
    start = loop.time()
    await a.pause(0.4)
    await b.pause(0.1)  # extends, never shortens
    handle = await b.acquire()
    assert loop.time() - start >= 0.4 - EPS
    assert loop.time() - start < 1.5
    await b.release(handle)


async def test_lease_frees_the_slot_of_a_dead_worker(make: MakeLimiter) -> None:
    dead = make(capacity=1, period=0.1, lease=0.5)
    alive = make(capacity=1, period=0.1, lease=0.5)
    loop = asyncio.get_running_loop()
    await dead.acquire()  # never released: the worker "died"
    start = loop.time()
    handle = await alive.acquire()
    waited = loop.time() - start
    assert 0.4 <= waited < 1.5
    await alive.release(handle)


async def test_waiters_in_one_process_are_served_in_order(
    make: MakeLimiter, admin: aioredis.Redis, key: str
) -> None:
    limiter = make(capacity=1, period=0.05)
    first = await limiter.acquire()
    order: list[int] = []

    async def waiter(i: int) -> None:
        handle = await limiter.acquire()
        order.append(i)
        await limiter.release(handle)

    tasks = []
    for i in range(5):
        tasks.append(asyncio.create_task(waiter(i)))
        await asyncio.sleep(0)  # task i runs up to its wait before task i + 1 exists
    await wait_for(lambda: listed(admin, key, 1))  # the head waiter was refused by Redis
    assert order == []
    await limiter.release(first)
    await asyncio.wait_for(asyncio.gather(*tasks), 10)
    assert order == [0, 1, 2, 3, 4]


async def test_cancelled_waiter_takes_no_slot(
    make: MakeLimiter, admin: aioredis.Redis, key: str
) -> None:
    limiter = make(capacity=1, period=0.5)
    held = await limiter.acquire()
    waiter = asyncio.create_task(limiter.acquire())
    await wait_for(lambda: listed(admin, key, 1))  # refused, waiting for the slot
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    await wait_for(lambda: listed(admin, key, 0))  # unlisted at once
    await limiter.release(held)
    assert await limiter.in_use() == 1  # only the released one, still counting
    await wait_for(lambda: _is(limiter.in_use(), 0))
    # Nobody else took the freed slot: a new caller gets it, and it is the only one.
    handle = await asyncio.wait_for(limiter.acquire(), 5)
    assert await limiter.in_use() == 1
    await limiter.release(handle)


async def test_cancelled_just_after_the_script_granted_gives_the_slot_back(
    make: MakeLimiter, monkeypatch: pytest.MonkeyPatch
) -> None:
    limiter = make(capacity=5, period=5.0)
    real_call = limiter._call
    granted = asyncio.Event()

    async def slow_answer(script: Any, keys: Sequence[str], args: Sequence[Any]) -> Any:
        result = await real_call(script, keys, args)
        if script is limiter._acquire_script:
            granted.set()
            await asyncio.sleep(0.5)  # the answer is still on its way back
        return result

    monkeypatch.setattr(limiter, "_call", slow_answer)
    task = asyncio.create_task(limiter.acquire())
    await granted.wait()
    assert await limiter.in_use() == 1  # Redis granted it...
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await wait_for(lambda: _is(limiter.in_use(), 0))  # ...and it was given back unused


# -- Redis trouble -------------------------------------------------------------------


async def test_redis_down_raises_transport_error_quickly(key: str) -> None:
    url = f"redis://:hunter2-secret@127.0.0.1:{closed_port()}/0"
    async with RedisRateLimiter(url, key=key, capacity=5, period=1.0) as limiter:
        assert "hunter2" not in repr(limiter)
        loop = asyncio.get_running_loop()
        start = loop.time()
        with pytest.raises(ha.TransportError) as info:
            await limiter.acquire()
        assert loop.time() - start < 1.0
        assert isinstance(info.value, RedisUnavailableError)
        assert "127.0.0.1" in str(info.value)
        assert key in str(info.value)
        assert "hunter2" not in str(info.value)


async def test_client_retries_an_unreachable_redis_then_raises_transport_error(
    key: str,
) -> None:
    class Counting(RedisRateLimiter):
        attempts = 0

        async def acquire(self, **options: Any) -> Any:
            Counting.attempts += 1
            return await super().acquire(**options)

    limiter = Counting(f"redis://127.0.0.1:{closed_port()}/0", key=key, capacity=5)
    async with (
        limiter,
        ha.HarvestClient(
            access_token="token",
            account_id="1",
            base_url=f"http://127.0.0.1:{closed_port()}/v2",
            rate_limiter=limiter,
            max_retries=1,
            user_agent="tests (dev@example.com)",
        ) as client,
    ):
        with pytest.raises(RedisUnavailableError):
            await client.clients.create(name="Nothing was sent")  # a POST: retried too
    assert Counting.attempts == 2


async def test_silent_redis_times_out_as_transport_error(key: str) -> None:
    accepted: list[asyncio.StreamWriter] = []

    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)

    server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with RedisRateLimiter(
            f"redis://127.0.0.1:{port}/0", key=key, capacity=5, period=1.0, timeout=0.3
        ) as limiter:
            loop = asyncio.get_running_loop()
            start = loop.time()
            with pytest.raises(RedisUnavailableError, match=r"did not answer within 0\.3 s"):
                await limiter.acquire()
            assert 0.25 <= loop.time() - start < 1.5
    finally:
        for writer in accepted:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_release_and_pause_survive_redis_going_away(
    own_redis: RedisServer, key: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="harvest_async")
    async with RedisRateLimiter(
        own_redis.url, key=key, capacity=5, period=1.0, timeout=0.5
    ) as limiter:
        handle = await limiter.acquire()
        own_redis.stop()
        await limiter.release(handle)  # logs, never raises: the request is over
        await limiter.pause(0.3)  # still pauses this process
        assert "could not release" in caplog.text
        assert "could not share a pause" in caplog.text
        loop = asyncio.get_running_loop()
        start = loop.time()
        with pytest.raises(RedisUnavailableError):
            await limiter.acquire()
        assert loop.time() - start >= 0.3 - EPS  # the local pause came first


async def test_fallback_admits_while_redis_is_down_and_recovers(
    own_redis: RedisServer, key: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="harvest_async")
    fallback = ha.TokenBucket(2, 0.3)
    async with RedisRateLimiter(
        own_redis.url,
        key=key,
        capacity=8,
        period=0.3,
        fallback=fallback,
        timeout=0.5,
        recheck=0.2,
    ) as limiter:
        await limiter.release(await limiter.acquire())
        assert await limiter.in_use() == 1
        assert not limiter.using_fallback

        own_redis.stop()
        loop = asyncio.get_running_loop()
        start = loop.time()
        handles = [await limiter.acquire(), await limiter.acquire()]
        assert loop.time() - start < 0.5
        assert limiter.using_fallback
        assert fallback.in_use == 2
        third = asyncio.create_task(limiter.acquire())
        await wait_for(lambda: _true(fallback.waiting["interactive"] == 1))
        assert not third.done()  # the fallback's own limit holds
        for handle in handles:
            await limiter.release(handle)
        await limiter.release(await third)
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1, [r.getMessage() for r in warnings]
        assert "fallback" in warnings[0].getMessage()

        own_redis.start()  # same port
        await asyncio.sleep(0.25)  # past `recheck`
        handle = await limiter.acquire()
        assert not limiter.using_fallback
        assert await limiter.in_use() == 1  # counted in Redis again
        await limiter.release(handle)
        assert "answers again" in caplog.text


# -- lifecycle, keys, clock ------------------------------------------------------------


async def test_aclose_closes_only_a_connection_it_opened(
    redis_server: RedisServer, admin: aioredis.Redis, key: str
) -> None:
    async def clients() -> int:
        return len(await admin.client_list())

    before = await clients()
    owned = RedisRateLimiter(redis_server.url, key=key, capacity=5, period=0.5)
    await owned.release(await owned.acquire())
    assert await clients() > before
    await owned.aclose()
    await owned.aclose()  # idempotent
    await wait_for(lambda: _is(clients(), before))
    with pytest.raises(RuntimeError, match="closed"):
        await owned.acquire()

    callers = aioredis.from_url(redis_server.url)
    try:
        borrowed = RedisRateLimiter(callers, key=key, capacity=5, period=0.5)
        await borrowed.release(await borrowed.acquire())
        await borrowed.aclose()
        assert await callers.ping()  # still the caller's, still open
        assert "127.0.0.1" in repr(borrowed)
    finally:
        await callers.aclose()


async def test_repr_shows_budget_never_the_password(key: str) -> None:
    limiter = RedisRateLimiter(
        "redis://admin:hunter2-secret@127.0.0.1:6399/3?password=hunter2-secret",
        key=key,
        capacity=100,
        period=15.0,
    )
    text = repr(limiter)
    await limiter.aclose()
    assert "hunter2" not in text
    assert f"key={key!r}" in text
    assert "capacity=100" in text
    assert "period=15.0" in text
    assert "admin:***@127.0.0.1:6399/3" in text


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"capacity": 0}, "capacity"),
        ({"capacity": True}, "capacity"),
        ({"period": 0}, "period"),
        ({"period": 10.0, "lease": 5.0}, "lease"),
        ({"timeout": -1}, "timeout"),
        ({"key": ""}, "key"),
        ({"fallback": object()}, "fallback"),
        ({"url": "http://127.0.0.1/"}, "Redis URL"),
        ({"url": 42}, "redis must be"),
    ],
)
def test_bad_settings_are_configuration_errors(kwargs: dict[str, Any], message: str) -> None:
    url = kwargs.pop("url", "redis://127.0.0.1:1/0")
    kwargs.setdefault("key", "k")
    with pytest.raises(ha.ConfigurationError, match=message):
        RedisRateLimiter(url, **kwargs)


async def test_keys_carry_a_ttl_and_live_in_one_hash_slot(
    make: MakeLimiter, admin: aioredis.Redis, key: str
) -> None:
    limiter = make(capacity=5, period=0.5, lease=2.0)
    handle = await limiter.acquire()
    slots, pause = f"{{{key}}}:slots", f"{{{key}}}:pause"
    assert 1000 < await admin.pttl(slots) <= 3000  # lease + 1 s at most
    await limiter.release(handle)
    assert 0 < await admin.pttl(slots) <= 1500  # period + 1 s at most
    await limiter.pause(0.2)
    assert 0 < await admin.pttl(pause) <= 1200
    await wait_for(lambda: _gone(admin, slots, pause), within=3.0)


async def _gone(admin: aioredis.Redis, *keys: str) -> bool:
    return await admin.exists(*keys) == 0


async def test_the_redis_server_clock_decides_not_the_workers(
    make: MakeLimiter, admin: aioredis.Redis, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_time, real_time_ns = time.time, time.time_ns
    a = make(capacity=1, period=0.3, lease=10.0)
    b = make(capacity=1, period=0.3, lease=10.0)

    def skew(seconds: float) -> None:
        monkeypatch.setattr(time, "time", lambda: real_time() + seconds)
        monkeypatch.setattr(time, "time_ns", lambda: real_time_ns() + int(seconds * 1e9))

    loop = asyncio.get_running_loop()
    skew(+3600.0)  # worker A's clock is an hour fast
    handle = await a.acquire()
    raw: Any = await admin.time()
    server_now = int(raw[0]) + int(raw[1]) / 1e6
    members: Any = await admin.zrange(f"{{{key}}}:slots", 0, -1, withscores=True)
    assert len(members) == 1
    score = float(members[0][1])
    assert abs(score / 1e6 - (server_now + 10.0)) < 0.5  # server time + lease
    await a.release(handle)
    released = loop.time()
    skew(-3600.0)  # worker B's clock is an hour slow
    handle = await b.acquire()
    assert loop.time() - released >= 0.3 - EPS  # A's slot still counted for B
    await b.release(handle)


# -- many processes through HarvestClient ----------------------------------------------

WORKER = r"""
import asyncio, sys
import harvest_async as ha
from harvest_async._redis_ratelimit import RedisRateLimiter

async def main(redis_url, key, base, n, capacity, period, token, account):
    async with RedisRateLimiter(redis_url, key=key, capacity=capacity, period=period) as rl:
        async with ha.HarvestClient(access_token=token, account_id=account, base_url=base,
                                    rate_limiter=rl, user_agent="test (dev@example.com)") as c:
            print("ready", flush=True)
            await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
            users = await asyncio.gather(*(c.users.me() for _ in range(n)))
    print("done", len(users), flush=True)

a = sys.argv[1:]
asyncio.run(main(a[0], a[1], a[2], int(a[3]), int(a[4]), float(a[5]), a[6], a[7]))
"""


async def test_four_processes_share_one_limit_with_no_429(
    redis_server: RedisServer, key: str
) -> None:
    """4 OS processes x 250 requests against the simulator's scaled rolling window."""
    from harvest_async.testing import HarvestSimulator

    capacity, period, workers, per_worker = 100, 0.5, 4, 250
    loop = asyncio.get_running_loop()
    procs = []
    async with HarvestSimulator(seed=5, rate_limit=(capacity, period)) as sim:
        try:
            for _ in range(workers):
                procs.append(
                    await asyncio.create_subprocess_exec(
                        sys.executable,
                        "-c",
                        WORKER,
                        redis_server.url,
                        key,
                        sim.base_url,
                        str(per_worker),
                        str(capacity),
                        str(period),
                        sim.access_token,
                        str(sim.account_id),
                        stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE,
                    )
                )
            for proc in procs:
                assert proc.stdout is not None
                line = await asyncio.wait_for(proc.stdout.readline(), 30)
                if line != b"ready\n":
                    _, err = await proc.communicate()
                    pytest.fail(f"worker did not start: {line!r} {err.decode()[-2000:]}")
            start = loop.time()
            for proc in procs:
                assert proc.stdin is not None
                proc.stdin.write(b"go\n")
                await proc.stdin.drain()
            outputs = await asyncio.wait_for(
                asyncio.gather(*(proc.communicate() for proc in procs)), 60
            )
            elapsed = loop.time() - start
        finally:
            for proc in procs:
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()
        arrivals = [r.started for r in sim.requests if r.path == "/v2/users/me"]
        throttled = sim.counters.throttled
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err.decode()[-2000:]
        assert out.endswith(f"done {per_worker}\n".encode()), out
    assert throttled == 0
    assert len(arrivals) == workers * per_worker
    assert max_in_window(arrivals, period) <= capacity
    # 1000 requests at 100 per window: 9 windows after the first burst (plus each
    # request's own time, on a loaded machine): a stall would show here.
    assert 9 * period <= elapsed < 30 * period, elapsed
    print(
        f"4 processes x {per_worker}: {elapsed:.2f} s, "
        f"{len(arrivals) / elapsed:.1f} req/s (limit {capacity / period:.0f}), "
        f"max per window {max_in_window(arrivals, period)}"
    )


def test_importing_harvest_async_does_not_need_redis() -> None:
    code = "import sys, harvest_async; assert 'redis' not in sys.modules, 'redis imported'"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_redis_rate_limiter_is_exported_lazily() -> None:
    name = "RedisRateLimiter"
    assert getattr(ha, name) is RedisRateLimiter
    # Not in __all__: `from harvest_async import *` must work without redis installed.
    assert name not in ha.__all__


# -- lanes and deadlines: bulk holds at most capacity - reserve slots of a window across
# every instance, an interactive waiter of any instance goes before bulk ones, and
# max_wait gives up without a slot.


async def test_bulk_holds_at_most_capacity_minus_reserve_across_instances(
    make: MakeLimiter,
) -> None:
    one, two = (make(capacity=5, period=30.0, reserve=2) for _ in range(2))
    assert one.bulk_capacity == 3
    held = [await one.acquire(priority="bulk"), await two.acquire(priority="bulk")]
    held.append(await two.acquire(priority="bulk"))
    with pytest.raises(ha.RateLimitTimeout):
        await one.acquire(priority="bulk", max_wait=0.3)  # 2 slots free, but reserved
    held += [await one.acquire(), await two.acquire()]  # interactive: at once
    assert await one.in_use() == 5
    for handle, limiter in zip(held, [one, two, two, one, two], strict=True):
        await limiter.release(handle)


async def test_an_interactive_waiter_of_any_instance_goes_before_bulk(
    make: MakeLimiter, admin: aioredis.Redis, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    period = 0.4
    bulk_side, user_side = (make(capacity=2, period=period, reserve=0) for _ in range(2))
    held = [await bulk_side.acquire(), await bulk_side.acquire()]
    bulk_answers = script_answers(bulk_side, monkeypatch)
    order: list[str] = []

    async def wait(limiter: Any, lane: str) -> None:
        handle = await limiter.acquire(priority=lane)
        order.append(lane)
        await limiter.release(handle)

    bulk = [asyncio.create_task(wait(bulk_side, "bulk")) for _ in range(2)]
    # The bulk waiters are first in time: Redis refused the head one a slot (the window
    # is full), the other queues behind it in its process.
    await wait_for(lambda: _true(0 in bulk_answers))
    user = asyncio.create_task(wait(user_side, "interactive"))
    await wait_for(lambda: listed(admin, key, 1))  # the interactive waiter is listed
    # One slot frees (``period`` after its release): it goes to the interactive waiter,
    # and no bulk waiter can be served until the second held slot frees.
    await bulk_side.release(held[0])
    done, _ = await asyncio.wait([user, *bulk], timeout=10, return_when=asyncio.FIRST_COMPLETED)
    assert done == {user}, order
    assert order == ["interactive"]
    await bulk_side.release(held[1])
    await asyncio.wait_for(asyncio.gather(*bulk), 10)
    assert order == ["interactive", "bulk", "bulk"]


async def test_max_wait_gives_up_takes_no_slot_and_unlists_the_waiter(
    make: MakeLimiter, admin: Any, key: str
) -> None:
    limiter = make(capacity=1, period=30.0)
    held = await limiter.acquire()
    loop = asyncio.get_running_loop()
    start = loop.time()
    with pytest.raises(ha.RateLimitTimeout) as caught:
        await limiter.acquire(max_wait=0.3)
    assert 0.3 <= loop.time() - start < 1.5
    assert caught.value.priority == "interactive"
    assert await limiter.in_use() == 1

    async def unlisted() -> bool:
        return int(await admin.zcard(f"{{{key}}}:waiting")) == 0

    await wait_for(unlisted)  # bulk work need not wait for the entry to lapse
    await limiter.release(held)


async def test_mixed_lanes_keep_the_window_across_instances(make: MakeLimiter) -> None:
    capacity, period, reserve = 6, 0.25, 2
    limiters = [make(capacity=capacity, period=period, reserve=reserve) for _ in range(3)]
    spans: list[tuple[float, float, str]] = []
    rng = random.Random(11)
    loop = asyncio.get_running_loop()

    async def one(i: int) -> None:
        lane = "bulk" if i % 3 else "interactive"
        limiter = limiters[i % 3]
        handle = await limiter.acquire(priority=lane)  # type: ignore[arg-type]
        start = loop.time()
        await asyncio.sleep(rng.uniform(0.0, 0.02))
        end = loop.time()
        await limiter.release(handle)
        spans.append((start, end + period, lane))

    await asyncio.gather(*(one(i) for i in range(48)))
    assert max_overlap([(s + EPS, e - EPS) for s, e, _ in spans]) <= capacity
    bulk = [(s + EPS, e - EPS) for s, e, lane in spans if lane == "bulk"]
    assert max_overlap(bulk) <= capacity - reserve
    assert len(bulk) == 32


async def test_bad_lane_is_a_typed_error(make: MakeLimiter) -> None:
    with pytest.raises(ha.InvalidRequestError, match="priority"):
        await make(capacity=2, period=1.0).acquire(priority="later")  # type: ignore[arg-type]
