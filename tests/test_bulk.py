"""Bulk sync at the rate limit: prefetch, concurrent pages, date shards, bulk helpers.

Overlap and bounds are proven with fake fetches, events and counters, never timing;
anything that waits runs on looptime's virtual clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import inspect
import itertools
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aioresponses import CallbackResult, aioresponses
from hypothesis import given
from hypothesis import strategies as st
from yarl import URL

import harvest_async as ha
from harvest_async import bulk
from harvest_async._pagination import Paginator, page_urls
from harvest_async.models import TimeEntry
from harvest_async.resources._base import split_days

from .conftest import ACCOUNT, BASE, TOKEN, sent_requests
from .records import complete, record

# ---------------------------------------------------------------------------
# A fake list: answers pages after virtual delays or gates, counts what is in flight
# ---------------------------------------------------------------------------


def envelope(
    ids: list[int], *, next_url: str | None, page: int | None = None, total_pages: int | None = None
) -> dict[str, Any]:
    return {
        "items": [{"id": i} for i in ids],
        "per_page": 2,
        "total_pages": total_pages,
        "total_entries": None,
        "page": page,
        "next_page": None,
        "previous_page": None,
        "links": {"first": "x", "next": next_url, "previous": None, "last": None},
    }


def cursor_list(pages: int, *, per_page: int = 2) -> dict[str | None, dict[str, Any]]:
    """A cursor-based list; like Harvest, the first page says ``page: 1``."""
    out: dict[str | None, dict[str, Any]] = {}
    for n in range(1, pages + 1):
        url = None if n == 1 else f"c?cursor=k{n}&per_page={per_page}"
        nxt = f"c?cursor=k{n + 1}&per_page={per_page}" if n < pages else None
        ids = list(range((n - 1) * per_page + 1, n * per_page + 1))
        out[url] = envelope(
            ids, next_url=nxt, page=1 if n == 1 else None, total_pages=pages if n == 1 else None
        )
    return out


def page_url(n: int) -> str:
    return f"u?per_page=2&page={n}&is_active=true"


def page_list(pages: int, *, announced: int | None = None) -> dict[str | None, dict[str, Any]]:
    """A page-based list of ``pages`` pages of two items (``announced`` total_pages)."""
    total = announced or pages
    out: dict[str | None, dict[str, Any]] = {}
    for n in range(1, pages + 1):
        nxt = page_url(n + 1) if n < pages else None
        out[None if n == 1 else page_url(n)] = envelope(
            [2 * n - 1, 2 * n], next_url=nxt, page=n, total_pages=total
        )
    return out


class FakeList:
    """fetch() for a Paginator, with per-URL delays or gates, and in-flight counts."""

    def __init__(
        self,
        pages: dict[str | None, dict[str, Any]],
        *,
        delays: dict[str | None, float] | None = None,
        fail: dict[str | None, Exception] | None = None,
    ) -> None:
        self.pages = pages
        self.delays = delays or {}
        self.fail = fail or {}
        self.gates: dict[str | None, asyncio.Event] = {}
        self.started: dict[str | None, asyncio.Event] = {}
        self.calls: list[str | None] = []
        self.done: list[str | None] = []
        self.cancelled: list[str | None] = []
        self.in_flight = 0
        self.max_in_flight = 0

    def gate(self, url: str | None) -> asyncio.Event:
        return self.gates.setdefault(url, asyncio.Event())

    def start_of(self, url: str | None) -> asyncio.Event:
        return self.started.setdefault(url, asyncio.Event())

    async def __call__(self, url: str | None) -> Any:
        self.calls.append(url)
        self.start_of(url).set()
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if url in self.gates:
                await self.gates[url].wait()
            if self.delays.get(url):
                await asyncio.sleep(self.delays[url])
            if url in self.fail:
                raise self.fail[url]
            self.done.append(url)
            return self.pages[url]
        except asyncio.CancelledError:
            self.cancelled.append(url)
            raise
        finally:
            self.in_flight -= 1


def ids_of(items: Any) -> list[int]:
    return [item["id"] for item in items]


def pager(fake: FakeList, **options: Any) -> Paginator[int]:
    return Paginator(fake, "items", ids_of, **options)


async def settle() -> None:
    """Let scheduled callbacks and tasks (an asyncgen finalizer's aclose()) run."""
    for _ in range(10):
        await asyncio.sleep(0)


def only_this_task_left() -> bool:
    return asyncio.all_tasks() == {asyncio.current_task()}


# ---------------------------------------------------------------------------
# Prefetch
# ---------------------------------------------------------------------------


@pytest.mark.looptime
async def test_next_page_is_fetched_while_the_caller_works_on_this_one() -> None:
    fake = FakeList(cursor_list(3), delays=dict.fromkeys(cursor_list(3), 1.0))
    second = "c?cursor=k2&per_page=2"
    seen: list[int] = []
    async for item in pager(fake):
        seen.append(item)
        if item == 1:
            # The caller is busy with page 1 and has not asked for page 2: it is on its way.
            async with asyncio.timeout(0.5):
                await fake.start_of(second).wait()
            assert fake.calls == [None, second]
    assert seen == [1, 2, 3, 4, 5, 6]


@pytest.mark.looptime
async def test_prefetch_zero_fetches_only_when_asked() -> None:
    fake = FakeList(cursor_list(3))
    async for item in pager(fake, prefetch=0):
        if item == 1:
            await asyncio.sleep(10)
            assert fake.calls == [None]
    assert len(fake.calls) == 3


@pytest.mark.looptime
@pytest.mark.parametrize("prefetch", [1, 2, 3])
async def test_pages_held_never_exceed_one_plus_prefetch(prefetch: int) -> None:
    lst = cursor_list(10)
    fake = FakeList(lst, delays=dict.fromkeys(lst, 0.1))
    held = 0
    async for page in pager(fake, prefetch=prefetch).pages():
        held += 1
        await asyncio.sleep(5)  # a slow caller: the prefetch fills up to its depth
        # Started = the pages handed over (this one included) + those fetched ahead.
        assert len(fake.calls) == min(held + prefetch, 10)
        assert page.items[0] == 2 * held - 1
    assert fake.max_in_flight == 1  # a cursor list is walked one request at a time


@pytest.mark.looptime
async def test_leaving_early_cancels_the_prefetch_in_flight() -> None:
    fake = FakeList(cursor_list(3))
    fake.gate("c?cursor=k2&per_page=2")  # page 2 never answers
    async with contextlib.aclosing(pager(fake).pages()) as pages:
        async for _ in pages:
            await fake.start_of("c?cursor=k2&per_page=2").wait()
            break
    assert fake.cancelled == ["c?cursor=k2&per_page=2"]
    assert fake.in_flight == 0
    assert only_this_task_left()


@pytest.mark.looptime
async def test_break_out_of_a_plain_loop_cancels_the_prefetch_soon() -> None:
    fake = FakeList(cursor_list(3))
    fake.gate("c?cursor=k2&per_page=2")
    async for _ in pager(fake):
        await fake.start_of("c?cursor=k2&per_page=2").wait()
        break
    await settle()  # the abandoned generator is closed by the asyncgen finalizer
    assert fake.cancelled == ["c?cursor=k2&per_page=2"]
    assert only_this_task_left()


@pytest.mark.looptime
async def test_cancelling_the_caller_cancels_the_prefetch() -> None:
    fake = FakeList(cursor_list(3))
    fake.gate("c?cursor=k2&per_page=2")
    working = asyncio.Event()

    async def consume() -> None:
        async for _ in pager(fake):
            working.set()
            await asyncio.Event().wait()  # busy with the first item forever

    task = asyncio.create_task(consume())
    await working.wait()
    await fake.start_of("c?cursor=k2&per_page=2").wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await settle()  # the abandoned generator is closed by the asyncgen finalizer
    assert fake.cancelled == ["c?cursor=k2&per_page=2"]
    assert only_this_task_left()


@pytest.mark.looptime
async def test_a_failed_prefetch_is_raised_after_the_pages_before_it() -> None:
    fake = FakeList(
        cursor_list(3),
        fail={"c?cursor=k3&per_page=2": ha.ServerError("boom", status=500, method="GET", url="x")},
    )
    seen: list[int] = []

    async def walk() -> None:
        async for item in pager(fake):
            seen.append(item)

    with pytest.raises(ha.ServerError):
        await walk()
    assert seen == [1, 2, 3, 4]
    assert only_this_task_left()


@pytest.mark.looptime
async def test_repeating_next_url_is_still_a_decode_error_with_prefetch() -> None:
    pages = {None: envelope([1], next_url="a"), "a": envelope([2], next_url="a")}
    with pytest.raises(ha.DecodeError, match="repeats"):
        await pager(FakeList(pages)).collect()


@pytest.mark.looptime
async def test_cancelled_prefetch_gives_its_limiter_slot_back(mock: aioresponses) -> None:
    bucket = ha.TokenBucket(100, 15.0)
    answered = asyncio.Event()
    second = f"{BASE}/time_entries?cursor=abc&per_page=1"

    async def never(url: URL, **kwargs: Any) -> CallbackResult:
        answered.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    mock.get(
        f"{BASE}/time_entries?per_page=1",
        body=json.dumps(
            {"time_entries": [record(TimeEntry, id=1)], "page": 1, "links": {"next": second}}
        ),
    )
    mock.get(second, callback=never)
    async with ha.HarvestClient(
        access_token=TOKEN, account_id=ACCOUNT, user_agent="t (t@x)", rate_limiter=bucket
    ) as client:
        entries = client.time_entries.list(per_page=1)
        async with contextlib.aclosing(entries.pages()) as pages:
            async for _ in pages:
                await answered.wait()  # page 2 is in flight, holding a slot
                assert bucket._in_flight == 1  # page 1 answered and gave its slot back
                break
        assert bucket._in_flight == 0  # released in the requester's finally
        assert bucket.in_use == 2  # both requests reached the wire: both still count
        assert only_this_task_left()


# ---------------------------------------------------------------------------
# Page-based lists: the remaining pages concurrently, in order
# ---------------------------------------------------------------------------


@pytest.mark.looptime
async def test_page_based_list_fetches_remaining_pages_concurrently_in_order() -> None:
    lst = page_list(6)
    # Later pages answer first: the order must still be the server's.
    fake = FakeList(lst, delays={page_url(n): 10.0 - n for n in range(2, 7)})
    items = await pager(fake).collect()
    assert items == list(range(1, 13))
    assert fake.calls[0] is None
    assert sorted(fake.calls[1:], key=str) == sorted(page_url(n) for n in range(2, 7))
    assert fake.max_in_flight == 5  # all of them at once (default concurrency 8)
    assert fake.done[1:] == [page_url(n) for n in range(6, 1, -1)]


@pytest.mark.looptime
@pytest.mark.parametrize("concurrency", [2, 3, 8])
async def test_page_fan_out_is_bounded_and_holds_few_pages(concurrency: int) -> None:
    lst = page_list(20)
    fake = FakeList(lst, delays={page_url(n): 1.0 + (n * 7) % 5 for n in range(2, 21)})
    held = 0
    items: list[int] = []
    async for page in pager(fake, concurrency=concurrency).pages():
        held += 1
        items.extend(page.items)
        await asyncio.sleep(3)
        # Requested = pages handed over + at most `concurrency` ahead of the caller.
        assert len(fake.calls) <= held + concurrency
    assert items == list(range(1, 41))
    assert fake.max_in_flight == concurrency


@pytest.mark.looptime
async def test_concurrency_one_follows_links_next_one_by_one() -> None:
    fake = FakeList(page_list(4))
    assert await pager(fake, concurrency=1).collect() == list(range(1, 9))
    assert fake.calls == [None, page_url(2), page_url(3), page_url(4)]
    assert fake.max_in_flight == 1


@pytest.mark.looptime
async def test_cursor_list_never_gets_a_page_number() -> None:
    fake = FakeList(cursor_list(5))  # first page: page 1 of total_pages 5, cursor links
    assert await pager(fake, concurrency=8).collect() == list(range(1, 11))
    assert fake.calls == [None, *(f"c?cursor=k{n}&per_page=2" for n in range(2, 6))]
    assert not any("page=" in url.replace("per_page=", "") for url in fake.calls if url)
    assert fake.max_in_flight == 1


@pytest.mark.looptime
async def test_more_pages_than_announced_are_followed_after_the_fan_out() -> None:
    fake = FakeList(page_list(5, announced=3))  # records were added during the walk
    assert await pager(fake).collect() == list(range(1, 11))
    assert fake.calls[-2:] == [page_url(4), page_url(5)]


@pytest.mark.looptime
async def test_fewer_pages_than_announced_yield_nothing_more() -> None:
    pages = page_list(4)
    pages[page_url(4)] = envelope([], next_url=None, page=4, total_pages=3)
    pages[page_url(3)] = envelope([5], next_url=None, page=3, total_pages=3)
    assert await pager(FakeList(pages)).collect() == [1, 2, 3, 4, 5]


@pytest.mark.looptime
async def test_a_page_answering_another_number_is_a_decode_error() -> None:
    pages = page_list(3)
    pages[page_url(3)] = envelope([5, 6], next_url=None, page=1, total_pages=3)
    with pytest.raises(ha.DecodeError, match="page number other than the one asked for"):
        await pager(FakeList(pages)).collect()


@pytest.mark.looptime
async def test_a_failing_page_stops_the_walk_and_cancels_the_others() -> None:
    lst = page_list(8)
    fake = FakeList(lst, fail={page_url(3): ha.TransportError("reset")})
    for n in range(4, 9):
        fake.gate(page_url(n))  # never answer
    seen: list[int] = []

    async def walk() -> None:
        async for item in pager(fake):
            seen.append(item)

    with pytest.raises(ha.TransportError):
        await walk()
    assert seen == [1, 2, 3, 4]
    assert sorted(fake.cancelled, key=str) == sorted(page_url(n) for n in range(4, 9))
    assert only_this_task_left()


def test_page_urls_change_only_the_page_value() -> None:
    first = ha.Page(
        items=[],
        page=1,
        total_pages=4,
        next_url="https://h/v2/clients?is_active=true&page=2&per_page=1&x=%20",
    )
    urls = page_urls(first)
    assert urls is not None
    assert list(urls) == [
        (n, f"https://h/v2/clients?is_active=true&page={n}&per_page=1&x=%20") for n in (2, 3, 4)
    ]


@pytest.mark.parametrize(
    ("page", "total", "next_url"),
    [
        (1, 4, "u?cursor=abc&page=2"),  # a cursor list, even if it mentions page
        (1, 4, "u?cursor=abc"),
        (1, None, "u?page=2"),  # no total_pages
        (None, 4, "u?page=2"),  # no page number
        (1, 4, "u?page=3"),  # next is not the following page
        (1, 4, "u?page=2&page=2"),
        (1, 1, "u?page=2"),
        (1, 4, "u"),
        (1, 4, "u?page=2#frag"),
        (1, 4, None),
    ],
)
def test_page_urls_refuse_what_is_not_plainly_page_based(
    page: int | None, total: int | None, next_url: str | None
) -> None:
    assert page_urls(ha.Page(items=[], page=page, total_pages=total, next_url=next_url)) is None


def test_options_are_checked_and_copied() -> None:
    fake = FakeList(cursor_list(1))
    base = pager(fake)
    assert (base.prefetch, base.concurrency) == (1, 8)
    tuned = base.with_options(prefetch=3, concurrency=2)
    assert (tuned.prefetch, tuned.concurrency) == (3, 2)
    assert (base.prefetch, base.concurrency) == (1, 8)
    for bad in (
        {"prefetch": -1},
        {"prefetch": True},
        {"concurrency": 0},
        {"concurrency": 101},
        {"concurrency": 2.0},
    ):
        with pytest.raises(ValueError, match="must be an int"):
            base.with_options(**bad)
    with pytest.raises(ValueError, match="must be an int"):
        pager(fake, prefetch=-1)


async def test_page_based_over_http_sends_page_numbers_built_from_links_next(
    client: ha.HarvestClient, mock: aioresponses
) -> None:
    def body(n: int) -> str:
        nxt = f'"{BASE}/clients?is_active=true&page={n + 1}&per_page=1"' if n < 3 else "null"
        item = complete(ha.models.Client, f'{{"id": {n}}}')
        return (
            f'{{"clients": [{item}], "per_page": 1, "total_pages": 3,'
            f' "total_entries": 3, "page": {n}, "links": {{"next": {nxt}}}}}'
        )

    mock.get(f"{BASE}/clients?is_active=true&per_page=1", body=body(1))
    mock.get(f"{BASE}/clients?is_active=true&page=2&per_page=1", body=body(2))
    mock.get(f"{BASE}/clients?is_active=true&page=3&per_page=1", body=body(3))
    clients = await client.clients.list(is_active=True, per_page=1).collect()
    assert [c.id for c in clients] == [1, 2, 3]
    raw = sorted(s.url.raw_query_string for s in sent_requests(mock))
    assert raw == [
        "is_active=true&page=2&per_page=1",
        "is_active=true&page=3&per_page=1",
        "is_active=true&per_page=1",
    ]


async def test_cursor_list_over_http_follows_links_next_as_given(
    client: ha.HarvestClient, mock: aioresponses
) -> None:
    # Harvest's cursor lists report page 1 and total_pages on the first page.
    mock.get(
        re.compile(rf"^{re.escape(BASE)}/time_entries\?per_page=1$"),
        body=json.dumps(
            {
                "time_entries": [record(TimeEntry, id=3)],
                "page": 1,
                "total_pages": 3,
                "per_page": 1,
                "links": {"next": f"{BASE}/time_entries?cursor=c2&per_page=1"},
            }
        ),
    )
    mock.get(
        f"{BASE}/time_entries?cursor=c2&per_page=1",
        body=json.dumps(
            {
                "time_entries": [record(TimeEntry, id=2)],
                "page": None,
                "total_pages": None,
                "links": {"next": f"{BASE}/time_entries?cursor=c3&per_page=1"},
            }
        ),
    )
    mock.get(
        f"{BASE}/time_entries?cursor=c3&per_page=1",
        body=json.dumps(
            {
                "time_entries": [record(TimeEntry, id=1)],
                "page": 3,
                "total_pages": 3,
                "links": {"next": None},
            }
        ),
    )
    entries = await client.time_entries.list(per_page=1).collect()
    assert [e.id for e in entries] == [3, 2, 1]
    assert all("page" not in s.query for s in sent_requests(mock))


# ---------------------------------------------------------------------------
# Merged lists (date shards, one list per project)
# ---------------------------------------------------------------------------


def part(prefix: int, pages: int, delay: float = 0.0) -> tuple[FakeList, Paginator[int]]:
    lst: dict[str | None, dict[str, Any]] = {}
    for n in range(1, pages + 1):
        nxt = f"p{prefix}?cursor={n + 1}" if n < pages else None
        lst[None if n == 1 else f"p{prefix}?cursor={n}"] = envelope(
            [prefix * 100 + n], next_url=nxt
        )
    fake = FakeList(lst, delays=dict.fromkeys(lst, delay))
    return fake, pager(fake)


@pytest.mark.looptime
async def test_merge_as_completed_interleaves_pages_as_they_arrive() -> None:
    _, slow_pager = part(1, 3, delay=10.0)
    _, fast_pager = part(2, 3, delay=1.0)
    items = await Paginator.merge([slow_pager, fast_pager]).collect()
    assert sorted(items) == [101, 102, 103, 201, 202, 203]
    assert items[:3] == [201, 202, 203]  # the fast list did not wait for the slow one


@pytest.mark.looptime
async def test_merge_ordered_yields_list_by_list_with_bounded_buffers() -> None:
    _, slow_pager = part(1, 3, delay=10.0)
    fast, fast_pager = part(2, 6, delay=1.0)
    merged = Paginator.merge([slow_pager, fast_pager], ordered=True)
    items: list[int] = []
    async for item in merged:
        items.append(item)
        if item == 101:
            await asyncio.sleep(100)
            # The second list waits its turn holding one page (fetched, undecoded).
            assert len(fast.calls) == 1
    assert items == [101, 102, 103, 201, 202, 203, 204, 205, 206]
    assert merged.ordered
    assert not Paginator.merge([fast_pager]).ordered


@pytest.mark.looptime
async def test_merge_walks_at_most_concurrency_lists_at_once() -> None:
    fakes = [part(i, 2, delay=1.0) for i in range(1, 11)]
    running = 0
    most = 0

    def watch(fake: FakeList) -> Callable[[str | None], Awaitable[Any]]:
        async def fetch(url: str | None) -> Any:
            nonlocal running, most
            if url is None:
                running += 1
                most = max(most, running)
            try:
                return await fake(url)
            finally:
                if fake.pages[url]["links"]["next"] is None:
                    running -= 1

        return fetch

    lists = [Paginator(watch(f), "items", ids_of) for f, _ in fakes]
    items = await bulk.stream_lists(lists, concurrency=3).collect()
    assert sorted(items) == sorted(i * 100 + n for i in range(1, 11) for n in (1, 2))
    assert most == 3


@pytest.mark.looptime
async def test_a_failing_list_stops_the_merge_and_cancels_the_others() -> None:
    bad, bad_pager = part(1, 2)
    bad.fail["p1?cursor=2"] = ha.TransportError("reset")
    stuck, stuck_pager = part(2, 2)
    stuck.gate("p2?cursor=2")
    with pytest.raises(ha.TransportError):
        await Paginator.merge([bad_pager, stuck_pager]).collect()
    assert stuck.cancelled == ["p2?cursor=2"]
    assert only_this_task_left()


async def test_merge_of_nothing_is_empty_and_options_reach_the_parts() -> None:
    assert await Paginator.merge([]).collect() == []
    _, one = part(1, 1)
    merged = Paginator.merge([one, one]).with_options(prefetch=0, concurrency=2)
    assert [(p.prefetch, p.concurrency) for p in merged.parts] == [(0, 2), (0, 2)]
    with pytest.raises(TypeError):
        Paginator.merge([one, "x"])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="concurrency"):
        Paginator.merge([one], concurrency=0)


