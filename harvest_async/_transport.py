"""The HTTP layer: the only client module that imports aiohttp.

It owns the headers Harvest requires
(https://help.getharvest.com/api-v2/introduction/overview/general/), sends one request
per call (aiohttp's own silent re-send of idempotent requests is disabled, so every
request on the wire is one the rate limiter admitted), and turns responses into
Python values or typed errors through the pure `decipher_response`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import html
import ipaddress
import math
import re
import sys
import weakref
from collections.abc import Coroutine, Mapping, Sequence
from decimal import Decimal
from typing import Any, TypeVar
from urllib.parse import unquote

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
    HarvestError,
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
    "ResponseTooLargeError",
    "Transport",
    "check_base_url",
    "check_header_value",
    "decipher_response",
    "parse_retry_after",
    "redact",
]

#: Longest error body text kept on an APIError.
MAX_ERROR_TEXT = 4096
#: Most bytes of an error response read (Harvest's error bodies are well under 1 KB):
#: the rest is left unread, so a hostile error body costs little to redact and decode.
MAX_ERROR_BODY = 64 * 1024
#: Largest response body read (a 2000-item page of time entries is about 3 MB).
DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024
#: Connections open at once per session the client opens (all hosts together).
DEFAULT_CONNECTION_LIMIT = 100

T = TypeVar("T")

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
    """The client was closed (``aclose()``): before the request, or while it was in flight."""


class ResponseTooLargeError(TransportError):
    """The response was larger than ``max_response_bytes`` (never retried: it would be
    as large again)."""


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


def check_base_url(
    base_url: str, *, name: str = "base_url", allow_insecure_http: bool = False
) -> URL:
    """Validate a base URL: https, or http on a loopback address (tests, simulator).

    ``allow_insecure_http=True`` accepts plain http to any host (the token then crosses
    the network in clear text: for a trusted proxy or a test network only).
    """
    if not isinstance(base_url, str):
        raise ConfigurationError(f"{name} must be a string, got {type(base_url).__name__}")
    if any(c in base_url for c in "\r\n\0"):
        raise ConfigurationError(f"{name} must not contain CR, LF or NUL characters")
    try:
        url = URL(base_url)
    except (TypeError, ValueError):
        raise ConfigurationError(f"{name} is not a valid URL: {base_url!r}") from None
    if not url.is_absolute() or not url.host:
        raise ConfigurationError(f"{name} must be an absolute URL, got {base_url!r}")
    if url.user or url.password:
        raise ConfigurationError(f"{name} must not carry credentials")
    if url.scheme == "https" or (
        url.scheme == "http" and (allow_insecure_http or _is_loopback(url.host))
    ):
        return url.with_query(None).with_fragment(None)
    raise ConfigurationError(
        f"{name} must use https (plain http is allowed only on loopback, or with "
        f"allow_insecure_http=True), got {base_url!r}"
    )


def parse_retry_after(
    headers: Mapping[str, str], body: Any = None, *, now: dt.datetime | None = None
) -> float | None:
    """Seconds to wait from a 429's ``Retry-After`` header (or its body's ``retry_after``).

    See https://help.getharvest.com/api-v2/introduction/overview/general/#rate-limiting.
    The header is a number of seconds or an HTTP-date; a value that is not a finite
    number (``inf``, ``nan``, junk) is ignored, as if absent, and the body's
    ``retry_after`` is tried next. A negative wait (or a date in the past) is ``0.0``.
    A very long wait is returned as is, clamped to the largest finite float: the caller
    decides (the client fails at once on one longer than 900 s, Harvest's longest
    window).

    Returns:
        The wait in seconds (finite, >= 0), or ``None`` when neither says one.
    """
    raw = headers.get("Retry-After")
    if raw is not None:
        seconds = _seconds(raw)
        if seconds is None:
            seconds = _seconds_until(raw, now)
        if seconds is not None:
            return seconds
    if isinstance(body, dict):
        return _seconds(body.get("retry_after"))
    return None


_NUMBER = re.compile(r"([+-]?)(?:(\d+)(?:\.(\d*))?|\.(\d+))(?:[eE]([+-]?)(\d+))?", re.ASCII)
#: Larger floats are clamped to this (a wait still means "longer than allowed").
_LARGEST = Decimal(sys.float_info.max)


def _seconds(value: Any) -> float | None:
    """A finite number of seconds >= 0 from a JSON value or header text, else ``None``.

    Never converts a huge number to an int or a float first: ``1e999999999`` is a long
    wait, not a freeze or an ``OverflowError``.
    """
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return sys.float_info.max if value > _LARGEST else float(max(value, 0))
    if isinstance(value, float):
        return min(max(value, 0.0), sys.float_info.max) if math.isfinite(value) else None
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, str):
        match = _NUMBER.fullmatch(value.strip())
        if match is None:
            return None
        try:
            number = Decimal(match.group(0))
        except ArithmeticError:
            # An exponent beyond what Decimal holds: astronomically large or small.
            sign, whole, fraction, only_fraction, exp_sign, _ = match.groups()
            digits = (whole or "") + (fraction or "") + (only_fraction or "")
            if sign == "-" or exp_sign == "-" or not digits.strip("0"):
                return 0.0
            return sys.float_info.max
    else:
        return None
    if not number.is_finite():
        return None
    return float(min(max(number, Decimal(0)), _LARGEST))


def _seconds_until(text: str, now: dt.datetime | None) -> float | None:
    """Seconds from ``now`` until an HTTP-date (``0.0`` if past), or ``None``."""
    try:
        when = email.utils.parsedate_to_datetime(text.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    current = now or dt.datetime.now(dt.UTC)
    return max(0.0, (when - current).total_seconds())


def _error_body(body: bytes) -> Any:
    if not body:
        return None
    try:
        return _json.loads(body)
    except DecodeError:
        return body[:MAX_ERROR_TEXT].decode("utf-8", errors="replace")


def decipher_response(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    method: str,
    url: str,
    raw_json: bool = False,
) -> Any:
    """Turn a response into its decoded JSON, or raise the error it stands for.

    Pure: no I/O, so every status is unit-tested directly.

    Args:
        status: The HTTP status.
        headers: The response headers.
        body: The response body.
        method: The request's method (for error messages).
        url: The request's URL (for error messages; its query string, which may come
            from a ``links.next`` the server wrote, is left out).
        raw_json: Return a 2xx body undecoded (its ``bytes``), for a caller that
            decodes it itself (list pages go straight to models).

    Returns:
        The decoded JSON for a 2xx response (its bytes with ``raw_json``), ``None``
        for an empty body.

    Raises:
        DecodeError: a 2xx response whose body is not JSON.
        APIError: the subclass matching ``status`` (CONTRACT.md, "Errors").
    """
    if 200 <= status < 300:
        if not body.strip():
            return None
        return body if raw_json else _json.loads(body)
    url = url.partition("?")[0]
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


#: Form fields whose values are secrets (OAuth token calls).
_SECRET_FORM_FIELDS = frozenset({"client_secret", "refresh_token", "code", "access_token"})
#: Shorter values are not searched for (they could match ordinary text).
_MIN_SECRET_LENGTH = 8
REDACTED = b"<redacted>"


def _request_secrets(
    headers: Mapping[str, str], form: Mapping[str, str | FormFile] | None
) -> list[bytes]:
    """The secrets a request carries: its bearer token and secret form fields."""
    found: list[str] = []
    auth = headers.get("Authorization")
    if auth:
        scheme, _, credentials = auth.partition(" ")
        found.append(credentials.strip() or scheme)
    if form:
        found.extend(v for k, v in form.items() if k in _SECRET_FORM_FIELDS and isinstance(v, str))
    return [s.encode("utf-8") for s in found if len(s) >= _MIN_SECRET_LENGTH]


def _hex(value: int, digits: int) -> str:
    return f"{value:0{digits}x}"


#: A backslash as it may be spelled in front of an escape: itself, or escaped again.
_BACKSLASH = r"(?:\\(?i:u005c|x5c)|\\)"
#: Where a secret's match may start: not right after a backslash (spelled either way),
#: so that a long run of them is searched once, from its start (the search stays linear).
_START = r"(?<!\\)(?<!\\[uU]005[cC])(?<!\\[xX]5[cC])"


def _spellings(char: str, *, first: bool) -> str:
    """A regex for one character of a secret as it may come back echoed.

    As is, or escaped as JSON (``\\/``, ``\\u0039``: any case, UTF-16 surrogate pairs
    above U+FFFF), as a C/Python escape (``\\x39``, ``\\U00000039``), percent-encoded
    (UTF-8, any case; ``+`` for a space, as a form echoes it) or as an HTML character
    reference (decimal or hex); each behind backslashes, themselves spelled as is or
    escaped (``\\u005c``: an escape escaped again). Runs of backslashes inside a
    secret are searched up to 8 long, before it (``first``) of any length.
    """
    run, run1 = ("*", "+") if first else ("{0,8}", "{1,8}")
    code = ord(char)
    if code > 0xFFFF:
        high, low = divmod(code - 0x10000, 0x400)
        utf16 = f"u{_hex(0xD800 + high, 4)}{_BACKSLASH}{{1,8}}u{_hex(0xDC00 + low, 4)}"
    else:
        utf16 = f"u{_hex(code, 4)}"
    escaped = [utf16, f"U{_hex(code, 8)}"]
    if code < 0x100:
        escaped.append(f"x{_hex(code, 2)}")
    percent = "".join(f"%{_hex(byte, 2)}" for byte in char.encode("utf-8", "surrogatepass"))
    plain = [
        re.escape(char),
        f"(?i:{percent})",
        f"&#0{{0,8}}{code};",
        f"(?i:&#x0{{0,8}}{_hex(code, 1)};)",
    ]
    if char == " ":
        plain.append(r"\+")
    return f"(?:{_BACKSLASH}{run}(?:{'|'.join(plain)})|{_BACKSLASH}{run1}(?i:{'|'.join(escaped)}))"


def _secret_pattern(secrets: Sequence[bytes]) -> str | None:
    """One regex matching every secret in any of its echoed spellings, longest first."""
    texts = sorted(
        {s.decode("utf-8", "surrogateescape") for s in secrets if s}, key=len, reverse=True
    )
    if not texts:
        return None
    return (
        _START
        + "(?:"
        + "|".join(
            "".join(_spellings(char, first=i == 0) for i, char in enumerate(text)) for text in texts
        )
        + ")"
    )


_REDACTED_TEXT = REDACTED.decode("ascii")
#: Escapes undone by `_unescaped`: JSON/C ``\\uXXXX``, ``\\UXXXXXXXX``, ``\\xXX`` and a
#: backslash before any other character.
_ESCAPE = re.compile(r"\\(?:u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8})|x([0-9a-fA-F]{2})|(.))", re.S)
#: Rounds of unescaping (an escape escaped again and again: each round undoes one).
_UNESCAPE_ROUNDS = 6


def _unescape_one(match: re.Match[str]) -> str:
    digits = match.group(1) or match.group(2) or match.group(3)
    if digits is None:
        return match.group(4)
    code = int(digits, 16)
    return chr(code) if code <= sys.maxunicode else ""


#: HTML numeric character references, and overlong ones (dropped: no character).
_CHARREF = re.compile(r"&#(?:[xX]0*([0-9a-fA-F]{1,8})|0*([0-9]{1,10}))(?![0-9a-fA-F]);?")
_LONG_CHARREF = re.compile(r"&#[xX]?[0-9a-fA-F]+;?")


def _charref(match: re.Match[str]) -> str:
    hex_digits, digits = match.groups()
    code = int(hex_digits, 16) if hex_digits is not None else int(digits)
    return chr(code) if code <= sys.maxunicode else ""


def _unescaped(text: str) -> str:
    """``text`` with backslash escapes, percent-encoding and HTML references undone,
    round after round: the plain text a reader could recover from it."""
    for _ in range(_UNESCAPE_ROUNDS):
        before = text
        text = unquote(_ESCAPE.sub(_unescape_one, text))
        text = html.unescape(_LONG_CHARREF.sub("", _CHARREF.sub(_charref, text)))
        if text == before:
            break
    return text


class _Cleaner:
    """Takes the secrets out of strings: their spellings (`_spellings`) replaced, and a
    string that would still give one away once unescaped (`_unescaped`) replaced whole."""

    def __init__(self, source: str, secrets: Sequence[bytes]) -> None:
        self.pattern = re.compile(source)
        self.secrets = [s.decode("utf-8", "surrogateescape") for s in secrets if s]
        self.changed = False

    def reveals(self, text: str) -> bool:
        plain = _unescaped(text)
        return any(secret in plain for secret in self.secrets)

    def clean(self, text: str) -> str:
        new = self.pattern.sub(_REDACTED_TEXT, text)
        if self.reveals(new):
            new = _REDACTED_TEXT
        if new != text:
            self.changed = True
        return new

    def walk(self, data: Any) -> Any:
        """``data`` (decoded JSON, changed in place) with every key and string cleaned.

        Iterative: a body nested as deep as the JSON parser allows is walked whole.
        """
        if isinstance(data, str):
            return self.clean(data)
        stack = [data]
        while stack:
            node = stack.pop()
            if isinstance(node, list):
                for index, item in enumerate(node):
                    if isinstance(item, str):
                        node[index] = self.clean(item)
                    elif isinstance(item, (list, dict)):
                        stack.append(item)
            elif isinstance(node, dict):
                items = []
                for key, item in node.items():
                    if isinstance(item, str):
                        item = self.clean(item)
                    elif isinstance(item, (list, dict)):
                        stack.append(item)
                    items.append((self.clean(key), item))
                node.clear()
                node.update(items)
        return data


def redact(body: bytes, secrets: Sequence[bytes]) -> bytes:
    """``body`` with every occurrence of a secret replaced by ``<redacted>``.

    Applied to error responses, which end up in ``APIError.body``/``.message``, logs and
    tracebacks: a proxy or server that echoes the request's headers or form back must
    not put the token there, in whatever spelling it echoes it. In three steps:

    1. The raw bytes: every spelling of a secret (see `_spellings`) is replaced.
    2. A JSON body: every string in it, keys included, however nested, is searched
       again once decoded; one that still gives a secret away once unescaped (an
       escape escaped differently, say) is replaced whole; the body is written anew.
    3. A body that is not JSON (an HTML page, cut-off JSON) that still gives a secret
       away once unescaped is replaced whole, as is a JSON body that cannot be
       written anew (nested too deeply).
    """
    source = _secret_pattern(secrets)
    if source is None or not body:
        return body
    body = re.compile(source.encode("utf-8", "surrogateescape")).sub(REDACTED, body)
    cleaner = _Cleaner(source, secrets)
    try:
        data = _json.loads(body)
    except DecodeError:
        text = body.decode("utf-8", "replace")
        return REDACTED if cleaner.reveals(text) else body
    try:
        clean = cleaner.walk(data)
        return _json.dumps(clean).encode("utf-8") if cleaner.changed else body
    except (RecursionError, HarvestError, ValueError, TypeError):
        return REDACTED


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
        max_response_bytes: Responses larger than this fail with
            `ResponseTooLargeError` (checked on ``Content-Length`` and while reading).
        connection_limit: Connections the session this transport opens keeps at most.
    """

    def __init__(
        self,
        *,
        headers: Mapping[str, str],
        timeout: float,
        session: aiohttp.ClientSession | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        connection_limit: int = DEFAULT_CONNECTION_LIMIT,
    ) -> None:
        for name, value in (
            ("max_response_bytes", max_response_bytes),
            ("connection_limit", connection_limit),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigurationError(f"{name} must be an int >= 1, got {value!r}")
        self._headers = {k: check_header_value(k, v) for k, v in headers.items()}
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session = session
        self._owns_session = session is None
        self._max_response_bytes = max_response_bytes
        self._connection_limit = connection_limit
        self._closed = False
        self._in_flight: set[asyncio.Task[Any]] = set()
        self._loop: weakref.ref[asyncio.AbstractEventLoop] | None = None

    def __repr__(self) -> str:
        return f"<Transport owns_session={self._owns_session} closed={self._closed}>"

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def in_flight(self) -> int:
        """Operations started through `run` that have not ended yet."""
        return len(self._in_flight)

    def _check_loop(self) -> asyncio.AbstractEventLoop:
        """The running loop, once checked to be the one this transport is bound to.

        An aiohttp session (and its connections) belongs to the loop it was opened in;
        used from another, it hangs or fails deep inside. The first loop a transport
        runs in is its own for good, even once closed: create one client per loop.
        """
        loop = asyncio.get_running_loop()
        ref = self._loop
        if ref is None:
            self._loop = weakref.ref(loop)
        elif ref() is not loop:
            raise ConfigurationError(
                "the client is bound to the event loop it was first used in (its aiohttp "
                "session belongs to that loop); create one client per loop"
            )
        return loop

    def _get_session(self) -> aiohttp.ClientSession:
        if self._closed:
            raise ClientClosedError("the client is closed")
        self._check_loop()
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._connection_limit),
                json_serialize=_json.dumps,
            )
        return self._session

    async def run(self, operation: Coroutine[Any, Any, T]) -> T:
        """Run one operation (a request with its retries) so `aclose` can stop it.

        The operation runs as a child task. If `aclose` cancels it, the caller
        gets `ClientClosedError` ("the client was closed"), not a
        ``CancelledError``; if the caller itself is cancelled, the child is cancelled
        too and has fully ended (limiter slot released, connection dropped) by the time
        ``CancelledError`` reaches the caller.
        """
        if self._closed:
            operation.close()
            raise ClientClosedError("the client is closed")
        try:
            loop = self._check_loop()
        except ConfigurationError:
            operation.close()
            raise
        task = loop.create_task(operation)
        self._in_flight.add(task)
        try:
            return await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            caller_cancelled = current is not None and current.cancelling() > 0
            if self._closed and task.cancelled() and not caller_cancelled:
                raise ClientClosedError("the client was closed") from None
            raise
        finally:
            self._in_flight.discard(task)

    async def send(
        self,
        method: str,
        url: str,
        *,
        params: Sequence[tuple[str, str]] | None = None,
        json_body: Any = None,
        form: Mapping[str, str | FormFile] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - aiohttp applies it per request
    ) -> RawResponse:
        """Send one request and read its whole response.

        ``timeout`` (seconds, connect to last byte) replaces the transport's for this
        request.

        Raises:
            ConnectionNotMadeError: no connection could be made (safe to re-send).
            RequestMayHaveBeenSent: the connection broke or timed out after sending.
            ResponseTooLargeError: the response was larger than allowed.
            ClientClosedError: the transport is closed.
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
                        key,
                        value.content,
                        filename=value.filename,
                        content_type=value.content_type,
                    )
                else:
                    data.add_field(key, value)
        target = URL(url, encoded=True)
        if params:
            target = target.extend_query(list(params))
        # Per-request middlewares replace the session's own: keep a caller's.
        middlewares = (*getattr(session, "_middlewares", ()), _no_resend_middleware())
        limit = self._timeout if timeout is None else aiohttp.ClientTimeout(total=timeout)
        try:
            async with session.request(
                method,
                target,
                headers=request_headers,
                data=data,
                timeout=limit,
                allow_redirects=False,
                middlewares=middlewares,
            ) as response:
                length = response.content_length
                if length is not None and length > self._max_response_bytes:
                    raise ResponseTooLargeError(
                        f"response of {length} bytes exceeds the "
                        f"{self._max_response_bytes}-byte limit"
                    )
                if 200 <= response.status < 300:
                    body = await self._read(response)
                else:
                    body = redact(
                        await self._read(response, error=True),
                        _request_secrets(request_headers, form),
                    )
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
                f"{method} {_safe_url(target)} timed out after {limit.total} s"
            ) from None
        except aiohttp.ClientPayloadError as exc:
            raise RequestMayHaveBeenSent(
                f"{method} {_safe_url(target)}: response body cut off ({exc})"
            ) from None
        except (aiohttp.ClientError, OSError) as exc:
            raise RequestMayHaveBeenSent(
                f"{method} {_safe_url(target)} failed: {type(exc).__name__}: {exc}"
            ) from None

    async def _read(self, response: aiohttp.ClientResponse, *, error: bool = False) -> bytes:
        """The whole body; for an ``error`` response its first `MAX_ERROR_BODY` bytes."""
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.content.iter_chunked(256 * 1024):
            size += len(chunk)
            if error and size >= MAX_ERROR_BODY:
                chunks.append(chunk)
                # Cut (never valid JSON then): kept as text, redacted, cut again.
                return b"".join(chunks)[:MAX_ERROR_BODY]
            if size > self._max_response_bytes:
                raise ResponseTooLargeError(
                    f"response exceeds the {self._max_response_bytes}-byte limit"
                )
            chunks.append(chunk)
        return b"".join(chunks)

    async def aclose(self) -> None:
        """Stop what is in flight, then close the session if this transport opened it.

        Requests running through `run` are cancelled (their callers get
        `ClientClosedError`) and have ended before the session is closed.

        Raises:
            ConfigurationError: called from another event loop than the one the
                transport was used in, while that loop is open. Once that loop is
                closed, the transport is only marked closed (its session cannot be
                closed from another loop).
        """
        if self._closed:
            return
        loop = asyncio.get_running_loop()
        bound = self._loop() if self._loop is not None else None
        if self._loop is not None and bound is not loop:
            if bound is not None and not bound.is_closed():
                raise ConfigurationError(
                    "the client is bound to the event loop it was first used in; close it there"
                )
            self._closed = True
            return
        self._closed = True
        tasks = [t for t in self._in_flight if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        try:
            if tasks:
                await asyncio.wait(tasks)
        finally:
            if self._owns_session and self._session is not None:
                await self._session.close()


def _safe_url(url: URL) -> str:
    """``url`` for a message: no credentials, no query (it may be a server's ``links.next``)."""
    return str(url.with_user(None).with_password(None).with_query(None).with_fragment(None))
