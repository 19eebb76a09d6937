"""harvest_async: an asyncio client for the Harvest time-tracking API v2.

Quick start::

    import harvest_async as ha

    async with ha.HarvestClient() as harvest:   # $HARVEST_ACCESS_TOKEN, $HARVEST_ACCOUNT_ID
        async for entry in harvest.time_entries.list(from_=date(2024, 1, 1)):
            print(entry.spent_date, entry.hours)
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

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
    RateLimitTimeout,
    ServerError,
    TransportError,
    ValidationError,
)
from ._version import __version__

if TYPE_CHECKING:
    from . import bulk as bulk
    from ._client import DEFAULT_BASE_URL as DEFAULT_BASE_URL
    from ._client import HarvestClient as HarvestClient
    from ._closing import AsyncClosing as AsyncClosing
    from ._converter import make_converter as make_converter
    from ._errors import ClientClosedError as ClientClosedError
    from ._lifespan import get_harvest as get_harvest
    from ._lifespan import lifespan as lifespan
    from ._options import CallOptions as CallOptions
    from ._options import RequestStats as RequestStats
    from ._pagination import Page as Page
    from ._pagination import Paginator as Paginator
    from ._ratelimit import RateLimiter as RateLimiter
    from ._ratelimit import SupportsAcquire as SupportsAcquire
    from ._ratelimit import TokenBucket as TokenBucket
    from ._ratelimit import bulk_work as bulk_work
    from ._redis_ratelimit import RedisRateLimiter as RedisRateLimiter
    from .resources._base import NOT_GIVEN as NOT_GIVEN
    from .resources._base import NotGiven as NotGiven
    from .resources.reports import split_timeframe as split_timeframe

#: Where each name that is loaded on first use lives. The errors and the version are
#: loaded at once (they are small, and pickled errors name this package); the rest waits
#: until it is used, so that ``import harvest_async`` (and the command line's start)
#: stays quick and the Redis limiter's extra is needed only by those who use it.
_LAZY = {
    "bulk": ".bulk",
    "AsyncClosing": "._closing",
    "DEFAULT_BASE_URL": "._client",
    "HarvestClient": "._client",
    "make_converter": "._converter",
    "CallOptions": "._options",
    "RequestStats": "._options",
    "lifespan": "._lifespan",
    "get_harvest": "._lifespan",
    "Page": "._pagination",
    "Paginator": "._pagination",
    "RateLimiter": "._ratelimit",
    "SupportsAcquire": "._ratelimit",
    "TokenBucket": "._ratelimit",
    "bulk_work": "._ratelimit",
    "RedisRateLimiter": "._redis_ratelimit",
    "ClientClosedError": "._errors",
    "NOT_GIVEN": ".resources._base",
    "NotGiven": ".resources._base",
    "split_timeframe": ".resources.reports",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    loaded = import_module(module, __name__)
    value = loaded if name == "bulk" else getattr(loaded, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "DEFAULT_BASE_URL",
    "NOT_GIVEN",
    "APIError",
    "AsyncClosing",
    "AuthenticationError",
    "BadRequestError",
    "CallOptions",
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
    "RateLimitTimeout",
    "RateLimiter",
    "RequestStats",
    "ServerError",
    "SupportsAcquire",
    "TokenBucket",
    "TransportError",
    "ClientClosedError",
    "ValidationError",
    "__version__",
    "bulk",
    "bulk_work",
    "get_harvest",
    "lifespan",
    "make_converter",
    "split_timeframe",
]