# ---------------------------------------------------------------------------
# Date shards
# ---------------------------------------------------------------------------


@given(
    first=st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31)),
    days=st.integers(min_value=0, max_value=5000),
    shards=st.integers(min_value=1, max_value=100),
)
def test_split_days_covers_every_day_exactly_once(first: dt.date, days: int, shards: int) -> None:
    last = min(first + dt.timedelta(days=min(days, (dt.date.max - first).days)), dt.date.max)
    ranges = split_days(first, last, shards)
    span = (last - first).days + 1
    assert len(ranges) == min(shards, span)
    assert ranges[0][1] == last  # newest first
    assert ranges[-1][0] == first
    for (lo, _), (_, next_hi) in itertools.pairwise(ranges):
        assert next_hi + dt.timedelta(days=1) == lo  # contiguous and disjoint
    sizes = [(hi - lo).days + 1 for lo, hi in ranges]
    assert sum(sizes) == span
    assert max(sizes) - min(sizes) <= 1


def entry_json(ident: int, day: dt.date, cls: type = TimeEntry) -> dict[str, Any]:
    return record(cls, id=ident, spent_date=day.isoformat(), hours=1.25)


def dated_list(mock: aioresponses, key: str, records: list[dict[str, Any]]) -> None:
    """Answer ``/key?from=&to=...`` with the records in range (newest first), 2 per page."""

    def answer(url: URL, **kwargs: Any) -> CallbackResult:
        params = kwargs.get("params") or {}
        query = {**dict(url.query), **dict(params)}
        lo = dt.date.fromisoformat(query["from"])
        hi = dt.date.fromisoformat(query["to"])
        rows = [r for r in records if lo <= dt.date.fromisoformat(r["spent_date"]) <= hi]
        rows.sort(key=lambda r: (r["spent_date"], r["id"]), reverse=True)
        return CallbackResult(
            body=json.dumps({key: rows, "page": 1, "total_pages": 1, "links": {"next": None}})
        )

    mock.get(re.compile(rf"^{re.escape(BASE)}/{key}\?.*$"), callback=answer, repeat=True)


