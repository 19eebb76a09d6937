"""A broken or hostile ``Retry-After`` never freezes callers (CONTRACT.md, "Retries").

Not a finite number of seconds (``inf``, ``nan``, junk): ignored, the default wait
applies. Longer than 900 s (Harvest's longest window): nothing is paused and the call
fails at once with `RateLimitError`. Checked in the parser, through the client's retries
and `TokenBucket` (virtual clock), and through `RedisRateLimiter` on a real redis-server.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from aioresponses import aioresponses

import harvest_async as ha
from harvest_async._http import decipher_response, parse_retry_after
from harvest_async._ratelimit import MAX_PAUSE

try:
    import redis.asyncio as aioredis

    from harvest_async._redis_ratelimit import RedisRateLimiter
except ImportError:  # pragma: no cover - the redis extra is part of the test extra
    aioredis = None  # type: ignore[assignment]

from .conftest import ACCOUNT, BASE, TOKEN, sent_requests
from .records import complete
from .redis_server import INSTALL_HINT, RedisServer, find_redis_server
from .shared import realapi_answer

URL_ENTRY = f"{BASE}/time_entries/7"
URL_LIST = f"{BASE}/time_entries"
ENTRY = complete(ha.models.TimeEntry, '{"id": 7, "hours": 1.5}')
BIGGEST = sys.float_info.max
NOW = dt.datetime(2024, 1, 1, 12, 0, 0, tzinfo=dt.UTC)
YEAR_9999 = (dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.UTC) - NOW).total_seconds()

#: Longer than any Harvest window: the call must fail at once, pausing nobody.
TOO_LONG = [
    "86400",
    "901",
    "900.5",
    "1e309",  # beyond a float: still a (very long) number of seconds
    pytest.param("1" + "0" * 400, id="10**400"),
    "1e999999999",
    "1e99999999999999999999",  # beyond even Decimal's exponent range
    "Fri, 31 Dec 9999 23:59:59 GMT",
]
#: Not a finite number of seconds: ignored, the default 15 s wait applies.
NOT_FINITE = ["inf", "-inf", "Infinity", "nan", "NaN", "1_000", "soon", "", "0x10"]


# -- the parser ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("86400", 86400.0),
        ("900", 900.0),
        ("2.5", 2.5),
        (" 7 ", 7.0),
        ("-3", 0.0),
        ("-1e999999999", 0.0),
        ("5e-99999999999999999999", 0.0),
        ("1e309", BIGGEST),
        pytest.param("1" + "0" * 400, BIGGEST, id="10**400"),
        ("1e999999999", BIGGEST),
        ("1e99999999999999999999", BIGGEST),
        ("Fri, 31 Dec 9999 23:59:59 GMT", YEAR_9999),
        ("Mon, 01 Jan 2024 11:00:00 GMT", 0.0),
    ],
)
def test_retry_after_is_a_finite_number_of_seconds(header: str, expected: float) -> None:
    assert parse_retry_after({"Retry-After": header}, now=NOW) == expected


@pytest.mark.parametrize("header", NOT_FINITE)
def test_retry_after_that_is_not_a_finite_number_is_ignored(header: str) -> None:
    assert parse_retry_after({"Retry-After": header}, now=NOW) is None
    # Treated as absent: the body's retry_after, if any, is read instead.
    assert parse_retry_after({"Retry-After": header}, {"retry_after": 4}, now=NOW) == 4.0


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"retry_after": 1e999}', BIGGEST),
        (b'{"retry_after": 1e999999999}', BIGGEST),
        (b'{"retry_after": 123456789012345678901234567890}', 1.2345678901234568e29),
        (b'{"retry_after": -5}', 0.0),
        (b'{"retry_after": 3.5}', 3.5),
        (b'{"retry_after": "inf"}', None),
        (b'{"retry_after": true}', None),
        (b'{"retry_after": [1]}', None),
    ],
)
def test_body_retry_after_follows_the_same_rule(body: bytes, expected: float | None) -> None:
    with pytest.raises(ha.RateLimitError) as info:
        decipher_response(429, {}, body, method="GET", url=URL_ENTRY)
    assert info.value.retry_after == expected


# -- TokenBucket.pause: clamped, non-finite ignored --------------------------------------


@pytest.mark.looptime
@pytest.mark.parametrize("seconds", [float("inf"), float("nan"), float("-inf")])
async def test_bucket_ignores_a_non_finite_pause(seconds: float) -> None:
    loop = asyncio.get_running_loop()
    bucket = ha.TokenBucket(10, 15)
    start = loop.time()
    await bucket.pause(seconds)
    handle = await asyncio.wait_for(bucket.acquire(), 1000)
    assert loop.time() == start
    await bucket.release(handle)


@pytest.mark.looptime
@pytest.mark.parametrize("seconds", [86400.0, 1e300, pytest.param(10**400, id="10**400")])
async def test_bucket_pauses_at_most_900_seconds(seconds: float) -> None:
    loop = asyncio.get_running_loop()
    bucket = ha.TokenBucket(10, 15)
    start = loop.time()
    await bucket.pause(seconds)
    handle = await asyncio.wait_for(bucket.acquire(), 2000)
    assert loop.time() - start == pytest.approx(MAX_PAUSE)
    await bucket.release(handle)


@pytest.mark.looptime
async def test_bucket_negative_pause_is_none() -> None:
    loop = asyncio.get_running_loop()
    bucket = ha.TokenBucket(10, 15)
    start = loop.time()
    await bucket.pause(-30)
    await bucket.release(await bucket.acquire())
    assert loop.time() == start


# -- through the client's retries (virtual clock) ----------------------------------------


class Recording(ha.TokenBucket):
    """A TokenBucket that remembers every pause asked of it."""

    def __init__(self, capacity: int, period: float) -> None:
        super().__init__(capacity, period)
        self.paused: list[float] = []

    async def pause(self, seconds: float) -> None:
        self.paused.append(seconds)
        await super().pause(seconds)


@pytest.fixture
async def bucket() -> Recording:
    return Recording(100, 15.0)


@pytest.fixture
async def rclient(bucket: Recording) -> AsyncIterator[ha.HarvestClient]:
    async with ha.HarvestClient(
        access_token=TOKEN,
        account_id=ACCOUNT,
        user_agent="tests (dev@example.com)",
        max_retries=3,
        rate_limiter=bucket,
    ) as c:
        yield c


def attempts(mock: aioresponses) -> int:
    return len(sent_requests(mock))


@pytest.mark.looptime
@pytest.mark.parametrize("header", TOO_LONG)
async def test_too_long_retry_after_fails_at_once_and_pauses_nobody(
    rclient: ha.HarvestClient, mock: aioresponses, bucket: Recording, header: str
) -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()
    mock.get(URL_ENTRY, status=429, headers={"Retry-After": header})
    mock.get(URL_ENTRY, body=ENTRY)  # never asked for: no retry
    with pytest.raises(ha.RateLimitError) as info:
        await rclient.time_entries.get(7)
    retry_after = info.value.retry_after
    assert retry_after is not None
    assert MAX_PAUSE < retry_after <= BIGGEST
    assert attempts(mock) == 1
    assert loop.time() == start
    assert bucket.paused == []
    # Nobody else is held back either: the next call goes out at once.
    assert (await rclient.time_entries.get(7)).id == 7
    assert loop.time() == start


@pytest.mark.looptime
async def test_too_long_body_retry_after_fails_at_once(
    rclient: ha.HarvestClient, mock: aioresponses, bucket: Recording
) -> None:
    mock.get(URL_ENTRY, status=429, body='{"message": "slow down", "retry_after": 1e999}')
    with pytest.raises(ha.RateLimitError) as info:
        await rclient.time_entries.get(7)
    assert info.value.retry_after == BIGGEST
    assert attempts(mock) == 1
    assert bucket.paused == []


@pytest.mark.looptime
async def test_too_long_retry_after_on_a_post_fails_at_once(
    rclient: ha.HarvestClient, mock: aioresponses, bucket: Recording
) -> None:
    mock.post(URL_LIST, status=429, headers={"Retry-After": "86400"})
    with pytest.raises(ha.RateLimitError) as info:
        await rclient.time_entries.create(project_id=1, task_id=2, spent_date="2024-01-02")
    assert info.value.retry_after == 86400.0
    assert attempts(mock) == 1
    assert bucket.paused == []


@pytest.mark.looptime
@pytest.mark.parametrize("header", NOT_FINITE)
async def test_non_finite_retry_after_waits_the_default_window(
    rclient: ha.HarvestClient, mock: aioresponses, bucket: Recording, header: str
) -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()
    mock.get(URL_ENTRY, status=429, headers={"Retry-After": header})
    mock.get(URL_ENTRY, body=ENTRY)
    assert (await rclient.time_entries.get(7)).id == 7
    assert 15.0 <= loop.time() - start < 16.0
    assert bucket.paused == [15.0]
    assert attempts(mock) == 2


@pytest.mark.looptime
async def test_non_finite_retry_after_after_retries_is_rate_limit_error_without_it(
    rclient: ha.HarvestClient, mock: aioresponses, bucket: Recording
) -> None:
    for _ in range(4):
        mock.get(URL_ENTRY, status=429, headers={"Retry-After": "inf"})
    with pytest.raises(ha.RateLimitError) as info:
        await rclient.time_entries.get(7)
    assert info.value.retry_after is None
    assert attempts(mock) == 4
    assert bucket.paused == [15.0] * 4


@pytest.mark.looptime
async def test_900_seconds_is_still_obeyed(
    rclient: ha.HarvestClient, mock: aioresponses, bucket: Recording
) -> None:
    """The reports window is 15 minutes: a Retry-After of 900 s is honest."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    mock.get(URL_ENTRY, status=429, headers={"Retry-After": "900"})
    mock.get(URL_ENTRY, body=ENTRY)
    assert (await rclient.time_entries.get(7)).id == 7
    assert 900.0 <= loop.time() - start < 901.0
    assert bucket.paused == [900.0]


