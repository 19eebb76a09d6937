"""Hostile list answers: links.next off our API, pages that loop, lists that never end.

- `ApiRoot.check_next_url` gives a `DecodeError` for anything not on the API's origin
  and path (scheme-relative, credentials, other ports, backslashes, other schemes, dot
  segments), and nothing but a `DecodeError` or a URL on our origin for any string.
- A walk never yields a page twice: a page-based list is tracked by page number, a
  cursor list by URL (the first page by its ``links.first``); a repeat is a
  `DecodeError` before any item of it is yielded, and before it is even requested.
- The concurrent fan-out of a page-based list stops at the first page whose
  ``links.next`` is null, whatever ``total_pages`` claimed: the pages past it cost at
  most ``concurrency`` requests, and their failures (a 404) do not fail the list.
- A list that never ends (fresh cursors forever) stops at `page_limit` pages.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import pytest
from aioresponses import CallbackResult, aioresponses
from hypothesis import given, settings
from hypothesis import strategies as st
from yarl import URL

import harvest_async as ha
from harvest_async import _pagination
from harvest_async._http import ApiRoot, Request
from harvest_async._pagination import MAX_PAGES, PAGE_SLACK, Page, Paginator, page_limit

from .conftest import BASE, sent_requests
from .records import required_values


def client_record(ident: int) -> dict[str, Any]:
    """A client record (every field Harvest always sends) with id ``ident``."""
    return {**required_values(ha.models.Client), "id": ident}


# ---------------------------------------------------------------------------
# check_next_url
# ---------------------------------------------------------------------------


def requester(base: str = BASE) -> ApiRoot:
    return ApiRoot(URL(base))


REFUSED = [
    "//evil.example/v2/clients?page=2",
    "//api.harvestapp.com/v2/clients",  # scheme-relative, even to our host
    "https://user:pass@api.harvestapp.com/v2/clients",
    "https://user@api.harvestapp.com/v2/clients",
    "https://:@api.harvestapp.com/v2/clients",
    "https://api.harvestapp.com@evil.example/v2/clients",
    "https://api.harvestapp.com:8443/v2/clients",
    "https://api.harvestapp.com:/v2/clients",
    "https://api.harvestapp.com:443@evil.example/v2/clients",
    "https://api.harvestapp.com\\@evil.example/v2/clients",
    "https://api.harvestapp.com\\v2\\clients",
    "https:\\\\evil.example/v2/clients",
    "/\\evil.example/v2/clients",
    "http://api.harvestapp.com/v2/clients",  # plain http to an https API
    "ftp://api.harvestapp.com/v2/clients",
    "javascript:alert(1)",
    "data:text/plain,x",
    "file:///etc/passwd",
    "https:/v2/clients",
    "https:v2/clients",
    "https://evil.example/v2/clients",
    "https://api.harvestapp.com.evil.example/v2/clients",
    "https://api.harvestapp.com./v2/clients",
    "https://api%2eharvestapp.com/v2/clients",
    "https://[::1]/v2/clients",
    "https://api.harvestapp.com/v3/clients",
    "https://api.harvestapp.com/v2x/clients",
    "https://api.harvestapp.com/v2",
    "https://api.harvestapp.com/clients",
    "https://api.harvestapp.com/v2/../evil",
    "https://api.harvestapp.com/v2/./clients",
    "https://api.harvestapp.com/v2/%2e%2E/evil",
    "https://api.harvestapp.com/v2/clients%2f..%2f..%2fevil",
    "https://api.harvestapp.com/v2/a%5cb",
    "https://api.harvestapp.com?x=1",
    "/clients?page=2",  # an absolute path outside /v2
    "../clients",
    "?page=2",
    "#frag",
    "",
    " https://api.harvestapp.com/v2/clients",
    "https://api.harvestapp.com/v2/clients?page=2 ",
    "https://api.harvestapp.com/v2/clients\t",
    "https://api.harvestapp.com/v2/cl\nients",
    "https://api.harvestapp.com/v2/clients?q=\x00",
    "https://api.harvestapp.com/v2/clíents",
    "https://аpi.harvestapp.com/v2/clients",  # noqa: RUF001 (a Cyrillic a)
]


@pytest.mark.parametrize("url", REFUSED)
def test_links_next_off_the_api_is_a_decode_error_that_does_not_quote_it(url: str) -> None:
    with pytest.raises(ha.DecodeError) as info:
        requester().check_next_url(url)
    if url.strip():
        assert url.strip() not in str(info.value)
        assert "evil" not in str(info.value)


@pytest.mark.parametrize("value", [None, 5, ["https://api.harvestapp.com/v2/x"], {"a": 1}])
def test_links_next_that_is_no_string_is_a_decode_error(value: Any) -> None:
    with pytest.raises(ha.DecodeError, match="not a string"):
        requester().check_next_url(value)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (f"{BASE}/time_entries?cursor=eyJh%3D&per_page=2000", None),
        (f"{BASE}/clients?page=2&per_page=1&is_active=true", None),
        ("HTTPS://API.HarvestApp.com/v2/clients?page=2", f"{BASE}/clients?page=2"),
        ("https://api.harvestapp.com:443/v2/clients?page=2", f"{BASE}/clients?page=2"),
        (f"{BASE}/clients?page=2#top", f"{BASE}/clients?page=2"),
        ("/v2/clients?page=2", f"{BASE}/clients?page=2"),
        ("clients?page=2", f"{BASE}/clients?page=2"),
        (f"{BASE}/reports/time/clients?from=20240101&to=20241231&page=2", None),
    ],
)
def test_links_next_on_the_api_is_kept(url: str, expected: str | None) -> None:
    assert requester().check_next_url(url) == (expected or url)


def test_loopback_base_accepts_its_own_port_only() -> None:
    local = requester("http://127.0.0.1:8080/v2")
    assert (
        local.check_next_url("http://127.0.0.1:8080/v2/x?y=1") == "http://127.0.0.1:8080/v2/x?y=1"
    )
    for bad in (
        "http://127.0.0.1/v2/x",
        "http://127.0.0.1:80/v2/x",
        "http://127.0.0.1:8081/v2/x",
        "https://127.0.0.1:8080/v2/x",
        "http://localhost:8080/v2/x",
        "//127.0.0.1:8080/v2/x",
    ):
        with pytest.raises(ha.DecodeError):
            local.check_next_url(bad)


def _on_our_api(req: ApiRoot, url: str) -> None:
    """What an accepted links.next must be: our origin, our path, nothing else."""
    target = URL(url, encoded=True)
    base = req.base_url
    assert (target.scheme, target.host, target.port) == (base.scheme, base.host, base.port)
    assert target.user is None
    assert target.password is None
    assert target.raw_path.startswith("/v2/")
    assert not any(s in (".", "..") for s in target.path.split("/"))
    assert "\\" not in url
    # A page it leads to keeps the first page's limiter, whatever its path says.
    assert Request("GET", "reports/time/clients").following(url).limiter == "reports"


URL_PIECES = st.lists(
    st.sampled_from(
        [
            "https:",
            "http:",
            "HTTPS:",
            "ftp:",
            "//",
            "/",
            "\\",
            "@",
            ":",
            "user:pass@",
            "api.harvestapp.com",
            "API.harvestapp.com",
            "evil.example",
            "127.0.0.1",
            "[::1]",
            ":443",
            ":8443",
            "v2",
            "/v2/",
            "clients",
            "..",
            ".",
            "%2e",
            "%2f",
            "%5c",
            "?",
            "page=2",
            "&",
            "#",
            " ",
            "\t",
            "\x00",
            "é",
            "%",
        ]
    ),
    max_size=12,
).map("".join)


@settings(max_examples=1500, deadline=None)
@given(url=st.one_of(st.text(max_size=80), URL_PIECES))
def test_check_next_url_gives_a_decode_error_or_a_url_on_our_api(url: str) -> None:
    req = requester()
    try:
        accepted = req.check_next_url(url)
    except ha.DecodeError:
        return
    _on_our_api(req, accepted)


@settings(max_examples=300, deadline=None)
@given(url=URL_PIECES)
def test_check_next_url_on_a_loopback_base_too(url: str) -> None:
    req = requester("http://127.0.0.1:8080/v2/")
    try:
        accepted = req.check_next_url(url)
    except ha.DecodeError:
        return
    target = URL(accepted, encoded=True)
    assert (target.scheme, target.host, target.port) == ("http", "127.0.0.1", 8080)
    assert target.raw_path.startswith("/v2/")


@pytest.mark.parametrize(
    "link", ["//evil.example/v2/clients?page=2", "https://x:y@api.harvestapp.com/v2/clients"]
)
async def test_a_list_with_links_next_off_the_api_stops_there(
    client: ha.HarvestClient, mock: aioresponses, link: str
) -> None:
    mock.get(
        f"{BASE}/clients",
        body=json.dumps({"clients": [client_record(1)], "links": {"next": link}}),
    )
    with pytest.raises(ha.DecodeError, match="outside the API"):
        await client.clients.list().collect()
    assert len(sent_requests(mock)) == 1


# ---------------------------------------------------------------------------
# A fake list for request counts (no HTTP): per-URL pages, gates and failures
# ---------------------------------------------------------------------------


def envelope(
    ids: list[int],
    *,
    next_url: str | None,
    page: int | None = None,
    total_pages: int | None = None,
    total_entries: int | None = None,
    first: str | None = None,
) -> dict[str, Any]:
    return {
        "items": [client_record(i) for i in ids],
        "per_page": 2,
        "total_pages": total_pages,
        "total_entries": total_entries,
        "page": page,
        "links": {"first": first, "next": next_url, "previous": None, "last": None},
    }


def page_url(n: int) -> str:
    return f"u?per_page=2&page={n}"


def page_list(pages: int, *, announced: int | None = None) -> dict[str | None, Any]:
    total = announced or pages
    out: dict[str | None, Any] = {}
    for n in range(1, pages + 1):
        nxt = page_url(n + 1) if n < pages else None
        out[None if n == 1 else page_url(n)] = envelope(
            [2 * n - 1, 2 * n], next_url=nxt, page=n, total_pages=total
        )
    return out


class Fake:
    """fetch() for a Paginator: answers from ``pages``; counts and records calls."""

    def __init__(
        self,
        pages: dict[str | None, Any],
        *,
        fail: dict[str | None, BaseException] | None = None,
        gates: set[str | None] | None = None,
        delays: dict[str | None, float] | None = None,
        default: Any = None,
    ) -> None:
        self.pages = pages
        self.fail = fail or {}
        self.gates = {url: asyncio.Event() for url in gates or ()}
        self.delays = delays or {}
        self.default = default
        self.calls: list[str | None] = []
        self.cancelled: list[str | None] = []
        self.in_flight = 0
        self.max_in_flight = 0

    async def __call__(self, url: str | None) -> Any:
        self.calls.append(url)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if url in self.gates:
                await self.gates[url].wait()
            if self.delays.get(url):
                await asyncio.sleep(self.delays[url])
            if url in self.fail:
                raise self.fail[url]
            if url in self.pages:
                return self.pages[url]
            if self.default is not None:
                return self.default(url)
            raise ha.NotFoundError("Not Found", status=404, method="GET", url="u")
        except asyncio.CancelledError:
            self.cancelled.append(url)
            raise
        finally:
            self.in_flight -= 1


def ids_of(items: Any) -> list[int]:
    return [item["id"] for item in items]


def pager(fake: Fake, **options: Any) -> Paginator[int]:
    return Paginator(fake, "items", ids_of, **options)


async def walk(paginator: Paginator[int]) -> tuple[list[int], BaseException | None]:
    """The items yielded, and the error that ended the walk (or None)."""
    seen: list[int] = []
    try:
        async for item in paginator:
            seen.append(item)
    except ha.HarvestError as exc:
        return seen, exc
    return seen, None


WAYS = [
    pytest.param({}, id="fan-out"),
    pytest.param({"concurrency": 1}, id="follow+prefetch"),
    pytest.param({"concurrency": 1, "prefetch": 0}, id="follow"),
    pytest.param({"concurrency": 2, "prefetch": 3}, id="fan-out-2"),
]


# ---------------------------------------------------------------------------
# Page-based lists that loop
# ---------------------------------------------------------------------------


@pytest.mark.looptime
@pytest.mark.parametrize("options", WAYS)
@pytest.mark.parametrize("back_to", [1, 2, 3])
async def test_last_page_linking_back_yields_every_item_once(
    options: dict[str, Any], back_to: int
) -> None:
    pages = page_list(3)
    pages[page_url(3)]["links"]["next"] = (
        page_url(back_to) if back_to > 1 else "u?per_page=2&page=1"
    )
    fake = Fake(pages)
    seen, error = await walk(pager(fake, **options))
    assert seen == [1, 2, 3, 4, 5, 6]
    assert isinstance(error, ha.DecodeError)
    assert "repeats an earlier page" in str(error)
    assert "u?" not in str(error)
    # Refused before it was sent: three pages, three requests.
    assert sorted(fake.calls, key=str) == sorted([None, page_url(2), page_url(3)], key=str)


@pytest.mark.looptime
@pytest.mark.parametrize("options", WAYS)
async def test_a_page_that_answers_as_an_earlier_one_is_not_yielded(
    options: dict[str, Any],
) -> None:
    pages = page_list(4)
    # Page 3's link says page=4, but what comes back says it is page 2 (items 3, 4 again).
    pages[page_url(4)] = envelope([3, 4], next_url=None, page=2, total_pages=4)
    seen, error = await walk(pager(Fake(pages), **options))
    assert seen == [1, 2, 3, 4, 5, 6]
    assert isinstance(error, ha.DecodeError)


@pytest.mark.looptime
async def test_a_page_linking_to_its_own_number_is_refused_unsent() -> None:
    pages = page_list(3)
    pages[page_url(2)]["links"]["next"] = "u?page=2&per_page=2"  # another URL, same page
    fake = Fake(pages)
    seen, error = await walk(pager(fake, concurrency=1))
    assert seen == [1, 2, 3, 4]
    assert isinstance(error, ha.DecodeError)
    assert fake.calls == [None, page_url(2)]


# ---------------------------------------------------------------------------
# total_pages that lies: the fan-out ends at the real last page
# ---------------------------------------------------------------------------


@pytest.mark.looptime
@pytest.mark.parametrize("concurrency", [2, 3, 8, 20])
async def test_total_pages_too_high_costs_at_most_concurrency_requests(
    concurrency: int,
) -> None:
    fake = Fake(page_list(3, announced=200))  # pages 4.. answer 404
    seen, error = await walk(pager(fake, concurrency=concurrency))
    assert error is None
    assert seen == [1, 2, 3, 4, 5, 6]
    assert len(fake.calls) <= 3 + concurrency - 1


@pytest.mark.looptime
async def test_pages_past_the_end_failing_first_do_not_fail_the_list() -> None:
    # The real last page (3) is slow; every page after it fails at once with a 404.
    fake = Fake(page_list(3, announced=200), delays={page_url(3): 5.0, page_url(2): 1.0})
    seen, error = await walk(pager(fake, concurrency=8))
    assert error is None
    assert seen == [1, 2, 3, 4, 5, 6]
    # The three real pages, and 8 - 1 past the end: the window (8) holds page 3 too.
    assert len(fake.calls) == 3 + 8 - 1


@pytest.mark.looptime
async def test_pages_past_the_end_are_cancelled_once_the_end_arrives() -> None:
    # Pages past the real end never answer: the walk must not wait for them.
    beyond = {page_url(n) for n in range(4, 10)}
    fake = Fake(page_list(3, announced=50), gates=beyond, delays={page_url(2): 3.0})
    async with asyncio.timeout(60):
        seen, error = await walk(pager(fake, concurrency=8))
    assert error is None
    assert seen == [1, 2, 3, 4, 5, 6]
    assert sorted(fake.cancelled) == sorted(beyond)
    assert len(fake.calls) == 9


@pytest.mark.looptime
async def test_an_early_last_page_stops_the_fan_out_before_later_pages() -> None:
    # Page 2 already says it is the last one: pages 3.. are not yielded, even if they
    # hold items, and the walk ends.
    pages = page_list(5)
    pages[page_url(2)]["links"]["next"] = None
    fake = Fake(pages, delays={page_url(2): 2.0})
    seen, error = await walk(pager(fake, concurrency=3))
    assert error is None
    assert seen == [1, 2, 3, 4]
    assert len(fake.calls) <= 2 + 3


async def test_total_pages_too_high_over_http(client: ha.HarvestClient, mock: aioresponses) -> None:
    def body(n: int) -> str:
        nxt = f"{BASE}/clients?page={n + 1}&per_page=1" if n < 3 else None
        return json.dumps(
            {
                "clients": [client_record(n)],
                "per_page": 1,
                "total_pages": 200,
                "total_entries": 200,
                "page": n,
                "links": {"next": nxt},
            }
        )

    def answer(url: URL, **kwargs: Any) -> CallbackResult:
        n = int(url.query.get("page", "1"))
        if n <= 3:
            return CallbackResult(body=body(n))
        return CallbackResult(status=404, body='{"status": 404, "error": "Not Found"}')

    mock.get(re.compile(rf"^{re.escape(BASE)}/clients\?.*$"), callback=answer, repeat=True)
    clients = await client.clients.list(per_page=1).collect()
    assert [c.id for c in clients] == [1, 2, 3]
    assert len(sent_requests(mock)) <= 3 + 8


# ---------------------------------------------------------------------------
# Cursor lists that loop or never end
# ---------------------------------------------------------------------------


def cursor(n: int) -> str:
    return f"c?cursor=k{n}&per_page=2"


@pytest.mark.looptime
@pytest.mark.parametrize("options", WAYS)
@pytest.mark.parametrize(
    ("length", "back_to"),
    [(2, 2), (3, 2), (5, 3), (5, 2)],  # the same cursor again, or a loop of a few
)
async def test_a_cursor_loop_is_refused_before_it_is_sent(
    options: dict[str, Any], length: int, back_to: int
) -> None:
    pages: dict[str | None, Any] = {None: envelope([1], next_url=cursor(2), page=1)}
    for n in range(2, length + 1):
        nxt = cursor(n + 1) if n < length else cursor(back_to)
        pages[cursor(n)] = envelope([n], next_url=nxt)
    fake = Fake(pages)
    seen, error = await walk(pager(fake, **options))
    assert seen == list(range(1, length + 1))
    assert isinstance(error, ha.DecodeError)
    assert "repeats an earlier page" in str(error)
    assert "cursor" not in str(error)
    assert len(fake.calls) == length


@pytest.mark.looptime
@pytest.mark.parametrize("options", WAYS)
async def test_a_cursor_loop_back_to_the_first_page_is_refused(options: dict[str, Any]) -> None:
    first = "c?per_page=2"
    pages: dict[str | None, Any] = {
        None: envelope([1], next_url=cursor(2), page=1, first=first),
        cursor(2): envelope([2], next_url=cursor(3), first=first),
        cursor(3): envelope([3], next_url=first, first=first),
        first: envelope([1], next_url=cursor(2), page=1, first=first),
    }
    fake = Fake(pages)
    seen, error = await walk(pager(fake, **options))
    assert seen == [1, 2, 3]
    assert isinstance(error, ha.DecodeError)
    assert first not in fake.calls


def endless(url: str | None) -> Any:
    """A cursor list handing out a fresh cursor forever."""
    n = 1 if url is None else int(url.partition("cursor=k")[2].partition("&")[0])
    return envelope([n], next_url=cursor(n + 1))


@pytest.mark.looptime
@pytest.mark.parametrize("options", WAYS)
async def test_an_endless_cursor_list_stops_at_the_announced_size(
    options: dict[str, Any],
) -> None:
    def fetch(url: str | None) -> Any:
        page = endless(url)
        if url is None:
            page.update(total_entries=7, per_page=2)  # 4 pages announced
        return page

    fake = Fake({}, default=fetch)
    seen, error = await walk(pager(fake, **options))
    limit = 2 * 4 + PAGE_SLACK
    assert isinstance(error, ha.DecodeError)
    assert "never ends" in str(error)
    assert seen == list(range(1, limit + 1))  # each page once, then the error
    assert len(fake.calls) == limit


@pytest.mark.looptime
async def test_an_endless_list_that_announces_nothing_stops_at_max_pages(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_pagination, "MAX_PAGES", 40)
    fake = Fake({}, default=endless)
    seen, error = await walk(pager(fake))
    assert isinstance(error, ha.DecodeError)
    assert seen == list(range(1, 41))
    assert len(fake.calls) == 40


@pytest.mark.looptime
async def test_an_endless_page_based_list_stops_at_max_pages(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # total_pages a billion, and every page answers with items and a next link.
    monkeypatch.setattr(_pagination, "MAX_PAGES", 30)

    def fetch(url: str | None) -> Any:
        n = 1 if url is None else int(url.rpartition("page=")[2])
        return envelope([n], next_url=page_url(n + 1), page=n, total_pages=10**9)

    fake = Fake({}, default=fetch)
    seen, error = await walk(pager(fake, concurrency=8))
    assert isinstance(error, ha.DecodeError)
    assert seen == list(range(1, 31))
    assert len(fake.calls) == 30


def test_page_limit_follows_what_the_first_page_announces() -> None:
    assert page_limit(Page(items=[])) == MAX_PAGES
    assert page_limit(Page(items=[], total_pages=3)) == 6 + PAGE_SLACK
    assert page_limit(Page(items=[], total_entries=7, per_page=2)) == 8 + PAGE_SLACK
    assert page_limit(Page(items=[], total_entries=7, per_page=2, total_pages=9)) == 18 + PAGE_SLACK
    assert page_limit(Page(items=[], total_entries=0, per_page=2)) == PAGE_SLACK
    assert page_limit(Page(items=[], total_entries=10**15, per_page=1)) == MAX_PAGES
    assert page_limit(Page(items=[], total_entries=-5, per_page=0, total_pages=-1)) == MAX_PAGES


@pytest.mark.looptime
async def test_a_list_growing_during_the_walk_is_still_read_to_its_end() -> None:
    # Announced 3 pages, holds 8 (records added meanwhile): within the limit.
    fake = Fake(page_list(8, announced=3))
    seen, error = await walk(pager(fake))
    assert error is None
    assert seen == list(range(1, 17))


# ---------------------------------------------------------------------------
# The same over HTTP (aioresponses), through the client
# ---------------------------------------------------------------------------


def _page_body(ids: list[int], nxt: str | None, **fields: Any) -> CallbackResult:
    return CallbackResult(
        body=json.dumps(
            {"clients": [client_record(i) for i in ids], "links": {"next": nxt}, **fields}
        )
    )


def _looping_page_based(url: URL) -> CallbackResult:
    n = int(url.query.get("page", "1"))
    nxt = f"{BASE}/clients?page={n % 3 + 1}&per_page=1"  # 1 -> 2 -> 3 -> 1
    return _page_body([n], nxt, page=n, total_pages=3, total_entries=3, per_page=1)


def _looping_cursor(url: URL) -> CallbackResult:
    n = int(url.query.get("cursor", "1"))
    nxt = f"{BASE}/clients?cursor={n + 1 if n < 5 else 2}&per_page=1"  # 1 -> ... 5 -> 2
    return _page_body([n], nxt, page=1 if n == 1 else None, per_page=1)


def _endless_cursor(url: URL) -> CallbackResult:
    n = int(url.query.get("cursor", "1"))
    first = {"total_entries": 5, "total_pages": 5, "page": 1} if n == 1 else {}
    return _page_body([n], f"{BASE}/clients?cursor={n + 1}&per_page=1", per_page=1, **first)


@pytest.mark.parametrize(
    ("server", "concurrency", "items", "requests"),
    [
        (_looping_page_based, 8, [1, 2, 3], 3),
        (_looping_page_based, 1, [1, 2, 3], 3),
        (_looping_cursor, 8, [1, 2, 3, 4, 5], 5),
        (_looping_cursor, 1, [1, 2, 3, 4, 5], 5),
        (_endless_cursor, 8, list(range(1, 2 * 5 + PAGE_SLACK + 1)), 2 * 5 + PAGE_SLACK),
    ],
)
async def test_hostile_lists_over_http_yield_each_item_once(
    client: ha.HarvestClient,
    mock: aioresponses,
    server: Any,
    concurrency: int,
    items: list[int],
    requests: int,
) -> None:
    mock.get(
        re.compile(rf"^{re.escape(BASE)}/clients(\?.*)?$"),
        callback=lambda url, **kwargs: server(url),
        repeat=True,
    )
    clients = client.clients.list(per_page=1).with_options(concurrency=concurrency)
    seen: list[int] = []
    error: BaseException | None = None
    try:
        async for record in clients:
            seen.append(record.id)
    except ha.HarvestError as exc:
        error = exc
    assert isinstance(error, ha.DecodeError)
    assert seen == items
    assert len(sent_requests(mock)) == requests