@pytest.mark.looptime
async def test_time_entry_shards_cover_every_entry_once(
    client: ha.HarvestClient, mock: aioresponses
) -> None:
    start = dt.date(2024, 1, 1)
    records = [entry_json(i, start + dt.timedelta(days=i % 31)) for i in range(1, 200)]
    dated_list(mock, "time_entries", records)
    sharded = client.time_entries.list(from_=start, to=dt.date(2024, 1, 31), user_id=7, shards=4)
    entries = await sharded.collect()
    assert sorted(e.id for e in entries) == list(range(1, 200))  # each exactly once
    sent = sent_requests(mock)
    assert len(sent) == 4
    ranges = sorted((s.query["from"], s.query["to"]) for s in sent)
    assert ranges == [
        ("2024-01-01", "2024-01-07"),
        ("2024-01-08", "2024-01-15"),
        ("2024-01-16", "2024-01-23"),
        ("2024-01-24", "2024-01-31"),
    ]
    assert all(s.query["user_id"] == "7" for s in sent)
    # Shard by shard, the order is the unsharded one: newest spent_date first.
    ordered = await sharded.with_options(ordered=True).collect()
    assert [e.id for e in ordered] == [
        r["id"] for r in sorted(records, key=lambda r: (r["spent_date"], r["id"]), reverse=True)
    ]


