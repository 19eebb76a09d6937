"""Typed tables in each target (SQLite, DuckDB, a real PostgreSQL on loopback).

- ``sync --demo`` into each, then ``SELECT project_name, sum(hours) FROM time_entries
  GROUP BY 1`` gives the simulator's exact Decimal sums;
- a sync SIGKILLed mid time entries and run again ends with exactly Harvest's rows,
  having written fewer rows than there are (it resumed inside the list);
- the tables follow the models: a column per field, refs flattened, child tables,
  ``account_id`` in every key; a new model field is a column added, and the older
  JSON layout is refused in one line (exit 6).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import itertools
import json
import sqlite3
import sys
from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest

from harvest_async._tables import Kind, table_for
from harvest_async.cli import demo_settings, main
from harvest_async.models.invoices import Invoice
from harvest_async.models.time_entries import TimeEntry
from harvest_async.sync import RESOURCES, ResourceSpec, add_sqlite_functions, sync_account
from harvest_async.testing import HarvestSimulator, RequestRecord, SimulatorScale

from .postgres_server import INSTALL_HINT, PostgresServer, find_pg_bin

ROOT = Path(__file__).resolve().parent.parent
KINDS = ("sqlite", "duckdb", "postgres")
_names = itertools.count()


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    pytest.importorskip("asyncpg", reason="asyncpg not installed: pip install '.[postgres]'")
    if find_pg_bin() is None:
        pytest.skip(INSTALL_HINT)
    with PostgresServer() as server:
        yield server


def _fresh_postgres_db(server: PostgresServer) -> str:
    import asyncpg

    name = f"mirror_{next(_names)}"

    async def create() -> None:
        con = await asyncpg.connect(server.url)
        try:
            await con.execute(f"CREATE DATABASE {name}")
        finally:
            await con.close()

    asyncio.run(create())
    return server.url.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(params=KINDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    kind = request.param
    if kind == "sqlite":
        return str(tmp_path / "mirror.db")
    if kind == "duckdb":
        pytest.importorskip("duckdb", reason="duckdb not installed: pip install '.[duckdb]'")
        return f"duckdb:///{tmp_path / 'mirror.duckdb'}"
    server = request.getfixturevalue("postgres")
    return _fresh_postgres_db(server)


def query(url: str, sql: str) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` run on the target ``url`` names."""
    if url.startswith("postgresql://"):
        import asyncpg

        async def run() -> list[tuple[Any, ...]]:
            con = await asyncpg.connect(url)
            try:
                return [tuple(r) for r in await con.fetch(sql)]
            finally:
                await con.close()

        # In a thread of its own: the async tests call this with their loop running.
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            return pool.submit(lambda: asyncio.run(run())).result()
    if url.startswith("duckdb:///"):
        import duckdb

        con = duckdb.connect(url.removeprefix("duckdb:///"), read_only=True)
        try:
            return [tuple(r) for r in con.execute(sql).fetchall()]
        finally:
            con.close()
    db = add_sqlite_functions(sqlite3.connect(url))
    try:
        return list(db.execute(sql))
    finally:
        db.close()


def demo_hours() -> dict[str, Decimal]:
    """Hours per project name in the demo account, summed exactly."""
    sim = HarvestSimulator(**demo_settings())
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for entry in sim.records("time_entries"):
        sums[entry["project"]["name"]] += Decimal(repr(entry["hours"]))
    return dict(sums)


