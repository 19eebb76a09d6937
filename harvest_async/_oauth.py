"""OAuth2 through Harvest ID: the authorize URL, token exchange and refresh, accounts,
and a self-refreshing token source (`OAuthSession`).

Harvest docs: https://help.getharvest.com/api-v2/authentication-api/authentication/authentication/.
Harvest ID lives at ``https://id.getharvest.com``:

- the user is sent to ``/oauth2/authorize?client_id=...&response_type=code`` and comes
  back to the application's redirect URI with ``code`` (and ``scope``, ``state``);
- ``POST /api/v2/oauth2/token`` trades the code (``grant_type=authorization_code``) or a
  refresh token (``grant_type=refresh_token``) for an access token; its parameters go as
  ``application/x-www-form-urlencoded`` POST fields, as in Harvest's examples (``curl -d``)
  and OAuth2 (RFC 6749, 4.1.3);
- ``GET /api/v2/accounts`` with ``Authorization: Bearer`` lists the accounts a token
  reaches.

Public names are re-exported by `harvest_async.oauth`. Secrets (client secret,
codes, tokens) never appear in ``repr()``, log records or exception messages.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import os
import urllib.parse
from collections.abc import Awaitable, Callable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ._aiohttp import AiohttpTransport
from ._closing import AsyncClosing
from ._errors import (
    ConfigurationError,
    DecodeError,
    HarvestError,
    InvalidRequestError,
)
from ._http import DEFAULT_MAX_RESPONSE_BYTES, Request, check_base_url, check_header_value
from ._ratelimit import SupportsAcquire, TokenBucket, as_rate_limiter
from ._requester import Requester
from ._version import USER_AGENT_ENV, default_user_agent
from .models.accounts import Accounts, OAuthToken
from .resources._base import operation
from .resources.accounts import AccountsResource

if TYPE_CHECKING:
    from ._aiohttp import ClientSession

__all__ = [
    "ID_BASE_URL",
    "MAX_EXPIRES_IN",
    "HarvestID",
    "OAuthSession",
    "TokenAnswerError",
    "authorization_url",
]

#: Harvest ID, where OAuth2 applications authorize and trade tokens.
ID_BASE_URL = "https://id.getharvest.com"
AUTHORIZE_PATH = "oauth2/authorize"
TOKEN_PATH = "api/v2/oauth2/token"
ACCOUNTS_PATH = "api/v2/accounts"

#: Refresh this long before the recorded expiry (clocks drift, requests take time).
DEFAULT_LEEWAY = 60.0
#: Longest ``expires_in`` believed, in seconds (ten years; Harvest's tokens last 14
#: days): a longer one, up to ``1e999999999``, is read as this.
MAX_EXPIRES_IN = 10 * 365 * 86400


def _text(name: str, value: Any, *, secret: bool = False) -> str:
    """A non-empty single-line string; a secret's value is never put in the message."""
    shown = "" if secret else f", got {value!r}"
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequestError(f"{name} must be a non-empty string{shown}")
    if any(c in value for c in "\r\n\0"):
        raise InvalidRequestError(f"{name} must not contain CR, LF or NUL characters")
    return value


def _absolute_url(name: str, value: Any) -> str:
    text = _text(name, value)
    parsed = urllib.parse.urlsplit(text)
    if not parsed.scheme or not parsed.netloc:
        raise InvalidRequestError(f"{name} must be an absolute URL, got {value!r}")
    return text


def authorization_url(
    client_id: str,
    *,
    redirect_uri: str | None = None,
    state: str | None = None,
    scope: str | Sequence[str] | None = None,
    response_type: str = "code",
    base_url: str = ID_BASE_URL,
) -> str:
    """Where to send a user to authorize an OAuth2 application.

    Example:
        >>> authorization_url("abc", state="x1")
        'https://id.getharvest.com/oauth2/authorize?client_id=abc&response_type=code&state=x1'

    Args:
        client_id: The application's client id (from Harvest ID's Developers page).
        redirect_uri: Where Harvest ID sends the user back; default: the one
            registered with the application.
        state: An opaque value Harvest ID hands back unchanged (use it against CSRF).
        scope: ``"harvest:all"``, ``"harvest:{ACCOUNT_ID}"``, ``"forecast:all"``, ... or
            several of them (joined with spaces); default: whatever the application's
            products allow.
        response_type: ``"code"`` (server-side, with a refresh token) or ``"token"``
            (the implicit grant, for client-side apps).
        base_url: Harvest ID's root; https, or http on loopback (a simulator).

    Returns:
        The absolute URL, every value percent-encoded.

    Raises:
        InvalidRequestError: an empty value, a bad ``response_type`` or a relative
            ``redirect_uri``.
        ConfigurationError: a bad ``base_url``.
    """
    return _authorization_url(
        client_id,
        redirect_uri=redirect_uri,
        state=state,
        scope=scope,
        response_type=response_type,
        base_url=base_url,
        allow_insecure_http=False,
    )


