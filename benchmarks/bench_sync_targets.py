"""Full sync of the time entries into each target (SQLite, PostgreSQL, DuckDB) at the
scaled rate limit, with ``per_page=2000``, against a stream-only walk of the same list.

The limit is Harvest's rate, 100 requests per 15 s, scaled 10x down in time: 10 requests
per 1.5 s, on the simulator and in the client (``TokenBucket(10, 1.5, reserve=0)``: the
sync is bulk work and nothing interactive shares the budget). At ``per_page=2000`` the
200,000 entries are 100 requests, ten windows' worth, so a client that keeps up spends
most of the run waiting for the limit. The 10x scaled limit of the other benchmarks
(100 per 1.5 s) would hold the whole list in one window: no client here can fetch 2,000-
entry pages that fast (the simulator renders each in tens of milliseconds), so the run
would measure the simulator, not whether the sync keeps up with Harvest's rate.

Per target: rows, requests, the ratio to the limit, the client's CPU per written row,
and the wall time against the stream-only walk (the sync must not be what bounds the
run). The ratio is requests ÷ wall seconds ÷ (10 ÷ 1.5), over the whole run: from the
sync's call to its return (the last page's answer and write included), the first
window's 10 requests counted as requests of the run, as Harvest counts them. The
"after the first 10" ratio leaves that burst out: the requests the simulator received
after the first 10, over the time from the first arrival to the last (a client sending
exactly at the limit scores 1.0 on it as well; `TokenBucket` frees a slot 1.5 s after
the answer, not after the send, so a walk of one request at a time can reach only about
1.5 ÷ (1.5 + round trip) of it). PostgreSQL runs on loopback from
Debian's package (see tests/postgres_server.py), skipped when absent.

Usage: python benchmarks/bench_sync_targets.py [--quick] [--json PATH]   (--quick: 40,000)
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

from _common import (  # noqa: E402
    SCALED_LATENCY,
    SCALED_RATE_LIMIT,
    bench_client,
    bench_main,
    entries_spec,
    md_table,
    setup_text,
    target,
)
from _simproc import SimProcess  # noqa: E402

NAME = "sync_targets"
TITLE = "8. Sync targets: full sync of 200,000 time entries"
PER_PAGE = 2000
TARGET_RATIO = 0.97
CAPACITY, PERIOD = SCALED_RATE_LIMIT


def _client(sim: SimProcess) -> Any:
    from harvest_async import TokenBucket

    return bench_client(sim, TokenBucket(CAPACITY, PERIOD, reserve=0))


async def _sync(sim: SimProcess, db: str) -> dict[str, float]:
    from harvest_async.sync import sync_account

    async with _client(sim) as client:
        cpu, wall = time.process_time(), time.perf_counter()
        stats = await sync_account(client, db, resources=[entries_spec(PER_PAGE)], company=False)
        return {
            "wall": time.perf_counter() - wall,
            "cpu": time.process_time() - cpu,
            "rows": float(stats[0].rows_written),
        }


async def _stream(sim: SimProcess) -> dict[str, float]:
    async with _client(sim) as client:
        cpu, wall = time.process_time(), time.perf_counter()
        rows = 0
        async for _ in entries_spec(PER_PAGE).list_all(client, None):
            rows += 1
        return {
            "wall": time.perf_counter() - wall,
            "cpu": time.process_time() - cpu,
            "rows": float(rows),
        }


def ratio(requests: float, wall: float) -> float:
    """Requests/s over the whole run ÷ the limit's rate."""
    return requests / wall / (CAPACITY / PERIOD)


def run(quick: bool) -> dict[str, Any]:
    entries = 40_000 if quick else 200_000
    config = {
        "seed": 0,
        "time_entries": entries,
        "rate_limit": [CAPACITY, PERIOD],
        "latency": list(SCALED_LATENCY),
        "max_log": 1_000_000,
    }
    measured: dict[str, dict[str, Any]] = {}
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
            for name, db in targets:
                sim.reset()
                out: dict[str, Any] = asyncio.run(_stream(sim) if db is None else _sync(sim, db))
                stats = sim.stats()
                if stats["errors"]:
                    raise RuntimeError(f"{name}: simulator errors: {stats['errors']}")
                if int(out["rows"]) != entries:
                    raise RuntimeError(f"{name}: {int(out['rows'])} of {entries} rows")
                out.update(
                    requests=float(stats["requests"]),
                    throttled=stats["throttled"],
                    max_in_window=stats["max_in_window"],
                    sustained=(stats["requests"] - CAPACITY)
                    / max(stats["last"] - stats["first"], 1e-9)
                    / (CAPACITY / PERIOD),
                )
                measured[name] = out
        finally:
            if server is not None:
                server.stop()
    stream = measured["stream only"]
    rows = [
        [
            name,
            f"{int(out['rows']):,}",
            int(out["requests"]),
            out["throttled"],
            out["max_in_window"],
            f"{ratio(out['requests'], out['wall']):.3f}",
            f"{out['sustained']:.3f}",
            f"{out['cpu'] / max(out['rows'], 1) * 1e6:.1f}",
            f"{out['wall']:.2f}",
            f"{out['wall'] / stream['wall']:.3f}x",
        ]
        for name, out in measured.items()
    ]
    checks = [
        target(
            "stream only: requests/s ÷ limit, whole run (is the walk limit-bound?)",
            f"{ratio(stream['requests'], stream['wall']):.3f}",
            "(report)",
            None,
        )
    ]
    for name in ("SQLite", "PostgreSQL"):
        if name not in measured:
            continue
        out = measured[name]
        value = ratio(out["requests"], out["wall"])
        checks += [
            target(
                f"{name}: requests/s ÷ limit, whole run",
                f"{value:.3f}",
                f">= {TARGET_RATIO:g}",
                value >= TARGET_RATIO,
            ),
            target(
                f"{name}: wall time ÷ stream only",
                f"{out['wall'] / stream['wall']:.3f}x",
                "(report)",
                None,
            ),
            target(
                f"{name}: client CPU µs per written row",
                f"{out['cpu'] / out['rows'] * 1e6:.1f}",
                "(report)",
                None,
            ),
        ]
    return {
        "name": NAME,
        "title": TITLE if not quick else TITLE.replace("200,000", f"{entries:,}"),
        "setup": setup_text(__doc__),
        "table": md_table(
            [
                "target",
                "rows",
                "requests",
                "429s",
                f"max in {PERIOD:g} s",
                "requests/s ÷ limit",
                "after the first 10 ÷ limit",
                "client CPU µs per row",
                "wall s",
                "wall ÷ stream only",
            ],
            rows,
        ),
        "targets": checks,
        "notes": [
            f"limit: {CAPACITY} requests per {PERIOD:g} s on the simulator and in the client; "
            f"per_page={PER_PAGE}: {entries // PER_PAGE} requests, "
            f"{entries // PER_PAGE // CAPACITY} windows",
            "the whole-run ratio of a walk bound by the limit is about 1.0: its first 10 "
            "requests need not wait (over 1.0 when they take less than a window), the 90 "
            "after them wait for slots, each freed 1.5 s after an answer",
            "client CPU: `time.process_time()` of the client process (decoding, row building, "
            "the database driver; the simulator runs in its own process, and PostgreSQL's "
            "server too)",
            "PostgreSQL: a loopback server from Debian's package (skipped when absent)",
        ],
    }


if __name__ == "__main__":
    bench_main(run)
