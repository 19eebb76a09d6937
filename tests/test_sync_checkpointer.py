"""WAL checkpoints of `sync_account` run in a helper thread, never on the event loop;
the writes run in the target's worker thread, never on the event loop either."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from harvest_async import ClientClosedError, sync
from harvest_async.testing import HarvestSimulator


def _checkpoint_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "harvest-async-checkpoint"]


async def test_checkpoints_run_off_the_loop_thread_and_leave_an_empty_wal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db_path = tmp_path / "mirror.db"
    loop_thread = threading.get_ident()
    seen: dict[str, object] = {}
    checkpoints: list[tuple[int, str]] = []
    opened = sync.open_db

    def open_db(path: str | Path) -> sqlite3.Connection:
        db = opened(path)
        db.set_trace_callback(lambda sql: checkpoints.append((threading.get_ident(), sql)))
        return db

    monkeypatch.setattr(sync, "open_db", open_db)
    real_run = sync._Checkpointer._run

    def run(self: sync._Checkpointer) -> None:
        seen["thread"] = threading.get_ident()
        real_run(self)

    monkeypatch.setattr(sync._Checkpointer, "_run", run)
    async with HarvestSimulator(seed=3, rate_limit=(100, 0.2)) as sim, sim.client() as client:
        stats = await sync.sync_account(client, db_path, clock=sim.now)
    assert sum(s.rows_written for s in stats) > 0
    assert seen["thread"] != loop_thread  # the checkpointer ran, in its own thread
    assert not _checkpoint_threads()  # and was stopped
    statements = [sql for ident, sql in checkpoints]
    # Every statement on the writing connection (its pragmas, the tables, each page's
    # transaction) runs in one worker thread, off the loop.
    writes = {ident for ident, _ in checkpoints}
    assert len(writes) == 1
    assert loop_thread not in writes
    assert seen["thread"] not in writes
    assert f"PRAGMA wal_autocheckpoint={sync.WAL_BACKSTOP_PAGES}" in statements
    assert not any("wal_checkpoint" in sql for sql in statements)
    _check_database(db_path, {st.name: st.rows_written for st in stats})


def _check_database(db_path: Path, written: dict[str, int]) -> None:
    # The last checkpoint emptied the WAL: every row is in the database file itself.
    wal = Path(f"{db_path}-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    db = sqlite3.connect(str(db_path))
    try:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        count = db.execute("SELECT COUNT(*) FROM time_entries").fetchone()[0]
        assert count == written["time_entries"] > 0
    finally:
        db.close()


async def test_checkpointer_is_stopped_when_the_sync_fails(tmp_path: Path) -> None:
    async with HarvestSimulator(seed=3, rate_limit=(100, 0.2)) as sim, sim.client() as client:
        await client.aclose()  # every request now fails: the sync raises
        with pytest.raises(ClientClosedError):
            await sync.sync_account(client, tmp_path / "mirror.db", clock=sim.now)
    assert not _checkpoint_threads()
