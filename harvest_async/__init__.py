"""harvest_async: an asyncio client for the Harvest time-tracking API v2.

Quick start::

    import harvest_async as ha

    async with ha.HarvestClient() as harvest:   # $HARVEST_ACCESS_TOKEN, $HARVEST_ACCOUNT_ID
        async for entry in harvest.time_entries.list(from_=date(2024, 1, 1)):
            print(entry.spent_date, entry.hours)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import bulk
from ._client import DEFAULT_BASE_URL, HarvestClient
from ._converter import make_converter
from ._errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    DecodeError,
    HarvestError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    TransportError,
    ValidationError,
)
from ._pagination import Page, Paginator
from ._ratelimit import RateLimiter, SupportsAcquire, TokenBucket
from ._transport import ClientClosedError
from ._version import __version__
from .resources._base import NOT_GIVEN, NotGiven
from .resources.reports import split_timeframe

if TYPE_CHECKING:  # imported on first use: harvest_async itself never needs redis
    from ._redis_ratelimit import RedisRateLimiter as RedisRateLimiter


def __getattr__(name: str) -> Any:
    if name == "RedisRateLimiter":  # extra: pip install 'harvest_async[redis]'
        from ._redis_ratelimit import RedisRateLimiter

        return RedisRateLimiter
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DEFAULT_BASE_URL",
    "NOT_GIVEN",
    "APIError",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "DecodeError",
    "HarvestClient",
    "HarvestError",
    "InvalidRequestError",
    "NotFoundError",
    "NotGiven",
    "Page",
    "Paginator",
    "PermissionDeniedError",
    "RateLimitError",
    "RateLimiter",
    "ServerError",
    "SupportsAcquire",
    "TokenBucket",
    "TransportError",
    "ClientClosedError",
    "ValidationError",
    "__version__",
    "bulk",
    "make_converter",
    "split_timeframe",
]