# -- the recorded 429 of the real API: empty text/html body, no Retry-After ---------------


def _recorded_429() -> dict[str, Any]:
    answer = realapi_answer("harvesting-002")
    response = answer["response"]
    assert response["status"] == 429
    assert "Retry-After" not in response["headers"]
    assert response["body"] == ""
    return answer


def _replay(mock: aioresponses, answer: dict[str, Any]) -> None:
    response = answer["response"]
    mock.get(
        f"{BASE}{answer['request']['path'].removeprefix('/v2')}",
        status=response["status"],
        headers=response["headers"],
        content_type=response["headers"]["Content-Type"],
        body=response["body"],
    )


@pytest.mark.looptime
async def test_recorded_429_without_retry_after_waits_15_s_then_succeeds(
    rclient: ha.HarvestClient, mock: aioresponses, bucket: Recording
) -> None:
    answer = _recorded_429()
    loop = asyncio.get_running_loop()
    start = loop.time()
    _replay(mock, answer)
    mock.get(f"{BASE}/users/me", body=complete(ha.models.User, '{"id": 1, "first_name": "Ada"}'))
    assert (await rclient.users.me()).id == 1
    assert 15.0 <= loop.time() - start < 16.0
    assert bucket.paused == [15.0]
    assert attempts(mock) == 2


