"""OAuth2 through Harvest ID: the authorize URL, code exchange, refresh, accounts, error
mapping, secrets kept out of repr/str/logs, and :class:`OAuthSession` (expiry on a
looptime virtual clock, one refresh for many callers, a 401 refreshed once).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import pickle
import re
import urllib.parse
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
from aioresponses import aioresponses

import harvest_async as ha
from harvest_async.oauth import (
    ID_BASE_URL,
    Account,
    Accounts,
    AccountsUser,
    HarvestID,
    OAuthSession,
    OAuthToken,
    TokenProvider,
    authorization_url,
    with_token_refresh,
)
from harvest_async.resources._base import OPERATION_ATTR
from harvest_async.resources.accounts import AccountsResource

from .conftest import Sent, sent_requests

TOKEN_URL = f"{ID_BASE_URL}/api/v2/oauth2/token"
ACCOUNTS_URL = f"{ID_BASE_URL}/api/v2/accounts"

CLIENT_ID = "client-ID-visible"
CLIENT_SECRET = "client-SECRET-0123456789"
CODE = "auth-CODE-SECRET-abcdef"
ACCESS = "access-TOKEN-SECRET-111"
REFRESH = "refresh-TOKEN-SECRET-222"
ACCESS2 = "access-TOKEN-SECRET-333"
REFRESH2 = "refresh-TOKEN-SECRET-444"
SECRETS = (CLIENT_SECRET, CODE, ACCESS, REFRESH, ACCESS2, REFRESH2)

TOKEN_BODY = (
    f'{{"access_token": "{ACCESS}", "refresh_token": "{REFRESH}", '
    '"token_type": "bearer", "expires_in": 1209599}'
)
TOKEN_BODY2 = (
    f'{{"access_token": "{ACCESS2}", "refresh_token": "{REFRESH2}", '
    '"token_type": "bearer", "expires_in": 3600}'
)
ACCOUNTS_BODY = """{
 "user": {"id": 1795925, "first_name": "Jane", "last_name": "Smith",
          "email": "jane@example.com"},
 "accounts": [
   {"id": 123456, "name": "ABC Corp", "product": "harvest"},
   {"id": 789012, "name": "ABC Corp", "product": "forecast"}
 ]
}"""
INVALID_GRANT = (
    '{"error": "invalid_grant", "error_description": "The provided authorization grant '
    "is invalid, expired, revoked, does not match the redirection URI used in the "
    'authorization request, or was issued to another client."}'
)
INVALID_CLIENT = '{"error": "invalid_client", "error_description": "Client authentication failed."}'

EPOCH = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def loop_clock() -> dt.datetime:
    """The wall clock as seen by the (virtual, under looptime) event loop."""
    return EPOCH + dt.timedelta(seconds=asyncio.get_running_loop().time())


def form_of(sent: Sent) -> dict[str, str]:
    """The url-encoded form a request carried (each field once)."""
    assert isinstance(sent.body, aiohttp.FormData)
    payload = sent.body()
    assert payload.content_type == "application/x-www-form-urlencoded"
    pairs = urllib.parse.parse_qsl(payload.decode(), keep_blank_values=True, strict_parsing=True)
    out = dict(pairs)
    assert len(out) == len(pairs)
    return out


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text, (secret, text)


@pytest.fixture
async def harvest_id() -> Any:
    async with HarvestID(user_agent="tests (dev@example.com)", max_retries=2) as hid:
        yield hid


# -- HarvestID: code exchange -------------------------------------------------------


async def test_exchange_code_sends_the_documented_form(
    mock: aioresponses, harvest_id: HarvestID
) -> None:
    mock.post(TOKEN_URL, body=TOKEN_BODY)
    token = await harvest_id.exchange_code(CODE, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    (sent,) = sent_requests(mock)
    assert sent.method == "POST"
    assert str(sent.url) == TOKEN_URL
    assert form_of(sent) == {
        "code": CODE,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "grant_type": "authorization_code",
    }
    assert sent.headers["User-Agent"] == "tests (dev@example.com)"
    assert sent.headers["Accept"] == "application/json"
    assert "Authorization" not in sent.headers
    assert "Harvest-Account-Id" not in sent.headers
    assert "Content-Type" not in sent.headers  # set by the form: url-encoded
    assert token == OAuthToken(
        access_token=ACCESS, refresh_token=REFRESH, token_type="bearer", expires_in=1209599
    )


async def test_exchange_code_with_redirect_uri(mock: aioresponses, harvest_id: HarvestID) -> None:
    mock.post(TOKEN_URL, body=TOKEN_BODY)
    await harvest_id.exchange_code(
        CODE,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        redirect_uri="https://example.com/oauth/callback?x=1&y=2",
    )
    form = form_of(only(mock))
    assert form["redirect_uri"] == "https://example.com/oauth/callback?x=1&y=2"
    assert form["grant_type"] == "authorization_code"


def only(mock: aioresponses) -> Sent:
    sent = sent_requests(mock)
    assert len(sent) == 1, sent
    return sent[0]


async def test_refresh_sends_the_refresh_grant(mock: aioresponses, harvest_id: HarvestID) -> None:
    mock.post(TOKEN_URL, body=TOKEN_BODY2)
    token = await harvest_id.refresh(REFRESH, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    assert form_of(only(mock)) == {
        "refresh_token": REFRESH,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "grant_type": "refresh_token",
    }
    assert token.access_token == ACCESS2
    assert token.refresh_token == REFRESH2
    assert token.expires_in == 3600


async def test_token_answer_without_refresh_token(
    mock: aioresponses, harvest_id: HarvestID
) -> None:
    mock.post(TOKEN_URL, body=f'{{"access_token": "{ACCESS2}", "expires_in": 3600.0}}')
    token = await harvest_id.refresh(REFRESH, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    assert token == OAuthToken(access_token=ACCESS2, refresh_token=None, expires_in=3600)


@pytest.mark.parametrize(
    "body",
    [
        "[]",
        '{"token_type": "bearer"}',
        f'{{"access_token": 5, "refresh_token": "{REFRESH}"}}',
        f'{{"access_token": "{ACCESS}", "refresh_token": 7}}',
        f'{{"access_token": "{ACCESS}", "refresh_token": "{REFRESH}", "expires_in": "soon"}}',
        f'{{"access_token": "{ACCESS}", "refresh_token": "{REFRESH}", "token_type": 1}}',
        f'{{"access_token": "{ACCESS}", "refresh_token": "{REFRESH}", "expires_in": true}}',
        f'{{"access_token": "{ACCESS}", "refresh_token": "{REFRESH}"',
    ],
)
async def test_bad_token_answer_is_a_decode_error_without_secrets(
    mock: aioresponses, harvest_id: HarvestID, body: str
) -> None:
    mock.post(TOKEN_URL, body=body)
    with pytest.raises(ha.DecodeError) as info:
        await harvest_id.exchange_code(CODE, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    assert_no_secret(str(info.value), repr(info.value))


# -- HarvestID: accounts ------------------------------------------------------------


async def test_accounts_sends_the_bearer_token_only_for_that_call(
    mock: aioresponses, harvest_id: HarvestID
) -> None:
    mock.get(ACCOUNTS_URL, body=ACCOUNTS_BODY)
    mock.post(TOKEN_URL, body=TOKEN_BODY2)
    accounts = await harvest_id.accounts(ACCESS)
    await harvest_id.refresh(REFRESH, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    get, post = sent_requests(mock)
    assert (get.method, str(get.url), get.body) == ("GET", ACCOUNTS_URL, None)
    assert get.headers["Authorization"] == f"Bearer {ACCESS}"
    assert "Harvest-Account-Id" not in get.headers
    assert get.headers["User-Agent"] == "tests (dev@example.com)"
    assert "Authorization" not in post.headers  # the header does not leak to later calls
    assert accounts == Accounts(
        user=AccountsUser(
            id=1795925, first_name="Jane", last_name="Smith", email="jane@example.com"
        ),
        accounts=[
            Account(id=123456, name="ABC Corp", product="harvest"),
            Account(id=789012, name="ABC Corp", product="forecast"),
        ],
    )


async def test_concurrent_accounts_calls_keep_their_own_tokens(
    mock: aioresponses, harvest_id: HarvestID
) -> None:
    tokens = [f"tok-{i}" for i in range(10)]
    for _ in tokens:
        mock.get(ACCOUNTS_URL, body=ACCOUNTS_BODY)
    await asyncio.gather(*(harvest_id.accounts(t) for t in tokens))
    sent = sorted(s.headers["Authorization"] for s in sent_requests(mock))
    assert sent == sorted(f"Bearer {t}" for t in tokens)


@pytest.mark.looptime
async def test_accounts_resource_is_retried_like_any_get(
    mock: aioresponses, harvest_id: HarvestID
) -> None:
    mock.get(ACCOUNTS_URL, status=503, body="")
    mock.get(ACCOUNTS_URL, body=ACCOUNTS_BODY)
    accounts = await harvest_id.accounts(ACCESS)
    assert accounts.user is not None
    assert accounts.user.id == 1795925
    assert [s.headers["Authorization"] for s in sent_requests(mock)] == [f"Bearer {ACCESS}"] * 2


@pytest.mark.parametrize("token", ["", "  ", "a\r\nX-Evil: 1", 5, None])
async def test_accounts_rejects_a_bad_token_before_sending(
    mock: aioresponses, harvest_id: HarvestID, token: Any
) -> None:
    with pytest.raises(ha.InvalidRequestError) as info:
        await harvest_id.accounts(token)
    assert sent_requests(mock) == []
    if isinstance(token, str) and token.strip():
        assert token not in str(info.value)


# -- errors ---------------------------------------------------------------------------


async def test_invalid_grant_is_a_bad_request_with_the_description(
    mock: aioresponses, harvest_id: HarvestID
) -> None:
    mock.post(TOKEN_URL, status=400, body=INVALID_GRANT)
    with pytest.raises(ha.BadRequestError) as info:
        await harvest_id.exchange_code(CODE, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    err = info.value
    assert err.status == 400
    assert err.message.startswith("The provided authorization grant is invalid")
    assert err.body["error"] == "invalid_grant"
    assert (err.method, err.url) == ("POST", TOKEN_URL)
    assert len(sent_requests(mock)) == 1  # a POST that reached Harvest ID is not re-sent
    assert_no_secret(str(err), repr(err), repr(err.body))


async def test_invalid_client_is_an_authentication_error(
    mock: aioresponses, harvest_id: HarvestID
) -> None:
    mock.post(TOKEN_URL, status=401, body=INVALID_CLIENT)
    with pytest.raises(ha.AuthenticationError, match="Client authentication failed"):
        await harvest_id.refresh(REFRESH, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)


async def test_accounts_with_a_bad_token_is_an_authentication_error(
    mock: aioresponses, harvest_id: HarvestID
) -> None:
    mock.get(
        ACCOUNTS_URL,
        status=401,
        body='{"error": "invalid_token", "error_description": "The access token is invalid"}',
    )
    with pytest.raises(ha.AuthenticationError, match="The access token is invalid") as info:
        await harvest_id.accounts(ACCESS)
    assert_no_secret(str(info.value), repr(info.value))


async def test_token_post_is_not_resent_after_a_server_error(
    mock: aioresponses, harvest_id: HarvestID
) -> None:
    mock.post(TOKEN_URL, status=502, body="Bad Gateway")
    with pytest.raises(ha.ServerError):
        await harvest_id.exchange_code(CODE, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    assert len(sent_requests(mock)) == 1


@pytest.mark.looptime
async def test_secrets_never_reach_logs_repr_or_errors(
    mock: aioresponses, harvest_id: HarvestID, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    mock.post(TOKEN_URL, status=429, headers={"Retry-After": "3"}, body="{}")
    mock.post(TOKEN_URL, body=TOKEN_BODY)
    token = await harvest_id.exchange_code(CODE, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    assert len(sent_requests(mock)) == 2  # a 429 is retried: Harvest ID did not process it
    mock.post(TOKEN_URL, status=400, body=INVALID_GRANT)
    with pytest.raises(ha.BadRequestError) as info:
        await harvest_id.refresh(REFRESH, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    session = harvest_id.session(token, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    with pytest.raises(ha.InvalidRequestError) as bad:
        await harvest_id.exchange_code(
            CODE + "\n", client_id=CLIENT_ID, client_secret=CLIENT_SECRET
        )
    with pytest.raises(ha.InvalidRequestError) as bad_secret:
        await harvest_id.refresh(REFRESH, client_id=CLIENT_ID, client_secret=CLIENT_SECRET + "\0")
    texts = [
        repr(harvest_id),
        str(harvest_id),
        repr(token),
        str(token),
        repr(session),
        str(session),
        str(info.value),
        repr(info.value),
        str(bad.value),
        str(bad_secret.value),
        *(record.getMessage() for record in caplog.records),
        *(str(record.args) for record in caplog.records),
    ]
    assert any("retrying POST" in r.getMessage() for r in caplog.records)
    assert_no_secret(*texts)
    assert CLIENT_ID in repr(session)  # the client id is not a secret


def test_harvest_id_and_session_cannot_be_pickled() -> None:
    hid = HarvestID()
    session = OAuthSession(
        harvest_id=hid,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        access_token=ACCESS,
        refresh_token=REFRESH,
    )
    with pytest.raises(TypeError):
        pickle.dumps(session)
    with pytest.raises(TypeError):
        pickle.dumps(hid)


# -- HarvestID: settings -----------------------------------------------------------


async def test_base_url_can_point_at_a_loopback_simulator(mock: aioresponses) -> None:
    async with HarvestID(base_url="http://127.0.0.1:8765/id/") as hid:
        mock.post("http://127.0.0.1:8765/id/api/v2/oauth2/token", body=TOKEN_BODY)
        mock.get("http://127.0.0.1:8765/id/api/v2/accounts", body=ACCOUNTS_BODY)
        await hid.exchange_code(CODE, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
        await hid.accounts(ACCESS)
        assert hid.authorization_url("abc") == (
            "http://127.0.0.1:8765/id/oauth2/authorize?client_id=abc&response_type=code"
        )
    assert [s.url.path for s in sent_requests(mock)] == [
        "/id/api/v2/oauth2/token",
        "/id/api/v2/accounts",
    ]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"base_url": "http://id.getharvest.com"},
        {"base_url": "id.getharvest.com"},
        {"base_url": "https://user:pw@id.getharvest.com"},
        {"max_retries": -1},
        {"max_retries": True},
        {"timeout": 0},
        {"rate_limiter": object()},
        {"user_agent": "x\r\ny"},
    ],
)
def test_bad_settings_are_configuration_errors(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ha.ConfigurationError):
        HarvestID(**kwargs)


def test_default_user_agent_and_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HARVEST_USER_AGENT", raising=False)
    hid = HarvestID()
    assert hid.user_agent.startswith("harvest_async/")
    assert repr(hid) == "HarvestID(base_url='https://id.getharvest.com')"
    monkeypatch.setenv("HARVEST_USER_AGENT", "env-agent (a@b.c)")
    assert HarvestID().user_agent == "env-agent (a@b.c)"


class CountingLimiter:
    def __init__(self) -> None:
        self.acquired = 0

    async def acquire(self) -> None:
        self.acquired += 1


async def test_requests_go_through_the_given_limiter(mock: aioresponses) -> None:
    limiter = CountingLimiter()
    async with HarvestID(rate_limiter=limiter) as hid:
        mock.get(ACCOUNTS_URL, body=ACCOUNTS_BODY)
        mock.post(TOKEN_URL, body=TOKEN_BODY)
        await hid.accounts(ACCESS)
        await hid.refresh(REFRESH, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    assert limiter.acquired == 2


async def test_caller_session_is_left_open(mock: aioresponses) -> None:
    async with aiohttp.ClientSession() as own:
        async with HarvestID(session=own) as hid:
            mock.get(ACCOUNTS_URL, body=ACCOUNTS_BODY)
            await hid.accounts(ACCESS)
        assert not own.closed
    async with HarvestID(max_retries=0) as hid2:
        pass
    with pytest.raises(ha.TransportError, match="closed"):
        await hid2.accounts(ACCESS)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda h: h.exchange_code("", client_id=CLIENT_ID, client_secret=CLIENT_SECRET), "code"),
        (lambda h: h.exchange_code(CODE, client_id="", client_secret=CLIENT_SECRET), "client_id"),
        (lambda h: h.exchange_code(CODE, client_id=CLIENT_ID, client_secret=None), "client_secret"),
        (
            lambda h: h.exchange_code(
                CODE, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, redirect_uri="/relative"
            ),
            "redirect_uri",
        ),
        (
            lambda h: h.refresh(" ", client_id=CLIENT_ID, client_secret=CLIENT_SECRET),
            "refresh_token",
        ),
    ],
)
async def test_bad_arguments_send_nothing(
    mock: aioresponses, harvest_id: HarvestID, call: Any, match: str
) -> None:
    with pytest.raises(ha.InvalidRequestError, match=match):
        await call(harvest_id)
    assert sent_requests(mock) == []


def test_operation_marks() -> None:
    assert getattr(HarvestID.exchange_code, OPERATION_ATTR) == (
        ("POST", "id:/api/v2/oauth2/token"),
    )
    assert getattr(HarvestID.refresh, OPERATION_ATTR) == (("POST", "id:/api/v2/oauth2/token"),)
    assert getattr(HarvestID.accounts, OPERATION_ATTR) == (("GET", "id:/api/v2/accounts"),)
    assert getattr(AccountsResource.get, OPERATION_ATTR) == (("GET", "id:/api/v2/accounts"),)


# -- authorization_url --------------------------------------------------------------


def test_authorization_url_minimal() -> None:
    assert authorization_url("abc") == (
        "https://id.getharvest.com/oauth2/authorize?client_id=abc&response_type=code"
    )
    assert authorization_url("abc", state="xyz") == (
        "https://id.getharvest.com/oauth2/authorize?client_id=abc&response_type=code&state=xyz"
    )


def test_authorization_url_encodes_every_value() -> None:
    url = authorization_url(
        "NMBEWl3h0r4KKNhfOsmPJw==",
        redirect_uri="https://example.com/redirect_path?a=1&b=2",
        state="s t&u=v",
        scope=["harvest:123456", "forecast:all"],
        response_type="token",
    )
    parsed = urllib.parse.urlsplit(url)
    assert (parsed.scheme, parsed.netloc, parsed.path) == (
        "https",
        "id.getharvest.com",
        "/oauth2/authorize",
    )
    assert parsed.query == (
        "client_id=NMBEWl3h0r4KKNhfOsmPJw%3D%3D&response_type=token"
        "&redirect_uri=https%3A%2F%2Fexample.com%2Fredirect_path%3Fa%3D1%26b%3D2"
        "&state=s%20t%26u%3Dv&scope=harvest%3A123456%20forecast%3Aall"
    )
    assert dict(urllib.parse.parse_qsl(parsed.query)) == {
        "client_id": "NMBEWl3h0r4KKNhfOsmPJw==",
        "response_type": "token",
        "redirect_uri": "https://example.com/redirect_path?a=1&b=2",
        "state": "s t&u=v",
        "scope": "harvest:123456 forecast:all",
    }
    assert "scope=harvest%3Aall" in authorization_url("abc", scope="harvest:all")


@pytest.mark.parametrize(
    ("args", "kwargs", "error"),
    [
        (("",), {}, ha.InvalidRequestError),
        ((None,), {}, ha.InvalidRequestError),
        (("abc",), {"response_type": "password"}, ha.InvalidRequestError),
        (("abc",), {"redirect_uri": "example.com/cb"}, ha.InvalidRequestError),
        (("abc",), {"state": "a\nb"}, ha.InvalidRequestError),
        (("abc",), {"scope": []}, ha.InvalidRequestError),
        (("abc",), {"base_url": "http://evil.example.com"}, ha.ConfigurationError),
    ],
)
def test_authorization_url_rejects(args: Any, kwargs: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        authorization_url(*args, **kwargs)


# -- OAuthSession ---------------------------------------------------------------------


class FakeID:
    """Stands in for HarvestID.refresh: counts calls, takes ``delay`` seconds."""

    def __init__(self, *, delay: float = 1.0, fail: BaseException | None = None) -> None:
        self.calls = 0
        self.delay = delay
        self.fail = fail
        self.seen: list[tuple[str, str, str]] = []

    async def refresh(self, refresh_token: str, *, client_id: str, client_secret: str) -> Any:
        self.calls += 1
        self.seen.append((refresh_token, client_id, client_secret))
        await asyncio.sleep(self.delay)
        if self.fail is not None:
            raise self.fail
        n = self.calls
        return OAuthToken(
            access_token=f"access-{n}",
            refresh_token=f"refresh-{n}",
            token_type="bearer",
            expires_in=3600,
        )


def fake_session(fake: FakeID, **kwargs: Any) -> OAuthSession:
    defaults: dict[str, Any] = {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "access_token": ACCESS,
        "refresh_token": REFRESH,
        "clock": loop_clock,
    }
    defaults.update(kwargs)
    return OAuthSession(harvest_id=fake, **defaults)  # type: ignore[arg-type]


@pytest.mark.looptime
async def test_session_refreshes_on_expiry_on_a_virtual_clock(
    mock: aioresponses, harvest_id: HarvestID
) -> None:
    loop = asyncio.get_running_loop()
    token = OAuthToken(access_token=ACCESS, refresh_token=REFRESH, expires_in=1000)
    stored: list[OAuthToken] = []
    session = harvest_id.session(
        token,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        leeway=60,
        clock=loop_clock,
        on_refresh=stored.append,
    )
    start = loop_clock()
    assert session.expires_at == start + dt.timedelta(seconds=1000)
    assert await session.token() == ACCESS
    await asyncio.sleep(939)
    assert not session.expired
    assert await session.token() == ACCESS
    assert sent_requests(mock) == []
    await asyncio.sleep(1)  # 940 s: within the 60 s leeway
    assert session.expired
    mock.post(TOKEN_URL, body=TOKEN_BODY2)
    t0 = loop.time()
    assert await session.token() == ACCESS2
    assert loop.time() == t0  # the refresh itself took no virtual time
    assert form_of(only(mock))["refresh_token"] == REFRESH
    assert session.access_token == ACCESS2
    assert session.refresh_token == REFRESH2
    assert session.expires_at == loop_clock() + dt.timedelta(seconds=3600)
    assert not session.expired
    assert [t.access_token for t in stored] == [ACCESS2]


@pytest.mark.looptime
async def test_session_single_flight_refresh() -> None:
    loop = asyncio.get_running_loop()
    fake = FakeID(delay=5.0)
    session = fake_session(fake, expires_at=loop_clock() + dt.timedelta(seconds=100), leeway=0)
    await asyncio.sleep(100)
    t0 = loop.time()
    tokens = await asyncio.gather(*(session.token() for _ in range(50)))
    assert tokens == ["access-1"] * 50
    assert fake.calls == 1
    assert fake.seen == [(REFRESH, CLIENT_ID, CLIENT_SECRET)]
    assert loop.time() - t0 == pytest.approx(5.0)
    # Fresh again: nothing more is sent.
    assert await session.token() == "access-1"
    assert fake.calls == 1
    # The rotated refresh token is used next time.
    await asyncio.sleep(3600)
    assert await session.token() == "access-2"
    assert fake.seen[-1][0] == "refresh-1"


@pytest.mark.looptime
async def test_session_single_flight_with_the_real_client(
    mock: aioresponses, harvest_id: HarvestID
) -> None:
    session = OAuthSession(
        harvest_id=harvest_id,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        access_token=ACCESS,
        refresh_token=REFRESH,
        clock=loop_clock,
        expires_at=loop_clock() - dt.timedelta(seconds=1),
    )
    mock.post(TOKEN_URL, body=TOKEN_BODY2)
    tokens = await asyncio.gather(*(session.token() for _ in range(20)))
    assert tokens == [ACCESS2] * 20
    assert len(sent_requests(mock)) == 1


@pytest.mark.looptime
async def test_stale_refresh_after_a_refresh_sends_nothing() -> None:
    fake = FakeID()
    session = fake_session(fake)
    assert await session.refresh(stale=ACCESS) == "access-1"
    # A request sent with the old token gets its 401 late: the new token is reused.
    assert await session.refresh(stale=ACCESS) == "access-1"
    assert fake.calls == 1
    # Without stale (or with the current token) a refresh always happens.
    assert await session.refresh(stale="access-1") == "access-2"
    assert await session.refresh() == "access-3"
    assert fake.calls == 3


@pytest.mark.looptime
async def test_failed_refresh_is_shared_by_its_waiters_then_retried() -> None:
    error = ha.BadRequestError("invalid_grant", status=400, method="POST", url=TOKEN_URL)
    fake = FakeID(delay=2.0, fail=error)
    session = fake_session(fake, expires_at=loop_clock(), leeway=0)
    results = await asyncio.gather(*(session.token() for _ in range(10)), return_exceptions=True)
    assert all(r is error for r in results)
    assert fake.calls == 1
    assert session.access_token == ACCESS  # unchanged
    # A later caller tries again.
    fake.fail = None
    assert await session.token() == "access-2"
    assert fake.calls == 2


@pytest.mark.looptime
async def test_cancelled_refresh_lets_a_waiter_refresh() -> None:
    fake = FakeID(delay=10.0)
    session = fake_session(fake, expires_at=loop_clock(), leeway=0)
    first = asyncio.create_task(session.token())
    await asyncio.sleep(1)
    second = asyncio.create_task(session.token())
    await asyncio.sleep(1)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    assert await second == "access-2"
    assert fake.calls == 2


@pytest.mark.looptime
async def test_async_on_refresh_is_awaited_in_order() -> None:
    stored: list[str] = []

    async def store(token: OAuthToken) -> None:
        await asyncio.sleep(3)
        assert token.refresh_token is not None
        stored.append(token.refresh_token)

    loop = asyncio.get_running_loop()
    fake = FakeID(delay=1.0)
    session = fake_session(fake, on_refresh=store)
    t0 = loop.time()
    # The second caller shares the first refresh, once it has been stored.
    assert list(await asyncio.gather(session.refresh(), session.refresh())) == ["access-1"] * 2
    assert loop.time() - t0 == pytest.approx(4.0)
    assert stored == ["refresh-1"]
    assert await session.refresh() == "access-2"
    assert stored == ["refresh-1", "refresh-2"]


@pytest.mark.looptime
async def test_session_without_expiry_refreshes_only_when_asked() -> None:
    fake = FakeID()
    session = fake_session(fake)
    await asyncio.sleep(30 * 86400)  # (looptime stalls on much longer single sleeps)
    assert not session.expired
    assert await session.token() == ACCESS
    assert fake.calls == 0


@pytest.mark.looptime
async def test_refresh_without_new_refresh_token_keeps_the_old(
    mock: aioresponses, harvest_id: HarvestID
) -> None:
    session = OAuthSession(
        harvest_id=harvest_id,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        access_token=ACCESS,
        refresh_token=REFRESH,
        clock=loop_clock,
        expires_at=loop_clock(),
    )
    mock.post(TOKEN_URL, body=f'{{"access_token": "{ACCESS2}"}}')
    assert await session.token() == ACCESS2
    assert session.refresh_token == REFRESH
    assert session.expires_at is None  # Harvest ID did not say


def test_session_is_a_token_provider() -> None:
    session = fake_session(FakeID())
    assert isinstance(session, TokenProvider)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"client_secret": ""}, "client_secret"),
        ({"access_token": None}, "access_token"),
        ({"refresh_token": "a\nb"}, "refresh_token"),
        ({"expires_at": dt.datetime(2024, 1, 1)}, "aware"),
        ({"leeway": -1}, "leeway"),
    ],
)
def test_session_rejects_bad_settings(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ha.ConfigurationError, match=match) as info:
        fake_session(FakeID(), **kwargs)
    assert_no_secret(str(info.value))


def test_from_token_needs_both_tokens() -> None:
    with pytest.raises(ha.ConfigurationError, match="refresh_token"):
        OAuthSession.from_token(
            OAuthToken(access_token=ACCESS),
            harvest_id=HarvestID(),
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
        )


def test_from_token_uses_the_wall_clock_by_default() -> None:
    before = dt.datetime.now(dt.UTC)
    session = OAuthSession.from_token(
        OAuthToken(access_token=ACCESS, refresh_token=REFRESH, expires_in=3600),
        harvest_id=HarvestID(),
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
    )
    after = dt.datetime.now(dt.UTC)
    assert session.expires_at is not None
    assert before + dt.timedelta(hours=1) <= session.expires_at <= after + dt.timedelta(hours=1)
    assert not session.expired


# -- with_token_refresh: a 401 refreshes once -----------------------------------------


def unauthorized() -> ha.AuthenticationError:
    return ha.AuthenticationError("Unauthorized", status=401, method="GET", url="https://x/")


@pytest.mark.looptime
async def test_401_refreshes_once_and_resends() -> None:
    fake = FakeID()
    session = fake_session(fake)
    used: list[str] = []

    async def send(token: str) -> str:
        used.append(token)
        if token == ACCESS:
            raise unauthorized()
        return f"ok with {token}"

    assert await with_token_refresh(session, send) == "ok with access-1"
    assert used == [ACCESS, "access-1"]
    assert fake.calls == 1


@pytest.mark.looptime
async def test_second_401_is_raised() -> None:
    fake = FakeID()
    session = fake_session(fake)
    used: list[str] = []

    async def send(token: str) -> str:
        used.append(token)
        raise unauthorized()

    with pytest.raises(ha.AuthenticationError):
        await with_token_refresh(session, send)
    assert used == [ACCESS, "access-1"]
    assert fake.calls == 1


@pytest.mark.looptime
async def test_other_errors_do_not_refresh() -> None:
    fake = FakeID()
    session = fake_session(fake)

    async def send(token: str) -> str:
        raise ha.PermissionDeniedError("no", status=403, method="GET", url="https://x/")

    with pytest.raises(ha.PermissionDeniedError):
        await with_token_refresh(session, send)
    assert fake.calls == 0


@pytest.mark.looptime
async def test_many_401s_at_once_share_one_refresh() -> None:
    fake = FakeID(delay=3.0)
    session = fake_session(fake)

    async def send(token: str) -> str:
        await asyncio.sleep(0.5)
        if token == ACCESS:
            raise unauthorized()
        return token

    results = await asyncio.gather(*(with_token_refresh(session, send) for _ in range(30)))
    assert results == ["access-1"] * 30
    assert fake.calls == 1


@pytest.mark.looptime
async def test_failed_refresh_after_401_raises_the_refresh_error() -> None:
    error = ha.BadRequestError("invalid_grant", status=400, method="POST", url=TOKEN_URL)
    session = fake_session(FakeID(fail=error))

    async def send(token: str) -> str:
        raise unauthorized()

    with pytest.raises(ha.BadRequestError) as info:
        await with_token_refresh(session, send)
    assert isinstance(info.value.__context__, ha.AuthenticationError)


def _no_secret_in(obj: Any) -> Iterator[str]:
    yield repr(obj)
    yield str(obj)


def test_oauth_token_repr_hides_tokens() -> None:
    token = OAuthToken(
        access_token=ACCESS, refresh_token=REFRESH, token_type="bearer", expires_in=10
    )
    assert_no_secret(*_no_secret_in(token))
    assert "expires_in=10" in repr(token)
    assert re.search(r"token_type='bearer'", repr(token))
