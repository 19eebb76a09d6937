"""Retry policy (CONTRACT.md, "Retries") against a mocked Harvest, on a virtual clock."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp.client_reqrep import ConnectionKey
from aioresponses import aioresponses

import harvest_async as ha
from harvest_async._http import Request

from .conftest import ACCOUNT, BASE, TOKEN, sent_requests
from .records import complete

pytestmark = pytest.mark.looptime

ENTRY = complete(ha.models.TimeEntry, '{"id": 7, "hours": 1.5}')
URL_ENTRY = f"{BASE}/time_entries/7"
URL_LIST = f"{BASE}/time_entries"


class CountingLimiter:
    """A limiter that admits everything and counts slots taken and given back."""

    def __init__(self) -> None:
        self.acquired = 0
        self.released = 0
        self.paused: list[float] = []

    async def acquire(self) -> int:
        self.acquired += 1
        return self.acquired

    async def release(self, handle: Any) -> None:
        self.released += 1

    async def pause(self, seconds: float) -> None:
        self.paused.append(seconds)


@pytest.fixture
async def limiter() -> CountingLimiter:
    return CountingLimiter()


@pytest.fixture
async def rclient(limiter: CountingLimiter) -> AsyncIterator[ha.HarvestClient]:
    async with ha.HarvestClient(
        access_token=TOKEN,
        account_id=ACCOUNT,
        user_agent="tests (dev@example.com)",
        max_retries=3,
        rate_limiter=limiter,
    ) as c:
        yield c


def connect_error() -> aiohttp.ClientConnectorError:
    key = ConnectionKey("api.harvestapp.com", 443, True, True, None, None, None)
    return aiohttp.ClientConnectorError(key, OSError(111, "Connection refused"))


def attempts(mock: aioresponses) -> int:
    return len(sent_requests(mock))


# --- replay-safe methods: GET, PATCH, DELETE -------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_get_retries_gateway_errors_then_succeeds(
    rclient: ha.HarvestClient, mock: aioresponses, limiter: CountingLimiter, status: int
) -> None:
    mock.get(URL_ENTRY, status=status, body="oops")
    mock.get(URL_ENTRY, status=status, body="oops")
    mock.get(URL_ENTRY, body=ENTRY)
    entry = await rclient.time_entries.get(7)
    assert entry.id == 7
    assert attempts(mock) == 3
    # Every attempt held its own limiter slot, and gave it back.
    assert limiter.acquired == limiter.released == 3


@pytest.mark.parametrize(
    "exc",
    [
        aiohttp.ServerDisconnectedError(),
        TimeoutError(),
        aiohttp.ClientPayloadError("Response payload is not completed"),
        aiohttp.ClientOSError(104, "Connection reset by peer"),
    ],
)
async def test_get_retries_connection_failures_timeouts_and_cut_bodies(
    rclient: ha.HarvestClient, mock: aioresponses, exc: Exception
) -> None:
    mock.get(URL_ENTRY, exception=exc)
    mock.get(URL_ENTRY, body=ENTRY)
    assert (await rclient.time_entries.get(7)).id == 7
    assert attempts(mock) == 2


async def test_patch_is_retried_after_a_5xx(rclient: ha.HarvestClient, mock: aioresponses) -> None:
    mock.patch(URL_ENTRY, status=503)
    mock.patch(URL_ENTRY, body=ENTRY)
    assert (await rclient.time_entries.update(7, notes="x")).id == 7
    assert attempts(mock) == 2


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422, 501])
async def test_client_errors_are_never_retried(
    rclient: ha.HarvestClient, mock: aioresponses, status: int
) -> None:
    mock.get(URL_ENTRY, status=status, body='{"message": "no"}')
    with pytest.raises(ha.APIError) as info:
        await rclient.time_entries.get(7)
    assert info.value.status == status
    assert attempts(mock) == 1


async def test_max_retries_counts_retries_after_the_first_attempt(mock: aioresponses) -> None:
    async with ha.HarvestClient(access_token=TOKEN, account_id=ACCOUNT, max_retries=2) as c:
        for _ in range(5):
            mock.get(URL_ENTRY, status=500)
        with pytest.raises(ha.ServerError) as info:
            await c.time_entries.get(7)
    assert info.value.status == 500
    assert attempts(mock) == 3


async def test_max_retries_zero_means_one_attempt(mock: aioresponses) -> None:
    async with ha.HarvestClient(access_token=TOKEN, account_id=ACCOUNT, max_retries=0) as c:
        mock.get(URL_ENTRY, status=502)
        mock.get(URL_ENTRY, body=ENTRY)
        with pytest.raises(ha.ServerError):
            await c.time_entries.get(7)
    assert attempts(mock) == 1


async def test_transport_error_after_retries_run_out(
    rclient: ha.HarvestClient, mock: aioresponses
) -> None:
    for _ in range(4):
        mock.get(URL_ENTRY, exception=aiohttp.ServerDisconnectedError())
    with pytest.raises(ha.TransportError):
        await rclient.time_entries.get(7)
    assert attempts(mock) == 4


# --- 429 -------------------------------------------------------------------------------


async def test_429_waits_at_least_retry_after_and_pauses_the_limiter(
    rclient: ha.HarvestClient, mock: aioresponses, limiter: CountingLimiter
) -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()
    mock.get(
        URL_ENTRY,
        status=429,
        headers={"Retry-After": "7"},
        body='{"message":"This request has been throttled.","retry_after":7}',
    )
    mock.get(URL_ENTRY, body=ENTRY)
    assert (await rclient.time_entries.get(7)).id == 7
    assert loop.time() - start >= 7.0
    assert limiter.paused == [7.0]


async def test_429_after_retries_is_rate_limit_error_with_retry_after(
    rclient: ha.HarvestClient, mock: aioresponses
) -> None:
    for _ in range(4):
        mock.get(URL_ENTRY, status=429, headers={"Retry-After": "3"})
    with pytest.raises(ha.RateLimitError) as info:
        await rclient.time_entries.get(7)
    assert info.value.retry_after == 3.0
    assert attempts(mock) == 4


async def test_429_without_retry_after_waits_a_full_window(
    rclient: ha.HarvestClient, mock: aioresponses, limiter: CountingLimiter
) -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()
    mock.get(URL_ENTRY, status=429)
    mock.get(URL_ENTRY, body=ENTRY)
    await rclient.time_entries.get(7)
    assert loop.time() - start >= 15.0
    assert limiter.paused == [15.0]


# --- POST and timer actions: never twice once it may have been processed --------------


@pytest.mark.parametrize(
    "failure",
    [
        {"status": 500},
        {"status": 503},
        {"exception": aiohttp.ServerDisconnectedError()},
        {"exception": TimeoutError()},
        {"exception": aiohttp.ClientPayloadError("cut")},
    ],
)
async def test_post_that_may_have_been_processed_is_not_resent(
    rclient: ha.HarvestClient, mock: aioresponses, failure: dict[str, Any]
) -> None:
    mock.post(URL_LIST, **failure)
    mock.post(URL_LIST, body=ENTRY)
    with pytest.raises((ha.ServerError, ha.TransportError)):
        await rclient.time_entries.create(
            project_id=1, task_id=2, spent_date="2024-01-02", hours="1.5"
        )
    assert attempts(mock) == 1


async def test_post_is_retried_after_429(rclient: ha.HarvestClient, mock: aioresponses) -> None:
    mock.post(URL_LIST, status=429, headers={"Retry-After": "1"})
    mock.post(URL_LIST, status=201, body=ENTRY)
    entry = await rclient.time_entries.create(
        project_id=1, task_id=2, spent_date="2024-01-02", hours="1.5"
    )
    assert entry.id == 7
    assert attempts(mock) == 2


async def test_post_is_retried_when_no_connection_was_made(
    rclient: ha.HarvestClient, mock: aioresponses
) -> None:
    mock.post(URL_LIST, exception=connect_error())
    mock.post(URL_LIST, status=201, body=ENTRY)
    entry = await rclient.time_entries.create(project_id=1, task_id=2, spent_date="2024-01-02")
    assert entry.id == 7
    assert attempts(mock) == 2


@pytest.mark.parametrize("action", ["stop", "restart"])
async def test_timer_actions_are_not_resent_after_a_5xx(
    rclient: ha.HarvestClient, mock: aioresponses, action: str
) -> None:
    url = f"{URL_ENTRY}/{action}"
    mock.patch(url, status=502)
    mock.patch(url, body=ENTRY)
    with pytest.raises(ha.ServerError):
        await getattr(rclient.time_entries, action)(7)
    assert attempts(mock) == 1


async def test_timer_action_is_retried_after_429(
    rclient: ha.HarvestClient, mock: aioresponses
) -> None:
    mock.patch(f"{URL_ENTRY}/stop", status=429, headers={"Retry-After": "1"})
    mock.patch(f"{URL_ENTRY}/stop", body=ENTRY)
    assert (await rclient.time_entries.stop(7)).id == 7


# --- DELETE ----------------------------------------------------------------------------


async def test_delete_retried_after_a_failure_it_may_have_survived_then_404_is_done(
    rclient: ha.HarvestClient, mock: aioresponses
) -> None:
    mock.delete(URL_ENTRY, status=502)
    mock.delete(URL_ENTRY, status=404, body='{"message": "Not found"}')
    await rclient.time_entries.delete(7)  # no error: the record is gone either way
    assert attempts(mock) == 2


async def test_delete_of_a_missing_record_is_not_found(
    rclient: ha.HarvestClient, mock: aioresponses
) -> None:
    mock.delete(URL_ENTRY, status=404, body='{"message": "Not found"}')
    with pytest.raises(ha.NotFoundError):
        await rclient.time_entries.delete(7)


async def test_delete_404_after_only_a_429_is_still_not_found(
    rclient: ha.HarvestClient, mock: aioresponses
) -> None:
    mock.delete(URL_ENTRY, status=429, headers={"Retry-After": "1"})
    mock.delete(URL_ENTRY, status=404)
    with pytest.raises(ha.NotFoundError):
        await rclient.time_entries.delete(7)


# --- logging, limiter routing ----------------------------------------------------------


async def test_one_debug_line_per_retry_without_secrets(
    rclient: ha.HarvestClient, mock: aioresponses, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="harvest_async")
    mock.get(re.compile(r".*/time_entries\?.*"), status=500)
    mock.get(re.compile(r".*/time_entries\?.*"), status=503)
    mock.get(re.compile(r".*/time_entries\?.*"), body='{"time_entries": [], "links": {}}')
    await rclient.time_entries.list(external_reference_id="secret-ref").collect()
    lines = [r for r in caplog.records if r.name == "harvest_async"]
    assert len(lines) == 2
    assert all(r.levelno == logging.DEBUG for r in lines)
    assert "retrying GET" in lines[0].getMessage()
    assert "500" in lines[0].getMessage()
    assert "503" in lines[1].getMessage()
    assert TOKEN not in caplog.text
    assert "secret-ref" not in caplog.text


async def test_reports_use_the_reports_limiter_only(mock: aioresponses) -> None:
    general, reports = CountingLimiter(), CountingLimiter()
    async with ha.HarvestClient(
        access_token=TOKEN,
        account_id=ACCOUNT,
        rate_limiter=general,
        reports_rate_limiter=reports,
    ) as c:
        mock.get(URL_ENTRY, body=ENTRY)
        await c.time_entries.get(7)
        mock.get(
            f"{BASE}/reports/uninvoiced?from=2024-01-01&to=2024-01-31",
            body='{"results": [], "links": {}}',
        )
        await c._requester.send(
            Request(
                "GET", "reports/uninvoiced", query=[("from", "2024-01-01"), ("to", "2024-01-31")]
            )
        )
    assert (general.acquired, reports.acquired) == (1, 1)


async def test_429_on_reports_pauses_only_the_reports_limiter(mock: aioresponses) -> None:
    general, reports = CountingLimiter(), CountingLimiter()
    async with ha.HarvestClient(
        access_token=TOKEN,
        account_id=ACCOUNT,
        rate_limiter=general,
        reports_rate_limiter=reports,
    ) as c:
        url = f"{BASE}/reports/project_budget"
        mock.get(url, status=429, headers={"Retry-After": "60"})
        mock.get(url, body='{"results": []}')
        await c._requester.send(Request("GET", "reports/project_budget"))
    assert reports.paused == [60.0]
    assert general.paused == []


async def test_acquire_only_limiter_is_supported(mock: aioresponses) -> None:
    class AcquireOnly:
        def __init__(self) -> None:
            self.calls = 0

        async def acquire(self) -> None:
            self.calls += 1

    only = AcquireOnly()
    async with ha.HarvestClient(access_token=TOKEN, account_id=ACCOUNT, rate_limiter=only) as c:
        mock.get(URL_ENTRY, status=429, headers={"Retry-After": "1"})
        mock.get(URL_ENTRY, body=ENTRY)
        await c.time_entries.get(7)
    assert only.calls == 2
