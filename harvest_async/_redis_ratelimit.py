"""One Harvest rate limit shared through Redis by many processes and hosts.

Harvest counts every request made with an account's token against one budget (100
requests per 15 seconds, 100 per 15 minutes for reports), whichever process sends it:
https://help.getharvest.com/api-v2/introduction/overview/general/#rate-limiting. An
in-process `TokenBucket` per worker lets N workers send N times the
limit; `RedisRateLimiter` keeps the slots in Redis instead, so every worker that
uses the same Redis and ``key`` shares one budget with the same guarantee.

Keys (``K`` is the ``key`` given; the braces make it a Redis Cluster hash tag, so both
keys live in one slot):

- ``{K}:slots``: a sorted set of slot ids (``host:pid:random``) scored by the Redis
  server time, in microseconds, at which each slot stops counting: ``acquire`` adds it
  with ``now + lease`` (a worker that dies mid-request frees it when the lease ends),
  ``release`` moves it to ``now + period``. Members whose score has passed are purged.
- ``{K}:bulk``: the same, for the slots taken by bulk requests only (they may hold at
  most ``capacity - reserve`` slots of a window).
- ``{K}:waiting``: interactive callers waiting for a slot, scored by when their entry
  lapses (refreshed at every look, so a dead waiter lapses within seconds): while any is
  listed, no bulk request is admitted, so a free slot goes to interactive work first.
- ``{K}:pause``: the server time (microseconds) until which nothing is admitted, never
  more than `MAX_PAUSE` (900 s) ahead; a value further ahead (or unreadable) is ignored
  and deleted, so no broken ``Retry-After`` can hold every worker back for long.

Every update is one Lua script (``EVALSHA``, re-loaded on ``NOSCRIPT``) that reads the
clock with ``redis.call('TIME')``: the workers' own clocks never matter. Both keys carry a
TTL, so an idle budget removes itself. Needs Redis 5 or later.

A limiter is bound to the event loop it is first used in (its connections and lock
belong to that loop): using it from another loop raises `ConfigurationError`; create
one per loop.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import secrets
import socket
import threading
import weakref
from collections.abc import Coroutine, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ._closing import AsyncClosing
from ._errors import ConfigurationError, ConnectionNotMadeError
from ._ratelimit import (
    BULK,
    DEFAULT_RESERVE,
    MAX_PAUSE,
    Priority,
    SupportsAcquire,
    acquire_slot,
    check_max_wait,
    check_priority,
    check_reserve,
    clamp_pause,
    current_priority,
    timeout_error,
)

try:
    import redis.asyncio as aioredis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff
    from redis.exceptions import RedisError
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "RedisRateLimiter needs the redis package: install harvest_async with its redis "
        "extra (from a clone: pip install -e '.[redis]')"
    ) from exc

__all__ = ["RedisRateLimiter", "RedisUnavailableError"]

logger = logging.getLogger("harvest_async.redis")

#: Longest sleep between two looks at Redis while waiting for a slot. The script's wait
#: is a lower bound (an in-flight slot frees ``period`` after a release nobody can
#: foresee), so a waiter looks again at least this often.
MAX_POLL = 1.0
#: A bulk caller behind interactive waiters looks again this often (seconds).
_WAITER_POLL = 0.005
#: An interactive waiter's entry lapses this long after its last look (seconds), so a
#: waiter that died holds bulk work back for no longer.
_WAITER_TTL = 3 * MAX_POLL

_US = 1_000_000

# KEYS: slots, pause, bulk, waiting. ARGV: capacity, lease_us, period_us, member,
# max_pause_us, bulk (0/1), bulk_capacity, waiter, waiter_ttl_us.
# Returns {1, now} granted; {0, wait_us} full; {2, wait_us} paused; {3, 0} a bulk
# request behind interactive waiters. A pause further ahead than max_pause_us (or not a
# number) is broken: it is deleted, not obeyed. An interactive caller refused is listed
# in KEYS[4] (until now + waiter_ttl_us); granted, it is taken off.
_ACQUIRE = """
local now_t = redis.call('TIME')
local now = tonumber(now_t[1]) * 1000000 + tonumber(now_t[2])
local capacity = tonumber(ARGV[1])
local bulk = ARGV[6] == '1'
local function refused(status, wait)
  if not bulk then
    local lapse = now + tonumber(ARGV[9])
    redis.call('ZADD', KEYS[4], lapse, ARGV[8])
    redis.call('PEXPIRE', KEYS[4], math.ceil(tonumber(ARGV[9]) / 1000) + 1000)
  end
  return {status, wait}
