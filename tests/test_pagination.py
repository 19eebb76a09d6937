"""Paginator and Page: both pagination styles, laziness, one page at a time, bad envelopes."""

from __future__ import annotations

import re
from typing import Any

import pytest
from aioresponses import aioresponses

import harvest_async as ha
from harvest_async._pagination import Paginator, parse_page

from .conftest import BASE, sent_requests
from .records import complete


def envelope(
    ids: list[int],
    *,
    next_url: str | None,
    page: int | None = None,
    total_pages: int | None = None,
    total: int | None = None,
) -> dict[str, Any]:
    return {
        "items": [{"id": i} for i in ids],
        "per_page": 2,
        "total_pages": total_pages,
        "total_entries": total,
        "page": page,
        "next_page": None,
        "previous_page": None,
        "links": {"first": "x", "next": next_url, "previous": None, "last": None},
    }


class FakeFetch:
    def __init__(self, pages: dict[str | None, dict[str, Any]]) -> None:
        self.pages = pages
        self.calls: list[str | None] = []

    async def __call__(self, url: str | None) -> Any:
        self.calls.append(url)
        return self.pages[url]


def ids_of(items: Any) -> list[int]:
    return [item["id"] for item in items]


def make(fetch: FakeFetch) -> Paginator[int]:
    return Paginator(fetch, "items", ids_of)


async def test_page_based_list_follows_links_next() -> None:
    fetch = FakeFetch(
        {
            None: envelope([1, 2], next_url="u?page=2", page=1, total_pages=2, total=3),
            "u?page=2": envelope([3], next_url=None, page=2, total_pages=2, total=3),
        }
    )
    pager = make(fetch)
    assert fetch.calls == []  # nothing sent until iterated
    pages = [p async for p in pager.pages()]
    assert [p.items for p in pages] == [[1, 2], [3]]
    assert [(p.page, p.total_pages, p.total_entries) for p in pages] == [(1, 2, 3), (2, 2, 3)]
    assert pages[0].next_url == "u?page=2"
    assert pages[1].next_url is None
    assert fetch.calls == [None, "u?page=2"]


async def test_cursor_based_list_follows_links_next_and_total_may_be_none() -> None:
    fetch = FakeFetch(
        {
            None: envelope([1, 2], next_url="u?cursor=abc", page=1, total=None),
            "u?cursor=abc": envelope([3, 4], next_url="u?cursor=def"),
            "u?cursor=def": envelope([5], next_url=None),
        }
    )
    pager = make(fetch)
    assert [i async for i in pager] == [1, 2, 3, 4, 5]
    assert await pager.collect() == [1, 2, 3, 4, 5]  # re-iterable: starts over
    assert fetch.calls.count(None) == 2
    pages = [p async for p in pager.pages()]
    assert pages[1].total_entries is None
    assert pages[1].page is None


async def test_without_prefetch_only_the_current_page_is_held() -> None:
    fetch = FakeFetch(
        {
            None: envelope([1], next_url="a"),
            "a": envelope([2], next_url="b"),
            "b": envelope([3], next_url=None),
        }
    )
    seen = []
    async for item in Paginator(fetch, "items", ids_of, prefetch=0):
        seen.append((item, len(fetch.calls)))
    # Page k is fetched only once the caller has consumed page k-1.
    assert seen == [(1, 1), (2, 2), (3, 3)]


async def test_repeating_next_url_is_a_decode_error() -> None:
    fetch = FakeFetch({None: envelope([1], next_url="a"), "a": envelope([2], next_url="a")})
    with pytest.raises(ha.DecodeError, match="repeats"):
        await make(fetch).collect()


@pytest.mark.parametrize(
    "bad",
    [
        [],
        {"nope": []},
        {"items": {}},
        {"items": [], "total_entries": "7"},
        {"items": [], "links": {"next": 5}},
    ],
)
def test_bad_envelopes_are_decode_errors(bad: Any) -> None:
    def decode(items: Any) -> list[Any]:
        if not isinstance(items, list):
            raise ha.DecodeError("not a list")
        return items

    with pytest.raises(ha.DecodeError):
        parse_page(bad, "items", decode)


async def test_over_http_page_based_then_cursor(
    client: ha.HarvestClient, mock: aioresponses
) -> None:
    c1, c2 = (complete(ha.models.Client, f'{{"id": {i}}}') for i in (1, 2))
    first = (
        '{"clients": [' + c1 + '], "per_page": 1, "total_pages": 2, "total_entries": 2,'
        ' "page": 1, "next_page": 2, "previous_page": null,'
        f' "links": {{"next": "{BASE}/clients?page=2&per_page=1"}}}}'
    )
    second = (
        '{"clients": [' + c2 + '], "per_page": 1, "total_pages": 2, "total_entries": 2,'
        ' "page": 2, "next_page": null, "previous_page": 1, "links": {"next": null}}'
    )
    mock.get(f"{BASE}/clients?per_page=1", body=first)
    mock.get(f"{BASE}/clients?page=2&per_page=1", body=second)
    clients = await client.clients.list(per_page=1).collect()
    assert [c.id for c in clients] == [1, 2]
    urls = [str(s.url) for s in sent_requests(mock)]
    assert urls == [f"{BASE}/clients?per_page=1", f"{BASE}/clients?page=2&per_page=1"]


async def test_cursor_url_is_sent_exactly_as_given(
    client: ha.HarvestClient, mock: aioresponses
) -> None:
    cursor = "eyJhZnRlciI6eyJpZCI6MTIzfX0%3D"
    e9, e8 = (complete(ha.models.TimeEntry, f'{{"id": {i}}}') for i in (9, 8))
    mock.get(
        re.compile(rf"^{re.escape(BASE)}/time_entries$"),
        body=f'{{"time_entries": [{e9}], "page": 1, "total_entries": null,'
        f' "links": {{"next": "{BASE}/time_entries?cursor={cursor}&per_page=2000"}}}}',
    )
    mock.get(
        f"{BASE}/time_entries?cursor={cursor}&per_page=2000",
        body='{"time_entries": [' + e8 + '], "page": null, "links": {"next": null}}',
    )
    entries = await client.time_entries.list().collect()
    assert [e.id for e in entries] == [9, 8]
    second = sent_requests(mock)[1]
    assert second.url.raw_query_string == f"cursor={cursor}&per_page=2000"
    assert "page" not in second.query