@pytest.mark.looptime
async def test_expense_shards_cover_every_expense_once(
    client: ha.HarvestClient, mock: aioresponses
) -> None:
    start = dt.date(2023, 12, 30)
    records = [
        entry_json(i, start + dt.timedelta(days=i % 5), ha.models.Expense) for i in range(1, 40)
    ]
    dated_list(mock, "expenses", records)
    expenses = await client.expenses.list(from_=start, to="2024-01-03", shards=10).collect()
    assert sorted(e.id for e in expenses) == list(range(1, 40))
    assert len(sent_requests(mock)) == 5  # one shard per day: no more shards than days


@pytest.mark.parametrize(
    "kwargs",
    [
        {"shards": 4},
        {"shards": 4, "from_": "2024-01-01"},
        {"shards": 4, "to": "2024-01-01"},
        {"shards": 4, "from_": "2024-01-01", "to": None},
        {"shards": 0, "from_": "2024-01-01", "to": "2024-01-31"},
        {"shards": 101, "from_": "2024-01-01", "to": "2024-01-31"},
        {"shards": True, "from_": "2024-01-01", "to": "2024-01-31"},
        {"shards": "4", "from_": "2024-01-01", "to": "2024-01-31"},
        {"shards": 4, "from_": "2024-02-01", "to": "2024-01-31"},
        {"shards": 4, "from_": "2024-13-01", "to": "2024-01-31"},
        {"shards": 4, "from_": "2024-01-01", "to": "2024-01-31", "per_page": 5000},
        {"shards": 4, "from_": "2024-01-01", "to": "2024-01-31", "user_id": -1},
    ],
)
async def test_shards_need_valid_dates_and_send_nothing_otherwise(
    client: ha.HarvestClient, mock: aioresponses, kwargs: dict[str, Any]
) -> None:
    with pytest.raises(ha.InvalidRequestError):
        client.time_entries.list(**kwargs)
    with pytest.raises(ha.InvalidRequestError):
        client.expenses.list(**{k: v for k, v in kwargs.items() if k != "task_id"})
    assert sent_requests(mock) == []


