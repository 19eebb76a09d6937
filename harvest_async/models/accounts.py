"""Harvest ID records: OAuth2 tokens and the accounts a token can reach.

These live at https://id.getharvest.com, not in the API v2 OpenAPI description. Harvest
docs: https://help.getharvest.com/api-v2/authentication-api/authentication/authentication/.
"""

from __future__ import annotations

import attrs

__all__ = ["Account", "Accounts", "AccountsUser", "OAuthToken"]


@attrs.frozen(kw_only=True)
class Account:
    """An account a token can reach (``product`` is ``"harvest"`` or ``"forecast"``)."""

    id: int | None = None
    name: str | None = None
    product: str | None = None
    google_sign_in_required: bool | None = None


@attrs.frozen(kw_only=True)
class AccountsUser:
    """The Harvest ID user a token belongs to."""

    id: int | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None


@attrs.frozen(kw_only=True)
class Accounts:
    """The answer of ``GET /api/v2/accounts``: the user and the accounts it can reach."""

    user: AccountsUser | None = None
    accounts: list[Account] | None = None


@attrs.frozen(kw_only=True)
class OAuthToken:
    """An OAuth2 token answer; its repr never shows the token strings."""

    access_token: str | None = attrs.field(default=None, repr=False)
    refresh_token: str | None = attrs.field(default=None, repr=False)
    token_type: str | None = None
    expires_in: int | None = None
