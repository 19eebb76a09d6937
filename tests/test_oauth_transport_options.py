"""`HarvestID`'s transport options, as `HarvestClient`'s: ``allow_insecure_http`` (plain
http off loopback only as an explicit opt-in, refused before anything is sent) and
``max_response_bytes`` (an oversized token answer is a `ResponseTooLargeError` that never
shows the token), with the same validation and errors.

Mocked Harvest ID (aioresponses) for the http opt-in; real loopback servers for the size
cap (aioresponses does not stream bodies). Nothing sleeps.
"""

from __future__ import annotations

import inspect
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aioresponses import aioresponses

import harvest_async as ha
from harvest_async._errors import ResponseTooLargeError
from harvest_async._http import DEFAULT_MAX_RESPONSE_BYTES
from harvest_async.oauth import HarvestID, OAuthSession, authorization_url

from .conftest import ACCOUNT, TOKEN, sent_requests
from .records import complete

CLIENT_ID = "client-ID-visible"
CLIENT_SECRET = "client-SECRET-0123456789"
CODE = "auth-CODE-SECRET-abcdef"
ACCESS = "access-TOKEN-SECRET-111"
REFRESH = "refresh-TOKEN-SECRET-222"
SECRETS = (CLIENT_SECRET, CODE, ACCESS, REFRESH)
TOKEN_BODY = (
    f'{{"access_token": "{ACCESS}", "refresh_token": "{REFRESH}", '
    '"token_type": "bearer", "expires_in": 1209599}'
)
#: A token answer carrying the secrets first, then padding: about 64 KiB.
BIG_TOKEN_BODY = (
    f'{{"access_token": "{ACCESS}", "refresh_token": "{REFRESH}", '
    '"token_type": "bearer", "expires_in": 1209599, "padding": "' + "x" * 65536 + '"}'
).encode()

PROXY_ID = "http://id-proxy.internal"
PROXY_API = "http://api-proxy.internal/v2"


def exchange(harvest_id: HarvestID) -> Awaitable[Any]:
    return harvest_id.exchange_code(CODE, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)


def everything_shown(exc: BaseException) -> str:
    """Every text an exception can reach a log or a user with, its chain included."""
    parts = [str(exc), repr(exc), repr(exc.args), "".join(traceback.format_exception(exc))]
    for linked in (exc.__cause__, exc.__context__):
        if linked is not None:
            parts += [str(linked), repr(linked)]
    return "\n".join(parts)


# --- the signature matches HarvestClient's ---------------------------------------------


@pytest.mark.parametrize("name", ["allow_insecure_http", "max_response_bytes"])
def test_options_are_keyword_only_with_harvest_clients_defaults(name: str) -> None:
    ours = inspect.signature(HarvestID).parameters[name]
    theirs = inspect.signature(ha.HarvestClient).parameters[name]
    assert ours.kind is inspect.Parameter.KEYWORD_ONLY
    assert ours.default == theirs.default
    assert ours.annotation == theirs.annotation
    args = (inspect.getdoc(HarvestID) or "").split("Args:", 1)[1]
    assert f"\n    {name}: " in args


def test_the_default_cap_is_harvest_clients() -> None:
    assert inspect.signature(HarvestID).parameters["max_response_bytes"].default == (
        DEFAULT_MAX_RESPONSE_BYTES
    )


# --- allow_insecure_http -----------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["http://id.getharvest.com", "http://10.0.0.5", PROXY_ID, "http://id.example/x"],
)
async def test_plain_http_off_loopback_is_refused_before_sending(
    mock: aioresponses, url: str
) -> None:
    mock.post(f"{url}/api/v2/oauth2/token", body=TOKEN_BODY, repeat=True)
    with pytest.raises(ha.ConfigurationError, match="https") as info:
        HarvestID(base_url=url)
    assert "allow_insecure_http=True" in str(info.value)
    # HarvestClient refuses the same URL with the same error.
    with pytest.raises(ha.ConfigurationError) as client_info:
        ha.HarvestClient(access_token=TOKEN, account_id=ACCOUNT, base_url=url)
    assert type(info.value) is type(client_info.value)
    assert str(info.value) == str(client_info.value)
    assert sent_requests(mock) == []