async def test_shards_are_separate_lists_of_the_same_filters(client: ha.HarvestClient) -> None:
    assert client.time_entries.list().parts == ()
    one = client.time_entries.list(from_="2024-01-01", to="2024-01-31", shards=1)
    assert len(one.parts) == 1
    many = client.expenses.list(from_="2024-01-01", to="2024-01-31", shards=31)
    assert len(many.parts) == 31
    assert "31 date shards" in repr(many)


async def test_shards_against_the_simulator_equal_the_unsharded_list() -> None:
    from harvest_async.testing import HarvestSimulator

    async with HarvestSimulator(seed=3, page_based=["expenses"]) as sim, sim.client() as h:
        span = {"from_": dt.date(2023, 6, 1), "to": dt.date(2024, 12, 31), "per_page": 150}
        plain = [e.id for e in await h.time_entries.list(**span).collect()]
        sharded = h.time_entries.list(**span, shards=8)
        as_completed = [e.id for e in await sharded.collect()]
        assert len(as_completed) == len(set(as_completed)) == len(plain) > 300
        assert set(as_completed) == set(plain)
        assert [e.id for e in await sharded.with_options(ordered=True).collect()] == plain
        # expenses answer page-based here: each shard fans its pages out
        spent = {"from_": dt.date(2023, 1, 1), "to": dt.date(2024, 12, 31), "per_page": 10}
        plain_x = [e.id for e in await h.expenses.list(**spent).collect()]
        sharded_x = [e.id for e in await h.expenses.list(**spent, shards=3).collect()]
        assert len(sharded_x) == len(set(sharded_x)) == len(plain_x) > 30
        assert set(sharded_x) == set(plain_x)
        pages = [r for r in sim.requests if "/expenses" in r.path and "page=" in r.query]
        assert pages  # page numbers went to the page-based list...
        assert not [
            r
            for r in sim.requests
            if "/time_entries" in r.path and re.search(r"(^|&)page=", r.query)
        ]  # ...never to the cursor one
        assert sim.counters.throttled == 0


