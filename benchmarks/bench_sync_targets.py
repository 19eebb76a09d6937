"""Full sync of the time entries into each target (SQLite, PostgreSQL, DuckDB) at the
scaled rate limit, with ``per_page=2000``, against a stream-only walk of the same list.

Prints, per target: requests/s over the limit for the whole run, the client's CPU
seconds per written row, and the wall time against the stream-only run (the sync must
not be what bounds the run). PostgreSQL runs on loopback from Debian's package (see
tests/postgres_server.py), skipped when absent.

Usage: python benchmarks/bench_sync_targets.py [ENTRIES]   (default 200,000)
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from _common import SCALED_LATENCY, SCALED_LIMIT, USER_AGENT  # noqa: E402
from _simproc import SimProcess  # noqa: E402

PER_PAGE = 2000


def _spec() -> Any:
    from harvest_async.sync import RESOURCES, ResourceSpec

    (entries,) = [s for s in RESOURCES if s.name == "time_entries"]

    def list_all(client: Any, since: Any) -> Any:
        if since is None:
            return client.time_entries.list(per_page=PER_PAGE)
        return client.time_entries.list(per_page=PER_PAGE, updated_since=since)

    return ResourceSpec("time_entries", list_all, get_one=entries.get_one)


def _client(sim: SimProcess) -> Any:
    from harvest_async import HarvestClient, TokenBucket

    return HarvestClient(
        access_token=sim.access_token,
        account_id=sim.account_id,
        base_url=sim.base_url,
        rate_limiter=TokenBucket(*SCALED_LIMIT),
        user_agent=USER_AGENT,
    )


async def _sync(sim: SimProcess, db: str) -> dict[str, float]:
    from harvest_async.sync import sync_account

    async with _client(sim) as client:
        cpu, wall = time.process_time(), time.perf_counter()
        stats = await sync_account(client, db, resources=[_spec()], company=False)
        return {
            "wall": time.perf_counter() - wall,
            "cpu": time.process_time() - cpu,
            "rows": float(stats[0].rows_written),
        }


async def _stream(sim: SimProcess) -> dict[str, float]:
    async with _client(sim) as client:
        cpu, wall = time.process_time(), time.perf_counter()
        rows = 0
        async for _ in _spec().list_all(client, None):
            rows += 1
        return {
            "wall": time.perf_counter() - wall,
            "cpu": time.process_time() - cpu,
            "rows": float(rows),
        }


def main(entries: int) -> None:
    config = {
        "seed": 0,
        "time_entries": entries,
        "rate_limit": list(SCALED_LIMIT),
        "latency": list(SCALED_LATENCY),
        "max_log": 1_000_000,
    }
    limit = SCALED_LIMIT[0] / SCALED_LIMIT[1]
    with tempfile.TemporaryDirectory() as tmp, SimProcess(config) as sim:
        targets: list[tuple[str, Any]] = [
            ("stream only", None),
            ("SQLite", str(Path(tmp) / "m.db")),
            ("DuckDB", f"duckdb:///{Path(tmp) / 'm.duckdb'}"),
        ]
        server = None
        try:
            from tests.postgres_server import PostgresServer, find_pg_bin

            if find_pg_bin() is not None:
                server = PostgresServer().start()
                targets.append(("PostgreSQL", server.url))
        except ImportError:
            pass
        try:
            print("target\trequests/s / limit\tCPU µs per row\twall s\trows")
            for name, db in targets:
                sim.reset()
                out = asyncio.run(_stream(sim) if db is None else _sync(sim, db))
                requests = sim.stats()["requests"]
                print(
                    f"{name}\t{requests / out['wall'] / limit:.3f}\t"
                    f"{out['cpu'] / max(out['rows'], 1) * 1e6:.1f}\t{out['wall']:.1f}\t"
                    f"{int(out['rows']):,}"
                )
        finally:
            if server is not None:
                server.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200_000)
