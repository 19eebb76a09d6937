"""The pure request/response core: the request value, the transport protocol, URLs,
response deciphering and secret redaction. No I/O here (the aiohttp adapter is
`harvest_async._aiohttp`), so every rule is unit-tested directly.

Harvest's conventions: https://help.getharvest.com/api-v2/introduction/overview/general/.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import html
import ipaddress
import math
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal, Protocol
from urllib.parse import unquote

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
    ValidationError,
)

if TYPE_CHECKING:
    from ._auth import TokenProvider
    from ._ratelimit import Priority

__all__ = [
    "DEFAULT_MAX_RESPONSE_BYTES",
    "MAX_ERROR_BODY",
    "MAX_ERROR_TEXT",
    "REDACTED",
    "ApiRoot",
    "FormFile",
    "LimiterName",
    "RawResponse",
    "Request",
    "Transport",
    "check_base_url",
    "check_header_value",
    "decipher_response",
    "parse_retry_after",
    "redact",
    "request_secrets",
]

#: Longest error body text kept on an APIError.
MAX_ERROR_TEXT = 4096
#: Most bytes of an error response read (Harvest's error bodies are well under 1 KB):
#: the rest is left unread, so a hostile error body costs little to redact and decode.
MAX_ERROR_BODY = 64 * 1024
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

#: Which rate limiter admits a request: Harvest counts ``/reports`` apart (100 per
#: 15 minutes) from everything else (100 per 15 seconds)
#: (https://help.getharvest.com/api-v2/introduction/overview/general/#rate-limiting).
LimiterName = Literal["general", "reports"]


def _limiter_of(request: Request) -> LimiterName:
    path = request.path.strip("/")
    return "reports" if path == "reports" or path.startswith("reports/") else "general"


def _pairs(query: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    return tuple(query)


@attrs.frozen
class FormFile:
    """A file part of a multipart body (expense receipts)."""

    content: bytes
    filename: str
    content_type: str = "application/octet-stream"


@attrs.frozen
class Request:
    """One API request, as a value: built by a resource, sent by the requester.

    The requester authorizes it (``Authorization`` from a token provider), takes a
    slot of the limiter it names, retries it as ``replay_safe`` allows and hands it to
    the transport; each step derives a new value with `attrs.evolve`, none changes it.
    Bodies, headers and the token provider stay out of ``repr()`` (they may hold
    secrets).

    Attributes:
        method: The HTTP method.
        path: The API path relative to the base URL (``time_entries/1``).
        url: The absolute URL, once resolved (or a checked ``links.next``): it wins
            over ``path`` and ``query`` is appended to it.
        query: Query parameters, already in wire format, in order.
        json: A JSON body.
        form: A multipart body (``json`` and ``form`` are exclusive).
        headers: Headers of this request (the client's own are added when sent).
        limiter: Which limiter admits it; by default ``"reports"`` for a path under
            ``reports/``, else ``"general"``.
        replay_safe: Whether it may be re-sent once it may have been processed;
            by default every method but POST.
        raw_json: Return a 2xx body as its undecoded bytes (list pages, which the
            paginator decodes straight to models).
        auth: A token provider for this request only (else the client's).
        priority: The limiter lane (``None``: the requester's choice, see
            ``HarvestClient.with_options``).
        max_wait: Seconds it may wait for limiter slots, all attempts together.
        timeout: Seconds allowed per attempt (``None``: the transport's).
    """

    method: str
    path: str = ""
    url: str | None = None
    query: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=_pairs)
    json: Any = attrs.field(default=None, repr=False)
    form: Mapping[str, str | FormFile] | None = attrs.field(default=None, repr=False)
    headers: Mapping[str, str] = attrs.field(factory=dict, repr=False)
    limiter: LimiterName = attrs.field(default=attrs.Factory(_limiter_of, takes_self=True))
    replay_safe: bool = attrs.field(
        default=attrs.Factory(lambda self: self.method != "POST", takes_self=True)
    )
    raw_json: bool = False
    auth: TokenProvider | None = attrs.field(default=None, repr=False, eq=False)
    priority: Priority | None = None
    max_wait: float | None = None
    timeout: float | None = None

    def __attrs_post_init__(self) -> None:
        if self.json is not None and self.form is not None:
            raise ValueError("a request has a JSON body or a form, not both")

    def with_headers(self, headers: Mapping[str, str]) -> Request:
        """This request with ``headers`` added (they win over its own)."""
        return attrs.evolve(self, headers={**self.headers, **headers})

    def following(self, url: str) -> Request:
        """The request for a page's ``links.next`` (a checked absolute URL): the same
        method, limiter and options, no query of its own (the URL carries it)."""
        return attrs.evolve(self, url=url, query=())


@attrs.frozen
class RawResponse:
    """One HTTP response, fully read (an error response's body cut to `MAX_ERROR_BODY`)."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    method: str
    url: str


class Transport(Protocol):
    """Sends one resolved `Request` (absolute ``url``, all headers) and reads its answer.

    Sends it once (no re-send of its own: retries are the requester's, each with its
    own limiter slot). Failures are typed: `ConnectionNotMadeError` (certainly not
    sent), `RequestMayHaveBeenSent`, `ResponseTooLargeError`, `ClientClosedError`.
    """

    async def send(self, request: Request) -> RawResponse:
        """Send ``request`` and read the whole response."""
        ...

    async def aclose(self) -> None:
        """Let go of connections (nothing is in flight any more when called)."""
        ...


class ApiRoot:
    """The API's base URL: paths resolved against it, ``links.next`` checked against it.

    Args:
        base_url: A base URL checked by `check_base_url`.
    """

    def __init__(self, base_url: URL) -> None:
        self.base_url = base_url
        self._base_path = base_url.path.rstrip("/")
        # For check_next_url: what a links.next must start with, as written on the wire.
        self._origin = str(base_url.origin())
        authority = self._origin.partition("://")[2].lower()
        self._authorities = {authority}
        if base_url.explicit_port is None and base_url.port is not None:
            self._authorities.add(f"{authority}:{base_url.port}")  # the default port, spelled
        self._raw_prefix = base_url.raw_path.rstrip("/") + "/"

    def __repr__(self) -> str:
        return f"ApiRoot({str(self.base_url)!r})"

    def url_for(self, path: str) -> str:
        """Absolute URL of an API path such as ``time_entries/1``."""
        return str(self.base_url.with_path(f"{self._base_path}/{path.lstrip('/')}"))

    def resolve(self, request: Request) -> Request:
        """``request`` with its absolute ``url`` (kept if it has one already)."""
        if request.url is not None:
            return request
        return attrs.evolve(request, url=self.url_for(request.path))

    def check_next_url(self, url: Any) -> str:
        """Accept a ``links.next`` URL only if it points at our API (the token goes there).

        Accepted: an absolute ``http(s)`` URL on exactly the base URL's scheme, host and
        port, whose path lies under the base URL's path, or a reference relative to the
        base URL that resolves there. Refused: anything else, which includes a
        scheme-relative ``//host/...``, credentials (``user:pass@``) in the authority,
        another port, backslashes, spaces, control or non-ASCII characters, ``.``/``..``
        path segments (spelled out or percent-encoded), an encoded ``/`` or ``\\`` in
        the path, and other schemes
        (https://help.getharvest.com/api-v2/introduction/overview/pagination/).

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


#: The scheme of an absolute URL (RFC 3986 section 3.1).
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")


def _plain_path(path: str) -> bool:
    """Whether no segment of ``path`` is ``.`` or ``..`` or hides a separator, decoded."""
    for segment in path.split("/"):
        decoded = unquote(segment)
        if decoded in (".", "..") or "/" in decoded or "\\" in decoded:
            return False
    return True


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


def request_secrets(request: Request) -> list[bytes]:
    """The secrets a request carries: its bearer token and secret form fields."""
    found: list[str] = []
    form = request.form
    auth = request.headers.get("Authorization")
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