async def test_plain_http_is_accepted_with_the_opt_in(mock: aioresponses) -> None:
    mock.post(f"{PROXY_ID}/api/v2/oauth2/token", body=TOKEN_BODY)
    async with HarvestID(base_url=PROXY_ID, allow_insecure_http=True, max_retries=0) as harvest_id:
        assert harvest_id.base_url.rstrip("/") == PROXY_ID
        token = await exchange(harvest_id)
    assert token.access_token == ACCESS
    [sent] = sent_requests(mock)
    assert (sent.method, str(sent.url)) == ("POST", f"{PROXY_ID}/api/v2/oauth2/token")
    assert sent.url.scheme == "http"


async def test_the_opt_in_is_about_the_scheme_only(mock: aioresponses) -> None:
    with pytest.raises(ha.ConfigurationError):
        HarvestID(base_url="ftp://id-proxy.internal", allow_insecure_http=True)
    with pytest.raises(ha.ConfigurationError, match="credentials"):
        HarvestID(base_url="http://u:p@id-proxy.internal", allow_insecure_http=True)
    assert sent_requests(mock) == []


def test_loopback_http_and_https_need_no_opt_in() -> None:
    assert HarvestID(base_url="http://127.0.0.1:9").base_url
    assert HarvestID(base_url="http://localhost").base_url
    assert HarvestID(base_url="https://id.example").base_url


def test_authorization_url_follows_the_clients_opt_in() -> None:
    harvest_id = HarvestID(base_url=PROXY_ID, allow_insecure_http=True)
    url = harvest_id.authorization_url(CLIENT_ID, state="s1")
    assert url == f"{PROXY_ID}/oauth2/authorize?client_id={CLIENT_ID}&response_type=code&state=s1"
    # The module function has no opt-in: it still refuses plain http off loopback.
    with pytest.raises(ha.ConfigurationError, match="https"):
        authorization_url(CLIENT_ID, base_url=PROXY_ID)
    assert HarvestID().authorization_url(CLIENT_ID) == authorization_url(CLIENT_ID)


async def test_from_oauth_refreshes_through_an_insecure_harvest_id(mock: aioresponses) -> None:
    """OAuthSession and HarvestClient.from_oauth work over opted-in plain http."""
    new = '{"access_token": "access-NEW-SECRET-999", "refresh_token": "R2", "expires_in": 60}'
    mock.get(f"{PROXY_API}/users/me", status=401, body='{"error": "invalid_token"}')
    mock.post(f"{PROXY_ID}/api/v2/oauth2/token", body=new)
    mock.get(
        f"{PROXY_API}/users/me", body=complete(ha.models.User, '{"id": 1, "first_name": "Jane"}')
    )
    async with HarvestID(base_url=PROXY_ID, allow_insecure_http=True, max_retries=0) as harvest_id:
        session = OAuthSession(
            harvest_id=harvest_id,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            access_token=ACCESS,
            refresh_token=REFRESH,
        )
        async with ha.HarvestClient.from_oauth(
            session,
            ACCOUNT,
            base_url=PROXY_API,
            allow_insecure_http=True,
            max_retries=0,
            max_response_bytes=1 << 16,
        ) as client:
            me = await client.users.me()
    assert me.id == 1
    assert session.access_token == "access-NEW-SECRET-999"
    assert sorted(
        (s.method, str(s.url), s.headers.get("Authorization", "-")) for s in sent_requests(mock)
    ) == [
        ("GET", f"{PROXY_API}/users/me", "Bearer access-NEW-SECRET-999"),
        ("GET", f"{PROXY_API}/users/me", f"Bearer {ACCESS}"),
        ("POST", f"{PROXY_ID}/api/v2/oauth2/token", "-"),
    ]


# --- max_response_bytes ------------------------------------------------------------------


class IdServer:
    """A loopback server that answers every request with ``BIG_TOKEN_BODY``."""

    def __init__(self, *, chunked: bool) -> None:
        self.chunked = chunked
        self.hits = 0
        self.url = ""

    async def token(self, request: web.Request) -> web.StreamResponse:
        self.hits += 1
        await request.read()
        if not self.chunked:
            return web.Response(body=BIG_TOKEN_BODY, content_type="application/json")
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        try:
            for start in range(0, len(BIG_TOKEN_BODY), 4096):
                await response.write(BIG_TOKEN_BODY[start : start + 4096])
            await response.write_eof()
        except (ConnectionError, aiohttp.ClientConnectionResetError):
            pass  # the client hung up at its cap
        return response


