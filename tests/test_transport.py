"""The transport layer: pure status mapping, JSON formats, headers, configuration checks."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import re
from decimal import Decimal

import pytest
from aioresponses import aioresponses

import harvest_async as ha
from harvest_async import _json
from harvest_async._http import (
    FormFile,
    check_base_url,
    decipher_response,
    parse_retry_after,
)

from .conftest import ACCOUNT, BASE, TOKEN, sent_requests
from .records import complete

URL = f"{BASE}/users/me"


# --- decipher_response: a pure function, no I/O -------------------------------------


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, ha.BadRequestError),
        (401, ha.AuthenticationError),
        (403, ha.PermissionDeniedError),
        (404, ha.NotFoundError),
        (422, ha.ValidationError),
        (429, ha.RateLimitError),
        (500, ha.ServerError),
        (502, ha.ServerError),
        (503, ha.ServerError),
        (504, ha.ServerError),
        (418, ha.APIError),
        (302, ha.APIError),
    ],
)
def test_status_maps_to_error_class(status: int, cls: type[ha.APIError]) -> None:
    body = json.dumps({"message": "Nope"}).encode()
    with pytest.raises(cls) as info:
        decipher_response(status, {}, body, method="GET", url=URL)
    err = info.value
    assert type(err) is cls
    assert (err.status, err.message, err.method, err.url) == (status, "Nope", "GET", URL)
    assert err.body == {"message": "Nope"}
    assert isinstance(err, ha.HarvestError)


def test_oauth_error_description_is_the_message() -> None:
    body = b'{"error":"invalid_grant","error_description":"The code has expired"}'
    with pytest.raises(ha.BadRequestError, match="The code has expired"):
        decipher_response(400, {}, body, method="POST", url=URL)


def test_non_json_error_body_is_kept_as_text_cut_to_a_few_kb() -> None:
    with pytest.raises(ha.ServerError) as info:
        decipher_response(502, {}, b"<html>" + b"x" * 10000, method="GET", url=URL)
    assert isinstance(info.value.body, str)
    assert info.value.body.startswith("<html>")
    assert len(info.value.body) == 4096
    assert info.value.message == "Bad Gateway"


def test_429_carries_retry_after_from_header_or_body() -> None:
    body = b'{"message":"This request has been throttled.","retry_after":15}'
    with pytest.raises(ha.RateLimitError) as info:
        decipher_response(429, {"Retry-After": "2"}, body, method="GET", url=URL)
    assert info.value.retry_after == 2.0
    assert info.value.message == "This request has been throttled."
    with pytest.raises(ha.RateLimitError) as info:
        decipher_response(429, {}, body, method="GET", url=URL)
    assert info.value.retry_after == 15.0


def test_retry_after_as_http_date() -> None:
    now = dt.datetime(2024, 1, 1, 12, 0, 0, tzinfo=dt.UTC)
    headers = {"Retry-After": "Mon, 01 Jan 2024 12:00:07 GMT"}
    assert parse_retry_after(headers, now=now) == 7.0
    assert parse_retry_after({"Retry-After": "junk"}) is None
    assert parse_retry_after({"Retry-After": "-3"}) == 0.0


def test_success_decodes_exact_decimals() -> None:
    data = decipher_response(
        200, {}, b'{"hours": 33.35, "rate": 100.0, "n": 3, "big": 1e2}', method="GET", url=URL
    )
    assert data == {
        "hours": Decimal("33.35"),
        "rate": Decimal("100.0"),
        "n": 3,
        "big": Decimal("1e2"),
    }
    assert str(data["rate"]) == "100.0"
    assert type(data["n"]) is int


def test_success_with_empty_body_is_none() -> None:
    assert decipher_response(200, {}, b"", method="DELETE", url=URL) is None
    assert decipher_response(204, {}, b"  ", method="DELETE", url=URL) is None


@pytest.mark.parametrize("body", [b"<html>oops</html>", b'{"a": 1', b"\xff\xfe", b"NaN"])
def test_success_with_bad_json_is_decode_error(body: bytes) -> None:
    with pytest.raises(ha.DecodeError):
        decipher_response(200, {}, body, method="GET", url=URL)


# --- JSON out ---------------------------------------------------------------------------


def test_dumps_uses_harvest_formats() -> None:
    text = _json.dumps(
        {
            "hours": Decimal("1.50"),
            "n": 7,
            "billable": True,
            "notes": None,
            "spent_date": dt.date(2024, 2, 29),
            "at": dt.datetime(2024, 1, 1, 13, 0, tzinfo=dt.timezone(dt.timedelta(hours=1))),
            "ids": [1, 2],
            "text": 'quote " and é',
        }
    )
    assert text == (
        '{"hours":1.50,"n":7,"billable":true,"notes":null,"spent_date":"2024-02-29",'
        '"at":"2024-01-01T12:00:00Z","ids":[1,2],"text":"quote \\" and \\u00e9"}'
    )
    assert json.loads(text)["text"] == 'quote " and é'


@pytest.mark.parametrize(
    "value",
    [dt.datetime(2024, 1, 1), Decimal("NaN"), float("inf"), object(), {1: "x"}],
)
def test_dumps_rejects_what_cannot_go_on_the_wire(value: object) -> None:
    with pytest.raises(ha.InvalidRequestError):
        _json.dumps({"v": value})


# --- configuration ----------------------------------------------------------------------


def test_missing_token_names_the_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HARVEST_ACCESS_TOKEN", raising=False)
    with pytest.raises(ha.ConfigurationError, match=r"\$HARVEST_ACCESS_TOKEN"):
        ha.HarvestClient(account_id="1")


def test_missing_account_names_the_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HARVEST_ACCOUNT_ID", raising=False)
    with pytest.raises(ha.ConfigurationError, match=r"\$HARVEST_ACCOUNT_ID"):
        ha.HarvestClient(access_token="t")


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARVEST_ACCESS_TOKEN", "env-token")
    monkeypatch.setenv("HARVEST_ACCOUNT_ID", "42")
    monkeypatch.setenv("HARVEST_USER_AGENT", "EnvApp (env@example.com)")
    client = ha.HarvestClient()
    assert client.account_id == "42"
    assert client.user_agent == "EnvApp (env@example.com)"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"base_url": "http://api.harvestapp.com/v2"}, "https"),
        ({"base_url": "ftp://127.0.0.1/v2"}, "https"),
        ({"base_url": "/v2"}, "absolute"),
        ({"user_agent": "App\r\nX-Evil: 1"}, "CR"),
        ({"access_token": "tok\nen"}, "CR"),
        ({"account_id": "12; DROP"}, "numeric"),
        ({"max_retries": -1}, "max_retries"),
        ({"timeout": 0}, "timeout"),
        ({"rate_limiter": object()}, "acquire"),
    ],
)
def test_bad_settings_are_configuration_errors(kwargs: dict[str, object], match: str) -> None:
    settings: dict[str, object] = {"access_token": TOKEN, "account_id": ACCOUNT}
    settings.update(kwargs)
    with pytest.raises(ha.ConfigurationError, match=match) as info:
        ha.HarvestClient(**settings)  # type: ignore[arg-type]
    assert isinstance(info.value, ValueError)
    assert TOKEN not in str(info.value)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/v2",
        "http://localhost/v2",
        "http://[::1]:9/v2",
        "https://example.com/api/v2",
    ],
)
def test_loopback_http_and_any_https_are_accepted(url: str) -> None:
    assert str(check_base_url(url)).startswith(url.split(":")[0])


def test_repr_never_shows_the_token() -> None:
    client = ha.HarvestClient(access_token=TOKEN, account_id=ACCOUNT)
    assert TOKEN not in repr(client)
    assert TOKEN not in repr(client.__dict__)
    assert "redacted" in repr(client)


# --- over the (mocked) wire ------------------------------------------------------------


async def test_sends_the_three_harvest_headers(
    client: ha.HarvestClient, mock: aioresponses
) -> None:
    mock.get(URL, body=complete(ha.models.User, '{"id": 1, "first_name": "Ada"}'))
    await client.users.me()
    [sent] = sent_requests(mock)
    assert sent.headers["Authorization"] == f"Bearer {TOKEN}"
    assert sent.headers["Harvest-Account-Id"] == ACCOUNT
    assert sent.headers["User-Agent"] == "tests (dev@example.com)"
    assert sent.body is None


async def test_default_user_agent_names_library_version_and_url(mock: aioresponses) -> None:
    mock.get(URL, body=complete(ha.models.User, '{"id": 1}'))
    async with ha.HarvestClient(access_token=TOKEN, account_id=ACCOUNT) as client:
        await client.users.me()
    [sent] = sent_requests(mock)
    assert re.fullmatch(
        rf"harvest_async/{re.escape(ha.__version__)} \(https://\S+\)", sent.headers["User-Agent"]
    )


async def test_errors_and_logs_never_contain_the_token(
    client: ha.HarvestClient, mock: aioresponses, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="harvest_async")
    mock.get(URL, status=401, body='{"error":"invalid_token","error_description":"bad"}')
    with pytest.raises(ha.AuthenticationError) as info:
        await client.users.me()
    assert TOKEN not in str(info.value)
    assert TOKEN not in repr(info.value)
    assert TOKEN not in repr(info.value.__dict__)
    assert TOKEN not in caplog.text


async def test_links_next_to_another_host_is_refused(
    client: ha.HarvestClient, mock: aioresponses
) -> None:
    mock.get(
        f"{BASE}/clients",
        body='{"clients": [], "links": {"next": "https://evil.example.com/v2/clients?page=2"}}',
    )
    with pytest.raises(ha.DecodeError, match="outside the API"):
        await client.clients.list().collect()
    assert len(sent_requests(mock)) == 1


async def test_caller_session_is_used_and_left_open(mock: aioresponses) -> None:
    import aiohttp

    async with aiohttp.ClientSession() as session:
        mock.get(URL, body=complete(ha.models.User, '{"id": 5}'))
        async with ha.HarvestClient(
            access_token=TOKEN, account_id=ACCOUNT, session=session
        ) as client:
            user = await client.users.me()
        assert user.id == 5
        assert not session.closed


@pytest.mark.looptime
async def test_closed_client_refuses_requests_without_retrying(mock: aioresponses) -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()
    client = ha.HarvestClient(access_token=TOKEN, account_id=ACCOUNT)
    await client.aclose()
    with pytest.raises(ha.TransportError, match="closed"):
        await client.users.me()
    assert sent_requests(mock) == []
    assert loop.time() == start  # no backoff: a closed client is not retried


def test_form_file_is_plain_data() -> None:
    part = FormFile(b"abc", "r.png", "image/png")
    assert (part.content, part.filename, part.content_type) == (b"abc", "r.png", "image/png")
