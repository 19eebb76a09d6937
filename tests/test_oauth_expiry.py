"""A token answer's ``expires_in``, however broken, never costs the rotated refresh token.

Harvest ID may hand out a new refresh token with every refresh: the session adopts it
and calls ``on_refresh`` before anything can fail. An absurd ``expires_in`` is clamped
(over ten years: ten years; negative: expired), one that is not a number is a
`DecodeError`, raised only after ``on_refresh`` was told of the tokens the answer had.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import subprocess
import sys
import textwrap
import urllib.parse
from typing import Any

import aiohttp
import pytest
from aioresponses import aioresponses

import harvest_async as ha
from harvest_async._oauth import MAX_EXPIRES_IN, TokenAnswerError
from harvest_async.oauth import ID_BASE_URL, HarvestID, OAuthSession, OAuthToken

from .conftest import sent_requests

pytestmark = pytest.mark.looptime

TOKEN_URL = f"{ID_BASE_URL}/api/v2/oauth2/token"
CLIENT_ID = "client-ID-visible"
CLIENT_SECRET = "client-SECRET-0123456789"
ACCESS = "access-TOKEN-SECRET-111"
REFRESH = "refresh-TOKEN-SECRET-222"
ACCESS2 = "access-TOKEN-SECRET-333"
REFRESH2 = "refresh-TOKEN-SECRET-444"
ACCESS3 = "access-TOKEN-SECRET-555"
REFRESH3 = "refresh-TOKEN-SECRET-666"
SECRETS = (CLIENT_SECRET, ACCESS, REFRESH, ACCESS2, REFRESH2, ACCESS3, REFRESH3)
TEN_YEARS = dt.timedelta(days=3650)
EPOCH = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def loop_clock() -> dt.datetime:
    """The wall clock as seen by the (virtual) event loop."""
    return EPOCH + dt.timedelta(seconds=asyncio.get_running_loop().time())


def answer(access: str | None, refresh: str | None, expires_in: str | None) -> str:
    fields = []
    if access is not None:
        fields.append(f'"access_token": "{access}"')
    if refresh is not None:
        fields.append(f'"refresh_token": "{refresh}"')
    fields.append('"token_type": "bearer"')
    if expires_in is not None:
        fields.append(f'"expires_in": {expires_in}')
    return "{" + ", ".join(fields) + "}"


def refresh_tokens_sent(mock: aioresponses) -> list[str]:
    found = []
    for sent in sent_requests(mock):
        assert isinstance(sent.body, aiohttp.FormData)
        form = dict(urllib.parse.parse_qsl(sent.body().decode()))
        found.append(form["refresh_token"])
    return found


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text, (secret, text)


@pytest.fixture
async def harvest_id() -> Any:
    async with HarvestID(user_agent="tests (dev@example.com)", max_retries=0) as hid:
        yield hid


def new_session(harvest_id: Any, stored: list[OAuthToken], **kwargs: Any) -> OAuthSession:
    kwargs.setdefault("clock", loop_clock)
    return OAuthSession(
        harvest_id=harvest_id,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        access_token=ACCESS,
        refresh_token=REFRESH,
        on_refresh=stored.append,
        **kwargs,
    )


# -- clamped: too large -------------------------------------------------------------------


@pytest.mark.parametrize(
    "expires_in",
    [
        "1000000000000",
        "1e12",
        str(2**63 - 1),
        str(2**63),
        str(2**64 + 1),
        pytest.param("1" + "0" * 400, id="10**400"),
        "1e999",
    ],
)
async def test_huge_expires_in_is_ten_years_and_the_rotated_token_is_stored(
    mock: aioresponses, harvest_id: HarvestID, expires_in: str
) -> None:
    stored: list[OAuthToken] = []
    session = new_session(harvest_id, stored)
    issued = loop_clock()
    mock.post(TOKEN_URL, body=answer(ACCESS2, REFRESH2, expires_in))
    assert await session.refresh() == ACCESS2
    assert [(t.access_token, t.refresh_token, t.expires_in) for t in stored] == [
        (ACCESS2, REFRESH2, MAX_EXPIRES_IN)
    ]
    assert session.refresh_token == REFRESH2
    assert session.expires_at == issued + TEN_YEARS
    assert not session.expired


async def test_exchange_code_clamps_and_the_session_from_it_works(
    mock: aioresponses, harvest_id: HarvestID
) -> None:
    mock.post(TOKEN_URL, body=answer(ACCESS, REFRESH, "1e12"))
    token = await harvest_id.exchange_code("a-code", client_id=CLIENT_ID, client_secret="s")
    assert token.expires_in == MAX_EXPIRES_IN
    session = harvest_id.session(
        token, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, clock=loop_clock
    )
    assert session.expires_at == loop_clock() + TEN_YEARS
    assert await session.token() == ACCESS


@pytest.mark.parametrize("expires_in", [10**12, 2**63, pytest.param(10**400, id="10**400")])
async def test_a_token_built_by_hand_with_a_huge_expires_in_is_clamped(
    harvest_id: HarvestID, expires_in: int
) -> None:
    token = OAuthToken(access_token=ACCESS, refresh_token=REFRESH, expires_in=expires_in)
    session = harvest_id.session(
        token, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, clock=loop_clock
    )
    assert session.expires_at == loop_clock() + TEN_YEARS


class FakeID:
    """Stands in for HarvestID: answers each refresh with the next of ``tokens``."""

    def __init__(self, *tokens: OAuthToken) -> None:
        self.tokens = list(tokens)
        self.seen: list[str] = []

    async def refresh(self, refresh_token: str, *, client_id: str, client_secret: str) -> Any:
        self.seen.append(refresh_token)
        return self.tokens.pop(0)


async def test_a_provider_answering_a_huge_expires_in_does_not_lose_the_token() -> None:
    """The trial's case: ``expires_in`` 1e12 overflowed ``datetime`` after the tokens were
    adopted and before ``on_refresh`` ran."""
    fake = FakeID(OAuthToken(access_token=ACCESS2, refresh_token=REFRESH2, expires_in=10**12))
    stored: list[OAuthToken] = []
    session = new_session(fake, stored)
    issued = loop_clock()
    assert await session.refresh() == ACCESS2
    assert [t.refresh_token for t in stored] == [REFRESH2]
    assert session.expires_at == issued + TEN_YEARS


async def test_expiry_past_the_last_representable_time_is_that_time() -> None:
    end = dt.datetime(9999, 12, 31, tzinfo=dt.UTC)
    fake = FakeID(OAuthToken(access_token=ACCESS2, refresh_token=REFRESH2, expires_in=86400 * 2))
    stored: list[OAuthToken] = []
    session = new_session(fake, stored, clock=lambda: end)
    assert await session.refresh() == ACCESS2
    assert session.expires_at == dt.datetime.max.replace(tzinfo=dt.UTC)
    assert [t.refresh_token for t in stored] == [REFRESH2]
    assert not session.expired


def test_an_expires_in_of_1e999999999_is_read_without_building_the_number() -> None:
    """``int(Decimal('1e999999999'))`` would build a billion-digit int: the process froze.

    Run in a child process, so that a regression fails on its timeout instead of
    freezing the test run (such a conversion holds the interpreter lock).
    """
    code = textwrap.dedent(
        """
        from harvest_async import _json
        from harvest_async._oauth import _decode_token
        body = b'{"access_token": "a", "refresh_token": "r", "expires_in": 1e999999999}'
        print(_decode_token(_json.loads(body)).expires_in)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == str(MAX_EXPIRES_IN)


