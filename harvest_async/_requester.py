"""Sends `Request` values: auth -> limiter slot -> retry -> transport (CONTRACT.md, "Retries").

One request value flows through four steps, each its own small function:

1. `Requester.send` runs it under the requester, so that `Requester.aclose` can stop
   it wherever it is (waiting for a slot, backing off, on the wire);
2. auth: the token provider's token goes into ``Authorization`` (`with_token_refresh`:
   after a 401 one new token, one re-send);
3. retries (tenacity): ``replay_safe`` says what may be sent again;
4. each attempt holds its own limiter slot (a retry is a new request on Harvest's side
   and counts against the rate limit like any other), sends through the transport,
   redacts the secrets out of an error body and deciphers the response.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import random
import weakref
from collections.abc import Coroutine, Mapping
from typing import Any, TypeVar

import attrs
import tenacity
from yarl import URL

from ._auth import TokenProvider, with_token_refresh
from ._errors import (
    APIError,
    ClientClosedError,
    ConfigurationError,
    ConnectionNotMadeError,
    HarvestError,
    NotFoundError,
    RateLimitError,
    RateLimitTimeout,
    ResponseTooLargeError,
    ServerError,
    TransportError,
)
from ._http import (
    ApiRoot,
    LimiterName,
    RawResponse,
    Request,
    Transport,
    check_header_value,
    decipher_response,
    redact,
    request_secrets,
)
from ._options import CallOptions, RequestObserver, RequestStats, check_options
from ._ratelimit import MAX_PAUSE, RateLimiter, current_priority

__all__ = ["Requester"]

logger = logging.getLogger("harvest_async")

T = TypeVar("T")

RETRY_STATUSES = frozenset({500, 502, 503, 504})
#: Wait after a 429 that gave no Retry-After (Harvest's window is 15 s).
DEFAULT_RETRY_AFTER = 15.0


def _too_long(exc: RateLimitError) -> bool:
    """A 429 whose ``Retry-After`` exceeds Harvest's longest window (15 minutes).

    Broken or hostile: nobody is paused and the call fails at once (CONTRACT.md,
    "Retries"); https://help.getharvest.com/api-v2/introduction/overview/general/#rate-limiting.
    """
    return exc.retry_after is not None and not exc.retry_after <= MAX_PAUSE


def _may_retry(exc: BaseException, *, replay_safe: bool) -> bool:
    """Whether a failed attempt may be sent again.

    ``replay_safe`` requests (GET, PATCH, DELETE) retry on 429, 5xx gateway errors and
    every transport failure but a closed client or an oversized response. Others (POST,
    timer stop/restart) retry only where the request certainly did not reach Harvest: a
    429 or a connection never made.
    """
    if isinstance(exc, (ClientClosedError, ResponseTooLargeError, RateLimitTimeout)):
        return False
    if isinstance(exc, RateLimitError):
        return not _too_long(exc)
    if isinstance(exc, ConnectionNotMadeError):
        return True
    if not replay_safe:
        return False
    if isinstance(exc, ServerError):
        return exc.status in RETRY_STATUSES
    return isinstance(exc, TransportError)


class _Wait(tenacity.wait.wait_base):
    """Exponential backoff with full jitter, capped; never shorter than Retry-After."""

    def __init__(self, initial: float, maximum: float) -> None:
        self.initial = initial
        self.maximum = maximum

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        backoff = min(self.maximum, self.initial * 2 ** (retry_state.attempt_number - 1))
        wait = random.uniform(backoff / 2, backoff)
        outcome = retry_state.outcome
        exc = outcome.exception() if outcome is not None else None
        if isinstance(exc, RateLimitError):
            wait = max(
                wait, exc.retry_after if exc.retry_after is not None else DEFAULT_RETRY_AFTER
            )
        return wait


class Requester:
    """Sends `Request` values: auth, limiter slots, retries, redaction, typed errors.

    Args:
        transport: Sends one resolved request (`Transport`).
        base_url: API root, e.g. ``https://api.harvestapp.com/v2``.
        limiters: The limiter of each `LimiterName` (full `RateLimiter`\\ s:
            adapt a custom one with `as_rate_limiter`).
        max_retries: Retries after the first attempt.
        headers: Sent with every request (``Harvest-Account-Id``, ``User-Agent``, ...).
        auth: Where ``Authorization`` comes from; ``None`` sends none (Harvest ID's
            token calls), unless a request brings its own.
        max_wait: Seconds a call may wait for limiter slots (``None``: no limit).
        observer: Called with each finished call's `RequestStats`.
    """

    def __init__(
        self,
        transport: Transport,
        *,
        base_url: URL,
        limiters: Mapping[LimiterName, RateLimiter],
        max_retries: int,
        headers: Mapping[str, str] | None = None,
        auth: TokenProvider | None = None,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
        max_wait: float | None = None,
        observer: RequestObserver | None = None,
    ) -> None:
        self.transport = transport
        self.root = ApiRoot(base_url)
        self.limiters = dict(limiters)
        self.options = CallOptions(timeout=None, max_retries=max_retries, max_wait=max_wait)
        self.headers = {k: check_header_value(k, v) for k, v in (headers or {}).items()}
        self.auth = auth
        self.observer = observer
        self._wait = _Wait(backoff_initial, backoff_max)
        # Shared by every view (`with_options`): closing one requester closes them all.
        self._life = _Life()

    def __repr__(self) -> str:
        return f"<Requester {self.root.base_url} closed={self.closed}>"

    @property
    def max_retries(self) -> int:
        """Retries after the first attempt, for requests sent through this requester."""
        return self.options.max_retries

    def with_options(self, **changes: Any) -> Requester:
        """A view sharing transport, limiters, token and life, with other `CallOptions`.

        Keywords given as ``None`` keep the current value.

        Raises:
            ConfigurationError: a value out of range.
        """
        view = copy.copy(self)
        view.options = attrs.evolve(self.options, **check_options(**changes))
        return view

    def without_max_wait(self) -> Requester:
        """A view whose calls wait for limiter slots as long as it takes."""
        view = copy.copy(self)
        view.options = attrs.evolve(self.options, max_wait=None)
        return view

    @property
    def base_url(self) -> URL:
        return self.root.base_url

    @property
    def closed(self) -> bool:
        return self._life.closed

    @property
    def in_flight(self) -> int:
        """Requests sent through `send` that have not ended yet."""
        return len(self._life.in_flight)

    def check_next_url(self, url: Any) -> str:
        """A page's ``links.next``, checked to lie on this API (`ApiRoot.check_next_url`)."""
        return self.root.check_next_url(url)

    # -- 1. run under the requester ------------------------------------------------

    def _check_loop(self) -> asyncio.AbstractEventLoop:
        """The running loop, once checked to be the one this requester is bound to.

        A transport's connections belong to the loop they were opened in; used from
        another, they hang or fail deep inside. The first loop a client runs in is
        its own for good, even once closed: create one client per loop.
        """
        loop = asyncio.get_running_loop()
        ref = self._life.loop
        if ref is None:
            self._life.loop = weakref.ref(loop)
        elif ref() is not loop:
            raise ConfigurationError(
                "the client is bound to the event loop it was first used in (its aiohttp "
                "session belongs to that loop); create one client per loop"
            )
        return loop

    async def send(self, request: Request) -> Any:
        """Send ``request`` with auth and retries; return its decoded JSON.

        Returns ``None`` for an empty body, the body's bytes for a ``raw_json`` request.

        The request runs as a child task. If `aclose` cancels it, the caller gets
        `ClientClosedError` ("the client was closed"), not a ``CancelledError``; if
        the caller itself is cancelled, the child is cancelled too and has fully ended
        (limiter slot released, connection dropped) by the time ``CancelledError``
        reaches the caller.
        """
        return await self._run(self._observed(request))

    async def _run(self, operation: Coroutine[Any, Any, T]) -> T:
        life = self._life
        if life.closed:
            operation.close()
            raise ClientClosedError("the client is closed")
        try:
            loop = self._check_loop()
        except ConfigurationError:
            operation.close()
            raise
        task = loop.create_task(operation)
        life.in_flight.add(task)
        try:
            return await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            caller_cancelled = current is not None and current.cancelling() > 0
            if life.closed and task.cancelled() and not caller_cancelled:
                raise ClientClosedError("the client was closed") from None
            raise
        finally:
            life.in_flight.discard(task)

    async def aclose(self) -> None:
        """Stop what is in flight, then close the transport.

        Requests running through `send` are cancelled (their callers get
        `ClientClosedError`) and have ended before the transport closes.

        Raises:
            ConfigurationError: called from another event loop than the one the
                requester was used in, while that loop is open. Once that loop is
                closed, the requester is only marked closed (its connections cannot be
                closed from another loop).
        """
        life = self._life
        if life.closed:
            return
        loop = asyncio.get_running_loop()
        bound = life.loop() if life.loop is not None else None
        if life.loop is not None and bound is not loop:
            if bound is not None and not bound.is_closed():
                raise ConfigurationError(
                    "the client is bound to the event loop it was first used in; close it there"
                )
            life.closed = True
            return
        life.closed = True
        tasks = [t for t in life.in_flight if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        try:
            if tasks:
                await asyncio.wait(tasks)
        finally:
            await self.transport.aclose()

    # -- 2. options and observation ----------------------------------------------

    async def _observed(self, request: Request) -> Any:
        """``request`` with this view's options filled in, reported to the observer."""
        options = self.options
        request = attrs.evolve(
            request,
            priority=request.priority or options.priority or current_priority(),
            max_wait=request.max_wait if request.max_wait is not None else options.max_wait,
            timeout=request.timeout if request.timeout is not None else options.timeout,
        )
        if self.observer is None:
            return await self._authorized(request, _Tally())
        loop = asyncio.get_running_loop()
        started = loop.time()
        tally = _Tally()
        error: str | None = None
        try:
            return await self._authorized(request, tally)
        except BaseException as exc:
            error = type(exc).__name__
            raise
        finally:
            url = URL(self.root.resolve(request).url or "", encoded=True)
            keys = [key for key, _ in url.query.items()] + [key for key, _ in request.query]
            self._report(
                RequestStats(
                    method=request.method,
                    path=url.path,
                    query_keys=tuple(dict.fromkeys(keys)),
                    priority=request.priority or "interactive",
                    attempts=tally.attempts,
                    limiter_wait=tally.waited,
                    duration=loop.time() - started,
                    status=tally.status,
                    error=error,
                    reports=request.limiter == "reports",
                )
            )

    def _report(self, stats: RequestStats) -> None:
        observer = self.observer
        assert observer is not None
        try:
            observer(stats)
        except Exception:
            logger.exception("the on_request observer failed (the request is not affected)")

    # -- 3. auth -------------------------------------------------------------------

    async def _authorized(self, request: Request, tally: _Tally) -> Any:
        request = self.root.resolve(request)
        for name, value in request.headers.items():
            check_header_value(name, value)
        if self.headers:
            request = attrs.evolve(request, headers={**self.headers, **request.headers})
        provider = request.auth or self.auth
        if provider is None:
            return await self._retried(request, tally)

        async def send(token: str) -> Any:
            bearer = {"Authorization": f"Bearer {check_header_value('access token', token)}"}
            return await self._retried(request.with_headers(bearer), tally)

        return await with_token_refresh(provider, send)

    # -- 4. retries ----------------------------------------------------------------

    async def _retried(self, request: Request, tally: _Tally) -> Any:
        maybe_processed = False

        def log_retry(state: tenacity.RetryCallState) -> None:
            nonlocal maybe_processed
            exc = state.outcome.exception() if state.outcome is not None else None
            if not isinstance(exc, (RateLimitError, ConnectionNotMadeError)):
                maybe_processed = True
            wait = state.next_action.sleep if state.next_action is not None else 0.0
            logger.debug(
                "retrying %s %s in %.2f s (attempt %d of %d failed: %s)",
                request.method,
                _log_url(request.url or request.path),
                wait,
                state.attempt_number,
                self.max_retries + 1,
                _describe(exc),
            )

        retrying = tenacity.AsyncRetrying(
            stop=tenacity.stop_after_attempt(self.max_retries + 1),
            wait=self._wait,
            retry=tenacity.retry_if_exception(
                lambda e: _may_retry(e, replay_safe=request.replay_safe)
            ),
            before_sleep=log_retry,
            reraise=True,
        )
        try:
            return await retrying(self._attempt, request, tally)
        except NotFoundError:
            if request.method == "DELETE" and maybe_processed:
                # An earlier attempt may have deleted it: the record is gone either way.
                return None
            raise

    # -- 5. one attempt: limiter slot, transport, response -------------------------

    async def _attempt(self, request: Request, tally: _Tally) -> Any:
        limiter = self.limiters[request.limiter]
        max_wait = request.max_wait
        if max_wait is not None:  # one deadline for all attempts together
            max_wait = max(0.0, max_wait - tally.waited)
        loop = asyncio.get_running_loop()
        asked = loop.time()
        try:
            handle = await limiter.acquire(priority=request.priority, max_wait=max_wait)
        except RateLimitTimeout as exc:
            exc.method, exc.url = request.method, _log_url(request.url or request.path)
            raise
        finally:
            tally.waited += loop.time() - asked
        tally.attempts += 1
        try:
            raw = await self.transport.send(request)
            tally.status = raw.status
        finally:
            await limiter.release(handle)
        try:
            return _decipher(request, raw)
        except RateLimitError as exc:
            if not _too_long(exc):
                await limiter.pause(
                    exc.retry_after if exc.retry_after is not None else DEFAULT_RETRY_AFTER
                )
            raise


class _Life:
    """What every view of one requester shares: closed or not, in flight, its loop."""

    __slots__ = ("closed", "in_flight", "loop")

    def __init__(self) -> None:
        self.closed = False
        self.in_flight: set[asyncio.Task[Any]] = set()
        self.loop: weakref.ref[asyncio.AbstractEventLoop] | None = None


class _Tally:
    """One call's attempts, limiter wait and last status (for `RequestStats`)."""

    __slots__ = ("attempts", "status", "waited")

    def __init__(self) -> None:
        self.attempts = 0
        self.waited = 0.0
        self.status: int | None = None


def _decipher(request: Request, raw: RawResponse) -> Any:
    """The response's value or its typed error; secrets redacted out of an error body."""
    body = raw.body
    if not 200 <= raw.status < 300:
        body = redact(body, request_secrets(request))
    return decipher_response(
        raw.status, raw.headers, body, method=raw.method, url=raw.url, raw_json=request.raw_json
    )


def _log_url(url: str) -> str:
    parsed = URL(url, encoded=True)
    return str(parsed.with_query(None)) if parsed.query else url


def _describe(exc: BaseException | None) -> str:
    if isinstance(exc, APIError):
        return f"{exc.status} {exc.message}"
    if isinstance(exc, HarvestError):
        return f"{type(exc).__name__}: {exc}"
    return repr(exc)
