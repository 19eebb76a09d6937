"""Where a request's access token comes from: the `TokenProvider` protocol.

A personal access token is the simplest provider (`StaticToken`); an OAuth2 token that
refreshes itself is another (`harvest_async.oauth.OAuthSession`). The requester asks
its provider for a token before each request and, after a 401, once for a new one
(`with_token_refresh`): that is the one place where a request is authorized
(https://help.getharvest.com/api-v2/authentication-api/authentication/authentication/).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar, runtime_checkable

from ._errors import AuthenticationError, ConfigurationError

__all__ = ["StaticToken", "TokenProvider", "with_token_refresh"]

T = TypeVar("T")


@runtime_checkable
class TokenProvider(Protocol):
    """Where a client gets its access token, and a new one after a 401."""

    async def token(self) -> str:
        """A token to send now (refreshed first when it is about to expire)."""
        ...

    async def refresh(self, *, stale: str | None = None) -> str:
        """A new token; ``stale`` is the one just rejected (skip if already replaced)."""
        ...


class StaticToken:
    """A token that never changes (a personal access token): a `TokenProvider`.

    `refresh` has nothing new to give and returns the same token, so a 401 is raised
    as is (`with_token_refresh` re-sends only with a different token).

    Raises:
        ConfigurationError: an empty token, or one with CR, LF or NUL characters.
    """

    __slots__ = ("_token",)

    def __init__(self, token: str) -> None:
        if not isinstance(token, str) or not token:
            raise ConfigurationError("access_token must be a non-empty string")
        if any(c in token for c in "\r\n\0"):
            raise ConfigurationError("access_token must not contain CR, LF or NUL characters")
        self._token = token

    def __repr__(self) -> str:
        return "StaticToken(<redacted>)"

    def __reduce__(self) -> tuple[()]:
        raise TypeError("StaticToken cannot be pickled (it holds a secret)")

    async def token(self) -> str:
        return self._token

    async def refresh(self, *, stale: str | None = None) -> str:
        return self._token


async def with_token_refresh(provider: TokenProvider, send: Callable[[str], Awaitable[T]]) -> T:
    """Run ``send(token)``; after a 401, refresh the token once and run it again.

    A 401 means Harvest did not process the request, so even a POST may be re-sent.
    A second 401 is raised as is, and so is the first when the provider has no other
    token to offer (a `StaticToken`).

    Args:
        provider: Where the token comes from (an `OAuthSession`, a `StaticToken`).
        send: Sends the request with the given access token.
    """
    token = await provider.token()
    try:
        return await send(token)
    except AuthenticationError:
        fresh = await provider.refresh(stale=token)
        if fresh == token:
            raise
    return await send(fresh)
