"""The proposed core change: HarvestClient.from_oauth + Requester token_provider."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
from aioresponses import aioresponses

import harvest_async as ha
from harvest_async.oauth import HarvestID, OAuthSession

from .conftest import BASE, sent_requests
from .records import complete

TOKEN_URL = "https://id.getharvest.com/api/v2/oauth2/token"
ME = complete(ha.models.User, '{"id": 1, "first_name": "Jane"}')
NEW = '{"access_token": "NEW", "refresh_token": "R2", "expires_in": 3600}'
EPOCH = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def clock() -> dt.datetime:
    return EPOCH + dt.timedelta(seconds=asyncio.get_running_loop().time())


def auths(mock: aioresponses) -> list[tuple[str, str, str | None]]:
    return sorted(
        (s.method, s.url.path, s.headers.get("Authorization") or "-") for s in sent_requests(mock)
    )


def by_token(url: Any, **kwargs: Any) -> Any:
    from aioresponses import CallbackResult

    if kwargs["headers"].get("Authorization") == "Bearer OLD":
        return CallbackResult(status=401, body="{}")
    return CallbackResult(status=200, body=ME)


async def make(
    expires_at: dt.datetime | None = None,
) -> tuple[HarvestID, OAuthSession, ha.HarvestClient]:
    hid = HarvestID(max_retries=0)
    session = OAuthSession(
        harvest_id=hid,
        client_id="cid",
        client_secret="SECRET",
        access_token="OLD",
        refresh_token="R1",
        expires_at=expires_at,
        clock=clock,
    )
    client = ha.HarvestClient.from_oauth(session, 123, user_agent="t (t@e.st)", max_retries=0)
    return hid, session, client


@pytest.mark.looptime
async def test_401_refreshes_and_resends(mock: aioresponses) -> None:
    hid, session, client = await make()
    mock.get(f"{BASE}/users/me", status=401, body='{"error": "invalid_token"}')
    mock.post(TOKEN_URL, body=NEW)
    mock.get(f"{BASE}/users/me", body=ME)
    me = await client.users.me()
    assert me.id == 1
    assert auths(mock) == [
        ("GET", "/v2/users/me", "Bearer NEW"),
        ("GET", "/v2/users/me", "Bearer OLD"),
        ("POST", "/api/v2/oauth2/token", "-"),
    ]
    assert session.refresh_token == "R2"
    await client.aclose()
    await hid.aclose()


@pytest.mark.looptime
async def test_expired_token_is_refreshed_first(mock: aioresponses) -> None:
    hid, _session, client = await make(expires_at=EPOCH)
    mock.post(TOKEN_URL, body=NEW)
    mock.get(f"{BASE}/users/me", body=ME)
    await client.users.me()
    assert auths(mock) == [
        ("GET", "/v2/users/me", "Bearer NEW"),
        ("POST", "/api/v2/oauth2/token", "-"),
    ]
    await client.aclose()
    await hid.aclose()


@pytest.mark.looptime
async def test_post_401_is_resent_once_and_second_401_raised(mock: aioresponses) -> None:
    hid, _session, client = await make()
    mock.post(f"{BASE}/clients", status=401, body="{}")
    mock.post(TOKEN_URL, body=NEW)
    mock.post(f"{BASE}/clients", status=401, body="{}")
    with pytest.raises(ha.AuthenticationError):
        await client.clients.create(name="x")
    assert auths(mock) == [
        ("POST", "/api/v2/oauth2/token", "-"),
        ("POST", "/v2/clients", "Bearer NEW"),
        ("POST", "/v2/clients", "Bearer OLD"),
    ]
    await client.aclose()
    await hid.aclose()


@pytest.mark.looptime
async def test_many_401s_one_refresh(mock: aioresponses) -> None:
    hid, _session, client = await make()
    mock.get(f"{BASE}/users/me", callback=by_token, repeat=True)
    mock.post(TOKEN_URL, body=NEW)
    await asyncio.gather(*(client.users.me() for _ in range(10)))
    got = auths(mock)
    assert got.count(("POST", "/api/v2/oauth2/token", "-")) == 1
    assert got.count(("GET", "/v2/users/me", "Bearer OLD")) >= 1
    assert got.count(("GET", "/v2/users/me", "Bearer NEW")) == 10
    await client.aclose()
    await hid.aclose()


def test_settings() -> None:
    hid = HarvestID()
    s = OAuthSession(
        harvest_id=hid, client_id="c", client_secret="s", access_token="a", refresh_token="r"
    )
    with pytest.raises(ha.ConfigurationError):
        ha.HarvestClient(access_token="x", account_id=1, token_provider=s)
    with pytest.raises(ha.ConfigurationError):
        ha.HarvestClient(account_id=1, token_provider=object())  # type: ignore[arg-type]
