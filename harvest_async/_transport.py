"""The HTTP layer: the only client module that imports aiohttp.

It owns the headers Harvest requires
(https://help.getharvest.com/api-v2/introduction/overview/general/), sends one request
per call (aiohttp's own silent re-send of idempotent requests is disabled, so every
request on the wire is one the rate limiter admitted), and turns responses into
Python values or typed errors through the pure :func:`decipher_response`.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import ipaddress
from collections.abc import Mapping, Sequence
from typing import Any

import aiohttp
import attrs
from yarl import URL

from . import _json
from ._errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    DecodeError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    TransportError,
    ValidationError,
)

__all__ = [
    "ClientClosedError",
    "ConnectionNotMadeError",
    "FormFile",
    "RawResponse",
    "RequestMayHaveBeenSent",
    "Transport",
    "check_base_url",
    "check_header_value",
    "decipher_response",
    "parse_retry_after",
]

#: Longest error body text kept on an APIError.
MAX_ERROR_TEXT = 4096
#: Largest response body read (a 2000-item page of time entries is about 3 MB).
DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024

_STATUS_ERRORS: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    422: ValidationError,
    429: RateLimitError,
}


class ConnectionNotMadeError(TransportError):
    """No connection was made: the request certainly did not reach Harvest."""


class ClientClosedError(TransportError):
    """The client was closed (``aclose()``); nothing was sent."""


class RequestMayHaveBeenSent(TransportError):
    """The connection failed after the request may have reached Harvest."""


@attrs.frozen
class RawResponse:
    """One HTTP response, fully read."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    method: str
    url: str


@attrs.frozen
class FormFile:
    """A file part of a multipart body (expense receipts)."""

    content: bytes
    filename: str
    content_type: str = "application/octet-stream"


def check_header_value(name: str, value: str) -> str:
    """Reject header values that could split the header block."""
    if "\r" in value or "\n" in value or "\0" in value:
        raise ConfigurationError(f"{name} must not contain CR, LF or NUL characters")
    return value


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_base_url(base_url: str, *, name: str = "base_url") -> URL:
    """Validate a base URL: https, or http on a loopback address (tests, simulator)."""
    url = URL(base_url)
    if not url.is_absolute() or not url.host:
        raise ConfigurationError(f"{name} must be an absolute URL, got {base_url!r}")
    if url.user or url.password:
        raise ConfigurationError(f"{name} must not carry credentials")
    if url.scheme == "https" or (url.scheme == "http" and _is_loopback(url.host)):
        return url.with_query(None).with_fragment(None)
    raise ConfigurationError(
        f"{name} must use https (plain http is allowed only on loopback), got {base_url!r}"
    )


def parse_retry_after(
    headers: Mapping[str, str], body: Any = None, *, now: dt.datetime | None = None
) -> float | None:
    """Seconds to wait from a 429's ``Retry-After`` header (or its body's ``retry_after``).

    See https://help.getharvest.com/api-v2/introduction/overview/general/#rate-limiting.
    """
    raw = headers.get("Retry-After")
    if raw is not None:
        raw = raw.strip()
        try:
            return max(0.0, float(raw))
        except ValueError:
            pass
        try:
            when = email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError):
            when = None
        if when is not None:
            if when.tzinfo is None:
                when = when.replace(tzinfo=dt.UTC)
            current = now or dt.datetime.now(dt.UTC)
            return max(0.0, (when - current).total_seconds())
    if isinstance(body, dict):
        value = body.get("retry_after")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return max(0.0, float(value))
        try:
            return max(0.0, float(str(value))) if value is not None else None
        except ValueError:
            return None
    return None


def _error_body(body: bytes) -> Any:
    if not body:
        return None
    try:
        return _json.loads(body)
    except DecodeError:
        return body[:MAX_ERROR_TEXT].decode("utf-8", errors="replace")


def decipher_response(
    status: int, headers: Mapping[str, str], body: bytes, *, method: str, url: str
) -> Any:
    """Turn a response into its decoded JSON, or raise the error it stands for.

    Pure: no I/O, so every status is unit-tested directly.

    Returns:
        The decoded JSON for a 2xx response, ``None`` for an empty body.

    Raises:
        DecodeError: a 2xx response whose body is not JSON.
        APIError: the subclass matching ``status`` (CONTRACT.md, "Errors").
    """
    if 200 <= status < 300:
        if not body.strip():
            return None
        return _json.loads(body)
    data = _error_body(body)
    message: str | None = None
    if isinstance(data, dict):
        for key in ("message", "error_description", "error"):
            value = data.get(key)
            if isinstance(value, str) and value:
                message = value
                break
    if message is None:
        message = _DEFAULT_MESSAGES.get(status, f"HTTP {status}")
    if status == 429:
        raise RateLimitError(
            message,
            status=status,
            method=method,
            url=url,
            body=data,
            retry_after=parse_retry_after(headers, data),
        )
    cls = _STATUS_ERRORS.get(status)
    if cls is None:
        cls = ServerError if status >= 500 else APIError
    raise cls(message, status=status, method=method, url=url, body=data)


