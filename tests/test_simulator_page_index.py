"""HarvestSimulator: filtered page-based lists reuse one scan across their pages.

Every answer is checked against a brute-force reference computed here from the world's
stored rows, and byte for byte against the uncached path; invalidation after writes
(HTTP and Python) and the cost of a walk are checked without any timing.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import aiohttp
import pytest

from harvest_async.testing import HarvestSimulator, SimulatorScale, _pagination
from harvest_async.testing._store import LazyView, Row

UA = "page index tests (dev@example.com)"
FAST = (1_000_000, 1.0)
LAZY = ("time_entries", "expenses")


def headers(sim: HarvestSimulator) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {sim.access_token}",
        "Harvest-Account-Id": str(sim.account_id),
        "User-Agent": UA,
    }


@pytest.fixture
async def sim() -> AsyncIterator[HarvestSimulator]:
    scale = SimulatorScale(time_entries=3000, expenses=400)
    async with HarvestSimulator(seed=5, scale=scale, page_based=["*"], rate_limit=FAST) as s:
        yield s
    assert s.errors == []


@pytest.fixture
async def http(sim: HarvestSimulator) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(headers=headers(sim)) as session:
        yield session


async def get(
    http: aiohttp.ClientSession, url: str, params: dict[str, str]
) -> tuple[bytes, dict[str, Any]]:
    async with http.get(url, params=params) as resp:
        raw = await resp.read()
        assert resp.status == 200, raw
    return raw, json.loads(raw)


def stored_ids(sim: HarvestSimulator, kind: str, match: Callable[[Row], bool]) -> list[int]:
    """Brute force: every live stored row of ``kind`` in list order, filtered."""
    w = sim.world
    table: Any = (
        (w.time_entries if kind == "time_entries" else w.expenses)
        if kind in LAZY
        else w.table(kind)
    )
    out = []
    for rid in table.ids_desc():
        row = table.get(rid)
        if row is not None and match(row):
            out.append(rid)
    return out


def check_page(
    sim: HarvestSimulator,
    kind: str,
    body: dict[str, Any],
    expected: list[int],
    page: int,
    per_page: int,
    key: str | None = None,
) -> None:
    """The envelope of page ``page`` is what the brute-force list says it must be."""
    key = key or kind
    want = expected[(page - 1) * per_page : page * per_page]
    assert [item["id"] for item in body[key]] == want
    total_pages = max(1, math.ceil(len(expected) / per_page))
    assert body["total_entries"] == len(expected)
    assert body["total_pages"] == total_pages
    assert body["page"] == page
    assert body["next_page"] == (page + 1 if page < total_pages else None)
    assert body["previous_page"] == (page - 1 if page > 1 else None)
    assert body[key] == [sim.record(kind, i) for i in want]


def no_index(monkeypatch: pytest.MonkeyPatch) -> None:
    """Serve every list through the uncached scan."""
    monkeypatch.setattr(_pagination, "_index_of", lambda source: None)


# ------------------------------------------------------------------------ equivalence


def cases(
    sim: HarvestSimulator,
) -> Iterator[tuple[str, str, dict[str, str], Callable[[Row], bool], int]]:
    """(kind, path, filters, the same filter on stored rows, per_page)."""
    me = sim.world.me_id
    entry = sim.records("time_entries", 1)[0]
    project = entry["project"]["id"]
    since = "2024-06-01T00:00:00Z"
    yield "time_entries", "time_entries", {"user_id": str(me)}, lambda r: r["user_id"] == me, 97
    yield (
        "time_entries",
        "time_entries",
        {"is_billed": "false"},
        lambda r: r["is_billed"] is False,
        250,
    )
    yield (
        "time_entries",
        "time_entries",
        {"updated_since": since},
        lambda r: r["updated_at"] >= since,
        300,
    )
    yield (
        "time_entries",
        "time_entries",
        {"from": "2024-01-01", "to": "2024-06-30"},
        lambda r: "2024-01-01" <= r["spent_date"] <= "2024-06-30",
        111,
    )
    yield (
        "time_entries",
        "time_entries",
        {"project_id": str(project), "is_billed": "true"},
        lambda r: r["project_id"] == project and r["is_billed"] is True,
        40,
    )
    yield "expenses", "expenses", {"is_billed": "true"}, lambda r: r["is_billed"] is True, 9
    yield "invoices", "invoices", {"state": "paid"}, lambda r: r["state"] == "paid", 4
    # The same filters on two parents: the path (its parent id) is part of the key.
    for pid in [p["id"] for p in sim.records("projects")][:2]:
        yield (
            "user_assignments",
            f"projects/{pid}/user_assignments",
            {"is_active": "true"},
            lambda r, pid=pid: r["project_id"] == pid and r["is_active"] is True,
            1,
        )
    for uid in [u["id"] for u in sim.records("users")][:2]:
        yield (
            "billable_rates",
            f"users/{uid}/billable_rates",
            {},
            lambda r, uid=uid: r["user_id"] == uid,
            1,
        )


async def test_every_page_matches_brute_force_and_the_uncached_bytes(
    sim: HarvestSimulator, http: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = sim.world.page_index
    asked: list[tuple[str, dict[str, str]]] = []
    cached: list[bytes] = []
    checked = 0
    for kind, path, filters, match, per_page in cases(sim):
        expected = stored_ids(sim, kind, match)
        assert expected, (path, filters)
        pages = max(1, math.ceil(len(expected) / per_page))
        scans = index.scans
        # last page first, then the rest, then one past the end: any order works
        for page in [pages, *range(1, pages), pages + 1]:
            params = {**filters, "page": str(page), "per_page": str(per_page)}
            raw, body = await get(http, f"{sim.base_url}/{path}", params)
            if page <= pages:
                check_page(sim, kind, body, expected, page, per_page)
                checked += len(body[kind])
            else:
                assert body[kind] == []
                assert body["total_entries"] == len(expected)
            asked.append((path, params))
            cached.append(raw)
        assert index.scans == scans + 1, (path, filters)  # one scan served every page
    assert checked > 3000

    no_index(monkeypatch)
    uncached = [(await get(http, f"{sim.base_url}/{path}", params))[0] for path, params in asked]
    assert uncached == cached
    assert index.scans == scans + 1


async def test_per_page_changes_share_one_scan(
    sim: HarvestSimulator, http: aiohttp.ClientSession
) -> None:
    me = sim.world.me_id
    expected = stored_ids(sim, "time_entries", lambda r: r["user_id"] == me)
    index = sim.world.page_index
    scans = index.scans
    for per_page, page in [(50, 1), (50, 3), (13, 7), (2000, 1), (7, 2)]:
        _, body = await get(
            http,
            f"{sim.base_url}/time_entries",
            {"user_id": str(me), "page": str(page), "per_page": str(per_page)},
        )
        check_page(sim, "time_entries", body, expected, page, per_page)
    # parameters in another order, same filters: still the same entry
    _, body = await get(
        http, f"{sim.base_url}/time_entries", {"per_page": "50", "page": "2", "user_id": str(me)}
    )
    check_page(sim, "time_entries", body, expected, 2, 50)
    assert index.scans == scans + 1


async def test_the_same_filters_under_two_parents_are_two_entries(
    sim: HarvestSimulator, http: aiohttp.ClientSession
) -> None:
    index = sim.world.page_index
    pids = [p["id"] for p in sim.records("projects")][:2]
    expected = {
        pid: stored_ids(
            sim,
            "user_assignments",
            lambda r, pid=pid: r["project_id"] == pid and r["is_active"] is True,
        )
        for pid in pids
    }
    assert all(len(ids) >= 3 for ids in expected.values())
    scans = index.scans
    for page in (1, 2, 3):  # interleaved: each parent keeps its own entry
        for pid in pids:
            _, body = await get(
                http,
                f"{sim.base_url}/projects/{pid}/user_assignments",
                {"is_active": "true", "page": str(page), "per_page": "1"},
            )
            assert [a["id"] for a in body["user_assignments"]] == expected[pid][page - 1 : page]
    assert index.scans == scans + 2


# ------------------------------------------------------------------------ invalidation


def my_assignment(sim: HarvestSimulator) -> tuple[int, int]:
    ua = next(a for a in sim.records("user_assignments") if a["user"]["id"] == sim.world.me_id)
    project = ua["project"]["id"]
    task = next(t for t in sim.records("task_assignments") if t["project"]["id"] == project)[
        "task"
    ]["id"]
    return project, task


async def test_http_create_update_delete_between_pages_are_seen(
    sim: HarvestSimulator, http: aiohttp.ClientSession
) -> None:
    base = sim.base_url
    me = sim.world.me_id
    mine: Callable[[Row], bool] = lambda r: r["user_id"] == me  # noqa: E731
    per_page = 60
    params = {"user_id": str(me), "per_page": str(per_page)}

    _, first = await get(http, f"{base}/time_entries", {**params, "page": "1"})
    check_page(sim, "time_entries", first, stored_ids(sim, "time_entries", mine), 1, per_page)
    before = first["total_entries"]

    # create: the new entry has the highest id, so it heads the list and shifts page 2
    project, task = my_assignment(sim)
    async with http.post(
        f"{base}/time_entries",
        json={"project_id": project, "task_id": task, "spent_date": "2025-01-14", "hours": 1.5},
    ) as resp:
        assert resp.status == 201
        created = (await resp.json())["id"]
    expected = stored_ids(sim, "time_entries", mine)
    assert expected[0] == created
    _, page2 = await get(http, f"{base}/time_entries", {**params, "page": "2"})
    check_page(sim, "time_entries", page2, expected, 2, per_page)
    assert page2["total_entries"] == before + 1

    # delete an entry of page 1: page 3 shifts the other way
    victim = expected[5]
    async with http.delete(f"{base}/time_entries/{victim}") as resp:
        assert resp.status == 200
    expected = stored_ids(sim, "time_entries", mine)
    assert victim not in expected
    _, page3 = await get(http, f"{base}/time_entries", {**params, "page": "3"})
    check_page(sim, "time_entries", page3, expected, 3, per_page)

    # update: an old entry updated now enters an updated_since list
    since = "2024-12-01T00:00:00Z"
    recent: Callable[[Row], bool] = lambda r: r["updated_at"] >= since  # noqa: E731
    sparams = {"updated_since": since, "per_page": "5"}
    _, s1 = await get(http, f"{base}/time_entries", {**sparams, "page": "1"})
    old = stored_ids(sim, "time_entries", lambda r: not recent(r))[0]
    async with http.patch(f"{base}/time_entries/{old}", json={"notes": "now"}) as resp:
        assert resp.status == 200
    expected = stored_ids(sim, "time_entries", recent)
    assert old in expected
    assert len(expected) == s1["total_entries"] + 1
    last = math.ceil(len(expected) / 5)
    for page in (last, 1):
        _, body = await get(http, f"{base}/time_entries", {**sparams, "page": str(page)})
        check_page(sim, "time_entries", body, expected, page, 5)


async def test_python_writes_between_pages_are_seen(
    sim: HarvestSimulator, http: aiohttp.ClientSession
) -> None:
    base = sim.base_url
    w = sim.world
    active: Callable[[Row], bool] = lambda r: r["is_active"] is True  # noqa: E731
    params = {"is_active": "true", "per_page": "3"}
    _, first = await get(http, f"{base}/projects", {**params, "page": "1"})
    check_page(sim, "projects", first, stored_ids(sim, "projects", active), 1, 3)

    # an in-place update through Ops (no request, so no version bump) of a row on
    # page 1: only the write stamp tells, and page 2 must shift
    version = w.version
    row = w.projects.get(first["projects"][0]["id"])
    assert row is not None
    sim.ops.update("projects", row, {"is_active": False})
    assert w.version == version
    _, page2 = await get(http, f"{base}/projects", {**params, "page": "2"})
    check_page(sim, "projects", page2, stored_ids(sim, "projects", active), 2, 3)

    # a delete of a generated time entry through Ops
    tparams = {"is_billed": "false", "per_page": "100"}
    unbilled: Callable[[Row], bool] = lambda r: r["is_billed"] is False  # noqa: E731
    _, t1 = await get(http, f"{base}/time_entries", {**tparams, "page": "1"})
    entry = w.time_entries.get(t1["time_entries"][10]["id"])
    assert entry is not None
    sim.ops.delete("time_entries", entry)
    _, t2 = await get(http, f"{base}/time_entries", {**tparams, "page": "2"})
    check_page(sim, "time_entries", t2, stored_ids(sim, "time_entries", unbilled), 2, 100)

    # a row edited in place by hand: bumping world.version is the documented hook
    row = w.projects.get(page2["projects"][0]["id"])
    assert row is not None
    await get(http, f"{base}/projects", {**params, "page": "3"})  # index the list
    row["is_active"] = False
    w.version += 1
    _, page3 = await get(http, f"{base}/projects", {**params, "page": "3"})
    check_page(sim, "projects", page3, stored_ids(sim, "projects", active), 3, 3)


# ------------------------------------------------------------------------ cost


def count_row_builds(monkeypatch: pytest.MonkeyPatch) -> Counter[int]:
    builds: Counter[int] = Counter()
    original = LazyView.row

    def row(self: LazyView, key: int) -> Row | None:
        builds[key] += 1
        return original(self, key)

    monkeypatch.setattr(LazyView, "row", row)
    return builds


async def walk_pages(
    http: aiohttp.ClientSession, url: str, params: dict[str, str]
) -> tuple[list[int], int]:
    ids: list[int] = []
    pages = 0
    next_url: str | None = None
    _, body = await get(http, url, params)
    while True:
        pages += 1
        ids.extend(e["id"] for e in body["time_entries"])
        next_url = body["links"]["next"]
        if not next_url:
            return ids, pages
        _, body = await get(http, next_url, {})


async def test_walking_a_filtered_20000_entry_list_builds_each_row_at_most_twice(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scale = SimulatorScale(time_entries=20_000)
    async with (
        HarvestSimulator(seed=0, scale=scale, page_based=["time_entries"], rate_limit=FAST) as sim,
        aiohttp.ClientSession(headers=headers(sim)) as http,
    ):
        url = f"{sim.base_url}/time_entries"
        builds = count_row_builds(monkeypatch)
        everything = {"updated_since": "2000-01-01T00:00:00Z", "per_page": "2000"}
        ids, pages = await walk_pages(http, url, everything)
        assert len(ids) == len(set(ids)) == 20_000
        assert pages == 10
        # one scan builds every row once, each page builds its own rows once more
        assert max(builds.values()) <= 2
        assert sum(builds.values()) <= 2 * 20_000
        assert sim.world.page_index.scans == 1

        builds.clear()
        ids, pages = await walk_pages(http, url, {"is_billed": "false", "per_page": "2000"})
        assert ids == stored_ids(sim, "time_entries", lambda r: r["is_billed"] is False)
        assert pages > 2
        assert max(builds.values()) <= 2
        assert sum(builds.values()) <= 20_000 + len(ids)

        # the same walk uncached builds every row once per page: what the index saves
        no_index(monkeypatch)
        builds.clear()
        again, pages = await walk_pages(http, url, {"is_billed": "false", "per_page": "2000"})
        assert again == ids
        assert max(builds.values()) == pages
        assert sum(builds.values()) == 20_000 * pages
    assert sim.errors == []


# ------------------------------------------------------------------------ scope, bounds


async def test_unfiltered_and_cursor_lists_do_not_use_the_index() -> None:
    async with (
        HarvestSimulator(seed=2, rate_limit=FAST) as sim,
        aiohttp.ClientSession(headers=headers(sim)) as http,
    ):
        index = sim.world.page_index
        me = str(sim.world.me_id)
        # cursor-based (time entries' default) with a filter
        _, body = await get(
            http, f"{sim.base_url}/time_entries", {"user_id": me, "per_page": "100"}
        )
        assert "cursor=" in body["links"]["next"]
        # page-based without a filter
        _, body = await get(http, f"{sim.base_url}/invoices", {"per_page": "7", "page": "2"})
        assert body["page"] == 2
        assert index.scans == 0
        assert len(index) == 0
        # a page= parameter makes the filtered list page-based: now it is indexed
        _, body = await get(
            http, f"{sim.base_url}/time_entries", {"user_id": me, "per_page": "100", "page": "2"}
        )
        check_page(
            sim,
            "time_entries",
            body,
            stored_ids(sim, "time_entries", lambda r: r["user_id"] == int(me)),
            2,
            100,
        )
        assert index.scans == 1
    assert sim.errors == []


async def test_the_index_stays_bounded(sim: HarvestSimulator, http: aiohttp.ClientSession) -> None:
    index = sim.world.page_index
    users = [u["id"] for u in sim.records("users")]
    for uid in users:
        for billed in ("true", "false"):
            await get(
                http,
                f"{sim.base_url}/time_entries",
                {"user_id": str(uid), "is_billed": billed, "page": "1"},
            )
    assert index.scans == 2 * len(users) > index.max_entries
    assert len(index) == index.max_entries

    # a key budget smaller than each list: only the most recent list is kept
    index.max_keys = 500
    for day in ("2024-01-01", "2024-04-01", "2024-07-01"):
        _, body = await get(
            http, f"{sim.base_url}/time_entries", {"from": day, "page": "1", "per_page": "10"}
        )
        assert body["total_entries"] > 500
        assert len(index) == 1
        assert index.stored_keys == body["total_entries"]
    scans = index.scans
    await get(
        http, f"{sim.base_url}/time_entries", {"from": "2024-07-01", "page": "2", "per_page": "10"}
    )
    assert index.scans == scans
