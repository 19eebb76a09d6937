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

Usage: python benchmarks/bench_sync_big.py [ENTRIES]   (default 1,000,000)
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

from _common import USER_AGENT  # noqa: E402
from _simproc import SimProcess  # noqa: E402

PER_PAGE = 2000
DELETES = 10
FAST_LIMIT = (100_000, 1.0)


def _status() -> dict[str, int]:
    out: dict[str, int] = {}
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, value = line.split(":", 1)
                out[key] = int(value.split()[0])  # kB
    return out


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return True


def _spec() -> Any:
    from harvest_async.sync import RESOURCES, ResourceSpec

    (entries,) = [s for s in RESOURCES if s.name == "time_entries"]

    def list_all(client: Any, since: Any) -> Any:
        if since is None:
            return client.time_entries.list(per_page=PER_PAGE)
        return client.time_entries.list(per_page=PER_PAGE, updated_since=since)

    return ResourceSpec("time_entries", list_all, get_one=entries.get_one)


def _client(info: dict[str, Any]) -> Any:
    from harvest_async import HarvestClient, TokenBucket

    return HarvestClient(
        access_token=info["access_token"],
        account_id=info["account_id"],
        base_url=info["base_url"],
        rate_limiter=TokenBucket(*FAST_LIMIT),
        user_agent=USER_AGENT,
    )


async def _sync_child(info: dict[str, Any], db: str, reconcile: bool) -> dict[str, Any]:
    from harvest_async.sync import sync_account

    async with _client(info) as client:
        reset = _reset_peak()
        before = _status()
        baseline = before["VmRSS"] if reset else before["VmHWM"]
        start, cpu = time.perf_counter(), time.process_time()
        stats = await sync_account(
            client, db, resources=[_spec()], company=False, reconcile=reconcile
        )
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        after = _status()
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


def main(entries: int) -> None:
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
        print(
            f"full sync: {full['rows_written']:,} rows in {full['seconds']:.1f} s, "
            f"{full_requests} requests, client CPU {full['cpu'] / full['rows_written'] * 1e6:.1f}"
            f" µs per row, peak RSS growth {full['growth_mb']:.1f} MB"
            f" (peak mark reset: {full['peak_reset']})"
        )
        month, ids = asyncio.run(_delete_in_one_month(info, db))
        sim.reset()
        rec = _run_child(info, db, reconcile=True)
        stats = sim.stats()
        reconcile_requests = stats["requests"]
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
        print(
            f"reconcile after {len(ids)} deletes in {month}: {rec['deleted']} deleted, "
            f"{left} of them left, {stored:,} rows stored vs {walked:,} in Harvest; "
            f"{reconcile_requests} requests (incremental walk included) vs "
            f"{walk_requests} for a full id walk: {walk_requests / reconcile_requests:.1f}x "
            f"fewer; {rec['seconds']:.1f} s"
        )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        result = asyncio.run(_sync_child(json.loads(sys.argv[2]), sys.argv[3], sys.argv[4] == "1"))
        print(json.dumps(result))
    else:
        main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