def _authorization_url(
    client_id: str,
    *,
    redirect_uri: str | None,
    state: str | None,
    scope: str | Sequence[str] | None,
    response_type: str,
    base_url: str,
    allow_insecure_http: bool,
) -> str:
    """`authorization_url`, with a `HarvestID`'s ``allow_insecure_http`` for its base URL."""
    if response_type not in ("code", "token"):
        raise InvalidRequestError(f"response_type must be 'code' or 'token', got {response_type!r}")
    params: list[tuple[str, str]] = [
        ("client_id", _text("client_id", client_id)),
        ("response_type", response_type),
    ]
    if redirect_uri is not None:
        params.append(("redirect_uri", _absolute_url("redirect_uri", redirect_uri)))
    if state is not None:
        params.append(("state", _text("state", state)))
    if scope is not None:
        scopes = [scope] if isinstance(scope, str) else list(scope)
        if not scopes:
            raise InvalidRequestError("scope must name at least one scope")
        params.append(("scope", " ".join(_text("scope", s) for s in scopes)))
    root = str(check_base_url(base_url, allow_insecure_http=allow_insecure_http)).rstrip("/")
    query = urllib.parse.urlencode(params, quote_via=urllib.parse.quote, safe="")
    return f"{root}/{AUTHORIZE_PATH}?{query}"


class TokenAnswerError(DecodeError):
    """A token answer that is not what it should be, though it may carry new tokens.

    Harvest ID may rotate the refresh token with each refresh, so a broken answer can
    hold the only refresh token that still works. Store ``token.refresh_token`` when it
    is set (an `OAuthSession` hands it to ``on_refresh`` before raising).

    Attributes:
        token: The answer's valid strings (``access_token``, ``refresh_token``,
            ``token_type``; ``expires_in`` is ``None``), or ``None`` if it had no token.
    """

    def __init__(self, message: str, token: OAuthToken | None = None) -> None:
        super().__init__(message)
        self.token = token


