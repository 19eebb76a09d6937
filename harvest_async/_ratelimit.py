"""Rate limiting: the limiter protocol and the in-process rolling-window limiter.

Harvest allows 100 requests per 15 seconds, and 100 per 15 minutes for reports
(https://help.getharvest.com/api-v2/introduction/overview/general/#rate-limiting).
Harvest counts requests in a rolling window as *it* sees them, so a slot here is held
from the moment a request is sent until ``period`` seconds after its response arrived:
whatever the network does in between, no ``period``-long window on Harvest's side can
hold more than ``capacity`` requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import inspect
import math
import threading
import weakref
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from typing import Any, Final, Literal, ParamSpec, Protocol, TypeVar, runtime_checkable

from ._errors import ConfigurationError, InvalidRequestError, RateLimitTimeout

__all__ = [
    "BULK",
    "DEFAULT_RESERVE",
    "INTERACTIVE",
    "MAX_PAUSE",
    "Priority",
    "RateLimiter",
    "SupportsAcquire",
    "TokenBucket",
    "acquire_slot",
    "as_rate_limiter",
    "as_bulk",
    "bulk_work",
    "check_max_wait",
    "check_priority",
    "check_reserve",
    "clamp_pause",
    "current_priority",
    "timeout_error",
]

#: A request's lane: ``"interactive"`` (a user waits for it) or ``"bulk"`` (a sync,
#: bulk helper, date shards, concurrent pages).
Priority = Literal["interactive", "bulk"]
INTERACTIVE: Final = "interactive"
BULK: Final = "bulk"

P = ParamSpec("P")
R = TypeVar("R")

#: Slots of each window that bulk work may never take (``TokenBucket(reserve=...)``).
DEFAULT_RESERVE = 10

_priority: contextvars.ContextVar[Priority] = contextvars.ContextVar(
    "harvest_async_priority", default=INTERACTIVE
)

#: Longest pause a limiter accepts, in seconds: Harvest's longest window (reports) is
#: 15 minutes, so no honest ``Retry-After`` asks for more
#: (https://help.getharvest.com/api-v2/introduction/overview/general/#rate-limiting).
MAX_PAUSE = 900.0


def clamp_pause(seconds: float) -> float | None:
    """``seconds`` clamped to ``[0, MAX_PAUSE]``; ``None`` if it is not a finite number.

    A limiter's `pause` uses it so that no value, however broken, holds requests back
    for longer than Harvest's longest window (or forever).
    """
    if isinstance(seconds, int):
        return float(min(max(seconds, 0), MAX_PAUSE))  # exact, even beyond a float's range
    value = float(seconds)
    if not math.isfinite(value):
        return None
    return min(max(value, 0.0), MAX_PAUSE)


def check_priority(priority: object, *, what: str = "priority") -> Priority:
    """``priority`` if it is ``"interactive"`` or ``"bulk"``, else `InvalidRequestError`."""
    if priority == INTERACTIVE and isinstance(priority, str):
        return INTERACTIVE
    if priority == BULK and isinstance(priority, str):
        return BULK
    raise InvalidRequestError(f"{what} must be 'interactive' or 'bulk', got {priority!r}")


def check_max_wait(max_wait: object, *, what: str = "max_wait") -> float | None:
    """``max_wait`` as seconds (``None``: wait as long as it takes).

    Raises:
        InvalidRequestError: not ``None`` nor a finite number >= 0.
    """
    if max_wait is None:
        return None
    if isinstance(max_wait, bool) or not isinstance(max_wait, (int, float)):
        raise InvalidRequestError(f"{what} must be a number of seconds or None, got {max_wait!r}")
    value = float(max_wait)
    if not (math.isfinite(value) and value >= 0):
        raise InvalidRequestError(f"{what} must be a finite number >= 0, got {max_wait!r}")
    return value


def current_priority() -> Priority:
    """The lane of requests made in this context: ``"bulk"`` inside `bulk_work`."""
    return _priority.get()


@contextlib.contextmanager
def bulk_work() -> Iterator[None]:
    """Run the block's requests (and tasks it starts) in the bulk lane by default.

    Used by ``bulk.*``, the sync, date shards and concurrent page fetches; a priority
    given explicitly (``with_options(priority=...)``) still wins.
    """
    token = _priority.set(BULK)
    try:
        yield
    finally:
        _priority.reset(token)


def as_bulk(func: Callable[P, Awaitable[R]]) -> Callable[P, Coroutine[Any, Any, R]]:
    """Decorate an async function so that its requests are bulk work (`bulk_work`)."""

    @functools.wraps(func)
    async def bulk(*args: P.args, **kwargs: P.kwargs) -> R:
        with bulk_work():
            return await func(*args, **kwargs)

    return bulk


def _takes_options(limiter: object) -> bool:
    """Whether ``limiter.acquire`` accepts ``priority=`` and ``max_wait=``."""
    kind = type(limiter)
    known = _TAKES_OPTIONS.get(kind)
    if known is None:
        try:
            params = inspect.signature(limiter.acquire).parameters  # type: ignore[attr-defined]
        except (TypeError, ValueError):
            known = False
        else:
            known = any(p.kind is p.VAR_KEYWORD for p in params.values()) or (
                "priority" in params and "max_wait" in params
            )
        with contextlib.suppress(TypeError):
            _TAKES_OPTIONS[kind] = known
    return known


_TAKES_OPTIONS: weakref.WeakKeyDictionary[type, bool] = weakref.WeakKeyDictionary()


async def acquire_slot(
    limiter: SupportsAcquire, *, priority: Priority, max_wait: float | None
) -> Any:
    """``limiter.acquire(priority=..., max_wait=...)``, also for a limiter without them.

    A custom limiter whose ``acquire()`` takes no arguments is given the deadline from
    outside: past ``max_wait`` its ``acquire()`` is cancelled (which must free its place)
    and `RateLimitTimeout` is raised. Its lanes are its own business.
    """
    if _takes_options(limiter):
        acquire: Any = limiter.acquire
        return await acquire(priority=priority, max_wait=max_wait)
    if max_wait is None:
        return await limiter.acquire()
    loop = asyncio.get_running_loop()
    start = loop.time()
    try:
        async with asyncio.timeout(max_wait):
            return await limiter.acquire()
    except TimeoutError:
        raise timeout_error(priority, max_wait, loop.time() - start, None) from None


def timeout_error(
    priority: Priority, max_wait: float, waited: float, eta: float | None
) -> RateLimitTimeout:
    """The `RateLimitTimeout` of a call that waited ``waited`` s of its ``max_wait``."""
    return RateLimitTimeout(
        f"no rate-limit slot within max_wait={max_wait:g} s ({priority} lane); nothing was sent",
        retry_after=eta,
        waited=waited,
        priority=priority,
    )


@runtime_checkable
class SupportsAcquire(Protocol):
    """The least a limiter must do: wait for room before each request.

    `as_rate_limiter` turns such a limiter into a full `RateLimiter`.
    """

    async def acquire(self) -> Any:
        """Wait for room and return a handle for the request about to be sent."""
        ...


@runtime_checkable
class RateLimiter(Protocol):
    """A limiter with lanes and deadlines, told about each request's end and about 429s.

    `TokenBucket` and `RedisRateLimiter` are ones; `as_rate_limiter` adapts any
    `SupportsAcquire`.
    """

    async def acquire(
        self, *, priority: Priority | None = None, max_wait: float | None = None
    ) -> Any:
        """Wait for room in ``priority``'s lane and return the request's handle.

        Raises:
            RateLimitTimeout: no room within ``max_wait`` seconds (its place is freed).
        """
        ...

    async def release(self, handle: Any) -> None:
        """The request admitted with ``handle`` ended (response, failure or cancel)."""
        ...

    async def pause(self, seconds: float) -> None:
        """Admit nothing for ``seconds`` (Harvest's ``Retry-After``, at most 900 s)."""
        ...


class _Adapted:
    """A limiter with ``acquire`` (and perhaps some of the rest) seen as a `RateLimiter`.

    What it lacks does nothing: without ``release`` its slot counts from acquisition,
    without ``pause`` a 429 pauses only the request that got it (it waits out its
    ``Retry-After`` before its retry). Without the ``priority``/``max_wait`` keywords
    its lanes are its own business and ``max_wait`` is enforced from outside.
    """

    __slots__ = ("_pause", "_release", "limiter")

    def __init__(self, limiter: SupportsAcquire) -> None:
        self.limiter = limiter
        # Looked up once, here: every request then calls through the protocol.
        self._release = getattr(limiter, "release", None)
        self._pause = getattr(limiter, "pause", None)

    def __repr__(self) -> str:
        return f"<{self.limiter!r} as a RateLimiter>"

    async def acquire(
        self, *, priority: Priority | None = None, max_wait: float | None = None
    ) -> Any:
        lane = priority if priority is not None else current_priority()
        return await acquire_slot(self.limiter, priority=lane, max_wait=max_wait)

    async def release(self, handle: Any) -> None:
        if self._release is not None:
            await self._release(handle)

    async def pause(self, seconds: float) -> None:
        if self._pause is not None:
            await self._pause(seconds)


def as_rate_limiter(limiter: Any, *, name: str = "rate_limiter") -> RateLimiter:
    """``limiter`` as a full `RateLimiter` (a custom one may have ``acquire`` alone).

    Raises:
        ConfigurationError: ``limiter`` has no ``acquire`` method.
    """
    if not callable(getattr(limiter, "acquire", None)):
        raise ConfigurationError(f"{name} must have an async acquire() method")
    if (
        callable(getattr(limiter, "release", None))
        and callable(getattr(limiter, "pause", None))
        and _takes_options(limiter)
    ):
        full: RateLimiter = limiter
        return full
    return _Adapted(limiter)


def check_reserve(reserve: object, capacity: int) -> int:
    """The slots of a window kept from bulk work: ``reserve``, at most ``capacity - 1``.

    Capped so that bulk work always has at least one slot per window.

    Raises:
        ConfigurationError: not an int >= 0.
    """
    if isinstance(reserve, bool) or not isinstance(reserve, int) or reserve < 0:
        raise ConfigurationError(f"reserve must be an int >= 0, got {reserve!r}")
    return min(reserve, capacity - 1)


class _Slot:
    __slots__ = ("bucket", "bulk", "released")

    def __init__(self, bucket: TokenBucket, bulk: bool) -> None:
        self.bucket = bucket
        self.bulk = bulk
        self.released = False

    def __repr__(self) -> str:
        lane = BULK if self.bulk else INTERACTIVE
        return f"<slot {lane} released={self.released}>"


class TokenBucket:
    """Never more than ``capacity`` requests in any rolling window of ``period`` seconds.

    Unlike a textbook token bucket (which, refilled at ``capacity/period``, lets
    ``2 * capacity`` requests through in one window), this keeps the end time of every
    recent request: a slot is taken at `acquire` and frees ``period`` seconds after
    `release`. A caller under the limit is never delayed. `pause` (a 429's
    ``Retry-After``) holds back every acquisition, for at most `MAX_PAUSE` seconds.
    Time is the event loop's clock.

    Two lanes share the window. A free slot goes to the oldest ``"interactive"``
    waiter first, then to the oldest ``"bulk"`` one; bulk requests never hold more than
    ``capacity - reserve`` slots of a window, so an interactive call finds room at once
    even while a sync keeps the budget saturated (unless interactive calls alone use
    the whole window). Within a lane, waiters are served in FIFO order; a cancelled
    waiter, or one past its ``max_wait``, takes no slot and leaves the queue.

    Bulk requests that had to queue (the budget is saturated) are admitted at most one
    per ``period / (capacity - reserve)`` seconds: the bulk lane's full rate, spread
    out. Otherwise a saturating stream takes every slot the moment it frees, the slots
    free again in clumps one ``period`` later, and an interactive call that finds the
    reserve used up waits for the next clump; spread out, a slot frees every few
    milliseconds and interactive calls beyond the reserve still wait that little.

    One instance may be shared by several clients running in the same event loop. It is
    bound to the event loop it is first used in: using it from another loop while that
    one is open raises `ConfigurationError`. Once its loop is closed (one
    ``asyncio.run`` after another), the next loop takes it over, provided no request
    holds a slot and no task waits for one; the requests that ended within ``period``
    still count, on the new loop's clock (the same monotonic clock for asyncio's loops).

    Args:
        capacity: Requests allowed per window (Harvest: 100).
        period: Window length in seconds (Harvest: 15.0; reports: 900.0).
        reserve: Slots of each window kept for interactive requests (default 10, at
            most ``capacity - 1``; 0 makes the lanes differ in order only).
    """

    def __init__(self, capacity: int, period: float, *, reserve: int = DEFAULT_RESERVE) -> None:
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
            raise ValueError(f"capacity must be a positive int, got {capacity!r}")
        if isinstance(period, bool) or not isinstance(period, (int, float)) or not period > 0:
            raise ValueError(f"period must be a positive number of seconds, got {period!r}")
        self.capacity = capacity
        self.period = float(period)
        self.reserve = check_reserve(reserve, capacity)
        #: Slots of a window bulk requests may hold at once.
        self.bulk_capacity = capacity - self.reserve
        self._in_flight = 0
        self._frees_at: deque[float] = deque()  # sorted: release time + period
        self._bulk_in_flight = 0
        self._bulk_frees_at: deque[float] = deque()
        self._waiters: deque[asyncio.Future[None]] = deque()  # interactive
        self._bulk_waiters: deque[asyncio.Future[None]] = deque()
        self._paused_until = float("-inf")
        # Queued bulk grants are spread out: one per _bulk_gap s at most.
        self._bulk_gap = self.period / self.bulk_capacity
        self._bulk_next_at = float("-inf")
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = float("inf")
        self._loop: weakref.ref[asyncio.AbstractEventLoop] | None = None
        self._bind_lock = threading.Lock()

    def __repr__(self) -> str:
        return (
            f"TokenBucket(capacity={self.capacity}, period={self.period}, "
            f"reserve={self.reserve}, in_flight={self._in_flight}, "
            f"waiting={len(self._waiters) + len(self._bulk_waiters)})"
        )

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        """The running loop, once checked to be the one this bucket is bound to."""
        loop = asyncio.get_running_loop()
        ref = self._loop
        if ref is None or ref() is not loop:
            self._bind(loop)
        return loop

    def _bind(self, loop: asyncio.AbstractEventLoop) -> None:
        with self._bind_lock:  # two threads, each with its own loop, may race here
            ref = self._loop
            bound = ref() if ref is not None else None
            if bound is loop:
                return
            if ref is not None:
                if bound is not None and not bound.is_closed():
                    raise ConfigurationError(
                        "a TokenBucket is bound to the event loop it was first used in; "
                        "create one per loop"
                    )
                if self._in_flight or self._waiters or self._bulk_waiters:
                    raise ConfigurationError(
                        "a TokenBucket is bound to the event loop it was first used in; "
                        "that loop is closed but requests of it still hold slots: "
                        "create one per loop"
                    )
                if self._timer is not None:
                    self._timer.cancel()
                    self._timer = None
                    self._timer_at = float("inf")
            self._loop = weakref.ref(loop)

    def _purge(self, now: float) -> None:
        for frees_at in (self._frees_at, self._bulk_frees_at):
            while frees_at and frees_at[0] <= now:
                frees_at.popleft()

    def _room(self, now: float, *, bulk: bool = False) -> bool:
        self._purge(now)
        if now < self._paused_until or self._in_flight + len(self._frees_at) >= self.capacity:
            return False
        return not bulk or self._bulk_in_flight + len(self._bulk_frees_at) < self.bulk_capacity

    @property
    def in_use(self) -> int:
        """Slots counted now: requests in flight plus those ended within ``period``."""
        now = self._running_loop().time()
        self._purge(now)
        return self._in_flight + len(self._frees_at)

    @property
    def bulk_in_use(self) -> int:
        """Of `in_use`, the slots held by bulk requests."""
        now = self._running_loop().time()
        self._purge(now)
        return self._bulk_in_flight + len(self._bulk_frees_at)

    @property
    def waiting(self) -> dict[str, int]:
        """Callers waiting for a slot, per lane."""
        return {INTERACTIVE: len(self._waiters), BULK: len(self._bulk_waiters)}

    def _take(self, bulk: bool) -> _Slot:
        self._in_flight += 1
        if bulk:
            self._bulk_in_flight += 1
        return _Slot(self, bulk)

    async def acquire(
        self, *, priority: Priority | None = None, max_wait: float | None = None
    ) -> _Slot:
        """Wait for a slot: interactive waiters first, FIFO within a lane.

        Args:
            priority: ``"interactive"`` or ``"bulk"``; default the context's
                (`current_priority`: bulk inside `bulk_work`, else interactive).
            max_wait: Seconds to wait at most (``None``: as long as it takes; 0: only
                a slot free right now).

        Returns:
            The handle to pass to `release` once the request has ended.

        Raises:
            RateLimitTimeout: no slot within ``max_wait``; the caller left the queue.
            InvalidRequestError: a bad ``priority`` or ``max_wait``.
            ConfigurationError: the bucket is bound to another event loop.
        """
        lane = current_priority() if priority is None else check_priority(priority)
        deadline_in = check_max_wait(max_wait)
        bulk = lane == BULK
        loop = self._running_loop()
        now = loop.time()
        ahead = self._waiters or (bulk and self._bulk_waiters)
        if not ahead and self._room(now, bulk=bulk):
            return self._take(bulk)
        if deadline_in == 0:
            raise timeout_error(lane, 0.0, 0.0, self._eta(now, bulk=bulk))
        waiter: asyncio.Future[None] = loop.create_future()
        queue = self._bulk_waiters if bulk else self._waiters
        queue.append(waiter)
        expiry: asyncio.TimerHandle | None = None
        if deadline_in is not None:
            expiry = loop.call_at(now + deadline_in, self._expire, loop, waiter, bulk)
        self._schedule(loop)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                # Granted a slot just as we were cancelled: nothing was sent, give it back.
                self._in_flight -= 1
                if bulk:
                    self._bulk_in_flight -= 1
            else:
                with contextlib.suppress(ValueError):
                    queue.remove(waiter)
            self._wake(loop)
            raise
        except RateLimitTimeout as exc:
            assert deadline_in is not None
            raise timeout_error(lane, deadline_in, loop.time() - now, exc.retry_after) from None
        finally:
            if expiry is not None:
                expiry.cancel()
        return _Slot(self, bulk)

    def _expire(
        self, loop: asyncio.AbstractEventLoop, waiter: asyncio.Future[None], bulk: bool
    ) -> None:
        """``max_wait`` passed: the waiter leaves its queue with a `RateLimitTimeout`."""
        self._wake(loop)  # a slot free at the deadline itself is still taken
        if waiter.done():
            return
        queue = self._bulk_waiters if bulk else self._waiters
        with contextlib.suppress(ValueError):
            queue.remove(waiter)
        eta = self._eta(loop.time(), bulk=bulk)
        waiter.set_exception(RateLimitTimeout("max_wait passed", retry_after=eta))
        self._wake(loop)  # a bulk waiter may now be first in line

    async def release(self, handle: Any) -> None:
        """Mark the request's end; its slot counts for ``period`` seconds more."""
        if not isinstance(handle, _Slot) or handle.bucket is not self:
            raise ValueError("release() takes a handle returned by this limiter's acquire()")
        if handle.released:
            return
        loop = self._running_loop()
        handle.released = True
        self._in_flight -= 1
        frees_at = loop.time() + self.period
        self._frees_at.append(frees_at)
        if handle.bulk:
            self._bulk_in_flight -= 1
            self._bulk_frees_at.append(frees_at)
        self._schedule(loop)

    async def pause(self, seconds: float) -> None:
        """Hold back every acquisition for ``seconds`` from now.

        A pause already in force is extended, never shortened. ``seconds`` is clamped to
        ``[0, MAX_PAUSE]``; a value that is not a finite number pauses nothing.
        """
        loop = self._running_loop()
        wait = clamp_pause(seconds)
        if wait is None:
            return
        self._paused_until = max(self._paused_until, loop.time() + wait)
        self._schedule(loop)

    def _wake(self, loop: asyncio.AbstractEventLoop) -> None:
        now = loop.time()
        for bulk, waiters in ((False, self._waiters), (True, self._bulk_waiters)):
            if bulk and self._waiters:
                break  # an interactive waiter is still owed the next free slot
            while waiters and self._room(now, bulk=bulk):
                if bulk and now < self._bulk_next_at:
                    break  # spread out: the timer comes back for it
                waiter = waiters.popleft()
                if waiter.done():
                    continue
                self._take(bulk)
                waiter.set_result(None)
                if bulk:
                    gap = self._bulk_gap
                    self._bulk_next_at = max(self._bulk_next_at, now - gap) + gap
        self._schedule(loop)

    def _eta(self, now: float, *, bulk: bool) -> float | None:
        """Seconds until a slot of the lane could free (a lower bound), or ``None``.

        ``None`` when every slot in the way is in flight: only `release` frees one.
        """
        self._purge(now)
        when = self._free_at(self._in_flight, self._frees_at, self.capacity, now)
        if bulk and when is not None:
            quota = self._free_at(
                self._bulk_in_flight, self._bulk_frees_at, self.bulk_capacity, now
            )
            when = None if quota is None else max(when, quota, self._bulk_next_at)
        if when is None:
            return None
        return max(when, self._paused_until) - now

    @staticmethod
    def _free_at(in_flight: int, frees_at: deque[float], capacity: int, now: float) -> float | None:
        excess = in_flight + len(frees_at) - capacity
        if excess < 0:
            return now
        if excess >= len(frees_at):
            return None
        return frees_at[excess]

    def _schedule(self, loop: asyncio.AbstractEventLoop) -> None:
        """Arm one timer for the next moment a waiter could be admitted."""
        if not self._waiters and not self._bulk_waiters:
            return
        now = loop.time()
        # The interactive lane goes first: bulk waits while it has waiters.
        eta = self._eta(now, bulk=not self._waiters)
        if eta is None:
            return  # every slot in the way is in flight: release() will reschedule
        when = now + eta
        if self._timer is not None:
            if self._timer_at <= when:
                return
            self._timer.cancel()
        self._timer_at = when
        self._timer = loop.call_at(when, self._on_timer, loop)

    def _on_timer(self, loop: asyncio.AbstractEventLoop) -> None:
        self._timer = None
        self._timer_at = float("inf")
        self._wake(loop)