# -- clamped: negative --------------------------------------------------------------------


@pytest.mark.parametrize("expires_in", ["-1", "-3600", "-1e999", "0"])
async def test_negative_expires_in_means_refresh_before_the_next_use(
    mock: aioresponses, harvest_id: HarvestID, expires_in: str
) -> None:
    stored: list[OAuthToken] = []
    session = new_session(harvest_id, stored)
    mock.post(TOKEN_URL, body=answer(ACCESS2, REFRESH2, expires_in))
    assert await session.refresh() == ACCESS2
    assert stored[0].expires_in == 0
    assert session.refresh_token == REFRESH2
    assert session.expired
    mock.post(TOKEN_URL, body=answer(ACCESS3, REFRESH3, "3600"))
    assert await session.token() == ACCESS3
    assert refresh_tokens_sent(mock) == [REFRESH, REFRESH2]
    assert [t.refresh_token for t in stored] == [REFRESH2, REFRESH3]


# -- not a number: DecodeError, after on_refresh was told --------------------------------


@pytest.mark.parametrize("expires_in", ['"soon"', "true", '"3600"', "[3600]", "{}"])
async def test_bad_expires_in_is_a_decode_error_after_the_tokens_were_stored(
    mock: aioresponses, harvest_id: HarvestID, expires_in: str
) -> None:
    stored: list[OAuthToken] = []
    session = new_session(harvest_id, stored)
    mock.post(TOKEN_URL, body=answer(ACCESS2, REFRESH2, expires_in))
    with pytest.raises(ha.DecodeError) as info:
        await session.refresh()
    assert_no_secret(str(info.value), repr(info.value))
    assert [(t.access_token, t.refresh_token, t.expires_in) for t in stored] == [
        (ACCESS2, REFRESH2, None)
    ]
    assert session.access_token == ACCESS2
    assert session.refresh_token == REFRESH2
    assert session.expires_at is None  # unknown: used until a 401
    assert await session.token() == ACCESS2
    # The next refresh spends the rotated token, not the old one.
    mock.post(TOKEN_URL, body=answer(ACCESS3, REFRESH3, "3600"))
    assert await session.refresh() == ACCESS3
    assert refresh_tokens_sent(mock) == [REFRESH, REFRESH2]