def _expires_in(value: Any) -> int | None:
    """``expires_in`` as whole seconds in ``[0, MAX_EXPIRES_IN]``.

    A number below 0 is 0 (expired: refresh before the next use), one above the
    maximum (however large: no huge number is ever made an int) is the maximum, and
    a fraction is dropped.

    Raises:
        ValueError: not a finite number.
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise ValueError("not a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("not finite")
    if isinstance(value, Decimal) and not value.is_finite():
        raise ValueError("not finite")
    if value >= MAX_EXPIRES_IN:
        return MAX_EXPIRES_IN
    if value <= 0:
        return 0
    return int(value)


def _decode_token(data: Any) -> OAuthToken:
    """An `OAuthToken` from a token answer; errors never quote the answer.

    Raises:
        TokenAnswerError: the answer is broken; its ``token`` keeps whatever token
            strings it did carry, so a rotated refresh token is never lost.
    """
    if not isinstance(data, dict):
        raise TokenAnswerError("the token response is not a JSON object")
    access = data.get("access_token")
    refresh = data.get("refresh_token")
    token_type = data.get("token_type")
    found_access = access if isinstance(access, str) and access else None
    found_refresh = refresh if isinstance(refresh, str) and refresh else None
    salvaged = (
        OAuthToken(
            access_token=found_access,
            refresh_token=found_refresh,
            token_type=token_type if isinstance(token_type, str) else None,
        )
        if found_access or found_refresh
        else None
    )
    if not isinstance(access, str) or not access:
        raise TokenAnswerError("the token response has no access_token", salvaged)
    if refresh is not None and not isinstance(refresh, str):
        raise TokenAnswerError("the token response's refresh_token is not a string", salvaged)
    if token_type is not None and not isinstance(token_type, str):
        raise TokenAnswerError("the token response's token_type is not a string", salvaged)
    try:
        expires_in = _expires_in(data.get("expires_in"))
    except ValueError:
        raise TokenAnswerError(
            "the token response's expires_in is not a number of seconds", salvaged
        ) from None
    return OAuthToken(
        access_token=access,
        refresh_token=refresh or None,
        token_type=token_type,
        expires_in=expires_in,
    )


class HarvestID(AsyncClosing):
    """An asyncio client for Harvest ID (``https://id.getharvest.com``).

    It runs on the same core as `HarvestClient` (transport, rate
    limiter, retries, typed errors). A failed token call raises the matching
    `APIError` with Harvest's ``error_description`` as message
    (``invalid_grant`` comes as a 400 `BadRequestError`, a bad
    client as 401 `AuthenticationError`). Token calls are POSTs:
    retried only where they certainly did not reach Harvest ID (a 429, no connection),
    so a code or refresh token is never spent twice.

    Use it as an async context manager (or call `aclose`)::

        async with HarvestID() as harvest_id:
            token = await harvest_id.exchange_code(
                code, client_id=CLIENT_ID, client_secret=CLIENT_SECRET
            )
            accounts = await harvest_id.accounts(token.access_token)

    Args:
        user_agent: Sent as ``User-Agent``; default ``$HARVEST_USER_AGENT``, then
            ``harvest_async/<version> (<project URL>)``.
        base_url: Harvest ID's root; https, or http on a loopback address only.
        rate_limiter: Admits requests; default ``TokenBucket(100, 15.0)``.
        max_retries: Retries after the first attempt of a request.
        timeout: Seconds allowed per attempt.
        session: An ``aiohttp.ClientSession`` you own (left open by `aclose`).
        allow_insecure_http: Accept a plain ``http://`` ``base_url`` on any host (codes,
            tokens and the client secret then travel in clear text: a trusted proxy or
            test network only). Without it, http is accepted on loopback addresses only.
        max_response_bytes: Larger responses fail with a ``TransportError`` (checked on
            ``Content-Length`` and while reading; never retried).

    Raises:
        ConfigurationError: a bad base URL, retry count, timeout, limiter, User-Agent,
            ``allow_insecure_http`` or ``max_response_bytes``.
    """

    def __init__(
        self,
        *,
        user_agent: str | None = None,
        base_url: str = ID_BASE_URL,
        rate_limiter: SupportsAcquire | None = None,
        max_retries: int = 5,
        timeout: float = 30.0,
        session: ClientSession | None = None,
        allow_insecure_http: bool = False,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        agent = user_agent or os.environ.get(USER_AGENT_ENV) or default_user_agent()
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ConfigurationError(f"max_retries must be an int >= 0, got {max_retries!r}")
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
            raise ConfigurationError(f"timeout must be a positive number, got {timeout!r}")
        limiter = as_rate_limiter(
            rate_limiter if rate_limiter is not None else TokenBucket(100, 15.0)
        )
        # As HarvestClient: the same check, message and check_base_url opt-in.
        if not isinstance(allow_insecure_http, bool):
            raise ConfigurationError("allow_insecure_http must be True or False")
        url = check_base_url(base_url, allow_insecure_http=allow_insecure_http)
        check_header_value("User-Agent", agent)
        self.user_agent = agent
        self.base_url = str(url)
        self._allow_insecure_http = allow_insecure_http
        self.rate_limiter: SupportsAcquire = rate_limiter if rate_limiter is not None else limiter
        transport = AiohttpTransport(
            timeout=float(timeout),
            session=session,
            max_response_bytes=max_response_bytes,  # validated there, as for HarvestClient
        )
        # No auth of its own: token calls carry none, `accounts` brings the caller's.
        self._requester = Requester(
            transport,
            base_url=url,
            limiters={"general": limiter, "reports": limiter},
            max_retries=max_retries,
            headers={"User-Agent": agent, "Accept": "application/json"},
        )
        self._accounts = AccountsResource(self._requester)

    def __repr__(self) -> str:
        return f"HarvestID(base_url={self.base_url!r})"

    def __reduce__(self) -> Any:
        raise TypeError("HarvestID cannot be pickled (it holds a connection)")

    def authorization_url(
        self,
        client_id: str,
        *,
        redirect_uri: str | None = None,
        state: str | None = None,
        scope: str | Sequence[str] | None = None,
        response_type: str = "code",
    ) -> str:
        """`authorization_url` on this client's base URL.

        Args:
            client_id: The application's client id.
            redirect_uri: Where Harvest ID sends the user back.
            state: An opaque value handed back unchanged.
            scope: One scope or several (``"harvest:all"``, ``"harvest:123"``, ...).
            response_type: ``"code"`` or ``"token"``.
        """
        return _authorization_url(
            client_id,
            redirect_uri=redirect_uri,
            state=state,
            scope=scope,
            response_type=response_type,
            base_url=self.base_url,
            allow_insecure_http=self._allow_insecure_http,
        )

    async def _token(self, form: dict[str, str]) -> OAuthToken:
        data = await self._requester.send(Request("POST", TOKEN_PATH, form=form))
        return _decode_token(data)

    @operation("POST", "id:/api/v2/oauth2/token")
    async def exchange_code(
        self,
        code: str,
        *,
        client_id: str,
        client_secret: str,
        redirect_uri: str | None = None,
    ) -> OAuthToken:
        """Trade an authorization code for an access token and a refresh token.

        Args:
            code: The ``code`` Harvest ID put on the redirect URI (single use).
            client_id: The application's client id.
            client_secret: The application's client secret (never logged or shown).
            redirect_uri: The redirect URI used in the authorize step, if one was given.

        Returns:
            `OAuthToken` with ``access_token``, ``refresh_token``,
            ``token_type`` and ``expires_in`` (seconds).

        Raises:
            InvalidRequestError: an empty argument.
            BadRequestError: Harvest ID refused the code (``invalid_grant``, ...).
            AuthenticationError: Harvest ID refused the client credentials.
        """
        form = {
            "code": _text("code", code, secret=True),
            "client_id": _text("client_id", client_id),
            "client_secret": _text("client_secret", client_secret, secret=True),
            "grant_type": "authorization_code",
        }
        if redirect_uri is not None:
            form["redirect_uri"] = _absolute_url("redirect_uri", redirect_uri)
        return await self._token(form)

    @operation("POST", "id:/api/v2/oauth2/token")
    async def refresh(
        self, refresh_token: str, *, client_id: str, client_secret: str
    ) -> OAuthToken:
        """Trade a refresh token for a new access token.

        Keep the ``refresh_token`` of the answer when it has one (it may replace the
        old one).

        Args:
            refresh_token: The refresh token (never logged or shown).
            client_id: The application's client id.
            client_secret: The application's client secret (never logged or shown).

        Returns:
            `OAuthToken`; its ``refresh_token`` may be ``None`` (keep the old).

        Raises:
            InvalidRequestError: an empty argument.
            BadRequestError: Harvest ID refused the refresh token (``invalid_grant``).
            AuthenticationError: Harvest ID refused the client credentials.
        """
        form = {
            "refresh_token": _text("refresh_token", refresh_token, secret=True),
            "client_id": _text("client_id", client_id),
            "client_secret": _text("client_secret", client_secret, secret=True),
            "grant_type": "refresh_token",
        }
        return await self._token(form)

    @operation("GET", "id:/api/v2/accounts")
    async def accounts(self, access_token: str) -> Accounts:
        """The Harvest ID user of a token and the Harvest/Forecast accounts it reaches.

        Args:
            access_token: An OAuth2 or personal access token (sent as ``Bearer``).

        Returns:
            `Accounts` (``user``, ``accounts``: ``id``, ``name``, ``product``).

        Raises:
            InvalidRequestError: an empty token.
            AuthenticationError: Harvest ID rejected the token (401).
        """
        return await self._accounts.get(access_token)

    def session(
        self,
        token: OAuthToken,
        *,
        client_id: str,
        client_secret: str,
        on_refresh: Callable[[OAuthToken], Awaitable[None] | None] | None = None,
        leeway: float = DEFAULT_LEEWAY,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> OAuthSession:
        """An `OAuthSession` that refreshes ``token`` through this client.

        Args:
            token: A fresh answer of `exchange_code` (or `refresh`).
            client_id: The application's client id.
            client_secret: The application's client secret.
            on_refresh: Called with every new token (to store the refresh token).
            leeway: Seconds before expiry at which to refresh.
            clock: Returns the current aware datetime (default: the UTC wall clock).
        """
        return OAuthSession.from_token(
            token,
            harvest_id=self,
            client_id=client_id,
            client_secret=client_secret,
            on_refresh=on_refresh,
            leeway=leeway,
            clock=clock,
        )

    async def aclose(self) -> None:
        """Close the HTTP session the client opened (a caller's session is left open)."""
        await self._requester.aclose()


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


_LATEST = dt.datetime.max.replace(tzinfo=dt.UTC)


def _expiry(issued: dt.datetime, expires_in: Any) -> dt.datetime | None:
    """When a token issued at ``issued`` expires; never raises.

    ``None`` when unknown (refresh after a 401 only); an unreadable ``expires_in`` is
    unknown too; a negative one is ``issued`` (refresh before the next use); the
    latest representable time when the sum would overflow.
    """
    try:
        seconds = _expires_in(expires_in)
    except ValueError:
        return None
    if seconds is None:
        return None
    try:
        return issued + dt.timedelta(seconds=seconds)
    except OverflowError:
        return _LATEST


class OAuthSession:
    """An OAuth2 token that refreshes itself: a `TokenProvider`.

    `token` returns the access token, refreshing it first once it is within
    ``leeway`` seconds of ``expires_at``; `refresh` replaces it now (a client calls
    it after a 401). However many tasks ask at once, one refresh request is sent: the
    others wait for it and share its result (or its error). New tokens are handed to
    ``on_refresh`` so the caller can store them (Harvest may issue a new refresh token):
    the session adopts a new token and calls ``on_refresh`` before anything else can
    fail, so a rotated refresh token is never lost. An ``expires_in`` over
    `MAX_EXPIRES_IN` (ten years) counts as that; a negative one as expired.

    Args:
        harvest_id: The `HarvestID` client that sends the refresh.
        client_id: The application's client id.
        client_secret: The application's client secret (never shown).
        access_token: The current access token (never shown).
        refresh_token: The refresh token (never shown).
        expires_at: When the access token expires (aware); ``None``: unknown, refresh
            only after a 401.
        on_refresh: Called (and awaited, if it returns an awaitable) with each new
            `OAuthToken`, while other refreshes wait. Also called with the tokens a
            broken answer did carry (its ``access_token`` may be ``None``), before the
            `TokenAnswerError` is raised.
        leeway: Refresh this many seconds before ``expires_at``.
        clock: Returns the current aware datetime (default: the UTC wall clock).

    Raises:
        ConfigurationError: a missing secret, a naive ``expires_at`` or a bad leeway.
    """

    def __init__(
        self,
        *,
        harvest_id: HarvestID,
        client_id: str,
        client_secret: str,
        access_token: str,
        refresh_token: str,
        expires_at: dt.datetime | None = None,
        on_refresh: Callable[[OAuthToken], Awaitable[None] | None] | None = None,
        leeway: float = DEFAULT_LEEWAY,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        for name, value in (
            ("client_id", client_id),
            ("client_secret", client_secret),
            ("access_token", access_token),
            ("refresh_token", refresh_token),
        ):
            try:
                _text(name, value, secret=True)
            except InvalidRequestError as exc:
                raise ConfigurationError(str(exc)) from None
        if expires_at is not None and (
            not isinstance(expires_at, dt.datetime) or expires_at.utcoffset() is None
        ):
            raise ConfigurationError("expires_at must be an aware datetime (or None)")
        if (
            isinstance(leeway, bool)
            or not isinstance(leeway, (int, float))
            or not 0 <= leeway <= MAX_EXPIRES_IN
        ):
            raise ConfigurationError(
                f"leeway must be a number of seconds in [0, {MAX_EXPIRES_IN}], got {leeway!r}"
            )
        self.harvest_id = harvest_id
        self.client_id = client_id
        self._client_secret = client_secret
        self._access_token = access_token
        self._refresh_token = refresh_token
        self._expires_at = expires_at
        self._on_refresh = on_refresh
        self.leeway = float(leeway)
        self._clock = clock or _utc_now
        self._lock = asyncio.Lock()
        # Completed refresh attempts; a waiter that sees it move shares that outcome.
        self._generation = 0
        self._failure: BaseException | None = None

    @classmethod
    def from_token(
        cls,
        token: OAuthToken,
        *,
        harvest_id: HarvestID,
        client_id: str,
        client_secret: str,
        on_refresh: Callable[[OAuthToken], Awaitable[None] | None] | None = None,
        leeway: float = DEFAULT_LEEWAY,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> OAuthSession:
        """A session from a token answer received just now (``expires_in`` counts from now).

        Args:
            token: The answer of `HarvestID.exchange_code` or `HarvestID.refresh`.
            harvest_id: The `HarvestID` client that sends refreshes.
            client_id: The application's client id.
            client_secret: The application's client secret.
            on_refresh: Called with every new token.
            leeway: Seconds before expiry at which to refresh.
            clock: Returns the current aware datetime (default: the UTC wall clock).

        Raises:
            ConfigurationError: the token has no access or refresh token.
        """
        if not token.access_token or not token.refresh_token:
            raise ConfigurationError(
                "an OAuthSession needs a token with both access_token and refresh_token"
            )
        expires_at = _expiry((clock or _utc_now)(), token.expires_in)
        return cls(
            harvest_id=harvest_id,
            client_id=client_id,
            client_secret=client_secret,
            access_token=token.access_token,
            refresh_token=token.refresh_token,
            expires_at=expires_at,
            on_refresh=on_refresh,
            leeway=leeway,
            clock=clock,
        )

    def __repr__(self) -> str:
        return (
            f"OAuthSession(client_id={self.client_id!r}, expires_at={self._expires_at!r}, "
            "access_token=<redacted>, refresh_token=<redacted>, client_secret=<redacted>)"
        )

    def __reduce__(self) -> Any:
        raise TypeError("OAuthSession cannot be pickled (it holds secrets)")

    @property
    def access_token(self) -> str:
        """The current access token (store it with `refresh_token`)."""
        return self._access_token

    @property
    def refresh_token(self) -> str:
        """The current refresh token."""
        return self._refresh_token

    @property
    def expires_at(self) -> dt.datetime | None:
        """When the current access token expires, if known."""
        return self._expires_at

    @property
    def expired(self) -> bool:
        """Whether the access token is expired or within ``leeway`` of it."""
        if self._expires_at is None:
            return False
        try:
            threshold = self._expires_at - dt.timedelta(seconds=self.leeway)
        except OverflowError:  # before the earliest representable time
            return True
        return self._clock() >= threshold

    async def token(self) -> str:
        """The access token, refreshed first if it is (about to be) expired."""
        current = self._access_token
        if self.expired:
            return await self.refresh(stale=current)
        return current

    async def refresh(self, *, stale: str | None = None) -> str:
        """Get a new access token from Harvest ID now (one request for many callers).

        Args:
            stale: The token a request was just rejected with; if it has already been
                replaced, the current token is returned and nothing is sent.

        Returns:
            The new access token.

        Raises:
            APIError: Harvest ID refused (an ``invalid_grant`` refresh token is a 400).
            TransportError: Harvest ID could not be reached.
            TokenAnswerError: the answer was broken (any token it carried was adopted
                and handed to ``on_refresh`` first).
        """
        seen = self._generation
        async with self._lock:
            if self._generation != seen:
                # A refresh ended while we waited for the lock: share its outcome.
                if self._failure is not None:
                    raise self._failure
                return self._access_token
            if stale is not None and stale != self._access_token:
                return self._access_token
            issued = self._clock()
            broken: TokenAnswerError | None = None
            try:
                new = await self.harvest_id.refresh(
                    self._refresh_token,
                    client_id=self.client_id,
                    client_secret=self._client_secret,
                )
            except TokenAnswerError as exc:
                if exc.token is None:
                    self._failure = exc
                    self._generation += 1
                    raise
                broken, new = exc, exc.token
            except HarvestError as exc:
                self._failure = exc
                self._generation += 1
                raise
            # Adopt, then persist (on_refresh), before anything that can fail: Harvest
            # ID may have revoked the old refresh token already.
            self._access_token = new.access_token or self._access_token  # never empty
            if new.refresh_token:
                self._refresh_token = new.refresh_token
            if broken is not None and not new.access_token:
                self._expires_at = issued  # no new access token: refresh before next use
            else:
                self._expires_at = _expiry(issued, new.expires_in)
            self._failure = broken
            self._generation += 1
            if self._on_refresh is not None:
                result = self._on_refresh(new)
                if result is not None:
                    await result
            if broken is not None:
                raise broken
            return self._access_token