end
local paused_until = tonumber(redis.call('GET', KEYS[2]) or '0') or 0
if not (paused_until - now <= tonumber(ARGV[5])) then
  redis.call('DEL', KEYS[2])
elseif paused_until > now then
  return refused(2, paused_until - now)
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now)
if bulk and redis.call('ZCARD', KEYS[4]) > 0 then
  return {3, 0}
end
local count = redis.call('ZCARD', KEYS[1])
local room = count < capacity
local bulk_count = 0
if bulk then
  bulk_count = redis.call('ZCARD', KEYS[3])
  room = room and bulk_count < tonumber(ARGV[7])
end
if room then
  local until_ = now + tonumber(ARGV[2])
  redis.call('ZADD', KEYS[1], until_, ARGV[4])
  local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
  redis.call('PEXPIRE', KEYS[1], math.ceil((tonumber(last[2]) - now) / 1000) + 1000)
  if bulk then
    redis.call('ZADD', KEYS[3], until_, ARGV[4])
    local blast = redis.call('ZRANGE', KEYS[3], -1, -1, 'WITHSCORES')
    redis.call('PEXPIRE', KEYS[3], math.ceil((tonumber(blast[2]) - now) / 1000) + 1000)
  else
    redis.call('ZREM', KEYS[4], ARGV[8])
  end
  return {1, now}
end
local frees = now + tonumber(ARGV[3])
if count >= capacity then
  local kth = redis.call('ZRANGE', KEYS[1], count - capacity, count - capacity, 'WITHSCORES')
  frees = math.min(tonumber(kth[2]), frees)
else
  local quota = tonumber(ARGV[7])
  local kth = redis.call('ZRANGE', KEYS[3], bulk_count - quota, bulk_count - quota, 'WITHSCORES')
  frees = math.min(tonumber(kth[2]), frees)
end
return refused(0, math.max(frees - now, 1))
"""

# KEYS: slots, bulk. ARGV: period_us, member, bulk (0/1). The slot counts for
# ``period`` from now; if its lease ran out meanwhile it is added back (the request did
# happen).
_RELEASE = """
local now_t = redis.call('TIME')
local now = tonumber(now_t[1]) * 1000000 + tonumber(now_t[2])
for i = 1, (ARGV[3] == '1' and 2 or 1) do
  redis.call('ZADD', KEYS[i], now + tonumber(ARGV[1]), ARGV[2])
  local last = redis.call('ZRANGE', KEYS[i], -1, -1, 'WITHSCORES')
  redis.call('PEXPIRE', KEYS[i], math.ceil((tonumber(last[2]) - now) / 1000) + 1000)
end
return 1
"""

# KEYS: pause. ARGV: seconds_us. Pause until max(existing, now + seconds).
# Returns the pause left, in microseconds.
_PAUSE = """
local now_t = redis.call('TIME')
local now = tonumber(now_t[1]) * 1000000 + tonumber(now_t[2])
local want = now + tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
if want > current then
  redis.call('SET', KEYS[1], string.format('%.0f', want),
             'PX', math.ceil((want - now) / 1000) + 1000)
  current = want
end
return current - now
"""

# KEYS: slots. Returns the number of slots counted now.
_COUNT = """
local now_t = redis.call('TIME')
local now = tonumber(now_t[1]) * 1000000 + tonumber(now_t[2])
return redis.call('ZCOUNT', KEYS[1], '(' .. string.format('%.0f', now), '+inf')
"""


class RedisUnavailableError(ConnectionNotMadeError):
    """Redis could not be reached (or answered an error): no request was sent.

    A `TransportError`; the client retries it like a connection
    that was never made.
    """


class _RedisSlot:
    __slots__ = ("bulk", "limiter", "member", "released")

    def __init__(self, limiter: RedisRateLimiter, member: str, bulk: bool = False) -> None:
        self.limiter = limiter
        self.member = member
        self.bulk = bulk
        self.released = False

    def __repr__(self) -> str:
        return f"<redis slot {self.member} released={self.released}>"


class _FallbackSlot:
    __slots__ = ("inner", "limiter", "released")

    def __init__(self, limiter: RedisRateLimiter, inner: Any) -> None:
        self.limiter = limiter
        self.inner = inner
        self.released = False

    def __repr__(self) -> str:
        return f"<fallback slot released={self.released}>"


def _positive(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ConfigurationError(f"{name} must be a positive number of seconds, got {value!r}")
    return float(value)


def _redact(url: str) -> str:
    """The URL without its password (and without a query that may carry one)."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, host = netloc.rsplit("@", 1)
            user = userinfo.split(":", 1)[0]
            netloc = f"{user}:***@{host}" if ":" in userinfo else f"{user}@{host}"
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    except ValueError:
        return "<redis URL>"


