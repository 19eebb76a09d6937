"""Throughput of a full sync at the rate limit, against one request at a time.

Harvest allows 100 requests per rolling 15 s; a request takes a few hundred ms. Both are
scaled 10x down so the run is short: the simulator enforces 100 requests per rolling
1.5 s (66.7 req/s) and delays every answer by 25 ms ± 5 ms; the client's limiter is
``TokenBucket(100, 1.5)``. The account has ``N`` time entries (plus the default
simulator account: 10 users, 8 clients, 20 projects, 200 expenses, 30 invoices, ...),
and time entries are listed with ``per_page=100`` so the job takes ~N/100 requests —
enough for the rate limit, not the latency, to be what bounds it.

The simulator runs in its own process (as Harvest would be another machine), so its
CPU is not the client's. Four runs against it, each starting from empty rate windows:

- **sync, best**: ``harvest_async.sync.sync_account`` into a fresh SQLite file, every list
  of ``sync.RESOURCES`` plus the company, resources 4 at a time (its default), using
  the library's page fan-out / date shards when it offers them;
- **sync, sequential**: the same sync with one request in flight at any moment
  (resources one at a time, ``prefetch=0`` where that knob exists, and a limiter wrapper
  that admits a request only when the previous one has ended);
- **stream, best** / **stream, sequential**: the same lists walked with
  ``async for`` and counted, nothing stored (the client's own ceiling); best walks
  them through ``harvest_async.bulk.stream_lists`` (4 lists at once) where it exists.

Figures: requests the simulator answered, 429s it sent, wall time, requests/s ÷ 66.7
(whole run: the first 100 requests go out at once, as the rolling window allows),
and the sustained rate: requests arriving after the first 1.5 s ÷ the time from then to
the last arrival, ÷ 66.7, which discounts that opening burst; "max in 1.5 s" is the
most requests the simulator saw in any rolling window (never above 100 without a 429).
"""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import (
    SCALED_LATENCY,
    SCALED_LIMIT,
    USER_AGENT,
    OneAtATime,
    bench_main,
    describe_features,
    features,
    make_list,
    md_table,
    target,
)
from _simproc import SimProcess

NAME = "throughput"
TITLE = "1. Throughput: full sync at the rate limit"
TARGET_UTILIZATION = 0.97
TIME_ENTRIES_PER_PAGE = 100
SHARDS = 8
CONCURRENCY = 4


def _specs(feat: dict[str, Any], *, sequential: bool, span: tuple[str, str]) -> list[Any]:
    from harvest_async.sync import RESOURCES, ResourceSpec

    specs = []
    for spec in RESOURCES:
        extra: dict[str, Any] = {}
        if spec.name == "time_entries":
            extra = {"per_page": TIME_ENTRIES_PER_PAGE, "span": span}

        def list_all(
            client: Any, since: Any, _name: str = spec.name, _extra: dict[str, Any] = extra
        ) -> Any:
            return make_list(client, _name, feat, sequential=sequential, shards=SHARDS, **_extra)

        specs.append(ResourceSpec(spec.name, list_all, spec.incremental))
    return specs


def _client(sim: SimProcess, *, sequential: bool) -> Any:
    from harvest_async import HarvestClient, TokenBucket

    # reserve=0: nothing interactive shares this budget, so the sync (bulk work) may use
    # all of it; with the default reserve of 10 it would hold at most 90 of 100 slots.
    limiter: Any = TokenBucket(*SCALED_LIMIT, reserve=0)
    if sequential:
        limiter = OneAtATime(limiter)
    return HarvestClient(
        access_token=sim.access_token,
        account_id=sim.account_id,
        base_url=sim.base_url,
        rate_limiter=limiter,
        user_agent=USER_AGENT,
    )


async def _sync(sim: SimProcess, feat: dict[str, Any], sequential: bool) -> dict[str, Any]:
    from harvest_async.sync import sync_account

    span = tuple(sim.history)

    with tempfile.TemporaryDirectory() as tmp:
        db_path = Path(tmp) / "mirror.db"
        async with _client(sim, sequential=sequential) as client:
            start = time.perf_counter()
            stats = await sync_account(
                client,
                db_path,
                resources=_specs(feat, sequential=sequential, span=span),
                concurrency=1 if sequential else CONCURRENCY,
            )
            elapsed = time.perf_counter() - start
        db = sqlite3.connect(str(db_path))
        try:
            entries = db.execute("SELECT COUNT(*) FROM time_entries").fetchone()[0]
        finally:
            db.close()
    rows = sum(s.rows_written for s in stats)
    return {"elapsed": elapsed, "records": rows, "time_entries": entries}


async def _stream(sim: SimProcess, feat: dict[str, Any], sequential: bool) -> dict[str, Any]:
    specs = _specs(feat, sequential=sequential, span=tuple(sim.history))
    counts: dict[str, int] = {}
    async with _client(sim, sequential=sequential) as client:
        start = time.perf_counter()
        await client.company.get()
        if feat["bulk"] and not sequential:
            from harvest_async import bulk

            # The library's own way to walk many lists at once.
            merged = bulk.stream_lists(
                (spec.list_all(client, None) for spec in specs), concurrency=CONCURRENCY
            )
            n = 0
            async for _ in merged:
                n += 1
            counts["all lists (bulk.stream_lists)"] = n
        else:
            gate = asyncio.Semaphore(1 if sequential else CONCURRENCY)

            async def walk(spec: Any) -> None:
                async with gate:
                    n = 0
                    async for _ in spec.list_all(client, None):
                        n += 1
                    counts[spec.name] = n

            await asyncio.gather(*(walk(spec) for spec in specs))
        elapsed = time.perf_counter() - start
    return {
        "elapsed": elapsed,
        "records": sum(counts.values()) + 1,
        "time_entries": counts.get("time_entries"),
    }


