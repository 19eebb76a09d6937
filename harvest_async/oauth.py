"""OAuth2 through Harvest ID (https://id.getharvest.com).

Harvest docs: https://help.getharvest.com/api-v2/authentication-api/authentication/authentication/.

The authorization code flow, end to end::

    from harvest_async.oauth import HarvestID, authorization_url

    url = authorization_url(CLIENT_ID, state=csrf_token)   # send the user here
    # ... Harvest ID redirects back with ?code=...&state=...
    async with HarvestID() as harvest_id:
        token = await harvest_id.exchange_code(
            code, client_id=CLIENT_ID, client_secret=CLIENT_SECRET
        )
        accounts = await harvest_id.accounts(token.access_token)
        session = harvest_id.session(
            token, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, on_refresh=store
        )
        access_token = await session.token()   # refreshed when about to expire

- `authorization_url`: where to send the user.
- `HarvestID`: ``exchange_code``, ``refresh``, ``accounts``.
- `OAuthSession`: a token that refreshes itself (one refresh for many callers);
  a `TokenProvider`.
- `with_token_refresh`: run a request with a provider's token, refreshing once
  after a 401.
"""

from __future__ import annotations

from ._auth import TokenProvider, with_token_refresh
from ._oauth import ID_BASE_URL, HarvestID, OAuthSession, authorization_url
from .models.accounts import Account, Accounts, AccountsUser, OAuthToken

__all__ = [
    "ID_BASE_URL",
    "Account",
    "Accounts",
    "AccountsUser",
    "HarvestID",
    "OAuthSession",
    "OAuthToken",
    "TokenProvider",
    "authorization_url",
    "with_token_refresh",
]
