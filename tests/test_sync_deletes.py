"""Deletes while a list is walked: the mirror never drops a live row, and a skipped one
comes back (by a re-walk, by the next run, or by ``reconcile``)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import attrs
import pytest

from harvest_async.sync import MAX_REWALKS, RESOURCES, ResourceSpec, SyncStats, sync_account
from harvest_async.testing import HarvestSimulator, RequestRecord, SimulatorScale

ENTRIES = 5000  # three pages of 2000
TIME_ENTRIES = [spec for spec in RESOURCES if spec.name == "time_entries"]
#: The time entries reconciled by walking the whole list (no counts per date window).
WHOLE = [attrs.evolve(spec, windowed=False) for spec in TIME_ENTRIES]


def local_rows(db: Path, table: str) -> dict[int, str | None]:
    con = sqlite3.connect(db)
    try:
        return dict(con.execute(f'SELECT id, updated_at FROM "{table}"'))
    finally:
        con.close()


def live_rows(sim: HarvestSimulator, kind: str) -> dict[int, str | None]:
    return {r["id"]: r.get("updated_at") for r in sim.records(kind)}


def checkpoint(db: Path, resource: str) -> str | None:
    con = sqlite3.connect(db)
    try:
        row = con.execute(
            "SELECT updated_since FROM sync_state WHERE resource = ?", (resource,)
        ).fetchone()
        return None if row is None else str(row[0])
    finally:
        con.close()


def by_name(stats: list[SyncStats]) -> dict[str, SyncStats]:
    return {s.name: s for s in stats}


def simulator(**kwargs: object) -> HarvestSimulator:
    """Time entries answered page-based (by offset), in three pages."""
    return HarvestSimulator(
        seed=5,
        scale=SimulatorScale(time_entries=ENTRIES),
        page_based=["time_entries"],
        rate_limit=(100, 0.2),
        **kwargs,  # type: ignore[arg-type]
    )


def first_page_of_full_walk(record: RequestRecord) -> bool:
    """The first page of an unfiltered walk of the time entries."""
    return (
        record.path == "/v2/time_entries"
        and record.status == 200
        and "page=" not in record.query
        and "updated_since" not in record.query
    )


def delete_on(
    sim: HarvestSimulator, victims: Iterator[int], when: Callable[[RequestRecord], bool]
) -> list[int]:
    """Each time ``when`` matches a response, delete the next victim (before the client
    has read that response, so before it asks for the next pages). Returns the ids
    deleted so far."""
    deleted: list[int] = []

    def hook(record: RequestRecord) -> None:
        if when(record):
            victim = next(victims, None)
            if victim is not None:
                sim.ops.delete("time_entries", sim.world.time_entries.get(victim))
                deleted.append(victim)

    sim.request_hooks.append(hook)
    return deleted


def page_one_ids(sim: HarvestSimulator, count: int) -> Iterator[int]:
    """Ids served on the first page of the list (newest first), skipping the first few."""
    return iter([r["id"] for r in sim.records("time_entries", limit=10 + count)][10:])


async def test_a_delete_between_pages_is_walked_again_and_reconcile_ends_exact(
    tmp_path: Path,
) -> None:
    db = tmp_path / "mirror.db"
    async with simulator() as sim, sim.client() as client:
        deleted = delete_on(sim, page_one_ids(sim, 1), first_page_of_full_walk)
        stats = by_name(await sync_account(client, db, resources=TIME_ENTRIES, clock=sim.now))
        assert len(deleted) == 1
        # The first walk skipped a record (the deleted one moved it onto page 1, already
        # served); its pages disagreed on total_entries, so the list was walked again.
        assert stats["time_entries"].pages == 6
        assert stats["time_entries"].rows_written == ENTRIES - 1 + 1  # the skipped one
        live = live_rows(sim, "time_entries")
        mirror = local_rows(db, "time_entries")
        assert {i: mirror[i] for i in live} == live  # every live row, exactly
        assert set(mirror) - set(live) == set(deleted)  # Harvest keeps no tombstones
        assert checkpoint(db, "time_entries") is not None

        stats = by_name(
            await sync_account(client, db, resources=TIME_ENTRIES, reconcile=True, clock=sim.now)
        )
        assert stats["time_entries"].deleted == 1
        assert local_rows(db, "time_entries") == live_rows(sim, "time_entries")


async def test_a_list_that_never_holds_still_keeps_its_checkpoint_and_the_next_run_heals(
    tmp_path: Path,
) -> None:
    db = tmp_path / "mirror.db"
    async with simulator() as sim, sim.client() as client:
        # A delete during every walk of the first run.
        deleted = delete_on(sim, page_one_ids(sim, 1 + MAX_REWALKS), first_page_of_full_walk)
        stats = by_name(await sync_account(client, db, resources=TIME_ENTRIES, clock=sim.now))
        assert len(deleted) == 1 + MAX_REWALKS
        assert stats["time_entries"].pages == 3 * (1 + MAX_REWALKS)
        assert checkpoint(db, "time_entries") is None  # not trusted as complete

        # The next run (the account quiet now) lists everything again.
        stats = by_name(await sync_account(client, db, resources=TIME_ENTRIES, clock=sim.now))
        assert stats["time_entries"].mode == "full"
        assert stats["time_entries"].pages == 3
        assert checkpoint(db, "time_entries") is not None
        live = live_rows(sim, "time_entries")
        mirror = local_rows(db, "time_entries")
        assert {i: mirror.get(i) for i in live} == live
        assert set(mirror) - set(live) == set(deleted)

        stats = by_name(
            await sync_account(client, db, resources=TIME_ENTRIES, reconcile=True, clock=sim.now)
        )
        assert stats["time_entries"].mode == "incremental"
        assert stats["time_entries"].deleted == len(deleted)
        assert local_rows(db, "time_entries") == live_rows(sim, "time_entries")


async def test_sync_then_a_second_sync_leaves_no_live_record_out(tmp_path: Path) -> None:
    """The finding as reported: a skipped record was never restored by later runs."""
    db = tmp_path / "mirror.db"
    async with simulator() as sim, sim.client() as client:
        deleted = delete_on(sim, page_one_ids(sim, 1), first_page_of_full_walk)
        await sync_account(client, db, resources=TIME_ENTRIES, clock=sim.now)
        sim.advance(3600)
        stats = by_name(await sync_account(client, db, resources=TIME_ENTRIES, clock=sim.now))
        assert stats["time_entries"].mode == "incremental"
        live = live_rows(sim, "time_entries")
        mirror = local_rows(db, "time_entries")
        assert {i: mirror.get(i) for i in live} == live
        assert set(mirror) - set(live) == set(deleted)


async def test_reconcile_never_deletes_a_live_row_its_walk_skipped(tmp_path: Path) -> None:
    db = tmp_path / "mirror.db"
    async with simulator() as sim, sim.client() as client:
        await sync_account(client, db, resources=WHOLE, clock=sim.now)
        assert local_rows(db, "time_entries") == live_rows(sim, "time_entries")

        # Reconcile's id walk skips a live record: a delete between its pages.
        deleted = delete_on(sim, page_one_ids(sim, 1), first_page_of_full_walk)
        gets: list[str] = []
        sim.request_hooks.append(
            lambda r: gets.append(r.path) if r.path.startswith("/v2/time_entries/") else None
        )
        stats = by_name(
            await sync_account(client, db, resources=WHOLE, reconcile=True, clock=sim.now)
        )
        assert len(deleted) == 1
        live = live_rows(sim, "time_entries")
        mirror = local_rows(db, "time_entries")
        assert {i: mirror.get(i) for i in live} == live  # the skipped live row is kept
        assert stats["time_entries"].deleted == 0  # the deleted one was served before it went
        assert len(gets) == 1  # the missing id was checked by a GET, which found it

        stats = by_name(
            await sync_account(client, db, resources=WHOLE, reconcile=True, clock=sim.now)
        )
        assert stats["time_entries"].deleted == 1
        assert local_rows(db, "time_entries") == live_rows(sim, "time_entries")


async def test_reconcile_restores_a_record_missing_locally(tmp_path: Path) -> None:
    db = tmp_path / "mirror.db"
    async with simulator() as sim, sim.client() as client:
        await sync_account(client, db, resources=TIME_ENTRIES, clock=sim.now)
        lost = next(iter(local_rows(db, "time_entries")))
        con = sqlite3.connect(db)
        con.execute("DELETE FROM time_entries WHERE id = ?", (lost,))
        con.commit()
        con.close()
        stats = by_name(
            await sync_account(client, db, resources=TIME_ENTRIES, reconcile=True, clock=sim.now)
        )
        assert stats["time_entries"].rows_written == 1  # only the row it was missing
        assert local_rows(db, "time_entries") == live_rows(sim, "time_entries")


def list_requests(sim: HarvestSimulator, path: str) -> list[RequestRecord]:
    return [r for r in sim.requests if r.path == path]


@pytest.mark.parametrize(("gone", "by_get"), [(1, True), (2, False)])
async def test_reconcile_confirms_by_get_or_by_a_second_walk(
    tmp_path: Path, gone: int, by_get: bool
) -> None:
    """A GET per missing id when that is fewer requests than walking the list again."""
    db = tmp_path / "mirror.db"
    contacts = [spec for spec in RESOURCES if spec.name == "contacts"]
    async with HarvestSimulator(seed=2, rate_limit=(100, 0.2)) as sim, sim.client() as client:
        await sync_account(client, db, resources=contacts, clock=sim.now)
        victims = [c["id"] for c in sim.records("contacts")[:gone]]
        for victim in victims:
            await client.contacts.delete(victim)
        sim.requests.clear()
        stats = by_name(
            await sync_account(client, db, resources=contacts, reconcile=True, clock=sim.now)
        )
        assert stats["contacts"].deleted == gone
        assert local_rows(db, "contacts") == live_rows(sim, "contacts")
        gets = [r for r in sim.requests if r.path.startswith("/v2/contacts/")]
        # The incremental walk, the id walk, and maybe a second id walk.
        walks = list_requests(sim, "/v2/contacts")
        if by_get:
            assert sorted(r.path for r in gets) == [f"/v2/contacts/{v}" for v in victims]
            assert [r.status for r in gets] == [404]
            assert len(walks) == 2
        else:
            assert gets == []
            assert len(walks) == 3


async def test_reconcile_without_get_keeps_rows_a_changing_second_walk_misses(
    tmp_path: Path,
) -> None:
    """Absent from two walks, but the second one did not hold still either: kept."""
    db = tmp_path / "mirror.db"
    no_get = [ResourceSpec(spec.name, spec.list_all, windowed=False) for spec in TIME_ENTRIES]
    async with simulator() as sim, sim.client() as client:
        await sync_account(client, db, resources=no_get, clock=sim.now)
        gone = page_one_ids(sim, 1)
        first = next(gone)
        sim.ops.delete("time_entries", sim.world.time_entries.get(first))
        walks = 0

        def second_walk(record: RequestRecord) -> bool:
            nonlocal walks
            walks += first_page_of_full_walk(record)
            return walks == 2

        deleted = delete_on(sim, page_one_ids(sim, 1), second_walk)
        stats = by_name(
            await sync_account(client, db, resources=no_get, reconcile=True, clock=sim.now)
        )
        assert len(deleted) == 1
        assert stats["time_entries"].deleted == 0  # left for a later reconcile
        live = live_rows(sim, "time_entries")
        mirror = local_rows(db, "time_entries")
        assert {i: mirror.get(i) for i in live} == live

        stats = by_name(
            await sync_account(client, db, resources=no_get, reconcile=True, clock=sim.now)
        )
        assert stats["time_entries"].deleted == 2
        assert local_rows(db, "time_entries") == live_rows(sim, "time_entries")


async def test_cursor_lists_are_not_walked_again_when_records_come_and_go(
    tmp_path: Path,
) -> None:
    """A cursor resumes after the last id served: changes beneath it skip nothing."""
    db = tmp_path / "mirror.db"
    async with (
        HarvestSimulator(
            seed=5, scale=SimulatorScale(time_entries=ENTRIES), rate_limit=(100, 0.2)
        ) as sim,
        sim.client() as client,
    ):
        totals: list[int | None] = []
        async for page in client.time_entries.list().pages():
            totals.append(page.total_entries)
        assert len(totals) == 3

        def first_page(record: RequestRecord) -> bool:
            return record.path == "/v2/time_entries" and "cursor=" not in record.query

        deleted = delete_on(sim, page_one_ids(sim, 1), first_page)
        stats = by_name(await sync_account(client, db, resources=TIME_ENTRIES, clock=sim.now))
        assert len(deleted) == 1
        assert stats["time_entries"].pages == 3
        assert checkpoint(db, "time_entries") is not None
        live = live_rows(sim, "time_entries")
        mirror = local_rows(db, "time_entries")
        assert {i: mirror.get(i) for i in live} == live


@pytest.mark.parametrize("checkpointed", [False, True])
async def test_a_cursor_harvest_refuses_falls_back_to_the_checkpoint(
    tmp_path: Path, checkpointed: bool
) -> None:
    """An interrupted walk's next page that Harvest no longer accepts (a 4xx): the list
    is walked again from the resource's checkpoint (from the start without one)."""
    db = tmp_path / "mirror.db"
    async with (
        HarvestSimulator(
            seed=5, scale=SimulatorScale(time_entries=ENTRIES), rate_limit=(100, 0.2)
        ) as sim,
        sim.client() as client,
    ):
        await sync_account(client, db, resources=TIME_ENTRIES, clock=sim.now)
        con = sqlite3.connect(db)
        with con:
            if not checkpointed:
                con.execute("DELETE FROM sync_state")
            con.execute(
                "INSERT INTO sync_resume (account_id, resource, url, since, total) "
                "VALUES (?, 'time_entries', ?, NULL, NULL)",
                (client.account_id, f"{sim.base_url.rstrip('/')}/time_entries?cursor=expired"),
            )
        con.close()
        sim.requests.clear()
        sim.advance(60)
        stats = by_name(await sync_account(client, db, resources=TIME_ENTRIES, clock=sim.now))
        refused = [r for r in sim.requests if "cursor=expired" in r.query]
        assert [r.status for r in refused] == [422]
        assert stats["time_entries"].mode == ("incremental" if checkpointed else "full")
        walks = [r for r in sim.requests if r.path == "/v2/time_entries" and r.status == 200]
        assert all(("updated_since" in r.query) == checkpointed for r in walks)
        assert local_rows(db, "time_entries") == live_rows(sim, "time_entries")
        # The refused page is forgotten: the next run does not ask for it again.
        sim.requests.clear()
        await sync_account(client, db, resources=TIME_ENTRIES, clock=sim.now)
        assert not [r for r in sim.requests if "cursor=expired" in r.query]
