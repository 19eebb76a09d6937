"""``reconcile`` on dated lists: counts per date window first, ids only where they differ."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import parse_qs

from harvest_async.sync import RESOURCES, SyncStats, sync_account, window_column
from harvest_async.testing import HarvestSimulator, RequestRecord, SimulatorScale

TIME_ENTRIES = [spec for spec in RESOURCES if spec.name == "time_entries"]


def local_ids(db: Path, table: str) -> set[int]:
    con = sqlite3.connect(db)
    try:
        return {row[0] for row in con.execute(f'SELECT id FROM "{table}"')}
    finally:
        con.close()


def by_name(stats: list[SyncStats]) -> dict[str, SyncStats]:
    return {s.name: s for s in stats}


def params(record: RequestRecord) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(record.query).items()}


def lists(sim: HarvestSimulator) -> list[dict[str, str]]:
    return [params(r) for r in sim.requests if r.path == "/v2/time_entries"]


def simulator() -> HarvestSimulator:
    return HarvestSimulator(seed=7, scale=SimulatorScale(time_entries=6000), rate_limit=(100, 0.2))


def month_of(sim: HarvestSimulator, count: int) -> tuple[str, list[int]]:
    """The busiest month of the time entries and ``count`` of its ids."""
    months: dict[str, list[int]] = {}
    for record in sim.records("time_entries"):
        months.setdefault(record["spent_date"][:7], []).append(record["id"])
    month = max(months, key=lambda m: len(months[m]))
    return month, months[month][:count]


async def test_deletes_in_one_month_are_found_by_counts_then_one_months_ids(
    tmp_path: Path,
) -> None:
    db = tmp_path / "mirror.db"
    async with simulator() as sim, sim.client() as client:
        await sync_account(client, db, resources=TIME_ENTRIES, clock=sim.now)
        month, victims = month_of(sim, 3)
        for victim in victims:
            await client.time_entries.delete(victim)
        sim.requests.clear()
        sim.advance(60)
        stats = by_name(
            await sync_account(client, db, resources=TIME_ENTRIES, reconcile=True, clock=sim.now)
        )
        assert stats["time_entries"].deleted == 3
        assert local_ids(db, "time_entries") == {r["id"] for r in sim.records("time_entries")}
        asked = lists(sim)
        # No walk of the whole list: every request is the incremental walk, a count
        # (one record a page), or a listing of the one month that differs.
        assert not [p for p in asked if not {"updated_since", "from"} & p.keys()]
        listings = [p for p in asked if "from" in p and p.get("per_page") != "1"]
        assert listings, "the month was listed"
        # One window listed: the month, or a few months around it holding at most
        # one page of rows (listed in the request a count would take).
        ((start, end),) = {(p["from"], p["to"]) for p in listings}
        assert start <= f"{month}-01" <= end
        inside = [r for r in sim.records("time_entries") if start <= r["spent_date"] <= end]
        assert start[:7] == end[:7] == month or len(inside) <= 2000
        counts = [p for p in asked if p.get("per_page") == "1"]
        months = len({r["spent_date"][:7] for r in sim.records("time_entries")})
        # The whole span, each year, each month of the years that differ (at most).
        assert len(counts) <= 2 * (1 + 3 + months)


async def test_no_deletes_cost_one_count(tmp_path: Path) -> None:
    db = tmp_path / "mirror.db"
    async with simulator() as sim, sim.client() as client:
        await sync_account(client, db, resources=TIME_ENTRIES, clock=sim.now)
        sim.requests.clear()
        sim.advance(60)
        stats = by_name(
            await sync_account(client, db, resources=TIME_ENTRIES, reconcile=True, clock=sim.now)
        )
        assert stats["time_entries"].deleted == 0
        windowed = [p for p in lists(sim) if "from" in p]
        # One count of the whole span (a second request only where a cursor page
        # leaves its count out).
        assert 1 <= len(windowed) <= 2
        assert all(p["per_page"] == "1" for p in windowed)


async def test_a_row_missing_in_a_month_is_restored_and_nothing_live_deleted(
    tmp_path: Path,
) -> None:
    """Counts differ the other way (a row lost locally): the month's listing restores it."""
    db = tmp_path / "mirror.db"
    async with simulator() as sim, sim.client() as client:
        await sync_account(client, db, resources=TIME_ENTRIES, clock=sim.now)
        _, (lost,) = month_of(sim, 1)
        con = sqlite3.connect(db)
        con.execute("DELETE FROM time_entries WHERE id = ?", (lost,))
        con.commit()
        con.close()
        sim.advance(60)
        stats = by_name(
            await sync_account(client, db, resources=TIME_ENTRIES, reconcile=True, clock=sim.now)
        )
        assert stats["time_entries"].deleted == 0
        assert stats["time_entries"].rows_written == 1
        assert local_ids(db, "time_entries") == {r["id"] for r in sim.records("time_entries")}


async def test_window_columns_are_read_from_the_list_signatures() -> None:
    async with HarvestSimulator(seed=1) as sim, sim.client() as client:
        found = {spec.name: window_column(client, spec) for spec in RESOURCES}
    assert found == {
        **{spec.name: None for spec in RESOURCES},
        "time_entries": "spent_date",
        "expenses": "spent_date",
        "invoices": "issue_date",
        "estimates": "issue_date",
    }


async def test_expenses_and_invoices_reconcile_by_windows(tmp_path: Path) -> None:
    db = tmp_path / "mirror.db"
    specs = [spec for spec in RESOURCES if spec.name in ("expenses", "invoices")]
    async with HarvestSimulator(seed=3, rate_limit=(100, 0.2)) as sim, sim.client() as client:
        await sync_account(client, db, resources=specs, clock=sim.now)
        expense = sim.records("expenses")[0]["id"]
        invoice = sim.records("invoices")[0]["id"]
        await client.expenses.delete(expense)
        await client.invoices.delete(invoice)
        sim.requests.clear()
        sim.advance(60)
        stats = by_name(
            await sync_account(client, db, resources=specs, reconcile=True, clock=sim.now)
        )
        assert stats["expenses"].deleted == 1
        assert stats["invoices"].deleted == 1
        for name in ("expenses", "invoices"):
            assert local_ids(db, name) == {r["id"] for r in sim.records(name)}
            whole = [
                r
                for r in sim.requests
                if r.path == f"/v2/{name}" and not {"from", "updated_since"} & params(r).keys()
            ]
            assert whole == []