@pytest.mark.looptime
async def test_recorded_429_after_retries_is_rate_limit_error_without_retry_after(
    rclient: ha.HarvestClient, mock: aioresponses, bucket: Recording
) -> None:
    answer = _recorded_429()
    loop = asyncio.get_running_loop()
    start = loop.time()
    for _ in range(4):
        _replay(mock, answer)
    with pytest.raises(ha.RateLimitError) as info:
        await rclient.users.me()
    assert info.value.retry_after is None
    assert info.value.status == 429
    assert info.value.body is None
    assert attempts(mock) == 4
    assert bucket.paused == [15.0] * 4
    assert loop.time() - start >= 3 * 15.0


# -- RedisRateLimiter on a real redis-server ----------------------------------------------


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    if aioredis is None:
        pytest.skip("RedisRateLimiter needs redis-py: pip install 'harvest_async[redis]'")
    binary = find_redis_server()
    if binary is None:
        pytest.skip(INSTALL_HINT)
    with RedisServer(binary) as server:
        yield server


@pytest.fixture
async def shared(redis_server: RedisServer) -> AsyncIterator[tuple[str, aioredis.Redis]]:
    """A fresh key and an admin connection to look at what the limiters stored."""
    admin = aioredis.from_url(redis_server.url)
    yield f"test:{uuid.uuid4().hex}", admin
    await admin.aclose()


def _pause_key(key: str) -> str:
    return f"{{{key}}}:pause"


@pytest.mark.parametrize("seconds", [float("inf"), float("nan"), float("-inf"), 0.0, -5.0])
async def test_redis_limiter_ignores_a_non_finite_pause(
    redis_server: RedisServer, shared: tuple[str, aioredis.Redis], seconds: float
) -> None:
    key, admin = shared
    async with RedisRateLimiter(redis_server.url, key=key, capacity=5, period=0.5) as limiter:
        await limiter.pause(seconds)
        assert await admin.exists(_pause_key(key)) == 0
        handle = await asyncio.wait_for(limiter.acquire(), 2.0)
        await limiter.release(handle)


