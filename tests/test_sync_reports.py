"""``reports=True``: Harvest's reports in tables keyed by their month window."""

from __future__ import annotations

import datetime as dt
import sqlite3
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from harvest_async.sync import (
    REPORT_FIRST_MONTHS,
    REPORT_REPULL,
    SyncStats,
    report_specs,
    report_windows,
    sync_account,
)
from harvest_async.testing import HarvestSimulator


def by_name(stats: list[SyncStats]) -> dict[str, SyncStats]:
    return {s.name: s for s in stats}


def rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    con = sqlite3.connect(db)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def simulator() -> HarvestSimulator:
    return HarvestSimulator(seed=3, rate_limit=(100, 0.2), reports_rate_limit=(100, 0.2))


def windows_asked(sim: HarvestSimulator, path: str) -> list[tuple[str, str]]:
    found = []
    for record in sim.requests:
        if record.path == path:
            query = parse_qs(record.query)
            found.append((query["from"][0], query["to"][0]))
    return sorted(found)


def test_every_report_operation_has_a_table() -> None:
    names = {spec.name: spec.dated for spec in report_specs()}
    assert names == {
        **{f"reports_time_{n}": True for n in ("clients", "projects", "tasks", "team")},
        **{f"reports_expenses_{n}": True for n in ("clients", "projects", "categories", "team")},
        "reports_uninvoiced": True,
        "reports_project_budget": False,
    }
    for spec in report_specs():
        columns = [name for name, _ in spec.table.column_kinds]
        assert columns[:4] == ["account_id", "id", "window_from", "window_to"]


@pytest.mark.parametrize(
    ("today", "last", "expected"),
    [
        (dt.date(2025, 3, 9), dt.date(2025, 3, 1), ["2025-02", "2025-03"]),
        (
            dt.date(2025, 3, 9),
            dt.date(2024, 12, 1),
            ["2024-11", "2024-12", "2025-01", "2025-02", "2025-03"],
        ),
        (dt.date(2025, 1, 2), dt.date(2025, 1, 1), ["2024-12", "2025-01"]),
    ],
)
def test_later_runs_pull_the_last_windows_again_and_every_month_since(
    today: dt.date, last: dt.date, expected: list[str]
) -> None:
    windows = report_windows(today, last)
    assert [first.isoformat()[:7] for first, _ in windows] == expected
    assert REPORT_REPULL == 2
    for first, final in windows:
        assert first.day == 1
        assert (final + dt.timedelta(days=1)).day == 1
        assert final.month == first.month


def test_a_first_run_pulls_the_first_months() -> None:
    windows = report_windows(dt.date(2025, 3, 9), None)
    assert len(windows) == REPORT_FIRST_MONTHS
    assert windows[-1] == (dt.date(2025, 3, 1), dt.date(2025, 3, 31))
    assert report_windows(dt.date(2025, 3, 9), None, dt.date(2025, 1, 20))[0][0] == dt.date(
        2025, 1, 1
    )


async def test_reports_are_stored_per_window_and_equal_harvests(tmp_path: Path) -> None:
    db = tmp_path / "mirror.db"
    async with simulator() as sim, sim.client() as client:
        stats = by_name(await sync_account(client, db, resources=[], reports=True, clock=sim.now))
        today = sim.now().date()
        windows = report_windows(today, None)
        asked = windows_asked(sim, "/v2/reports/time/projects")
        assert asked == sorted(
            (a.isoformat().replace("-", ""), b.isoformat().replace("-", "")) for a, b in windows
        )
        # Each window's rows are Harvest's report of that window.
        first, last = windows[-3]
        live = [r async for r in client.reports.time.projects(from_=first, to=last)]
        stored = rows(
            db,
            "SELECT project_id, total_hours, billable_amount FROM reports_time_projects "
            f"WHERE window_from = '{first.isoformat()}' AND window_to = '{last.isoformat()}'",
        )
        assert sorted((p, Decimal(h), Decimal(a)) for p, h, a in stored) == sorted(
            (r.project_id, r.total_hours, r.billable_amount) for r in live
        )
        assert stats["reports_time_projects"].total_rows == len(
            rows(db, "SELECT id FROM reports_time_projects")
        )
        budget = rows(db, "SELECT window_from, window_to FROM reports_project_budget")
        assert budget
        assert set(budget) == {(today.isoformat(), today.isoformat())}


async def test_the_next_run_pulls_the_last_two_windows_and_replaces_their_rows(
    tmp_path: Path,
) -> None:
    db = tmp_path / "mirror.db"
    async with simulator() as sim, sim.client() as client:
        await sync_account(client, db, resources=[], reports=True, clock=sim.now)
        today = sim.now().date()
        first, last = report_windows(today, None)[-1]
        before = rows(
            db,
            f"SELECT count(*) FROM reports_time_clients WHERE window_from = '{first.isoformat()}'",
        )
        # Hours logged in the latest window change its report.
        project = sim.records("projects")[0]
        task = sim.records("task_assignments")[0]["task"]["id"]
        await client.time_entries.create(
            project_id=project["id"], task_id=task, spent_date=first, hours=Decimal("3.25")
        )
        sim.requests.clear()
        sim.advance(3600)
        await sync_account(client, db, resources=[], reports=True, clock=sim.now)
        asked = windows_asked(sim, "/v2/reports/time/clients")
        assert len(asked) == REPORT_REPULL
        live = [r async for r in client.reports.time.clients(from_=first, to=last)]
        stored = rows(
            db,
            "SELECT client_id, total_hours FROM reports_time_clients "
            f"WHERE window_from = '{first.isoformat()}'",
        )
        assert sorted((c, Decimal(h)) for c, h in stored) == sorted(
            (r.client_id, r.total_hours) for r in live
        )
        assert len(stored) >= before[0][0]  # type: ignore[operator]
        # No window is stored twice: ids are unique per (window, position).
        windows = rows(
            db, "SELECT window_from, count(DISTINCT window_to) FROM reports_time_clients GROUP BY 1"
        )
        assert all(n == 1 for _, n in windows)