# ---------------------------------------------------------------------------
# Bulk helpers
# ---------------------------------------------------------------------------


class Work:
    """An async function of one item that records concurrency and cancellation."""

    def __init__(
        self, delay: Callable[[int], float] = lambda i: 1.0, fail: set[int] | None = None
    ) -> None:
        self.delay = delay
        self.fail = fail or set()
        self.running = 0
        self.most = 0
        self.started: list[int] = []
        self.cancelled: list[int] = []

    async def __call__(self, item: int) -> str:
        self.started.append(item)
        self.running += 1
        self.most = max(self.most, self.running)
        try:
            await asyncio.sleep(self.delay(item))
            if item in self.fail:
                raise ha.NotFoundError("nope", status=404, method="GET", url="x")
            return f"r{item}"
        except asyncio.CancelledError:
            self.cancelled.append(item)
            raise
        finally:
            self.running -= 1


@pytest.mark.looptime
async def test_run_collects_errors_and_keeps_input_order() -> None:
    work = Work(delay=lambda i: 10 - i % 10, fail={3, 7})
    result = await bulk.run(work, range(20), concurrency=4)
    assert not result.ok
    assert list(result.results) == [i for i in range(20) if i not in (3, 7)]
    assert result.values() == [f"r{i}" for i in range(20) if i not in (3, 7)]
    assert list(result.errors) == [3, 7]
    assert all(isinstance(e, ha.NotFoundError) for e in result.errors.values())
    assert [item for item, _ in result.failed()] == [3, 7]
    with pytest.raises(ExceptionGroup) as info:
        result.raise_errors()
    assert len(info.value.exceptions) == 2
    assert work.most == 4