def _describe_client(client: Any) -> str:
    try:
        kwargs = client.connection_pool.connection_kwargs
        if "path" in kwargs:
            return f"unix://{kwargs['path']}"
        return f"redis://{kwargs.get('host', '?')}:{kwargs.get('port', '?')}/{kwargs.get('db', 0)}"
    except AttributeError:
        return type(client).__name__


class RedisRateLimiter(AsyncClosing):
    """Never more than ``capacity`` requests in any rolling window of ``period`` seconds,
    for every process and host that uses the same Redis and ``key``.

    The same guarantee as `TokenBucket`, with the slots kept in
    Redis: a slot is held from `acquire` (before the request is sent) until
    ``period`` seconds after `release` (its response arrived or it failed), on the
    Redis server's clock. A 429 seen by any worker (`pause`) holds back all of
    them. A worker that dies mid-request frees its slot when ``lease`` runs out.

    Lanes work across processes as in `TokenBucket`: bulk requests hold at most
    ``capacity - reserve`` slots of any window, and none is admitted while an
    interactive caller of any process waits. Callers of one process and lane wait in
    FIFO order; a cancelled waiter, or one past its ``max_wait``, takes no slot.

    Redis unreachable or slower than ``timeout``: `acquire` raises
    `RedisUnavailableError` (a `TransportError`), unless a
    ``fallback`` limiter is given: then that local limiter admits requests (a warning is
    logged once) until Redis answers again, tried every ``recheck`` seconds. Give it a
    safe share of the limit, e.g. ``TokenBucket(capacity // workers, period)``.

    Args:
        redis: A URL (``"redis://127.0.0.1:6379/0"``, ``rediss://``, ``unix://``), or a
            ``redis.asyncio.Redis`` you own (never closed by this limiter).
        key: Names the budget, e.g. ``"harvest:123456:general"``; the reports budget
            is a second limiter with its own key.
        capacity: Requests allowed per window (Harvest: 100).
        period: Window length in seconds (Harvest: 15.0; reports: 900.0).
        lease: Seconds after `acquire` at which a slot never released frees
            itself (a crashed worker). At least ``period``; it should exceed the
            client's ``timeout`` plus ``period``. Default ``period + 60``.
        fallback: A local limiter to use while Redis is unreachable; default none
            (raise instead).
        timeout: Seconds allowed for each Redis call.
        recheck: While on the fallback, seconds between attempts to use Redis again.
        reserve: Slots of each window kept for interactive requests (default 10, at
            most ``capacity - 1``).
    """

    def __init__(
        self,
        redis: str | aioredis.Redis,
        *,
        key: str,
        capacity: int = 100,
        period: float = 15.0,
        lease: float | None = None,
        fallback: SupportsAcquire | None = None,
        timeout: float = 2.0,
        recheck: float = 5.0,
        reserve: int = DEFAULT_RESERVE,
    ) -> None:
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
            raise ConfigurationError(f"capacity must be a positive int, got {capacity!r}")
        self.capacity = capacity
        self.reserve = check_reserve(reserve, capacity)
        #: Slots of a window bulk requests may hold at once, across every process.
        self.bulk_capacity = capacity - self.reserve
        self.period = _positive("period", period)
        self.lease = self.period + 60.0 if lease is None else _positive("lease", lease)
        if self.lease < self.period:
            raise ConfigurationError(
                f"lease ({self.lease} s) must be at least period ({self.period} s): a slot "
                "must count for a whole window even when its worker dies"
            )
        self.timeout = _positive("timeout", timeout)
        self.recheck = _positive("recheck", recheck)
        if not isinstance(key, str) or not key:
            raise ConfigurationError(f"key must be a non-empty str, got {key!r}")
        self.key = key
        if fallback is not None and not callable(getattr(fallback, "acquire", None)):
            raise ConfigurationError("fallback must have an async acquire() method")
        self.fallback = fallback

        self._owned: bool
        if isinstance(redis, str):
            self._where = _redact(redis)
            try:
                self._redis = aioredis.from_url(
                    redis,
                    socket_timeout=self.timeout,
                    socket_connect_timeout=self.timeout,
                    # One immediate retry (a pooled connection Redis dropped), no backoff:
                    # an outage is reported at once, not after redis-py's own retries.
                    retry=Retry(NoBackoff(), 1),
                )
            except ValueError as exc:
                raise ConfigurationError(
                    f"not a Redis URL: {self._where!r} ({type(exc).__name__})"
                ) from None
            self._owned = True
        elif isinstance(redis, aioredis.Redis):
            self._where = _describe_client(redis)
            self._redis = redis
            self._owned = False
        else:
            raise ConfigurationError(
                f"redis must be a URL or a redis.asyncio.Redis, got {type(redis).__name__}"
            )

        self._slots_key = f"{{{key}}}:slots"
        self._pause_key = f"{{{key}}}:pause"
        self._bulk_key = f"{{{key}}}:bulk"
        self._waiting_key = f"{{{key}}}:waiting"
        self._acquire_script = self._redis.register_script(_ACQUIRE)
        self._release_script = self._redis.register_script(_RELEASE)
        self._pause_script = self._redis.register_script(_PAUSE)
        self._count_script = self._redis.register_script(_COUNT)
        self._member_prefix = f"{socket.gethostname()}:{os.getpid()}:"
        # One queue per lane: a bulk caller polling Redis never holds back an
        # interactive one of this process.
        self._lock = asyncio.Lock()
        self._bulk_lock = asyncio.Lock()
        self._paused_until = float("-inf")  # loop time; this process's view of pause()
        self._down_until: float | None = None  # loop time; on the fallback until then
        self._background: set[asyncio.Task[Any]] = set()
        self._closed = False
        self._loop: weakref.ref[asyncio.AbstractEventLoop] | None = None
        self._bind_lock = threading.Lock()

    def __repr__(self) -> str:
        return (
            f"RedisRateLimiter(key={self.key!r}, capacity={self.capacity}, "
            f"period={self.period}, redis={self._where!r})"
        )

    @property
    def using_fallback(self) -> bool:
        """Whether the fallback limiter is admitting requests (Redis was unreachable)."""
        return self._down_until is not None

    async def aclose(self) -> None:
        """Stop; close the Redis connection if this limiter opened it from a URL.

        A ``redis.asyncio.Redis`` given by the caller is left open. Called from another
        event loop than the limiter's: `ConfigurationError` while that loop is open;
        once it is closed, the limiter is only marked closed (its connections went with
        their loop).
        """
        if self._closed:
            return
        if _other_loop(self._loop):
            raise ConfigurationError(
                "a RedisRateLimiter is bound to the event loop it was first used in; close it there"
            )
        self._closed = True
        if self._loop is not None and self._loop() is not asyncio.get_running_loop():
            return
        if self._background:
            await asyncio.wait(set(self._background), timeout=self.timeout)
        if self._owned:
            await self._redis.aclose()

    # -- the protocol --------------------------------------------------------------

    async def acquire(
        self, *, priority: Priority | None = None, max_wait: float | None = None
    ) -> _RedisSlot | _FallbackSlot:
        """Wait for a slot in the shared budget: interactive callers first.

        Args:
            priority: ``"interactive"`` or ``"bulk"``; default the context's
                (bulk inside the library's bulk work, else interactive).
            max_wait: Seconds to wait at most (``None``: as long as it takes).

        Returns:
            The handle to pass to `release` once the request has ended.

        Raises:
            RateLimitTimeout: no slot within ``max_wait``; nothing was taken.
            RedisUnavailableError: Redis is unreachable and there is no ``fallback``.
            RuntimeError: the limiter was closed.
            ConfigurationError: the limiter is bound to another event loop.
        """
        lane = current_priority() if priority is None else check_priority(priority)
        deadline_in = check_max_wait(max_wait)
        self._check_open()
        loop = self._running_loop()
        if deadline_in is None:
            return await self._acquire(loop, lane, None)
        start = loop.time()
        eta: list[float] = []
        try:
            async with asyncio.timeout(deadline_in):
                return await self._acquire(loop, lane, eta)
        except TimeoutError:
            raise timeout_error(
                lane, deadline_in, loop.time() - start, eta[-1] if eta else None
            ) from None

    async def _acquire(
        self, loop: asyncio.AbstractEventLoop, lane: Priority, eta: list[float] | None
    ) -> _RedisSlot | _FallbackSlot:
        bulk = lane == BULK
        waiter = self._member_prefix + "w" + secrets.token_hex(8)
        listed = False
        try:
            async with self._bulk_lock if bulk else self._lock:
                while True:
                    self._check_open()
                    now = loop.time()
                    if now < self._paused_until:
                        await asyncio.sleep(self._paused_until - now + _jitter(0.0))
                        continue
                    if self._down_until is not None and now < self._down_until:
                        return await self._acquire_fallback(lane)
                    member = self._member_prefix + secrets.token_hex(8)
                    try:
                        status, value = await self._run_acquire(member, bulk, waiter)
                    except RedisUnavailableError as exc:
                        if self.fallback is None:
                            raise
                        self._enter_fallback(loop, exc)
                        continue
                    if self._down_until is not None:
                        self._down_until = None
                        logger.info(
                            "Redis at %s answers again: rate limit %r is shared again",
                            self._where,
                            self.key,
                        )
                    if status == 1:
                        listed = False
                        return _RedisSlot(self, member, bulk)
                    listed = not bulk
                    wait = value / _US
                    if eta is not None:
                        eta.append(wait)
                    if status == 3:
                        wait = _WAITER_POLL  # behind interactive callers: look again soon
                    elif status == 0:
                        wait = min(wait, MAX_POLL)
                    await asyncio.sleep(wait + _jitter(wait))
        finally:
            if listed and not self._closed:
                # Left without a slot (cancelled, timed out, failed): unlist at once so
                # bulk work need not wait for the entry to lapse.
                self._spawn(self._unlist(waiter))

    async def _unlist(self, waiter: str) -> None:
        try:
            async with asyncio.timeout(self.timeout):
                await self._redis.zrem(self._waiting_key, waiter)
        except (TimeoutError, RedisError, OSError) as exc:
            logger.debug("could not unlist waiter %s of %r: %s", waiter, self.key, exc)

    async def release(self, handle: Any) -> None:
        """Mark the request's end: its slot counts for ``period`` seconds more.

        Never raises for Redis trouble (the request is over; an unreleased slot frees
        itself when its lease ends): it logs a warning instead.
        """
        if isinstance(handle, _FallbackSlot) and handle.limiter is self:
            if handle.released:
                return
            handle.released = True
            release = getattr(self.fallback, "release", None)
            if release is not None:
                await release(handle.inner)
            return
        if not isinstance(handle, _RedisSlot) or handle.limiter is not self:
            raise ValueError("release() takes a handle returned by this limiter's acquire()")
        if handle.released:
            return
        self._running_loop()
        handle.released = True
        if self._closed:
            logger.debug("%r is closed: slot %s frees when its lease ends", self, handle.member)
            return
        # Shielded: a caller cancelled now must not leave the slot on its lease.
        await asyncio.shield(self._spawn(self._release_remote(handle.member, handle.bulk)))

    async def pause(self, seconds: float) -> None:
        """Hold back every acquisition, in every process sharing the key, for ``seconds``.

        Extends a pause already in force, never shortens it. Also pauses this process
        (and the fallback) even when Redis cannot be reached. ``seconds`` is clamped to
        ``[0, MAX_PAUSE]``; a value that is not a finite number pauses nothing.
        """
        loop = self._running_loop()
        clamped = clamp_pause(seconds)
        if not clamped:
            return
        seconds = clamped
        self._paused_until = max(self._paused_until, loop.time() + seconds)
        fallback_pause = getattr(self.fallback, "pause", None)
        if fallback_pause is not None:
            await fallback_pause(seconds)
        if self._closed or (self._down_until is not None and loop.time() < self._down_until):
            return  # on the fallback: Redis was unreachable moments ago
        try:
            await self._call(self._pause_script, [self._pause_key], [round(seconds * _US)])
        except RedisUnavailableError as exc:
            logger.warning("could not share a pause of %r through Redis: %s", self.key, exc)

    async def in_use(self) -> int:
        """Slots the shared budget counts now (in flight plus ended within ``period``).

        Raises:
            RedisUnavailableError: Redis is unreachable.
        """
        self._running_loop()
        return int(await self._call(self._count_script, [self._slots_key], []))

    # -- internals -----------------------------------------------------------------

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        """The running loop, once checked to be the one this limiter is bound to."""
        loop = asyncio.get_running_loop()
        ref = self._loop
        if ref is not None and ref() is loop:
            return loop
        with self._bind_lock:  # two threads, each with its own loop, may race here
            if self._loop is None:
                self._loop = weakref.ref(loop)
            elif self._loop() is not loop:
                raise ConfigurationError(
                    "a RedisRateLimiter is bound to the event loop it was first used in "
                    "(its Redis connections belong to it); create one per loop"
                )
        return loop

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"{self!r} is closed")

    async def _call(self, script: Any, keys: Sequence[str], args: Sequence[Any]) -> Any:
        try:
            async with asyncio.timeout(self.timeout):
                return await script(keys=keys, args=args, client=self._redis)
        except TimeoutError:
            raise RedisUnavailableError(
                f"Redis at {self._where} did not answer within {self.timeout} s "
                f"(rate limit {self.key!r})"
            ) from None
        except (RedisError, OSError) as exc:
            raise RedisUnavailableError(
                f"cannot use Redis at {self._where} for rate limit {self.key!r}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc

    async def _run_acquire(self, member: str, bulk: bool, waiter: str) -> tuple[int, int]:
        args = [
            self.capacity,
            round(self.lease * _US),
            round(self.period * _US),
            member,
            round(MAX_PAUSE * _US),
            1 if bulk else 0,
            self.bulk_capacity,
            waiter,
            round(_WAITER_TTL * _US),
        ]
        keys = [self._slots_key, self._pause_key, self._bulk_key, self._waiting_key]
        task = self._spawn(self._call(self._acquire_script, keys, args))
        try:
            # Shielded, so a cancel never cuts a script's answer off mid-way.
            result = await asyncio.shield(task)
        except asyncio.CancelledError:
            # The script may yet grant the slot: nothing will be sent, so drop it.
            self._spawn(self._discard_after(task, member))
            raise
        except RedisUnavailableError:
            # A timeout may hide a granted slot.
            self._spawn(self._discard(member))
            raise
        status, value = int(result[0]), int(result[1])
        return status, value

    async def _release_remote(self, member: str, bulk: bool) -> None:
        try:
            await self._call(
                self._release_script,
                [self._slots_key, self._bulk_key],
                [round(self.period * _US), member, 1 if bulk else 0],
            )
        except RedisUnavailableError as exc:
            logger.warning(
                "could not release a rate-limit slot of %r (%s); it frees itself in at most %.0f s",
                self.key,
                exc,
                self.lease,
            )

    async def _discard_after(self, task: asyncio.Task[Any], member: str) -> None:
        try:
            result = await task
        except RedisUnavailableError:
            pass
        else:
            if int(result[0]) != 1:
                return
        await self._discard(member)

    async def _discard(self, member: str) -> None:
        """Remove a slot whose request was never sent."""
        try:
            async with asyncio.timeout(self.timeout):
                await self._redis.zrem(self._slots_key, member)
                await self._redis.zrem(self._bulk_key, member)
        except (TimeoutError, RedisError, OSError) as exc:
            logger.debug("could not drop unused slot %s of %r: %s", member, self.key, exc)

    async def _acquire_fallback(self, lane: Priority) -> _FallbackSlot:
        assert self.fallback is not None
        return _FallbackSlot(self, await acquire_slot(self.fallback, priority=lane, max_wait=None))

    def _enter_fallback(self, loop: asyncio.AbstractEventLoop, exc: Exception) -> None:
        if self._down_until is None:
            logger.warning(
                "%s; using the local fallback limiter %r until Redis answers again",
                exc,
                self.fallback,
            )
        self._down_until = loop.time() + self.recheck

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task


def _other_loop(ref: weakref.ref[asyncio.AbstractEventLoop] | None) -> bool:
    """Whether ``ref`` names an open event loop other than the running one."""
    bound = ref() if ref is not None else None
    return bound is not None and bound is not asyncio.get_running_loop() and not bound.is_closed()


def _jitter(wait: float) -> float:
    """A little randomness so processes woken together do not hit Redis together."""
    return random.uniform(0.0, min(0.02, 0.002 + wait * 0.05))