async def test_answer_with_a_refresh_token_but_no_access_token(
    mock: aioresponses, harvest_id: HarvestID
) -> None:
    stored: list[OAuthToken] = []
    session = new_session(harvest_id, stored)
    mock.post(TOKEN_URL, body=answer(None, REFRESH2, "3600"))
    with pytest.raises(ha.DecodeError):
        await session.refresh()
    assert [(t.access_token, t.refresh_token) for t in stored] == [(None, REFRESH2)]
    assert session.refresh_token == REFRESH2
    assert session.expired  # no new access token: refresh before the next use
    mock.post(TOKEN_URL, body=answer(ACCESS3, REFRESH3, "3600"))
    assert await session.token() == ACCESS3
    assert refresh_tokens_sent(mock) == [REFRESH, REFRESH2]


@pytest.mark.parametrize("body", ["[]", "{}", '{"access_token": 5, "refresh_token": 7}', "{"])
async def test_answer_without_any_token_changes_nothing(
    mock: aioresponses, harvest_id: HarvestID, body: str
) -> None:
    stored: list[OAuthToken] = []
    session = new_session(harvest_id, stored)
    mock.post(TOKEN_URL, body=body)
    with pytest.raises(ha.DecodeError):
        await session.refresh()
    assert stored == []
    assert session.access_token == ACCESS
    assert session.refresh_token == REFRESH


async def test_broken_answer_is_shared_by_every_waiter_with_one_request(
    mock: aioresponses, harvest_id: HarvestID
) -> None:
    stored: list[OAuthToken] = []
    session = new_session(harvest_id, stored)
    mock.post(TOKEN_URL, body=answer(ACCESS2, REFRESH2, '"soon"'))
    results = await asyncio.gather(*(session.refresh() for _ in range(5)), return_exceptions=True)
    assert all(isinstance(r, ha.DecodeError) for r in results)
    assert len(sent_requests(mock)) == 1
    assert [t.refresh_token for t in stored] == [REFRESH2]


async def test_exchange_code_error_keeps_the_tokens_for_the_caller(
    mock: aioresponses, harvest_id: HarvestID
) -> None:
    mock.post(TOKEN_URL, body=answer(ACCESS2, REFRESH2, '"soon"'))
    with pytest.raises(TokenAnswerError) as info:
        await harvest_id.exchange_code("a-code", client_id=CLIENT_ID, client_secret="s")
    assert isinstance(info.value, ha.DecodeError)
    assert info.value.token is not None
    assert info.value.token.refresh_token == REFRESH2
    assert info.value.token.access_token == ACCESS2
    assert_no_secret(str(info.value), repr(info.value), repr(info.value.token))


# -- persisted before anything can fail ---------------------------------------------------


async def test_on_refresh_sees_the_new_tokens_adopted_and_a_failing_one_loses_nothing(
    mock: aioresponses, harvest_id: HarvestID
) -> None:
    seen: list[tuple[str, str]] = []

    def store(token: OAuthToken) -> None:
        seen.append((session.access_token, session.refresh_token))
        raise OSError("the token store is down")

    session = OAuthSession(
        harvest_id=harvest_id,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        access_token=ACCESS,
        refresh_token=REFRESH,
        on_refresh=store,
        clock=loop_clock,
    )
    mock.post(TOKEN_URL, body=answer(ACCESS2, REFRESH2, "1e12"))
    with pytest.raises(OSError, match="store is down"):
        await session.refresh()
    assert seen == [(ACCESS2, REFRESH2)]
    assert session.refresh_token == REFRESH2
    assert session.expires_at == loop_clock() + TEN_YEARS


# -- leeway -------------------------------------------------------------------------------


@pytest.mark.parametrize("leeway", [float("inf"), float("nan"), 1e300, -1.0])
def test_leeway_must_be_a_finite_number_of_seconds(leeway: float) -> None:
    with pytest.raises(ha.ConfigurationError, match="leeway"):
        OAuthSession(
            harvest_id=FakeID(),  # type: ignore[arg-type]
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            access_token=ACCESS,
            refresh_token=REFRESH,
            leeway=leeway,
        )


async def test_leeway_reaching_before_the_first_representable_time_is_expired() -> None:
    start = dt.datetime(1, 1, 2, tzinfo=dt.UTC)
    session = OAuthSession(
        harvest_id=FakeID(),  # type: ignore[arg-type]
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        access_token=ACCESS,
        refresh_token=REFRESH,
        expires_at=start + dt.timedelta(hours=1),
        leeway=MAX_EXPIRES_IN,
        clock=lambda: start,
    )
    assert session.expired
