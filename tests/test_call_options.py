"""Per-call options: ``with_options`` views, ``max_wait``, lanes per call, ``on_request``.

The deadline tests run on looptime's virtual clock against a mocked Harvest; the lane
and paginator tests against the simulator on loopback.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aioresponses import aioresponses
from yarl import URL

import harvest_async as ha
from harvest_async import bulk
from harvest_async.resources._base import Resource
from harvest_async.testing import HarvestSimulator

from .conftest import ACCOUNT, BASE, TOKEN, sent_requests
from .records import complete

ME = complete(ha.models.User, '{"id": 1, "first_name": "Ada"}')


def make_client(**kwargs: Any) -> ha.HarvestClient:
    kwargs.setdefault("access_token", TOKEN)
    kwargs.setdefault("account_id", ACCOUNT)
    kwargs.setdefault("user_agent", "tests (dev@example.com)")
    return ha.HarvestClient(**kwargs)


async def saturated(capacity: int = 2) -> tuple[ha.TokenBucket, list[Any]]:
    bucket = ha.TokenBucket(capacity, 15.0, reserve=0)
    return bucket, [await bucket.acquire() for _ in range(capacity)]


# -- max_wait: the deadline on a virtual clock ------------------------------------------


@pytest.mark.looptime
async def test_max_wait_half_a_second_under_a_saturated_limiter_sends_nothing(
    mock: aioresponses,
) -> None:
    loop = asyncio.get_running_loop()
    bucket, _held = await saturated()
    mock.get(f"{BASE}/users/me", body=ME, repeat=True)
    async with make_client(rate_limiter=bucket) as harvest:
        fast = harvest.with_options(max_wait=0.5)
        start = loop.time()
        with pytest.raises(ha.RateLimitTimeout) as caught:
            await fast.users.me()
        assert loop.time() - start == pytest.approx(0.5)
    assert sent_requests(mock) == []  # nothing sent, and no retry either
    err = caught.value
    assert isinstance(err, ha.RateLimitError)
    assert err.status == 429
    assert (err.method, err.url) == ("GET", f"{BASE}/users/me")
    assert "max_wait=0.5 s" in str(err)
    assert bucket.waiting == {"interactive": 0, "bulk": 0}  # its place freed
    assert bucket.in_use == 2


@pytest.mark.looptime
async def test_client_max_wait_applies_to_every_call_and_a_view_can_lift_it(
    mock: aioresponses,
) -> None:
    loop = asyncio.get_running_loop()
    bucket, held = await saturated(1)
    mock.get(f"{BASE}/users/me", body=ME, repeat=True)
    async with make_client(rate_limiter=bucket, max_wait=2.0) as harvest:
        start = loop.time()
        with pytest.raises(ha.RateLimitTimeout):
            await harvest.users.me()
        assert loop.time() - start == pytest.approx(2.0)
        patient = harvest.with_options(max_wait=None)
        assert patient.options.max_wait is None
        call = asyncio.create_task(patient.users.me())
        await asyncio.sleep(30)
        assert not call.done()
        await bucket.release(held[0])
        me = await call  # served 15 s after the release
    assert me.id == 1
    assert len(sent_requests(mock)) == 1


@pytest.mark.looptime
async def test_max_wait_is_a_budget_for_all_attempts(mock: aioresponses) -> None:
    loop = asyncio.get_running_loop()
    bucket = ha.TokenBucket(1, 4.0, reserve=0)
    mock.get(f"{BASE}/users/me", status=503, body="busy", repeat=True)
    async with make_client(rate_limiter=bucket, max_retries=5) as harvest:
        start = loop.time()
        with pytest.raises(ha.RateLimitTimeout):
            # Each retry waits about 3.5 s for the slot the previous attempt held: the second
            # retry is past the 5 s budget.
            await harvest.with_options(max_wait=5.0).users.me()
        assert loop.time() - start < 10
    assert len(sent_requests(mock)) == 2


# -- with_options views -----------------------------------------------------------------


async def test_a_view_shares_session_and_limiters_and_closing_it_closes_nothing(
    mock: aioresponses,
) -> None:
    mock.get(f"{BASE}/users/me", body=ME, repeat=True)
    async with make_client() as harvest:
        view = harvest.with_options(timeout=5.0, max_retries=1, max_wait=2.0, priority="bulk")
        assert view._transport is harvest._transport
        assert view.rate_limiter is harvest.rate_limiter
        assert view.reports_rate_limiter is harvest.reports_rate_limiter
        assert view.options == ha.CallOptions(
            timeout=5.0, max_retries=1, max_wait=2.0, priority="bulk"
        )
        assert harvest.options.max_wait is None  # the client is unchanged
        async with view:
            await view.users.me()
        await view.aclose()
        await harvest.users.me()  # still open
        assert "options=" in repr(view)
        assert TOKEN not in repr(view)
    calls = mock.requests[("GET", URL(f"{BASE}/users/me"))]
    assert calls[0].kwargs["timeout"].total == 5.0  # the view's timeout per attempt
    assert calls[1].kwargs["timeout"].total == 30.0  # the client's


async def test_closing_the_client_closes_its_views(mock: aioresponses) -> None:
    mock.get(f"{BASE}/users/me", body=ME, repeat=True)
    harvest = make_client()
    view = harvest.with_options(max_wait=2.0)
    await view.users.me()
    await harvest.aclose()
    with pytest.raises(ha.ClientClosedError):
        await view.users.me()
    assert len(mock.requests[("GET", URL(f"{BASE}/users/me"))]) == 1


def resources_of(obj: Any, seen: set[int] | None = None) -> list[Resource]:
    seen = set() if seen is None else seen
    found = []
    for value in vars(obj).values():
        if isinstance(value, Resource) and id(value) not in seen:
            seen.add(id(value))
            found.append(value)
            found += resources_of(value, seen)
    return found


def test_every_resource_of_a_view_sends_through_the_view() -> None:
    harvest = make_client()
    view = harvest.with_options(max_retries=0)
    mine = resources_of(view)
    assert len(mine) >= 17 + 2  # every resource, the report groups too
    assert all(r._requester is view._requester for r in mine)
    assert all(r._requester is harvest._requester for r in resources_of(harvest))
    assert view._requester is not harvest._requester


@pytest.mark.looptime
async def test_max_retries_of_a_view(mock: aioresponses) -> None:
    mock.get(f"{BASE}/users/me", status=500, body="oops", repeat=True)
    async with make_client(max_retries=3) as harvest:
        with pytest.raises(ha.ServerError):
            await harvest.with_options(max_retries=0).users.me()
        assert len(sent_requests(mock)) == 1
        with pytest.raises(ha.ServerError):
            await harvest.users.me()
    assert len(sent_requests(mock)) == 1 + 4


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"timeout": 0}, "timeout must be a positive number"),
        ({"max_retries": -1}, "max_retries must be an int >= 0"),
        ({"max_wait": -0.5}, "max_wait must be a finite number >= 0"),
        ({"priority": "now"}, "priority must be 'interactive' or 'bulk'"),
    ],
)
def test_bad_options_are_configuration_errors(kwargs: Any, message: str) -> None:
    with pytest.raises(ha.ConfigurationError, match=message):
        make_client().with_options(**kwargs)


def test_client_max_wait_is_checked() -> None:
    with pytest.raises(ha.ConfigurationError, match="max_wait"):
        make_client(max_wait=float("inf"))


# -- HARVEST_BASE_URL ------------------------------------------------------------------


def test_base_url_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARVEST_BASE_URL", "http://127.0.0.1:8080/v2")
    assert make_client().base_url == "http://127.0.0.1:8080/v2"
    assert make_client(base_url="https://api.harvestapp.com/v2").base_url.startswith("https")
    monkeypatch.setenv("HARVEST_BASE_URL", "http://example.com/v2")
    with pytest.raises(ha.ConfigurationError):
        make_client()  # plain http off loopback stays refused
    monkeypatch.setenv("HARVEST_BASE_URL", "")
    assert make_client().base_url == ha.DEFAULT_BASE_URL


# -- lanes through the client ----------------------------------------------------------


class LaneRecorder:
    """Wraps a TokenBucket; records the lane and deadline of every acquisition."""

    def __init__(self, inner: ha.TokenBucket) -> None:
        self.inner = inner
        self.lanes: list[tuple[str | None, float | None]] = []

    async def acquire(self, *, priority: Any = None, max_wait: Any = None) -> Any:
        self.lanes.append((priority, max_wait))
        return await self.inner.acquire(priority=priority, max_wait=max_wait)

    async def release(self, handle: Any) -> None:
        await self.inner.release(handle)

    async def pause(self, seconds: float) -> None:
        await self.inner.pause(seconds)


async def test_lanes_single_calls_views_fan_out_shards_and_bulk() -> None:
    async with HarvestSimulator(seed=3, page_based={"time_entries"}) as sim:
        recorder = LaneRecorder(sim.new_rate_limiter())
        async with sim.client(rate_limiter=recorder) as harvest:
            await harvest.users.me()
            assert recorder.lanes == [("interactive", None)]
            recorder.lanes.clear()

            await harvest.with_options(priority="bulk", max_wait=9.0).users.me()
            assert recorder.lanes == [("bulk", 9.0)]
            recorder.lanes.clear()

            # A page-based list: the first page is the caller's, the fan-out bulk.
            entries = harvest.time_entries.list(per_page=100).with_options(concurrency=4)
            assert len(await entries.collect()) == sim.count("time_entries")
            assert recorder.lanes[0] == ("interactive", None)
            assert {lane for lane, _ in recorder.lanes[1:]} == {"bulk"}
            recorder.lanes.clear()

            # Date shards are bulk work.
            import datetime as dt

            await harvest.time_entries.list(
                from_=dt.date(2024, 1, 1), to=dt.date(2024, 12, 31), shards=3
            ).collect()
            assert {lane for lane, _ in recorder.lanes} == {"bulk"}
            recorder.lanes.clear()

            # bulk.* is bulk work, unless a view says otherwise.
            users = await harvest.users.list().collect()
            recorder.lanes.clear()
            ids = [u.id for u in users[:3]]
            await bulk.fetch_ids(harvest.users.get, ids)
            assert [lane for lane, _ in recorder.lanes] == ["bulk"] * 3
            recorder.lanes.clear()
            urgent = harvest.with_options(priority="interactive")
            await bulk.fetch_ids(urgent.users.get, ids)
            assert [lane for lane, _ in recorder.lanes] == ["interactive"] * 3


# -- on_request ------------------------------------------------------------------------


@pytest.mark.looptime
async def test_on_request_reports_wait_attempts_status_and_duration(
    mock: aioresponses,
) -> None:
    stats: list[ha.RequestStats] = []
    bucket = ha.TokenBucket(1, 4.0, reserve=0)
    mock.get(f"{BASE}/time_entries/7", status=502, body="bad gateway")
    mock.get(f"{BASE}/time_entries/7", body=complete(ha.models.TimeEntry, '{"id": 7}'))
    async with make_client(rate_limiter=bucket, on_request=stats.append) as harvest:
        await harvest.time_entries.get(7)
        held = await bucket.acquire()
        with pytest.raises(ha.RateLimitTimeout):
            await harvest.with_options(max_wait=1.0, priority="bulk").users.me()
        await bucket.release(held)
    first, timed_out = stats
    assert first.method == "GET"
    assert first.path == "/v2/time_entries/7"
    assert first.attempts == 2
    assert first.status == 200
    assert first.error is None
    assert first.priority == "interactive"
    # The retry waited for the slot the first attempt held: 4 s less the backoff.
    assert 3.4 <= first.limiter_wait < 4.0
    assert first.duration == pytest.approx(4.0)
    assert timed_out.attempts == 0
    assert timed_out.status is None
    assert timed_out.error == "RateLimitTimeout"
    assert timed_out.priority == "bulk"
    assert timed_out.limiter_wait == pytest.approx(1.0)


async def test_on_request_never_holds_the_token_or_query_values(mock: aioresponses) -> None:
    stats: list[ha.RequestStats] = []
    mock.get(
        f"{BASE}/clients?is_active=true&updated_since=2025-01-01T00%3A00%3A00Z",
        body='{"clients": [], "links": {"next": null}}',
    )

    def boom(_: ha.RequestStats) -> None:
        raise RuntimeError("observer bug")

    import datetime as dt

    async with make_client(on_request=stats.append) as harvest:
        await harvest.clients.list(
            is_active=True, updated_since=dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
        ).collect()
    (one,) = stats
    assert one.query_keys == ("is_active", "updated_since")
    text = repr(one)
    assert TOKEN not in text
    assert "2025" not in text
    assert "true" not in text
    async with make_client(on_request=boom) as harvest:  # an observer never breaks a call
        mock.get(f"{BASE}/users/me", body=ME)
        assert (await harvest.users.me()).id == 1
