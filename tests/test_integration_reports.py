"""Integration: every report, run by the real client against the simulator over loopback.

Each report is checked against an independent computation from the simulator's records
(``sim.records``), in exact decimals; then against the client's own writes (a new time
entry or expense moves the totals by exactly its amount). Reports are page-based.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import aiohttp
import pytest

import harvest_async as ha
from harvest_async.testing import HarvestSimulator

UA = "integration tests (dev@example.com)"
FROM, TO = dt.date(2024, 1, 1), dt.date(2024, 12, 30)
CENT = Decimal("0.01")

Key = tuple[int, str]


@pytest.fixture
async def sim() -> AsyncIterator[HarvestSimulator]:
    async with HarvestSimulator(
        seed=3, rate_limit=(2000, 1.0), reports_rate_limit=(2000, 1.0)
    ) as s:
        yield s
    assert s.errors == []


@pytest.fixture
async def h(sim: HarvestSimulator) -> AsyncIterator[ha.HarvestClient]:
    async with sim.client(max_retries=2, user_agent=UA) as client:
        yield client
    assert sim.counters.throttled == 0  # a client that behaves never sees a 429


def dec(value: Any) -> Decimal:
    return Decimal(0) if value is None else Decimal(str(value))


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_EVEN)


def in_window(record: dict[str, Any], start: dt.date = FROM, end: dt.date = TO) -> bool:
    spent: str = record["spent_date"]
    return start.isoformat() <= spent <= end.isoformat()


def report_requests(sim: HarvestSimulator, name: str) -> list[Any]:
    return [r for r in sim.requests if r.path == f"/v2/reports/{name}"]


TIME_GROUPS: dict[str, Callable[[dict[str, Any]], int]] = {
    "clients": lambda e: e["client"]["id"],
    "projects": lambda e: e["project"]["id"],
    "tasks": lambda e: e["task"]["id"],
    "team": lambda e: e["user"]["id"],
}
TIME_ROW_ID: dict[str, str] = {
    "clients": "client_id",
    "projects": "project_id",
    "tasks": "task_id",
    "team": "user_id",
}
EXPENSE_GROUPS: dict[str, Callable[[dict[str, Any]], int]] = {
    "clients": lambda x: x["client"]["id"],
    "projects": lambda x: x["project"]["id"],
    "categories": lambda x: x["expense_category"]["id"],
    "team": lambda x: x["user"]["id"],
}
EXPENSE_ROW_ID: dict[str, str] = {
    "clients": "client_id",
    "projects": "project_id",
    "categories": "expense_category_id",
    "team": "user_id",
}


def expected_time(sim: HarvestSimulator, group: str) -> dict[Key, tuple[Decimal, ...]]:
    """(total_hours, billable_hours, billable_amount) per (group id, currency)."""
    totals: dict[Key, list[Decimal]] = defaultdict(lambda: [Decimal(0)] * 3)
    for e in sim.records("time_entries"):
        if not in_window(e):
            continue
        t = totals[(TIME_GROUPS[group](e), e["client"]["currency"])]
        hours = dec(e["hours"])
        t[0] += hours
        if e["billable"]:
            t[1] += hours
            t[2] += hours * dec(e["billable_rate"])
    return {k: (v[0], v[1], cents(v[2])) for k, v in totals.items()}


def expected_expenses(sim: HarvestSimulator, group: str) -> dict[Key, tuple[Decimal, ...]]:
    """(total_amount, billable_amount) per (group id, currency)."""
    totals: dict[Key, list[Decimal]] = defaultdict(lambda: [Decimal(0)] * 2)
    for x in sim.records("expenses"):
        if not in_window(x):
            continue
        t = totals[(EXPENSE_GROUPS[group](x), x["client"]["currency"])]
        t[0] += dec(x["total_cost"])
        if x["billable"]:
            t[1] += dec(x["total_cost"])
    return {k: (v[0], v[1]) for k, v in totals.items()}


def expected_uninvoiced(sim: HarvestSimulator) -> dict[int, tuple[Decimal, ...]]:
    """(total_hours, uninvoiced_hours, uninvoiced_expenses, uninvoiced_amount) per project."""
    per: dict[int, list[Decimal]] = defaultdict(lambda: [Decimal(0)] * 4)
    for e in sim.records("time_entries"):
        if not in_window(e):
            continue
        v = per[e["project"]["id"]]
        v[0] += dec(e["hours"])
        if e["billable"] and not e["is_billed"]:
            v[1] += dec(e["hours"])
            v[3] += dec(e["hours"]) * dec(e["billable_rate"])
    for x in sim.records("expenses"):
        if in_window(x) and x["billable"] and not x["is_billed"]:
            per[x["project"]["id"]][2] += dec(x["total_cost"])
    billable = {p["id"] for p in sim.records("projects") if p["is_billable"]}
    return {
        pid: (v[0], v[1], v[2], cents(v[3] + v[2])) for pid, v in per.items() if pid in billable
    }


# ----------------------------------------------------------------------------- time


@pytest.mark.parametrize("group", ["clients", "projects", "tasks", "team"])
async def test_time_reports_match_the_time_entries(
    sim: HarvestSimulator, h: ha.HarvestClient, group: str
) -> None:
    rows = await getattr(h.reports.time, group)(from_=FROM, to=TO, per_page=4).collect()
    got = {
        (getattr(r, TIME_ROW_ID[group]), r.currency): (
            r.total_hours,
            r.billable_hours,
            r.billable_amount,
        )
        for r in rows
    }
    assert len(got) == len(rows)  # one row per (group, currency)
    assert got == expected_time(sim, group)
    sent = report_requests(sim, f"time/{group}")
    assert len(sent) == -(-len(rows) // 4)
    assert sorted(int(r.params.get("page", "1")) for r in sent) == list(range(1, len(sent) + 1))
    assert all(r.params["from"] == "20240101" and r.params["to"] == "20241230" for r in sent)
    for row in rows:
        if group == "team":
            assert row.user_name is not None
            assert row.weekly_capacity is not None
        if group == "projects":
            assert (row.project_name, row.client_name) != (None, None)


@pytest.mark.parametrize("group", ["clients", "projects", "categories", "team"])
async def test_expense_reports_match_the_expenses(
    sim: HarvestSimulator, h: ha.HarvestClient, group: str
) -> None:
    rows = await getattr(h.reports.expenses, group)(from_=FROM, to=TO, per_page=5).collect()
    got = {
        (getattr(r, EXPENSE_ROW_ID[group]), r.currency): (r.total_amount, r.billable_amount)
        for r in rows
    }
    assert len(got) == len(rows)
    assert got == expected_expenses(sim, group)
    assert len(report_requests(sim, f"expenses/{group}")) == -(-len(rows) // 5)


async def test_uninvoiced_report_matches_the_records(
    sim: HarvestSimulator, h: ha.HarvestClient
) -> None:
    rows = await h.reports.uninvoiced(from_=FROM, to=TO, per_page=6).collect()
    got = {
        r.project_id: (
            r.total_hours,
            r.uninvoiced_hours,
            r.uninvoiced_expenses,
            r.uninvoiced_amount,
        )
        for r in rows
    }
    assert len(got) == len(rows)
    assert got == expected_uninvoiced(sim)


async def test_project_budget_report(sim: HarvestSimulator, h: ha.HarvestClient) -> None:
    rows = await h.reports.project_budget(per_page=4).collect()
    budgeted = [
        p for p in sim.records("projects") if p["budget_by"] != "none" and p["budget"] is not None
    ]
    project_ids = [r.project_id for r in rows]
    assert all(isinstance(pid, int) for pid in project_ids)
    assert sorted(pid for pid in project_ids if pid is not None) == sorted(
        p["id"] for p in budgeted
    )
    hours: dict[int, Decimal] = defaultdict(Decimal)
    amounts: dict[int, Decimal] = defaultdict(Decimal)
    for e in sim.records("time_entries"):  # over all time
        hours[e["project"]["id"]] += dec(e["hours"])
        if e["billable"]:
            amounts[e["project"]["id"]] += dec(e["hours"]) * dec(e["billable_rate"])
    by_id = {p["id"]: p for p in budgeted}
    for row in rows:
        assert row.project_id is not None
        project = by_id[row.project_id]
        by_money = project["budget_by"] in ("project_cost", "task_fees")
        spent = cents(amounts[row.project_id]) if by_money else hours[row.project_id]
        assert row.budget == dec(project["budget"])
        assert row.budget_spent == spent
        assert row.budget_remaining == dec(project["budget"]) - spent
        assert (row.budget_by, row.is_active) == (project["budget_by"], project["is_active"])
    assert len(report_requests(sim, "project_budget")) == -(-len(rows) // 4)

    archived = rows[0].project_id
    assert archived is not None
    await h.projects.update(archived, is_active=False)
    inactive = await h.reports.project_budget(is_active=False).collect()
    assert [r.project_id for r in inactive] == [archived]
    active = await h.reports.project_budget(is_active=True).collect()
    assert archived not in {r.project_id for r in active}
    assert len(active) == len(rows) - 1


# ----------------------------------------------------------------------------- writes


async def test_reports_follow_the_clients_writes(
    sim: HarvestSimulator, h: ha.HarvestClient
) -> None:
    client_id = sim.records("clients")[0]["id"]
    me = sim.world.me_id
    project = await h.projects.create(
        client_id=client_id,
        name="Reported",
        is_billable=True,
        bill_by="Project",
        budget_by="project",
        budget=Decimal("10"),
        hourly_rate=Decimal("150.5"),
    )
    pid = project.id
    assert pid is not None
    await h.projects.create_user_assignment(pid, user_id=me)
    task = await h.tasks.create(name="Reported work")
    assert task.id is not None
    await h.projects.create_task_assignment(pid, task_id=task.id, billable=True)

    day = dt.date(2024, 7, 1)
    before = {r.project_id: r for r in await h.reports.time.projects(from_=FROM, to=TO).collect()}
    assert pid not in before
    entry = await h.time_entries.create(
        project_id=pid, task_id=task.id, spent_date=day, hours=Decimal("3.34")
    )
    assert entry.billable_rate == Decimal("150.5")
    rows = {r.project_id: r for r in await h.reports.time.projects(from_=FROM, to=TO).collect()}
    row = rows[pid]
    assert (row.total_hours, row.billable_hours) == (Decimal("3.34"), Decimal("3.34"))
    assert row.billable_amount == Decimal("502.67")  # 3.34 x 150.5
    assert row.project_name == "Reported"
    tasks = {r.task_id: r for r in await h.reports.time.tasks(from_=FROM, to=TO).collect()}
    assert tasks[task.id].total_hours == Decimal("3.34")
    # Outside the window the entry does not count.
    late = await h.reports.time.projects(from_=dt.date(2024, 7, 2), to=TO).collect()
    assert pid not in {r.project_id for r in late}

    meals = next(c for c in sim.records("expense_categories") if c["unit_price"] is None)
    await h.expenses.create(
        project_id=pid, expense_category_id=meals["id"], spent_date=day, total_cost=Decimal("12.34")
    )
    await h.expenses.create(
        project_id=pid,
        expense_category_id=meals["id"],
        spent_date=day,
        total_cost=Decimal("0.66"),
        billable=False,
    )
    spent = {
        r.project_id: r for r in await h.reports.expenses.projects(from_=FROM, to=TO).collect()
    }
    assert (spent[pid].total_amount, spent[pid].billable_amount) == (
        Decimal("13"),
        Decimal("12.34"),
    )

    uninvoiced = {r.project_id: r for r in await h.reports.uninvoiced(from_=FROM, to=TO).collect()}
    assert (
        uninvoiced[pid].total_hours,
        uninvoiced[pid].uninvoiced_hours,
        uninvoiced[pid].uninvoiced_expenses,
        uninvoiced[pid].uninvoiced_amount,
    ) == (Decimal("3.34"), Decimal("3.34"), Decimal("12.34"), Decimal("515.01"))

    budget = {r.project_id: r for r in await h.reports.project_budget().collect()}
    assert (budget[pid].budget, budget[pid].budget_spent, budget[pid].budget_remaining) == (
        Decimal("10"),
        Decimal("3.34"),
        Decimal("6.66"),
    )

    # Deleting the entry takes it out again.
    assert entry.id is not None
    await h.time_entries.delete(entry.id)
    rows = {r.project_id: r for r in await h.reports.time.projects(from_=FROM, to=TO).collect()}
    assert pid not in rows


async def test_half_cents_round_the_same_way_in_every_report(
    sim: HarvestSimulator, h: ha.HarvestClient
) -> None:
    me = sim.world.me_id
    project = await h.projects.create(
        client_id=sim.records("clients")[0]["id"],
        name="Half cents",
        is_billable=True,
        bill_by="Project",
        budget_by="none",
        hourly_rate=Decimal("150.5"),
    )
    assert project.id is not None
    await h.projects.create_user_assignment(project.id, user_id=me)
    task = await h.tasks.create(name="Half-cent work")
    assert task.id is not None
    await h.projects.create_task_assignment(project.id, task_id=task.id, billable=True)
    day = dt.date(2024, 7, 1)
    await h.time_entries.create(
        project_id=project.id, task_id=task.id, spent_date=day, hours=Decimal("3.33")
    )
    meals = next(c for c in sim.records("expense_categories") if c["unit_price"] is None)
    await h.expenses.create(
        project_id=project.id,
        expense_category_id=meals["id"],
        spent_date=day,
        total_cost=Decimal("12.34"),
    )
    time_row = next(
        r
        for r in await h.reports.time.projects(from_=FROM, to=TO).collect()
        if r.project_id == project.id
    )
    unbilled = next(
        r
        for r in await h.reports.uninvoiced(from_=FROM, to=TO).collect()
        if r.project_id == project.id
    )
    # 501.165 and 513.505 are both exact half cents: one rule must round both.
    assert (time_row.billable_amount, unbilled.uninvoiced_amount) in {
        (Decimal("501.17"), Decimal("513.51")),  # half up
        (Decimal("501.16"), Decimal("513.5")),  # half even
    }


async def test_include_fixed_fee_false_leaves_fixed_fee_projects_out(
    sim: HarvestSimulator, h: ha.HarvestClient
) -> None:
    everything = await h.reports.time.projects(from_=FROM, to=TO).collect()
    target = everything[0].project_id
    assert target is not None
    await h.projects.update(target, is_fixed_fee=True, fee=Decimal("5000"))
    included = await h.reports.time.projects(from_=FROM, to=TO, include_fixed_fee=True).collect()
    assert target in {r.project_id for r in included}
    excluded = await h.reports.time.projects(from_=FROM, to=TO, include_fixed_fee=False).collect()
    fixed_fee = {p["id"] for p in sim.records("projects") if p["is_fixed_fee"]}
    assert target in fixed_fee
    assert {r.project_id for r in excluded} == {r.project_id for r in everything} - fixed_fee
    assert report_requests(sim, "time/projects")[-1].params["include_fixed_fee"] == "false"
    unbilled = await h.reports.uninvoiced(from_=FROM, to=TO, include_fixed_fee=False).collect()
    assert target not in {r.project_id for r in unbilled}


# ----------------------------------------------------------------------------- timeframes


async def test_a_timeframe_over_a_year_is_refused_before_sending(
    sim: HarvestSimulator, h: ha.HarvestClient
) -> None:
    with pytest.raises(ha.InvalidRequestError, match="must not exceed 1 year"):
        h.reports.time.clients(from_=dt.date(2023, 12, 31), to=dt.date(2024, 12, 31))
    with pytest.raises(ha.InvalidRequestError):
        h.reports.uninvoiced(from_=dt.date(2024, 2, 1), to=dt.date(2024, 1, 31))
    assert sim.counters.requests == 0
    rows = await h.reports.expenses.team(from_="2024-01-01", to="2024-12-31").collect()
    assert rows  # a whole leap year: to - from is 365 days, the longest accepted
    (sent,) = report_requests(sim, "expenses/team")
    assert sent.query == "from=20240101&to=20241231"


@pytest.mark.parametrize(
    ("start", "end", "status"),
    [
        ("20210101", "20220101", 200),  # recorded: answered
        ("20200102", "20210101", 200),  # recorded: answered
        ("20200101", "20210101", 400),  # recorded: 366 days apart, refused
    ],
)
async def test_the_simulator_draws_the_line_where_harvest_does(
    sim: HarvestSimulator, start: str, end: str, status: int
) -> None:
    # The client refuses the 400 case itself; send it raw to see the simulator's answer.
    async with aiohttp.ClientSession(
        headers={
            "Authorization": f"Bearer {sim.access_token}",
            "Harvest-Account-Id": str(sim.account_id),
            "User-Agent": UA,
        }
    ) as http:
        url = f"{sim.base_url}/reports/time/clients?from={start}&to={end}"
        async with http.get(url) as response:
            assert response.status == status
            body = await response.json()
    if status == 400:
        assert body == {"message": "Invalid timeframe: must not exceed 1 year"}
    else:
        assert "results" in body


@pytest.mark.parametrize(
    ("name", "single"),
    [
        ("time/clients", "time.clients"),
        ("time/team", "time.team"),
        ("expenses/categories", "expenses.categories"),
        ("uninvoiced", "uninvoiced"),
    ],
)
async def test_by_window_runs_one_report_per_legal_window(
    sim: HarvestSimulator, h: ha.HarvestClient, name: str, single: str
) -> None:
    def resolve(path: str) -> Any:
        target: Any = h.reports
        for part in path.split("."):
            target = getattr(target, part)
        return target

    start, end = dt.date(2023, 1, 20), dt.date(2025, 1, 14)
    rows = [item async for item in h.reports.by_window(resolve(single), from_=start, to=end)]
    windows = sorted({w for w, _ in rows})
    assert windows == [
        (dt.date(2023, 1, 20), dt.date(2024, 1, 20)),  # to - from: 365 days
        (dt.date(2024, 1, 21), dt.date(2025, 1, 14)),
    ]
    sent = report_requests(sim, name)
    assert sorted((r.params["from"], r.params["to"]) for r in sent) == [
        ("20230120", "20240120"),
        ("20240121", "20250114"),
    ]
    for window in windows:
        alone = await resolve(single)(from_=window[0], to=window[1]).collect()
        assert [row for w, row in rows if w == window] == alone


# ----------------------------------------------------------------------------- limits


async def test_reports_use_their_own_window_and_a_behaving_client_never_sees_a_429() -> None:
    async with (
        HarvestSimulator(seed=3, reports_rate_limit=(3, 0.3)) as sim,
        sim.client(user_agent=UA) as h,
    ):
        results = await asyncio.gather(
            *(h.reports.time.team(from_=FROM, to=TO).collect() for _ in range(7)),
            *(h.company.get() for _ in range(7)),
        )
        assert all(results)
        assert sim.counters.throttled == 0
        reports = [r for r in sim.requests if r.path.startswith("/v2/reports/")]
        assert len(reports) == 7
        starts = sorted(r.started for r in reports)
        assert starts[3] - starts[0] >= 0.29  # the fourth waited for the window
    assert sim.errors == []


async def test_a_report_429_under_a_tiny_window_is_retried() -> None:
    async with (
        HarvestSimulator(seed=3, reports_rate_limit=(2, 0.4)) as sim,
        sim.client(
            reports_rate_limiter=ha.TokenBucket(100, 900.0), max_retries=6, user_agent=UA
        ) as h,
    ):
        results = await asyncio.gather(*(h.reports.project_budget().collect() for _ in range(5)))
        assert len({len(r) for r in results}) == 1
        assert sim.counters.throttled > 0
        assert sim.counters.by_status[200] == 5
    assert sim.errors == []
