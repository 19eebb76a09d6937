"""Limiter slot + send, wrapped in tenacity retries (CONTRACT.md, "Retries").

Every attempt holds its own limiter slot: a retry is a new request on Harvest's side
and counts against the rate limit like any other.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import tenacity
from yarl import URL

from ._errors import (
    APIError,
    AuthenticationError,
    DecodeError,
    HarvestError,
    NotFoundError,
    RateLimitError,
    ServerError,
    TransportError,
)
from ._ratelimit import MAX_PAUSE, SupportsAcquire
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
    if isinstance(exc, (ClientClosedError, ResponseTooLargeError)):
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
    ) -> None:
        self.transport = transport
        self.base_url = base_url
        self._base_path = base_url.path.rstrip("/")
        self.rate_limiter = rate_limiter
        self.reports_rate_limiter = reports_rate_limiter
        self.max_retries = max_retries
        self._wait = _Wait(backoff_initial, backoff_max)
        self.token_provider = token_provider

    def url_for(self, path: str) -> str:
        """Absolute URL of an API path such as ``time_entries/1``."""
        return str(self.base_url.with_path(f"{self._base_path}/{path.lstrip('/')}"))

    def check_next_url(self, url: str) -> str:
        """Accept a ``links.next`` URL only if it points at our API (the token goes there)."""
        try:
            target = URL(url, encoded=True)
        except (TypeError, ValueError) as exc:
            raise DecodeError(f"links.next is not a URL: {url!r}") from exc
        if not target.is_absolute():
            return self.url_for(target.path) + (
                f"?{target.raw_query_string}" if target.raw_query_string else ""
            )
        if target.origin() != self.base_url.origin() or not target.path.startswith(
            self._base_path + "/"
        ):
            raise DecodeError(f"links.next points outside the API: {url!r}")
        return url

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

        async def attempt() -> Any:
            handle = await limiter.acquire()
            try:
                raw = await self.transport.send(
                    method,
                    target,
                    params=params,
                    json_body=json_body,
                    form=form,
                    headers=headers,
                )
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
            stop=tenacity.stop_after_attempt(self.max_retries + 1),
            wait=self._wait,
            retry=tenacity.retry_if_exception(lambda e: _may_retry(e, replay_safe=safe)),
            before_sleep=log_retry,
            reraise=True,
        )
        try:
            return await retrying(attempt)
        except NotFoundError:
            if method == "DELETE" and maybe_processed:
                # An earlier attempt may have deleted it: the record is gone either way.
                return None
            raise


def _log_url(url: str) -> str:
    parsed = URL(url, encoded=True)
    return str(parsed.with_query(None)) if parsed.query else url


def _describe(exc: BaseException | None) -> str:
    if isinstance(exc, APIError):
        return f"{exc.status} {exc.message}"
    if isinstance(exc, HarvestError):
        return f"{type(exc).__name__}: {exc}"
    return repr(exc)
