"""Memory: peak RSS growth while streaming a million time entries.

The simulator (1,000,000 lazily generated time entries; rate limit scaled to 100,000
per 1 s so it never throttles; no added latency) runs in its own process, so its memory
is not counted. A fresh client process imports ``harvest_async``, makes its
``HarvestClient`` (``TokenBucket(100000, 1.0)``), then resets its peak-RSS mark
(``echo 5 > /proc/self/clear_refs``; where that is refused, the peak so far is the
baseline) and reads ``VmRSS`` as the baseline. It then runs
``async for entry in client.time_entries.list(): count += 1`` to the end and reads
``VmHWM`` (the kernel's peak RSS). Growth = ``VmHWM`` minus baseline: everything the walk
needed at its worst moment — connection, response buffers, the decoded page(s) in flight
and the prefetched one, allocator high-water marks.

The walk uses the library's defaults (Harvest's ``per_page`` of 2000, the paginator's
default prefetch); where ``time_entries.list`` takes ``shards=``, a second walk with
``shards=8`` (``from_``/``to`` = the account's spent-date history) is measured too.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _common import (
    USER_AGENT,
    bench_main,
    describe_features,
    features,
    md_table,
    proc_status,
    reset_peak,
    setup_text,
    target,
)
from _simproc import SimProcess

NAME = "memory"
TITLE = "3. Memory: streaming 1,000,000 time entries"
TARGET_MB = 50.0
SHARDS = 8


async def _child(
    base_url: str, token: str, account_id: str, shards: int, span: tuple[str, str]
) -> dict[str, Any]:
    from harvest_async import HarvestClient, TokenBucket

    async with HarvestClient(
        access_token=token,
        account_id=account_id,
        base_url=base_url,
        rate_limiter=TokenBucket(100_000, 1.0),
        user_agent=USER_AGENT,
    ) as client:
        pager = (
            client.time_entries.list(shards=shards, from_=span[0], to=span[1])
            if shards > 1
            else client.time_entries.list()
        )
        reset = reset_peak()
        before = proc_status()
        baseline = before["VmRSS"] if reset else before["VmHWM"]
        count = 0
        max_rss = before["VmRSS"]
        start = time.perf_counter()
        async for page in pager.pages():
            count += len(page.items)
            max_rss = max(max_rss, proc_status()["VmRSS"])
        elapsed = time.perf_counter() - start
        after = proc_status()
    return {
        "count": count,
        "seconds": elapsed,
        "baseline_kb": baseline,
        "hwm_kb": after["VmHWM"],
        "max_sampled_rss_kb": max_rss,
        "end_rss_kb": after["VmRSS"],
        "hwm_reset": reset,
    }


def _run_child(sim: SimProcess, shards: int) -> dict[str, Any]:
    proc = subprocess.run(
        [
            sys.executable,
            str(Path(__file__).resolve()),
            "--child",
            sim.base_url,
            sim.access_token,
            str(sim.account_id),
            str(shards),
            *sim.history,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"client process failed: {proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def run(quick: bool) -> dict[str, Any]:
    n = 100_000 if quick else 1_000_000
    feat = features()
    config = {
        "seed": 0,
        "time_entries": n,
        "rate_limit": [100_000, 1.0],
        "latency": None,
        "max_log": 10_000,
    }
    walks = [("`client.time_entries.list()` (defaults)", 1)]
    if feat["shards"]:
        walks.append((f"`client.time_entries.list(shards={SHARDS})`", SHARDS))
    results = []
    with SimProcess(config) as sim:
        for label, shards in walks:
            sim.reset()
            out = _run_child(sim, shards)
            stats = sim.stats()
            if out["count"] != n:
                raise RuntimeError(f"{label}: streamed {out['count']} of {n} entries")
            results.append(
                {
                    "label": label,
                    **out,
                    "requests": stats["requests"],
                    "throttled": stats["throttled"],
                }
            )
    rows = []
    targets = []
    for r in results:
        growth = (r["hwm_kb"] - r["baseline_kb"]) / 1024
        rows.append(
            [
                r["label"],
                f"{r['count']:,}",
                r["requests"],
                f"{r['seconds']:.1f}",
                f"{r['count'] / r['seconds']:,.0f}",
                f"{r['baseline_kb'] / 1024:.1f}",
                f"{r['hwm_kb'] / 1024:.1f}",
                f"{growth:.1f}",
                f"{(r['end_rss_kb'] - r['baseline_kb']) / 1024:.1f}",
            ]
        )
        targets.append(
            target(
                f"peak RSS growth, {r['label']}",
                f"{growth:.1f} MB",
                f"< {TARGET_MB:g} MB",
                growth < TARGET_MB,
            )
        )
    notes = [f"Library features found: {describe_features(feat)}."]
    if not all(r["hwm_reset"] for r in results):
        notes.append(
            "`/proc/self/clear_refs` was refused: baseline is the peak RSS before "
            "the walk (imports included), so growth may be understated."
        )
    return {
        "name": NAME,
        "title": TITLE if not quick else TITLE.replace("1,000,000", f"{n:,}"),
        "setup": setup_text(__doc__).replace("a million", f"{n:,}").replace("1,000,000", f"{n:,}"),
        "table": md_table(
            [
                "walk",
                "entries",
                "requests",
                "seconds",
                "entries/s",
                "baseline RSS MB",
                "peak RSS MB",
                "peak growth MB",
                "RSS growth at end MB",
            ],
            rows,
        ),
        "targets": targets,
        "notes": notes,
    }


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        base, token, account, shards, first, last = sys.argv[2:8]
        result = asyncio.run(_child(base, token, account, int(shards), (first, last)))
        print(json.dumps(result), flush=True)
    else:
        bench_main(run)
