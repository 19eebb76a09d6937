"""A million time entries: peak RSS growth of a full sync, and ``reconcile`` by counts.

The simulator (1,000,000 lazily generated time entries, rate limit scaled so it never
throttles) runs in its own process. Then:

1. **Memory**: a fresh client process syncs every time entry into a new SQLite file
   (``sync_account``, ``per_page=2000``) and reports ``VmHWM`` (the kernel's peak RSS)
   minus ``VmRSS`` just before the sync (the peak mark reset there, see bench_memory.py).
2. **Reconcile**: 10 time entries of one month are deleted through the API, then the
   same mirror is synced with ``reconcile=True``; the simulator's request count for that
   run is compared with a full walk of the ids (every page of the list, ``per_page=2000``,
   what a reconcile without counts costs), and the mirror is checked against Harvest.

Usage: python benchmarks/bench_sync_big.py [--quick] [--json PATH]   (--quick: 100,000)
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from _common import (  # noqa: E402
    bench_client,
    bench_main,
    entries_spec,
    md_table,
    proc_status,
    reset_peak,
    setup_text,
    target,
)
from _simproc import SimProcess  # noqa: E402

NAME = "sync_big"
TITLE = "9. A million time entries: sync memory, reconcile by counts"
PER_PAGE = 2000
DELETES = 10
TARGET_MB = 64.0
TARGET_FEWER = 10.0
FAST_LIMIT = (100_000, 1.0)


def _client(info: dict[str, Any]) -> Any:
    from harvest_async import TokenBucket

    return bench_client(info, TokenBucket(*FAST_LIMIT))


async def _sync_child(info: dict[str, Any], db: str, reconcile: bool) -> dict[str, Any]:
    from harvest_async.sync import sync_account

    async with _client(info) as client:
        reset = reset_peak()
        before = proc_status()
        baseline = before["VmRSS"] if reset else before["VmHWM"]
        start, cpu = time.perf_counter(), time.process_time()
        stats = await sync_account(
            client, db, resources=[entries_spec(PER_PAGE)], company=False, reconcile=reconcile
        )
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        after = proc_status()
    (s,) = stats
    return {
        "rows_written": s.rows_written,
        "total_rows": s.total_rows,
        "deleted": s.deleted,
        "mode": s.mode,
        "seconds": seconds,
        "cpu": cpu,
        "growth_mb": (after["VmHWM"] - baseline) / 1024,
        "peak_reset": reset,
    }


def _run_child(info: dict[str, Any], db: str, reconcile: bool) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", json.dumps(info), db, str(int(reconcile))],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


async def _delete_in_one_month(info: dict[str, Any], db: str) -> tuple[str, list[int]]:
    """Delete ``DELETES`` entries of the busiest stored month through the API."""
    con = sqlite3.connect(db)
    try:
        month, _ = con.execute(
            "SELECT substr(spent_date, 1, 7), count(*) FROM time_entries "
            "GROUP BY 1 ORDER BY 2 DESC LIMIT 1"
        ).fetchone()
        ids = [
            row[0]
            for row in con.execute(
                "SELECT id FROM time_entries WHERE substr(spent_date, 1, 7) = ? "
                "ORDER BY id LIMIT ?",
                (month, DELETES),
            )
        ]
    finally:
        con.close()
    async with _client(info) as client:
        for entry_id in ids:
            await client.time_entries.delete(entry_id)
    return str(month), ids


async def _id_walk(info: dict[str, Any]) -> int:
    async with _client(info) as client:
        count = 0
        async for _ in client.time_entries.list(per_page=PER_PAGE):
            count += 1
        return count


def run(quick: bool) -> dict[str, Any]:
    entries = 100_000 if quick else 1_000_000
    config = {
        "seed": 0,
        "time_entries": entries,
        "rate_limit": list(FAST_LIMIT),
        "max_log": 1_000_000,
    }
    with tempfile.TemporaryDirectory() as tmp, SimProcess(config) as sim:
        info = {k: sim.info[k] for k in ("access_token", "account_id", "base_url")}
        db = str(Path(tmp) / "mirror.db")
        sim.reset()
        full = _run_child(info, db, reconcile=False)
        full_requests = sim.stats()["requests"]
        month, ids = asyncio.run(_delete_in_one_month(info, db))
        sim.reset()
        rec = _run_child(info, db, reconcile=True)
        reconcile_requests = sim.stats()["requests"]
        sim.reset()
        walked = asyncio.run(_id_walk(info))
        walk_requests = sim.stats()["requests"]
        con = sqlite3.connect(db)
        try:
            left = con.execute(
                f"SELECT count(*) FROM time_entries WHERE id IN ({','.join('?' * len(ids))})",
                ids,
            ).fetchone()[0]
            stored = con.execute("SELECT count(*) FROM time_entries").fetchone()[0]
        finally:
            con.close()
    fewer = walk_requests / reconcile_requests
    exact = rec["deleted"] == len(ids) and left == 0 and stored == walked
    rows = [
        [
            "full sync into SQLite",
            f"{full['rows_written']:,}",
            full_requests,
            f"{full['seconds']:.1f}",
            f"{full['cpu'] / full['rows_written'] * 1e6:.1f}",
            f"{full['growth_mb']:.1f}",
        ],
        [
            f"reconcile after {len(ids)} deletes in {month}",
            f"{rec['deleted']} deleted",
            reconcile_requests,
            f"{rec['seconds']:.1f}",
            "",
            f"{rec['growth_mb']:.1f}",
        ],
        [
            "full id walk (what a reconcile without counts lists)",
            f"{walked:,}",
            walk_requests,
            "",
            "",
            "",
        ],
    ]
    return {
        "name": NAME,
        "title": TITLE if not quick else TITLE.replace("A million", f"{entries:,}"),
        "setup": setup_text(__doc__),
        "table": md_table(
            ["run", "rows", "requests", "seconds", "client CPU µs per row", "peak RSS growth MB"],
            rows,
            "lrrrrr",
        ),
        "targets": [
            target(
                f"peak RSS growth, full sync of {entries:,} entries",
                f"{full['growth_mb']:.1f} MB",
                f"< {TARGET_MB:g} MB",
                full["growth_mb"] < TARGET_MB,
            ),
            target(
                "reconcile requests: full id walk ÷ reconcile (its incremental walk included)",
                f"{fewer:.1f}x ({walk_requests} / {reconcile_requests})",
                f">= {TARGET_FEWER:g}x",
                fewer >= TARGET_FEWER,
            ),
            target(
                "mirror equals Harvest after the reconcile",
                "yes" if exact else "no",
                "yes",
                exact,
            ),
        ],
        "notes": [
            f"peak mark reset before the sync: {full['peak_reset']} (else the peak so far "
            "is the baseline)",
            "the 10 deleted entries are the lowest ids of the busiest stored month",
        ],
    }


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        result = asyncio.run(_sync_child(json.loads(sys.argv[2]), sys.argv[3], sys.argv[4] == "1"))
        print(json.dumps(result))
    else:
        bench_main(run)