def test_demo_hours_per_project_are_exact_in_every_target(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sync", "--demo", "--quiet", "--db", db_url]) == 0
    capsys.readouterr()
    expected = demo_hours()
    rows = query(db_url, "SELECT project_name, sum(hours) FROM time_entries GROUP BY 1")
    if db_url.startswith(("postgresql://", "duckdb:///")):
        assert {name: Decimal(total) for name, total in rows} == expected
    else:  # SQLite's sum() reads the exact text as floats; decimal_sum() adds exactly
        assert {n: round(Decimal(t), 2) for n, t in rows} == expected
        exact = query(
            db_url, "SELECT project_name, decimal_sum(hours) FROM time_entries GROUP BY 1"
        )
        assert {name: Decimal(total) for name, total in exact} == expected
    assert query(db_url, "SELECT count(*) FROM time_entries")[0][0] == 30_000


def test_tables_follow_the_models() -> None:
    entries = table_for("time_entries", TimeEntry)
    kinds = dict(entries.column_kinds)
    assert entries.key == ("account_id", "id")
    assert kinds["project_id"] is Kind.BIGINT
    assert kinds["project_name"] is Kind.TEXT
    assert kinds["hours"] is Kind.NUMERIC
    assert kinds["spent_date"] is Kind.DATE
    assert kinds["updated_at"] is Kind.TIMESTAMPTZ
    assert kinds["is_running"] is Kind.BOOLEAN
    assert kinds["started_time"] is Kind.TEXT
    assert kinds["started_time_of_day"] is Kind.TIME
    assert "project" not in kinds
    # Every field of the model is found in the table, flattened or as itself.
    for field in attrs.fields(TimeEntry):
        assert any(c == field.name or c.startswith(field.name + "_") for c in kinds), field.name
    invoices = table_for("invoices", Invoice)
    (items,) = [c for c in invoices.children if c.field == "line_items"]
    assert items.table == "invoices_line_items"
    assert items.key == ("account_id", "parent_id", "position")
    assert {"project_id", "amount", "quantity"} <= {c.name for c in items.columns}
    assert "line_items" not in dict(invoices.column_kinds)


def test_child_tables_hold_the_line_items(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["sync", "--demo", "--quiet", "--db", db_url, "--resources", "invoices,users"]
    assert main(argv) == 0
    capsys.readouterr()
    sim = HarvestSimulator(**demo_settings())
    expected = sorted(
        (inv["id"], pos, Decimal(repr(item["amount"])))
        for inv in sim.records("invoices")
        for pos, item in enumerate(inv.get("line_items") or [])
    )
    got = query(db_url, "SELECT parent_id, position, amount FROM invoices_line_items")
    assert sorted((i, p, Decimal(str(a))) for i, p, a in got) == expected
    assert expected
    roles = query(db_url, "SELECT count(*) FROM users_roles")[0][0]
    assert roles == sum(len(u.get("roles") or []) for u in sim.records("users"))


async def test_sigkill_mid_time_entries_then_rerun_resumes_exactly(db_url: str) -> None:
    scale = SimulatorScale(time_entries=20_000, expenses=200)
    async with HarvestSimulator(seed=5, scale=scale, rate_limit=(100, 0.5)) as sim:
        served = 0
        reached = asyncio.Event()

        def watch(record: RequestRecord) -> None:
            nonlocal served
            if record.path == "/v2/time_entries" and record.status == 200:
                served += 1
                if served == 5:
                    reached.set()

        sim.request_hooks.append(watch)
        args = [
            sys.executable,
            "-m",
            "tests.sync_driver",
            sim.base_url,
            sim.access_token,
            str(sim.account_id),
            db_url,
            "100",
            "0.5",
        ]
        first = await asyncio.create_subprocess_exec(*args, cwd=ROOT)
        done = asyncio.ensure_future(first.wait())
        killed = asyncio.ensure_future(reached.wait())
        await asyncio.wait({done, killed}, return_when=asyncio.FIRST_COMPLETED)
        assert not done.done(), "the first run finished before the kill point"
        first.kill()
        assert await done == -9
        killed.cancel()
        partial = query(db_url, "SELECT count(*) FROM time_entries")[0][0]
        assert 0 < partial < 20_000

        second = await asyncio.create_subprocess_exec(
            *args, cwd=ROOT, stdout=asyncio.subprocess.PIPE
        )
        out, _ = await second.communicate()
        assert second.returncode == 0
        written = json.loads(out.decode().strip().splitlines()[-1])
        assert written["time_entries"] < 20_000  # it resumed inside the list
        expected = sorted((r["id"], r["updated_at"]) for r in sim.records("time_entries"))
        got = query(db_url, "SELECT id, updated_at FROM time_entries")
        assert sorted((i, _z(u)) for i, u in got) == expected


def _z(value: Any) -> str:
    """A stored timestamp (text, or an aware datetime) as Harvest writes it."""
    if isinstance(value, str):
        return value
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def test_the_old_json_layout_is_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "old.db"
    con = sqlite3.connect(db)
    con.execute(
        "CREATE TABLE sync_state (resource TEXT PRIMARY KEY, updated_since TEXT, "
        "completed_at TEXT NOT NULL)"
    )
    con.execute("CREATE TABLE clients (id INTEGER PRIMARY KEY, updated_at TEXT, data TEXT)")
    con.commit()
    con.close()
    before = db.read_bytes()
    assert main(["sync", "--demo", "--quiet", "--db", str(db)]) == 6
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "older layout" in err[0]
    assert "new database" in err[0]
    assert db.read_bytes() == before


@attrs.frozen(kw_only=True)
class _Narrow:
    id: int | None = None
    name: str | None = None
    updated_at: dt.datetime | None = None


async def test_a_new_model_field_adds_a_column_and_fills_it(db_url: str) -> None:
    (clients,) = [s for s in RESOURCES if s.name == "clients"]
    narrow = ResourceSpec("clients", clients.list_all, get_one=clients.get_one, model=_Narrow)
    async with HarvestSimulator(seed=3, rate_limit=(100, 0.2)) as sim, sim.client() as client:
        await sync_account(client, db_url, resources=[narrow], company=False, clock=sim.now)
        assert "currency" not in _columns(db_url, "clients")
        stats = await sync_account(
            client, db_url, resources=[clients], company=False, clock=sim.now
        )
    assert "currency" in _columns(db_url, "clients")
    assert stats[0].mode == "full"  # the new column is filled by a full walk
    rows = query(db_url, "SELECT id, currency FROM clients")
    assert dict(rows) == {r["id"]: r["currency"] for r in sim.records("clients")}


def _columns(url: str, table: str) -> set[str]:
    if url.startswith(("postgresql://", "duckdb:///")):
        sql = f"SELECT column_name FROM information_schema.columns WHERE table_name = '{table}'"
    else:
        sql = f"SELECT name FROM pragma_table_info('{table}')"
    return {r[0] for r in query(url, sql)}


async def test_a_second_sync_of_the_account_is_refused_or_waits(db_url: str) -> None:
    from harvest_async.sync import SyncDatabaseError, open_target

    async with HarvestSimulator(seed=3, rate_limit=(100, 0.2)) as sim, sim.client() as client:
        holder = open_target(db_url)
        await holder.open()
        await holder.lock(int(client.account_id), wait=False)
        try:
            with pytest.raises(SyncDatabaseError, match="another sync of account"):
                await sync_account(client, db_url, resources=[], company=False, clock=sim.now)
            waiting = asyncio.ensure_future(
                sync_account(
                    client, db_url, resources=[], company=False, clock=sim.now, wait_lock=True
                )
            )
            await asyncio.sleep(0.3)
            assert not waiting.done()
        finally:
            await holder.close()
        assert await asyncio.wait_for(waiting, 30) == []


async def test_a_delete_between_pages_then_reconcile_leaves_harvest_exactly(db_url: str) -> None:
    """Acceptance, on every target: a record deleted between two pages of a page-based
    list; after the sync and a ``--reconcile`` run the mirror equals Harvest."""
    from .test_sync_deletes import (
        TIME_ENTRIES,
        delete_on,
        first_page_of_full_walk,
        page_one_ids,
        simulator,
    )

    async with simulator() as sim, sim.client() as client:
        deleted = delete_on(sim, page_one_ids(sim, 1), first_page_of_full_walk)
        await sync_account(client, db_url, resources=TIME_ENTRIES, clock=sim.now)
        assert len(deleted) == 1
        await sync_account(client, db_url, resources=TIME_ENTRIES, reconcile=True, clock=sim.now)
        expected = sorted((r["id"], r["updated_at"]) for r in sim.records("time_entries"))
    got = query(db_url, "SELECT id, updated_at FROM time_entries")
    assert sorted((i, _z(u)) for i, u in got) == expected
    assert deleted[0] not in {i for i, _ in expected}


async def test_reconcile_deletes_an_invoices_child_rows_with_it(db_url: str) -> None:
    """An invoice ``--reconcile`` confirms deleted takes its line items, messages (with
    their recipients) and payments with it; the other invoices keep theirs."""
    parents = [spec for spec in RESOURCES if spec.name in ("invoices", "estimates")]
    async with HarvestSimulator(seed=3, rate_limit=(100, 0.2)) as sim, sim.client() as client:
        invoice = next(
            i for i in sim.records("invoices") if i["state"] == "open" and i["line_items"]
        )
        await client.invoices.create_payment(invoice["id"], amount="1.50")
        await client.invoices.create_message(
            invoice["id"], recipients=[{"name": "Ada", "email": "ada@example.com"}], subject="Hi"
        )
        sim.advance(60)
        await sync_account(client, db_url, resources=parents, clock=sim.now)
        owned = {
            "invoices_line_items": "parent_id",
            "invoice_payments": "invoice_id",
            "invoice_messages": "invoice_id",
        }
        for table, column in owned.items():
            assert query(db_url, f"SELECT count(*) FROM {table} WHERE {column} = {invoice['id']}")[
                0
            ][0]
        recipients = (
            "SELECT count(*) FROM invoice_messages_recipients WHERE parent_id IN "
            f"(SELECT id FROM invoice_messages WHERE invoice_id = {invoice['id']})"
        )
        assert query(db_url, recipients)[0][0] >= 1
        others = {
            table: query(db_url, f"SELECT count(*) FROM {table} WHERE {column} <> {invoice['id']}")
            for table, column in owned.items()
        }
        sim.advance(60)
        await client.invoices.delete(invoice["id"])
        sim.advance(60)
        stats = await sync_account(client, db_url, resources=parents, reconcile=True, clock=sim.now)
    assert {s.name: s.deleted for s in stats}["invoices"] == 1
    assert query(db_url, f"SELECT count(*) FROM invoices WHERE id = {invoice['id']}") == [(0,)]
    for table, column in owned.items():
        where = f"WHERE {column} = {invoice['id']}"
        assert query(db_url, f"SELECT count(*) FROM {table} {where}") == [(0,)], table
        assert (
            query(db_url, f"SELECT count(*) FROM {table} WHERE {column} <> {invoice['id']}")
            == others[table]
        )
    assert query(
        db_url,
        "SELECT count(*) FROM invoice_messages_recipients r WHERE NOT EXISTS "
        "(SELECT 1 FROM invoice_messages m WHERE m.id = r.parent_id)",
    ) == [(0,)]
