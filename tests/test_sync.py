"""The SQLite mirror: full, incremental, reconcile, and a SIGKILLed sync that resumes."""

from __future__ import annotations

import asyncio
import hashlib
import random
import sqlite3
import sys
from pathlib import Path

import pytest

from harvest_async._http import Request
from harvest_async.sync import RESOURCES, sync_account, table_counts
from harvest_async.testing import HarvestSimulator, RequestRecord, SimulatorScale

ROOT = Path(__file__).resolve().parent.parent

#: Every mirrored table and the simulator's name for its records.
KINDS = [spec.name for spec in RESOURCES]


def local_rows(db: Path, table: str) -> set[tuple[int, str | None]]:
    con = sqlite3.connect(db)
    try:
        return set(con.execute(f'SELECT id, updated_at FROM "{table}"'))
    finally:
        con.close()


def sim_rows(sim: HarvestSimulator, kind: str) -> set[tuple[int, str | None]]:
    return {(r["id"], r.get("updated_at")) for r in sim.records(kind)}


def digest(rows: set[tuple[int, str | None]]) -> str:
    text = "\n".join(f"{i}\t{u}" for i, u in sorted(rows))
    return hashlib.sha256(text.encode()).hexdigest()


async def test_full_then_incremental_then_reconcile(tmp_path: Path) -> None:
    db = tmp_path / "mirror.db"
    async with HarvestSimulator(seed=7, rate_limit=(100, 0.2)) as sim, sim.client() as client:
        stats = await sync_account(client, db, clock=sim.now)
        assert {s.mode for s in stats if s.name != "company"} == {"full"}
        for kind in KINDS:
            assert local_rows(db, kind) == sim_rows(sim, kind), kind

        # Change one client, create a task, delete a contact; then sync again.
        some_client = sim.records("clients")[0]["id"]
        sim.advance(3600)
        await client.clients.update(some_client, name="Renamed Co")
        new_task = await client.tasks.create(name="Fresh task")
        gone = sim.records("contacts")[0]["id"]
        await client.contacts.delete(gone)

        stats = await sync_account(client, db, clock=sim.now)
        by_name = {s.name: s for s in stats}
        assert by_name["clients"].mode == "incremental"
        assert by_name["clients"].rows_written == 1  # only what changed
        assert by_name["time_entries"].rows_written == 0
        con = sqlite3.connect(db)
        name = con.execute("SELECT name FROM clients WHERE id = ?", (some_client,)).fetchone()[0]
        assert name == "Renamed Co"
        assert (
            con.execute("SELECT COUNT(*) FROM tasks WHERE id = ?", (new_task.id,)).fetchone()[0]
            == 1
        )
        # Harvest keeps no tombstones: an incremental run cannot see the deletion...
        assert con.execute("SELECT COUNT(*) FROM contacts WHERE id = ?", (gone,)).fetchone()[0] == 1
        con.close()

        # ...reconcile compares id sets and removes it.
        stats = await sync_account(client, db, reconcile=True, clock=sim.now)
        assert {s.name: s.deleted for s in stats}["contacts"] == 1
        for kind in KINDS:
            assert local_rows(db, kind) == sim_rows(sim, kind), kind


async def test_records_keep_exact_decimals(tmp_path: Path) -> None:
    db = tmp_path / "mirror.db"
    async with HarvestSimulator(seed=3, rate_limit=(100, 0.2)) as sim, sim.client() as client:
        await sync_account(client, db, clock=sim.now)
        raw = await client._requester.send(
            Request("GET", "time_entries", query=[("per_page", "5")])
        )
    con = sqlite3.connect(db)
    for item in raw["time_entries"]:
        stored = con.execute("SELECT hours FROM time_entries WHERE id = ?", (item["id"],))
        assert stored.fetchone()[0] == str(item["hours"])
    con.close()


@pytest.mark.timeout(300)
async def test_sync_of_200k_entries_killed_at_random_point_resumes_exactly(
    tmp_path: Path,
) -> None:
    """Acceptance: a sync SIGKILLed mid-run and run again ends with exactly Harvest's rows."""
    db = tmp_path / "mirror.db"
    rng = random.Random(20261122)
    kill_after = rng.randint(10, 90)  # a random time-entries page of the ~100
    scale = SimulatorScale(time_entries=200_000, expenses=2_000)
    async with HarvestSimulator(seed=11, scale=scale, rate_limit=(100, 0.5)) as sim:
        pages_served = 0
        reached = asyncio.Event()

        def watch(record: RequestRecord) -> None:
            nonlocal pages_served
            if record.path == "/v2/time_entries" and record.status == 200:
                pages_served += 1
                if pages_served == kill_after:
                    reached.set()

        sim.request_hooks.append(watch)
        args = [
            sys.executable,
            "-m",
            "tests.sync_driver",
            sim.base_url,
            sim.access_token,
            str(sim.account_id),
            str(db),
            "100",
            "0.5",
        ]

        first = await asyncio.create_subprocess_exec(*args, cwd=ROOT)
        done = asyncio.ensure_future(first.wait())
        killed = asyncio.ensure_future(reached.wait())
        await asyncio.wait({done, killed}, return_when=asyncio.FIRST_COMPLETED)
        assert not done.done(), "the first run finished before the chosen kill point"
        first.kill()  # SIGKILL: no cleanup, no rollback handlers, mid-transaction maybe
        assert await done == -9
        killed.cancel()
        partial = local_rows(db, "time_entries")
        assert 0 < len(partial) < 200_000

        second = await asyncio.create_subprocess_exec(*args, cwd=ROOT)
        assert await second.wait() == 0

        expected = sim_rows(sim, "time_entries")
        got = local_rows(db, "time_entries")
        assert len(got) == len(expected) == 200_000
        assert digest(got) == digest(expected)
        for kind in KINDS:
            assert local_rows(db, kind) == sim_rows(sim, kind), kind
        print(
            f"killed after time-entries page {kill_after} with {len(partial):,} rows; "
            f"resumed to {len(got):,} rows, sha256 {digest(got)[:16]}"
        )
    counts = table_counts(db)
    assert counts["time_entries"] == 200_000
