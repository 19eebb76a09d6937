"""The exception hierarchy of harvest_async (CONTRACT.md, "Errors")."""

from __future__ import annotations

from typing import Any

__all__ = [
    "APIError",
    "AuthenticationError",
    "BadRequestError",
    "ClientClosedError",
    "ConfigurationError",
    "ConnectionNotMadeError",
    "DecodeError",
    "HarvestError",
    "InvalidRequestError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RequestMayHaveBeenSent",
    "ResponseTooLargeError",
    "ServerError",
    "TransportError",
    "ValidationError",
]


class HarvestError(Exception):
    """Base class of every error raised by harvest_async."""


class ConfigurationError(HarvestError, ValueError):
    """The client was given settings it cannot work with."""


class InvalidRequestError(HarvestError, ValueError):
    """Arguments rejected before anything was sent."""


class TransportError(HarvestError):
    """The request could not be completed: connection failure or timeout."""


class ConnectionNotMadeError(TransportError):
    """No connection was made: the request certainly did not reach Harvest."""


class ClientClosedError(TransportError):
    """The client was closed (``aclose()``): before the request, or while it was in flight."""


class ResponseTooLargeError(TransportError):
    """The response was larger than ``max_response_bytes`` (never retried: it would be
    as large again)."""


class RequestMayHaveBeenSent(TransportError):
    """The connection failed after the request may have reached Harvest."""


class DecodeError(HarvestError):
    """A response that is not the JSON (or the shape) it should be."""


class APIError(HarvestError):
    """Harvest answered with an error status.

    Attributes:
        status: The HTTP status code.
        message: Harvest's ``message`` (or ``error_description``), else a summary.
        method: The HTTP method of the request.
        url: The URL of the request (never carries credentials).
        body: The decoded JSON body, or the body text cut to a few KB.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        method: str,
        url: str,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.method = method
        self.url = url
        self.body = body

    def __str__(self) -> str:
        return f"{self.status} {self.message} ({self.method} {self.url})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            _rebuild,
            (
                type(self),
                self.message,
                self.status,
                self.method,
                self.url,
                self.body,
                dict(self.__dict__),
            ),
        )


def _rebuild(
    cls: type[APIError],
    message: str,
    status: int,
    method: str,
    url: str,
    body: Any,
    state: dict[str, Any],
) -> APIError:
    err = cls.__new__(cls)
    APIError.__init__(err, message, status=status, method=method, url=url, body=body)
    err.__dict__.update(state)
    return err


class BadRequestError(APIError):
    """400: Harvest rejected the request (e.g. a missing User-Agent)."""


class AuthenticationError(APIError):
    """401: the access token is missing, wrong or expired."""


class PermissionDeniedError(APIError):
    """403: the record exists but this user may not access it."""


class NotFoundError(APIError):
    """404: no such record."""


class ValidationError(APIError):
    """422: Harvest could not process the request (message says why)."""


class RateLimitError(APIError):
    """429 after retries ran out.

    Attributes:
        retry_after: Seconds Harvest asked to wait, or ``None`` if it did not say.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        method: str,
        url: str,
        body: Any = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status=status, method=method, url=url, body=body)
        self.retry_after = retry_after


class RateLimitTimeout(RateLimitError):
    """No limiter slot came within the call's ``max_wait``: nothing was sent.

    The call gave up its place in the limiter's queue. ``status`` is 429 (the answer
    Harvest would have given had it been sent at once), ``retry_after`` the seconds the
    limiter still expected the wait to last, when it knew (else ``None``).

    Attributes:
        waited: Seconds the call waited for a slot before giving up.
        priority: The call's lane, ``"interactive"`` or ``"bulk"``.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int = 429,
        method: str = "",
        url: str = "",
        body: Any = None,
        retry_after: float | None = None,
        waited: float = 0.0,
        priority: str = "interactive",
    ) -> None:
        super().__init__(
            message, status=status, method=method, url=url, body=body, retry_after=retry_after
        )
        self.waited = waited
        self.priority = priority

    def __str__(self) -> str:
        where = f" ({self.method} {self.url})" if self.method else ""
        return f"{self.message}{where}"


class ServerError(APIError):
    """5xx after retries ran out."""


# Shown as ``harvest_async.ValidationError`` (in tracebacks, reprs and pickles), the
# name they are imported by, rather than this private module's.
for _public in (
    HarvestError,
    ConfigurationError,
    InvalidRequestError,
    TransportError,
    DecodeError,
    APIError,
    BadRequestError,
    AuthenticationError,
    PermissionDeniedError,
    NotFoundError,
    ValidationError,
    RateLimitError,
    RateLimitTimeout,
    ServerError,
):
    _public.__module__ = "harvest_async"
del _public