_DEFAULT_MESSAGES = {
    400: "Bad Request",
    401: "Unauthorized: check the access token and account id",
    403: "Forbidden",
    404: "Not Found",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def _no_resend_middleware() -> Any:
    """A per-request middleware that lets aiohttp send the request once only.

    aiohttp re-sends an idempotent request by itself when a kept-alive connection turns
    out closed. That re-send would bypass the rate limiter, so it is stopped here and
    the failure reaches our retry policy, which takes a new limiter slot.
    """
    calls = 0

    async def once(req: aiohttp.ClientRequest, handler: Any) -> aiohttp.ClientResponse:
        nonlocal calls
        calls += 1
        if calls > 1:
            raise aiohttp.ServerDisconnectedError("connection closed; re-send left to retries")
        response: aiohttp.ClientResponse = await handler(req)
        return response

    return once


class Transport:
    """Sends requests over one aiohttp session.

    Args:
        headers: Headers sent with every request (validated for CR/LF).
        timeout: Seconds allowed for each request, connect to last byte.
        session: A caller-owned session; used as is and never closed here.
        max_response_bytes: Responses larger than this fail with ``TransportError``.
    """

    def __init__(
        self,
        *,
        headers: Mapping[str, str],
        timeout: float,
        session: aiohttp.ClientSession | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        connection_limit: int = 100,
    ) -> None:
        self._headers = {k: check_header_value(k, v) for k, v in headers.items()}
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session = session
        self._owns_session = session is None
        self._max_response_bytes = max_response_bytes
        self._connection_limit = connection_limit
        self._closed = False

    def __repr__(self) -> str:
        return f"<Transport owns_session={self._owns_session} closed={self._closed}>"

    @property
    def closed(self) -> bool:
        return self._closed

    def _get_session(self) -> aiohttp.ClientSession:
        if self._closed:
            raise ClientClosedError("the client is closed")
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._connection_limit),
                json_serialize=_json.dumps,
            )
        return self._session

    async def send(
        self,
        method: str,
        url: str,
        *,
        params: Sequence[tuple[str, str]] | None = None,
        json_body: Any = None,
        form: Mapping[str, str | FormFile] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> RawResponse:
        """Send one request and read its whole response.

        Raises:
            ConnectionNotMadeError: no connection could be made (safe to re-send).
            RequestMayHaveBeenSent: the connection broke or timed out after sending.
            TransportError: the response was larger than allowed.
        """
        session = self._get_session()
        request_headers = dict(self._headers)
        if headers:
            request_headers.update({k: check_header_value(k, v) for k, v in headers.items()})
        data: Any = None
        if json_body is not None:
            data = _json.dumps(json_body).encode("utf-8")
            request_headers["Content-Type"] = "application/json"
        elif form is not None:
            data = aiohttp.FormData()
            for key, value in form.items():
                if isinstance(value, FormFile):
                    data.add_field(
                        key, value.content, filename=value.filename,
                        content_type=value.content_type,
                    )
                else:
                    data.add_field(key, value)
        target = URL(url, encoded=True)
        if params:
            target = target.extend_query(list(params))
        # Per-request middlewares replace the session's own: keep a caller's.
        middlewares = (*getattr(session, "_middlewares", ()), _no_resend_middleware())
        try:
            async with session.request(
                method,
                target,
                headers=request_headers,
                data=data,
                timeout=self._timeout,
                allow_redirects=False,
                middlewares=middlewares,
            ) as response:
                length = response.content_length
                if length is not None and length > self._max_response_bytes:
                    raise TransportError(
                        f"response of {length} bytes exceeds the "
                        f"{self._max_response_bytes}-byte limit"
                    )
                body = await self._read(response)
                return RawResponse(
                    status=response.status,
                    headers=response.headers,
                    body=body,
                    method=method,
                    url=str(target),
                )
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
            raise ConnectionNotMadeError(
                f"cannot connect to {target.host}: {type(exc).__name__}: {exc}"
            ) from None
        except TimeoutError:
            raise RequestMayHaveBeenSent(
                f"{method} {_safe_url(target)} timed out after {self._timeout.total} s"
            ) from None
        except aiohttp.ClientPayloadError as exc:
            raise RequestMayHaveBeenSent(
                f"{method} {_safe_url(target)}: response body cut off ({exc})"
            ) from None
        except (aiohttp.ClientError, OSError) as exc:
            raise RequestMayHaveBeenSent(
                f"{method} {_safe_url(target)} failed: {type(exc).__name__}: {exc}"
            ) from None

    async def _read(self, response: aiohttp.ClientResponse) -> bytes:
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.content.iter_chunked(256 * 1024):
            size += len(chunk)
            if size > self._max_response_bytes:
                raise TransportError(
                    f"response exceeds the {self._max_response_bytes}-byte limit"
                )
            chunks.append(chunk)
        return b"".join(chunks)

    async def aclose(self) -> None:
        """Close the session if this transport opened it."""
        if self._closed:
            return
        self._closed = True
        if self._owns_session and self._session is not None:
            await self._session.close()


def _safe_url(url: URL) -> str:
    return str(url.with_user(None).with_password(None))