@pytest.mark.looptime
@pytest.mark.parametrize("ordered", [True, False])
async def test_map_bounds_concurrency_and_orders_as_asked(ordered: bool) -> None:
    work = Work(delay=lambda i: 5.0 if i % 4 == 0 else 1.0)
    outcomes = [o async for o in bulk.map(work, range(12), concurrency=4, ordered=ordered)]
    assert work.most == 4
    indexes = [o.index for o in outcomes]
    assert sorted(indexes) == list(range(12))
    if ordered:
        assert indexes == list(range(12))
    else:
        assert indexes != list(range(12))  # the slow ones came later
        assert indexes[:3] == [1, 2, 3]
    assert all(o.ok and o.unwrap() == f"r{o.item}" for o in outcomes)


@pytest.mark.looptime
async def test_map_reads_items_lazily() -> None:
    taken: list[int] = []

    def items() -> Any:
        for i in range(1000):
            taken.append(i)
            yield i

    work = Work()
    async with contextlib.aclosing(bulk.map(work, items(), concurrency=5)) as outcomes:
        async for outcome in outcomes:
            assert len(taken) <= outcome.index + 1 + 5
            if outcome.index == 20:
                break
    assert len(taken) < 30
    assert only_this_task_left()


@pytest.mark.looptime
async def test_cancelling_the_caller_cancels_every_call_in_flight() -> None:
    work = Work(delay=lambda i: 100.0)
    task = asyncio.create_task(bulk.run(work, range(50), concurrency=8))
    await asyncio.sleep(1)
    assert work.running == 8
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert sorted(work.cancelled) == list(range(8))
    assert work.running == 0
    assert len(work.started) == 8  # nothing else was started
    assert only_this_task_left()


