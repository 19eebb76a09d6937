"""Per-call options and the per-request report given to observers.

`CallOptions` is what ``HarvestClient.with_options`` changes: a view of the client
holds other options and shares everything else (session, limiters, token).
`RequestStats` is what an ``on_request`` observer gets once a request is over.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import attrs

from ._errors import ConfigurationError, InvalidRequestError
from ._ratelimit import Priority, check_max_wait, check_priority

__all__ = ["CallOptions", "RequestObserver", "RequestStats", "check_options"]


@attrs.frozen
class CallOptions:
    """Settings of the requests made through one view of a client.

    Attributes:
        timeout: Seconds allowed per attempt (``None``: the client's).
        max_retries: Retries after the first attempt.
        max_wait: Seconds a request may wait for a limiter slot (``None``: no limit).
        priority: The limiter lane; ``None``: interactive, or bulk inside the
            library's bulk work (``bulk.*``, the sync, date shards, concurrent pages).
    """

    timeout: float | None
    max_retries: int
    max_wait: float | None = None
    priority: Priority | None = None


def check_options(
    *,
    timeout: object = None,
    max_retries: object = None,
    max_wait: object = None,
    priority: object = None,
) -> dict[str, Any]:
    """The given options, checked (``None`` ones left out of the result).

    Raises:
        ConfigurationError: a value out of range (also a ``ValueError``).
    """
    out: dict[str, Any] = {}
    if timeout is not None:
        if (
            isinstance(timeout, bool)
            or not isinstance(timeout, (int, float))
            or not (math.isfinite(timeout) and timeout > 0)
        ):
            raise ConfigurationError(f"timeout must be a positive number, got {timeout!r}")
        out["timeout"] = float(timeout)
    if max_retries is not None:
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ConfigurationError(f"max_retries must be an int >= 0, got {max_retries!r}")
        out["max_retries"] = max_retries
    try:
        if max_wait is not None:
            out["max_wait"] = check_max_wait(max_wait)
        if priority is not None:
            out["priority"] = check_priority(priority)
    except InvalidRequestError as exc:
        raise ConfigurationError(str(exc)) from None
    return out


@attrs.frozen
class RequestStats:
    """One API call as the client saw it, reported to ``on_request`` when it is over.

    It never holds the token, header values, query values or bodies: only the path.

    Attributes:
        method: HTTP method.
        path: The URL path (``/v2/time_entries``), without the query.
        query_keys: Names of the query parameters sent (their values are left out).
        priority: The limiter lane the call used.
        attempts: Requests sent (1 + retries); 0 when none was (e.g. a
            ``RateLimitTimeout``).
        limiter_wait: Seconds spent waiting for limiter slots, all attempts together.
        duration: Seconds from the call's start to its end (waits, backoff, network).
        status: The last response's HTTP status, or ``None`` when none came.
        error: The exception's class name when the call failed, else ``None``.
        reports: Whether the reports limiter admitted it.
    """

    method: str
    path: str
    query_keys: tuple[str, ...]
    priority: Priority
    attempts: int
    limiter_wait: float
    duration: float
    status: int | None
    error: str | None
    reports: bool = False


#: Called with each finished call's `RequestStats` (exceptions it raises are logged and
#: ignored: an observer never breaks a request).
RequestObserver = Callable[[RequestStats], None]