@pytest.mark.parametrize("seconds", [86400.0, 1e300, pytest.param(10**400, id="10**400")])
async def test_redis_limiter_pauses_every_worker_at_most_900_seconds(
    redis_server: RedisServer, shared: tuple[str, aioredis.Redis], seconds: float
) -> None:
    key, admin = shared
    async with RedisRateLimiter(redis_server.url, key=key, capacity=5, period=0.5) as limiter:
        await limiter.pause(seconds)
        ttl = await admin.pttl(_pause_key(key))
        assert 899_000 < ttl <= 901_000  # the pause's 900 s plus the 1 s margin
        server_now = await admin.time()
        stored = await admin.get(_pause_key(key))
        assert stored is not None
        until = int(stored)
        assert until - (server_now[0] * 1_000_000 + server_now[1]) <= MAX_PAUSE * 1_000_000


async def test_redis_limiter_ignores_a_pause_stored_too_far_ahead(
    redis_server: RedisServer, shared: tuple[str, aioredis.Redis]
) -> None:
    """A pause key left by a broken writer (a day ahead) does not hold anyone back."""
    key, admin = shared
    seconds, micros = await admin.time()
    a_day_ahead = (seconds + 86400) * 1_000_000 + micros
    await admin.set(_pause_key(key), str(a_day_ahead), px=86_400_000)
    async with RedisRateLimiter(redis_server.url, key=key, capacity=5, period=0.5) as limiter:
        handle = await asyncio.wait_for(limiter.acquire(), 2.0)
        await limiter.release(handle)
    assert await admin.exists(_pause_key(key)) == 0


@pytest.mark.parametrize("value", ["inf", "nan", "junk"])
async def test_redis_limiter_ignores_an_unreadable_stored_pause(
    redis_server: RedisServer, shared: tuple[str, aioredis.Redis], value: str
) -> None:
    key, admin = shared
    await admin.set(_pause_key(key), value, px=86_400_000)
    async with RedisRateLimiter(redis_server.url, key=key, capacity=5, period=0.5) as limiter:
        handle = await asyncio.wait_for(limiter.acquire(), 2.0)
        await limiter.release(handle)


@pytest.mark.parametrize("header", ["86400", "1e309", "Fri, 31 Dec 9999 23:59:59 GMT"])
async def test_too_long_retry_after_through_redis_pauses_no_worker(
    redis_server: RedisServer,
    shared: tuple[str, aioredis.Redis],
    mock: aioresponses,
    header: str,
) -> None:
    key, admin = shared
    async with (
        RedisRateLimiter(redis_server.url, key=key, capacity=5, period=0.5) as limiter,
        RedisRateLimiter(redis_server.url, key=key, capacity=5, period=0.5) as other_worker,
        ha.HarvestClient(
            access_token=TOKEN, account_id=ACCOUNT, max_retries=3, rate_limiter=limiter
        ) as client,
    ):
        mock.get(URL_ENTRY, status=429, headers={"Retry-After": header})
        with pytest.raises(ha.RateLimitError) as info:
            await asyncio.wait_for(client.time_entries.get(7), 5.0)
        assert info.value.retry_after is not None
        assert info.value.retry_after > MAX_PAUSE
        assert attempts(mock) == 1
        assert await admin.exists(_pause_key(key)) == 0
        handle = await asyncio.wait_for(other_worker.acquire(), 2.0)
        await other_worker.release(handle)


async def test_non_finite_retry_after_through_redis_pauses_for_the_default_window(
    redis_server: RedisServer, shared: tuple[str, aioredis.Redis], mock: aioresponses
) -> None:
    """``inf`` is ignored: every worker waits the default 15 s (no OverflowError)."""
    key, admin = shared
    async with (
        RedisRateLimiter(redis_server.url, key=key, capacity=5, period=0.5) as limiter,
        ha.HarvestClient(
            access_token=TOKEN, account_id=ACCOUNT, max_retries=0, rate_limiter=limiter
        ) as client,
    ):
        mock.get(URL_ENTRY, status=429, headers={"Retry-After": "inf"})
        with pytest.raises(ha.RateLimitError) as info:
            await client.time_entries.get(7)
        assert info.value.retry_after is None
        ttl = await admin.pttl(_pause_key(key))
        assert 14_000 < ttl <= 16_000  # the default 15 s plus the 1 s margin