@pytest.fixture
async def id_server() -> AsyncIterator[Callable[[bool], Awaitable[IdServer]]]:
    runners: list[web.AppRunner] = []

    async def start(chunked: bool) -> IdServer:
        server = IdServer(chunked=chunked)
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", server.token)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        server.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        return server

    yield start
    for runner in runners:
        await runner.cleanup()


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_an_oversized_token_answer_is_refused_without_showing_the_token(
    id_server: Callable[[bool], Awaitable[IdServer]], chunked: bool
) -> None:
    server = await id_server(chunked)
    async with HarvestID(base_url=server.url, max_response_bytes=4096, max_retries=2) as harvest_id:
        with pytest.raises(ResponseTooLargeError, match="4096-byte limit") as info:
            await exchange(harvest_id)
    assert isinstance(info.value, ha.TransportError)
    assert server.hits == 1  # never retried: it would be as large again
    shown = everything_shown(info.value)
    for secret in SECRETS:
        assert secret not in shown


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_harvest_client_raises_the_same_error_type(
    id_server: Callable[[bool], Awaitable[IdServer]], chunked: bool
) -> None:
    """The reference: HarvestClient over the same server and cap."""
    server = await id_server(chunked)
    async with ha.HarvestClient(
        access_token=TOKEN,
        account_id=ACCOUNT,
        base_url=f"{server.url}/v2",
        max_response_bytes=4096,
        max_retries=0,
    ) as client:
        with pytest.raises(ha.HarvestError) as client_info:
            await client.users.me()
    async with HarvestID(base_url=server.url, max_response_bytes=4096, max_retries=0) as harvest_id:
        with pytest.raises(ha.HarvestError) as id_info:
            await exchange(harvest_id)
    assert type(id_info.value) is type(client_info.value) is ResponseTooLargeError


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_a_token_answer_within_the_cap_is_read(
    id_server: Callable[[bool], Awaitable[IdServer]], chunked: bool
) -> None:
    server = await id_server(chunked)
    async with HarvestID(
        base_url=server.url, max_response_bytes=len(BIG_TOKEN_BODY), max_retries=0
    ) as harvest_id:
        token = await exchange(harvest_id)
    async with HarvestID(base_url=server.url, max_retries=0) as harvest_id:  # default cap
        again = await exchange(harvest_id)
    assert token.access_token == again.access_token == ACCESS
    assert server.hits == 2


# --- bad option values ---------------------------------------------------------------------


@pytest.mark.parametrize("value", [0, -1, True, False, 1.5, "1", None, 2.0])
async def test_a_bad_max_response_bytes_is_refused_before_sending(
    mock: aioresponses, value: Any
) -> None:
    mock.post("https://id.getharvest.com/api/v2/oauth2/token", body=TOKEN_BODY, repeat=True)
    with pytest.raises(ha.ConfigurationError, match="max_response_bytes") as info:
        HarvestID(max_response_bytes=value)
    with pytest.raises(ha.ConfigurationError) as client_info:
        ha.HarvestClient(access_token=TOKEN, account_id=ACCOUNT, max_response_bytes=value)
    assert type(info.value) is type(client_info.value)
    assert str(info.value) == str(client_info.value)
    assert sent_requests(mock) == []


@pytest.mark.parametrize("value", ["yes", 1, 0, None, "True"])
async def test_a_bad_allow_insecure_http_is_refused_before_sending(
    mock: aioresponses, value: Any
) -> None:
    mock.post(f"{PROXY_ID}/api/v2/oauth2/token", body=TOKEN_BODY, repeat=True)
    with pytest.raises(ha.ConfigurationError, match="True or False") as info:
        HarvestID(base_url=PROXY_ID, allow_insecure_http=value)
    with pytest.raises(ha.ConfigurationError) as client_info:
        ha.HarvestClient(
            access_token=TOKEN,
            account_id=ACCOUNT,
            base_url="http://api-proxy.internal/v2",
            allow_insecure_http=value,
        )
    assert type(info.value) is type(client_info.value)
    assert str(info.value) == str(client_info.value)
    assert sent_requests(mock) == []


async def test_a_bad_option_leaves_a_callers_session_untouched(mock: aioresponses) -> None:
    async with aiohttp.ClientSession() as own:
        with pytest.raises(ha.ConfigurationError):
            HarvestID(session=own, max_response_bytes=0)
        with pytest.raises(ha.ConfigurationError):
            HarvestID(session=own, base_url=PROXY_ID)
        assert not own.closed
    assert sent_requests(mock) == []
