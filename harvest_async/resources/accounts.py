"""The accounts a token can reach, from Harvest ID (``GET /api/v2/accounts``).

Harvest docs: https://help.getharvest.com/api-v2/authentication-api/authentication/authentication/.

This resource runs over a `HarvestID` client (base URL
``https://id.getharvest.com``), not over `HarvestClient`: the call
carries the token being asked about as ``Authorization: Bearer`` and no
``Harvest-Account-Id``. Use it as ``await harvest_id.accounts(access_token)``.
"""

from __future__ import annotations

from .._auth import StaticToken
from .._errors import InvalidRequestError
from .._http import Request
from ..models.accounts import Accounts
from ._base import Resource, operation

__all__ = ["AccountsResource", "token_of"]


def token_of(access_token: str) -> StaticToken:
    """The token a call is about, as its request's provider; the error never shows it."""
    if not isinstance(access_token, str) or not access_token.strip():
        raise InvalidRequestError("access_token must be a non-empty string")
    if any(c in access_token for c in "\r\n\0"):
        raise InvalidRequestError("access_token must not contain CR, LF or NUL characters")
    return StaticToken(access_token)


class AccountsResource(Resource):
    """``harvest_id.accounts``: the Harvest ID user and the accounts a token can reach."""

    @operation("GET", "id:/api/v2/accounts")
    async def get(self, access_token: str) -> Accounts:
        """The user a token belongs to and the Harvest and Forecast accounts it reaches.

        Args:
            access_token: An OAuth2 or personal access token (sent as ``Bearer``; never
                shown in errors or logs).

        Returns:
            `Accounts`: ``user`` and ``accounts`` (``id``, ``name``, ``product``).

        Raises:
            InvalidRequestError: an empty token, or one with CR/LF.
            AuthenticationError: Harvest ID rejected the token (401).
        """
        request = Request("GET", "api/v2/accounts", auth=token_of(access_token))
        return await self._record(Accounts, request)