@pytest.mark.looptime
async def test_gather_runs_callables_and_coroutines_and_closes_unstarted_ones() -> None:
    work = Work(fail={2})
    result = await bulk.gather(
        [functools.partial(work, 0), lambda: work(1), work(2), work(3)], concurrency=2
    )
    assert result.values() == ["r0", "r1", "r3"]
    assert list(result.errors) == [2]

    slow = Work(delay=lambda i: 100.0)
    coros = [slow(i) for i in range(6)]
    task = asyncio.create_task(bulk.gather(coros, concurrency=2))
    await asyncio.sleep(1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert all(inspect.getcoroutinestate(c) == inspect.CORO_CLOSED for c in coros)
    assert sorted(slow.started) == [0, 1]


async def test_bad_concurrency_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="concurrency"):
        await bulk.run(Work(), [1], concurrency=0)
    with pytest.raises(ValueError, match="concurrency"):
        bulk.stream_lists([], concurrency=True)
    assert (await bulk.run(Work(), [])).ok


@pytest.mark.looptime
async def test_fetch_ids_over_http_keeps_missing_ones_as_errors(
    client: ha.HarvestClient, mock: aioresponses
) -> None:
    for ident in (11, 13):
        mock.get(
            f"{BASE}/time_entries/{ident}",
            body=complete(TimeEntry, f'{{"id": {ident}, "hours": 2.5}}'),
        )
    mock.get(f"{BASE}/time_entries/12", status=404, body='{"message": "Not found"}')
    fetched = await bulk.fetch_ids(client.time_entries.get, [11, 12, 13], concurrency=3)
    assert [e.id for e in fetched.values()] == [11, 13]
    assert str(fetched.values()[0].hours) == "2.5"
    assert isinstance(fetched.errors[1], ha.NotFoundError)
    assert fetched.failed()[0][0] == 12


@pytest.mark.looptime
async def test_stream_lists_merges_one_list_per_project(
    client: ha.HarvestClient, mock: aioresponses
) -> None:
    for pid in (1, 2, 3):
        mock.get(
            f"{BASE}/projects/{pid}/user_assignments",
            body=json.dumps(
                {
                    "user_assignments": [
                        record(ha.models.UserAssignment, id=pid * 10 + k) for k in (1, 2)
                    ],
                    "page": 1,
                    "total_pages": 1,
                    "links": {"next": None},
                }
            ),
        )
    lists = (client.projects.user_assignments(pid) for pid in (1, 2, 3))
    merged = bulk.stream_lists(lists, concurrency=2, ordered=True)
    assert [a.id for a in await merged.collect()] == [11, 12, 21, 22, 31, 32]
    assert len(sent_requests(mock)) == 3
