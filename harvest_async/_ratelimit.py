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
import math
import threading
import weakref
from collections import deque
from typing import Any, Protocol, runtime_checkable

from ._errors import ConfigurationError

__all__ = [
    "MAX_PAUSE",
    "RateLimiter",
    "SupportsAcquire",
    "TokenBucket",
    "as_rate_limiter",
    "clamp_pause",
]

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


@runtime_checkable
class SupportsAcquire(Protocol):
    """The least a limiter must do: wait for room before each request."""

    async def acquire(self) -> Any:
        """Wait for room and return a handle for the request about to be sent."""
        ...


@runtime_checkable
class RateLimiter(SupportsAcquire, Protocol):
    """A limiter the client tells about each request's end and about 429s."""

    async def release(self, handle: Any) -> None:
        """The request admitted with ``handle`` ended (response, failure or cancel)."""
        ...

    async def pause(self, seconds: float) -> None:
        """Admit nothing for ``seconds`` (Harvest's ``Retry-After``, at most 900 s)."""
        ...


class _Adapted:
    """A limiter with ``acquire`` (and perhaps one of the others) seen as a `RateLimiter`.

    What it lacks does nothing: without ``release`` its slot counts from acquisition,
    without ``pause`` a 429 pauses only the request that got it (it waits out its
    ``Retry-After`` before its retry).
    """

    __slots__ = ("_pause", "_release", "limiter")

    def __init__(self, limiter: SupportsAcquire) -> None:
        self.limiter = limiter
        # Looked up once, here: every request then calls through the protocol.
        self._release = getattr(limiter, "release", None)
        self._pause = getattr(limiter, "pause", None)

    def __repr__(self) -> str:
        return f"<{self.limiter!r} as a RateLimiter>"

    async def acquire(self) -> Any:
        return await self.limiter.acquire()

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
    if callable(getattr(limiter, "release", None)) and callable(getattr(limiter, "pause", None)):
        full: RateLimiter = limiter
        return full
    return _Adapted(limiter)


class _Slot:
    __slots__ = ("bucket", "released")

    def __init__(self, bucket: TokenBucket) -> None:
        self.bucket = bucket
        self.released = False

    def __repr__(self) -> str:
        return f"<slot released={self.released}>"


class TokenBucket:
    """Never more than ``capacity`` requests in any rolling window of ``period`` seconds.

    Unlike a textbook token bucket (which, refilled at ``capacity/period``, lets
    ``2 * capacity`` requests through in one window), this keeps the end time of every
    recent request: a slot is taken at `acquire` and frees ``period`` seconds after
    `release`. A caller under the limit is never delayed; callers over it wait in
    FIFO order; a cancelled waiter takes no slot. `pause` (a 429's
    ``Retry-After``) holds back every acquisition, for at most `MAX_PAUSE` seconds.
    Time is the event loop's clock.

    One instance may be shared by several clients running in the same event loop. It is
    bound to the event loop it is first used in: using it from another loop while that
    one is open raises `ConfigurationError`. Once its loop is closed (one
    ``asyncio.run`` after another), the next loop takes it over, provided no request
    holds a slot and no task waits for one; the requests that ended within ``period``
    still count, on the new loop's clock (the same monotonic clock for asyncio's loops).

    Args:
        capacity: Requests allowed per window (Harvest: 100).
        period: Window length in seconds (Harvest: 15.0; reports: 900.0).
    """

    def __init__(self, capacity: int, period: float) -> None:
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
            raise ValueError(f"capacity must be a positive int, got {capacity!r}")
        if isinstance(period, bool) or not isinstance(period, (int, float)) or not period > 0:
            raise ValueError(f"period must be a positive number of seconds, got {period!r}")
        self.capacity = capacity
        self.period = float(period)
        self._in_flight = 0
        self._frees_at: deque[float] = deque()  # sorted: release time + period
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._paused_until = float("-inf")
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = float("inf")
        self._loop: weakref.ref[asyncio.AbstractEventLoop] | None = None
        self._bind_lock = threading.Lock()

    def __repr__(self) -> str:
        return (
            f"TokenBucket(capacity={self.capacity}, period={self.period}, "
            f"in_flight={self._in_flight}, waiting={len(self._waiters)})"
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
                if self._in_flight or self._waiters:
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

    def _room(self, now: float) -> bool:
        frees_at = self._frees_at
        while frees_at and frees_at[0] <= now:
            frees_at.popleft()
        return now >= self._paused_until and self._in_flight + len(frees_at) < self.capacity

    @property
    def in_use(self) -> int:
        """Slots counted now: requests in flight plus those ended within ``period``."""
        now = self._running_loop().time()
        self._room(now)
        return self._in_flight + len(self._frees_at)

    async def acquire(self) -> _Slot:
        """Wait for a slot, FIFO behind earlier waiters.

        Returns:
            The handle to pass to `release` once the request has ended.

        Raises:
            ConfigurationError: the bucket is bound to another event loop.
        """
        loop = self._running_loop()
        if not self._waiters and self._room(loop.time()):
            self._in_flight += 1
            return _Slot(self)
        waiter: asyncio.Future[None] = loop.create_future()
        self._waiters.append(waiter)
        self._schedule(loop)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                # Granted a slot just as we were cancelled: nothing was sent, give it back.
                self._in_flight -= 1
            else:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
            self._wake(loop)
            raise
        return _Slot(self)

    async def release(self, handle: Any) -> None:
        """Mark the request's end; its slot counts for ``period`` seconds more."""
        if not isinstance(handle, _Slot) or handle.bucket is not self:
            raise ValueError("release() takes a handle returned by this limiter's acquire()")
        if handle.released:
            return
        loop = self._running_loop()
        handle.released = True
        self._in_flight -= 1
        self._frees_at.append(loop.time() + self.period)
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
        waiters = self._waiters
        while waiters and self._room(now):
            waiter = waiters.popleft()
            if waiter.done():
                continue
            self._in_flight += 1
            waiter.set_result(None)
        self._schedule(loop)

    def _schedule(self, loop: asyncio.AbstractEventLoop) -> None:
        """Arm one timer for the next moment a waiter could be admitted."""
        if not self._waiters:
            return
        now = loop.time()
        if self._room(now):
            when = now
        elif now < self._paused_until:
            when = self._paused_until
        elif self._frees_at and self._in_flight + len(self._frees_at) >= self.capacity:
            # The oldest ended request frees a slot first (in-flight ones need release()).
            excess = self._in_flight + len(self._frees_at) - self.capacity
            if excess >= len(self._frees_at):
                return
            when = self._frees_at[excess]
        else:
            return  # every slot is in flight: release() will reschedule
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