def run(quick: bool) -> dict[str, Any]:
    n_entries = 20_000 if quick else 100_000
    feat = features()
    limit = SCALED_LIMIT[0] / SCALED_LIMIT[1]
    config = {
        "seed": 0,
        "time_entries": n_entries,
        "rate_limit": list(SCALED_LIMIT),
        "latency": list(SCALED_LATENCY),
        "max_log": 1_000_000,
    }
    results = []
    with SimProcess(config) as sim:
        for label, func, sequential in (
            ("sync (SQLite), best", _sync, False),
            ("sync (SQLite), sequential", _sync, True),
            ("stream, best", _stream, False),
            ("stream, sequential", _stream, True),
        ):
            sim.reset()
            out = asyncio.run(func(sim, feat, sequential))
            stats = sim.stats()
            if stats["errors"]:
                raise RuntimeError(f"simulator errors: {stats['errors']}")
            if out["time_entries"] not in (None, n_entries):
                raise RuntimeError(f"{label}: got {out['time_entries']} of {n_entries} entries")
            span = stats["after_first_window_span"]
            rate = stats["requests"] / out["elapsed"]
            sustained = stats["after_first_window"] / span if span > 0 else float("nan")
            results.append(
                {
                    "label": label,
                    "sequential": sequential,
                    **out,
                    **stats,
                    "rate": rate,
                    "sustained": sustained,
                }
            )
    rows = [
        [
            r["label"],
            f"{r['requests']:,}",
            r["throttled"],
            f"{r['elapsed']:.1f}",
            f"{r['records']:,}",
            f"{r['rate']:.1f}",
            f"{r['rate'] / limit:.3f}",
            f"{r['sustained']:.1f}",
            f"{r['sustained'] / limit:.3f}",
            r["max_in_window"],
        ]
        for r in results
    ]
    best_sync = results[0]
    seq_sync = results[1]
    best_stream = results[2]
    if best_stream["records"] != results[3]["records"]:
        raise RuntimeError(
            f"stream, best: {best_stream['records']} records, sequential: {results[3]['records']}"
        )
    targets = []
    for r in (best_sync, best_stream):
        u_all = r["rate"] / limit
        u_sus = r["sustained"] / limit
        targets.append(
            target(
                f"{r['label']}: requests/s ÷ limit, whole run",
                f"{u_all:.3f}",
                f">= {TARGET_UTILIZATION}",
                u_all >= TARGET_UTILIZATION,
            )
        )
        targets.append(
            target(
                f"{r['label']}: sustained requests/s ÷ limit",
                f"{u_sus:.3f}",
                f">= {TARGET_UTILIZATION}",
                u_sus >= TARGET_UTILIZATION,
            )
        )
        targets.append(
            target(f"{r['label']}: 429s received", str(r["throttled"]), "0", r["throttled"] == 0)
        )
    targets.append(
        target(
            "sync speed-up, best over sequential (wall time)",
            f"{seq_sync['elapsed'] / best_sync['elapsed']:.2f}x",
            "(report)",
            None,
        )
    )
    notes = [
        f"Library features found and used: {describe_features(feat)}"
        + (
            f" (time entries listed with `shards={SHARDS}`, `from_`/`to` = the account's "
            "spent-date history)."
            if feat["shards"]
            else "."
        ),
        f"{n_entries:,} time entries at `per_page={TIME_ENTRIES_PER_PAGE}`; the other lists "
        "at Harvest's default page size (2000).",
        "`TokenBucket` holds a slot from the moment a request is sent until 1.5 s after "
        "its answer, so a client using it can sustain at most 100 ÷ (1.5 s + round trip) "
        "requests/s: about 1.5 ÷ (1.5 + 0.025) ≈ 0.98 of the limit at a 25 ms round trip "
        "(the simulator's latency is drawn per request, 20 to 30 ms). The 0.97 target "
        "sits within about 0.015 of that ceiling, so run-to-run noise of ±0.01 matters.",
        "The limiter is `TokenBucket(100, 1.5, reserve=0)`: a sync is bulk work, and with "
        "nothing interactive sharing the budget no slot is kept back (the default "
        "`reserve=10` would cap it at 0.9 of the limit; see benchmark 7).",
        "A one-request-at-a-time client cannot exceed 1 ÷ (latency + client time per "
        "page) ≈ 40 req/s at 25 ms, whatever the limit.",
    ]
    if not feat["shards"] and not feat["prefetch_paginator"] and not feat["prefetch_list"]:
        notes.append(
            "Without page fan-out, one list is one chain of `links.next` requests: the time "
            "entries walk (nearly all the requests) is latency-bound in every mode, and the "
            "best modes only overlap the small lists with it."
        )
    return {
        "name": NAME,
        "title": TITLE,
        "setup": (__doc__ or "").split("\n\n", 1)[1].strip().replace("``", "`"),
        "table": md_table(
            [
                "run",
                "requests",
                "429s",
                "seconds",
                "records",
                "req/s",
                "÷ limit",
                "sustained req/s",
                "sustained ÷ limit",
                "max in 1.5 s",
            ],
            rows,
        ),
        "targets": targets,
        "notes": notes,
    }


if __name__ == "__main__":
    bench_main(run)
