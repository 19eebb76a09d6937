"""Limiter slot + send, wrapped in tenacity retries (CONTRACT.md, "Retries").

Every attempt holds its own limiter slot: a retry is a new request on Harvest's side
and counts against the rate limit like any other.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import random
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import attrs
import tenacity
from yarl import URL

from ._errors import (
    APIError,
    AuthenticationError,
    DecodeError,
    HarvestError,
    NotFoundError,
    RateLimitError,
    RateLimitTimeout,
    ServerError,
    TransportError,
)
from ._options import CallOptions, RequestObserver, RequestStats, check_options
from ._ratelimit import MAX_PAUSE, SupportsAcquire, acquire_slot, current_priority
from ._transport import (
    ClientClosedError,
    ConnectionNotMadeError,
    FormFile,
    ResponseTooLargeError,
    Transport,
    decipher_response,
)

if TYPE_CHECKING:
    from ._oauth import TokenProvider

__all__ = ["Requester"]

logger = logging.getLogger("harvest_async")

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
    """Sends API requests: URL building, limiter slots, retries, decoding of errors.

    Args:
        transport: The HTTP layer.
        base_url: API root, e.g. ``https://api.harvestapp.com/v2``.
        rate_limiter: Admits general requests.
        reports_rate_limiter: Admits ``/reports/...`` requests (and only those).
        max_retries: Retries after the first attempt.
        max_wait: Seconds a call may wait for limiter slots (``None``: no limit).
        observer: Called with each finished call's `RequestStats`.
    """

    def __init__(
        self,
        transport: Transport,
        *,
        base_url: URL,
        rate_limiter: SupportsAcquire,
        reports_rate_limiter: SupportsAcquire,
        max_retries: int,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
        token_provider: TokenProvider | None = None,
        max_wait: float | None = None,
        observer: RequestObserver | None = None,
    ) -> None:
        self.transport = transport
        self.base_url = base_url
        self._base_path = base_url.path.rstrip("/")
        # For check_next_url: what a links.next must start with, as written on the wire.
        self._origin = str(base_url.origin())
        authority = self._origin.partition("://")[2].lower()
        self._authorities = {authority}
        if base_url.explicit_port is None and base_url.port is not None:
            self._authorities.add(f"{authority}:{base_url.port}")  # the default port, spelled
        self._raw_prefix = base_url.raw_path.rstrip("/") + "/"
        self.rate_limiter = rate_limiter
        self.reports_rate_limiter = reports_rate_limiter
        self.options = CallOptions(timeout=None, max_retries=max_retries, max_wait=max_wait)
        self._wait = _Wait(backoff_initial, backoff_max)
        self.token_provider = token_provider
        self.observer = observer

    @property
    def max_retries(self) -> int:
        """Retries after the first attempt, for requests made through this requester."""
        return self.options.max_retries

    def with_options(self, **changes: Any) -> Requester:
        """A requester sharing transport, limiters and token, with other `CallOptions`.

        Keywords given as ``None`` keep the current value.

        Raises:
            ConfigurationError: a value out of range.
        """
        view = copy.copy(self)
        view.options = attrs.evolve(self.options, **check_options(**changes))
        return view

    def url_for(self, path: str) -> str:
        """Absolute URL of an API path such as ``time_entries/1``."""
        return str(self.base_url.with_path(f"{self._base_path}/{path.lstrip('/')}"))

    def check_next_url(self, url: Any) -> str:
        """Accept a ``links.next`` URL only if it points at our API (the token goes there).

        Accepted: an absolute ``http(s)`` URL on exactly the base URL's scheme, host and
        port, whose path lies under the base URL's path, or a reference relative to the
        base URL that resolves there. Refused: anything else, which includes a
        scheme-relative ``//host/...``, credentials (``user:pass@``) in the authority,
        another port, backslashes, spaces, control or non-ASCII characters, ``.``/``..``
        path segments (spelled out or percent-encoded), an encoded ``/`` or ``\\`` in
        the path, and other schemes.

        Returns:
            The URL to request: the base URL's origin, the given path and query (as
            given, byte for byte), no fragment.

        Raises:
            DecodeError: on every refusal, whatever the input (never another error).
                The message says what is wrong, never the URL (a server wrote it).
        """
        if not isinstance(url, str):
            raise DecodeError(f"links.next is not a string (got {type(url).__name__})")
        if not url or any(not ("!" <= c <= "~") or c == "\\" for c in url):
            raise DecodeError(
                "links.next is not a plain URL (empty, or holding spaces, control or "
                "non-ASCII characters or backslashes)"
            )
        base = self.base_url
        outside = DecodeError("links.next points outside the API (another origin or path)")
        if url.startswith("//"):
            raise outside
        scheme = _SCHEME.match(url)
        if scheme is not None:
            if scheme.group(1).lower() != base.scheme or not url.startswith("//", scheme.end()):
                raise outside
            rest = url[scheme.end() + 2 :]
            cut = min((i for i in map(rest.find, "/?#") if i >= 0), default=len(rest))
            authority, target = rest[:cut], rest[cut:]
            if "@" in authority or authority.lower() not in self._authorities:
                raise outside
        else:
            # A reference relative to the base URL (RFC 3986 section 5.2).
            target = url if url.startswith(("/", "?", "#")) else f"{self._raw_prefix}{url}"
        path, _, query = target.partition("#")[0].partition("?")
        if not path.startswith(self._raw_prefix) or not _plain_path(path):
            raise outside
        return f"{self._origin}{path}" + (f"?{query}" if query else "")

    def _limiter_for(self, url: str) -> SupportsAcquire:
        path = URL(url, encoded=True).path
        if path.startswith(f"{self._base_path}/reports/") or path == f"{self._base_path}/reports":
            return self.reports_rate_limiter
        return self.rate_limiter

    async def request(
        self,
        method: str,
        path: str | None = None,
        *,
        url: str | None = None,
        params: Sequence[tuple[str, str]] | None = None,
        json_body: Any = None,
        form: Mapping[str, str | FormFile] | None = None,
        replay_safe: bool | None = None,
        headers: Mapping[str, str] | None = None,
        raw_json: bool = False,
    ) -> Any:
        """Send a request with retries and return its decoded JSON (``None`` if empty).

        Args:
            method: HTTP method.
            path: API path relative to the base URL (or give ``url``).
            url: An absolute URL already checked (``links.next``).
            params: Query parameters, already in wire format.
            json_body: A JSON body.
            form: A multipart body.
            replay_safe: Whether the request may be re-sent after it may have been
                processed; defaults to ``method != "POST"``.
            raw_json: Return a 2xx body as its undecoded bytes (list pages, which the
                paginator decodes straight to models).
        """
        # Run under the transport so that aclose() can stop it wherever it is (waiting
        # for a slot, backing off, on the wire): the caller then gets ClientClosedError.
        return await self.transport.run(
            self._authorized(
                method,
                path,
                url=url,
                params=params,
                json_body=json_body,
                form=form,
                replay_safe=replay_safe,
                headers=headers,
                raw_json=raw_json,
            )
        )

    async def _authorized(
        self,
        method: str,
        path: str | None,
        *,
        url: str | None,
        params: Sequence[tuple[str, str]] | None,
        json_body: Any,
        form: Mapping[str, str | FormFile] | None,
        replay_safe: bool | None,
        headers: Mapping[str, str] | None,
        raw_json: bool = False,
    ) -> Any:
        provider = self.token_provider
        if provider is None:
            return await self._request(
                method,
                path,
                url=url,
                params=params,
                json_body=json_body,
                form=form,
                replay_safe=replay_safe,
                headers=headers,
                raw_json=raw_json,
            )
        # OAuth2: the provider's token (refreshed before expiry); after a 401 (which
        # Harvest did not process, so even a POST may go again) refresh once, resend once.
        token = await provider.token()
        try:
            return await self._request(
                method,
                path,
                url=url,
                params=params,
                json_body=json_body,
                form=form,
                replay_safe=replay_safe,
                headers={**(headers or {}), "Authorization": f"Bearer {token}"},
                raw_json=raw_json,
            )
        except AuthenticationError:
            token = await provider.refresh(stale=token)
        return await self._request(
            method,
            path,
            url=url,
            params=params,
            json_body=json_body,
            form=form,
            replay_safe=replay_safe,
            headers={**(headers or {}), "Authorization": f"Bearer {token}"},
            raw_json=raw_json,
        )

    async def _request(
        self,
        method: str,
        path: str | None,
        *,
        url: str | None,
        params: Sequence[tuple[str, str]] | None,
        json_body: Any,
        form: Mapping[str, str | FormFile] | None,
        replay_safe: bool | None,
        headers: Mapping[str, str] | None,
        raw_json: bool = False,
    ) -> Any:
        target = url if url is not None else self.url_for(path or "")
        safe = replay_safe if replay_safe is not None else method != "POST"
        limiter = self._limiter_for(target)
        release = getattr(limiter, "release", None)
        pause = getattr(limiter, "pause", None)
        maybe_processed = False
        options = self.options
        priority = options.priority or current_priority()
        loop = asyncio.get_running_loop()
        started = loop.time()
        waited = 0.0  # in the limiter, all attempts together
        attempts = 0
        status: int | None = None

        async def attempt() -> Any:
            nonlocal waited, attempts, status
            max_wait = options.max_wait
            if max_wait is not None:
                max_wait = max(0.0, max_wait - waited)
            asked = loop.time()
            try:
                handle = await acquire_slot(limiter, priority=priority, max_wait=max_wait)
            except RateLimitTimeout as exc:
                exc.method, exc.url = method, _log_url(target)
                raise
            finally:
                waited += loop.time() - asked
            attempts += 1
            try:
                raw = await self.transport.send(
                    method,
                    target,
                    params=params,
                    json_body=json_body,
                    form=form,
                    headers=headers,
                    timeout=options.timeout,
                )
                status = raw.status
            finally:
                if release is not None:
                    await release(handle)
            try:
                return decipher_response(
                    raw.status,
                    raw.headers,
                    raw.body,
                    method=method,
                    url=raw.url,
                    raw_json=raw_json,
                )
            except RateLimitError as exc:
                if pause is not None and not _too_long(exc):
                    await pause(
                        exc.retry_after if exc.retry_after is not None else DEFAULT_RETRY_AFTER
                    )
                raise

        def log_retry(state: tenacity.RetryCallState) -> None:
            nonlocal maybe_processed
            exc = state.outcome.exception() if state.outcome is not None else None
            if not isinstance(exc, (RateLimitError, ConnectionNotMadeError)):
                maybe_processed = True
            wait = state.next_action.sleep if state.next_action is not None else 0.0
            logger.debug(
                "retrying %s %s in %.2f s (attempt %d of %d failed: %s)",
                method,
                _log_url(target),
                wait,
                state.attempt_number,
                self.max_retries + 1,
                _describe(exc),
            )

        retrying = tenacity.AsyncRetrying(
            stop=tenacity.stop_after_attempt(options.max_retries + 1),
            wait=self._wait,
            retry=tenacity.retry_if_exception(lambda e: _may_retry(e, replay_safe=safe)),
            before_sleep=log_retry,
            reraise=True,
        )
        error: str | None = None
        try:
            return await retrying(attempt)
        except NotFoundError as exc:
            if method == "DELETE" and maybe_processed:
                # An earlier attempt may have deleted it: the record is gone either way.
                return None
            error = type(exc).__name__
            raise
        except BaseException as exc:
            error = type(exc).__name__
            raise
        finally:
            if self.observer is not None:
                self._report(
                    RequestStats(
                        method=method,
                        path=URL(target, encoded=True).path,
                        query_keys=_query_keys(target, params),
                        priority=priority,
                        attempts=attempts,
                        limiter_wait=waited,
                        duration=loop.time() - started,
                        status=status,
                        error=error,
                        reports=limiter is self.reports_rate_limiter
                        and limiter is not self.rate_limiter,
                    )
                )

    def _report(self, stats: RequestStats) -> None:
        observer = self.observer
        assert observer is not None
        try:
            observer(stats)
        except Exception:
            logger.exception("the on_request observer failed (the request is not affected)")


#: The scheme of an absolute URL (RFC 3986 section 3.1).
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")


def _plain_path(path: str) -> bool:
    """Whether no segment of ``path`` is ``.`` or ``..`` or hides a separator, decoded."""
    for segment in path.split("/"):
        decoded = unquote(segment)
        if decoded in (".", "..") or "/" in decoded or "\\" in decoded:
            return False
    return True


def _query_keys(url: str, params: Sequence[tuple[str, str]] | None) -> tuple[str, ...]:
    """Names of the query parameters of a request (never their values)."""
    keys = [key for key, _ in URL(url, encoded=True).query.items()]
    keys += [key for key, _ in params or ()]
    return tuple(dict.fromkeys(keys))


def _log_url(url: str) -> str:
    parsed = URL(url, encoded=True)
    return str(parsed.with_query(None)) if parsed.query else url


def _describe(exc: BaseException | None) -> str:
    if isinstance(exc, APIError):
        return f"{exc.status} {exc.message}"
    if isinstance(exc, HarvestError):
        return f"{type(exc).__name__}: {exc}"
    return repr(exc)
