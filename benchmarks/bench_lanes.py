"""Interactive calls while a sharded stream saturates the window: FIFO vs priority lanes.

The simulator (its own process) enforces 100 requests per rolling 1.5 s: Harvest's
100 per 15 s scaled 10x down, with 30 ms (±10 ms) of latency per answer. A date-sharded
stream of every time entry (`time_entries.list(shards=8, per_page=100)`) keeps the
window saturated; after two windows of warm-up, 200 interactive `users.get(id)` calls
arrive at random (a Poisson process over the measured span). Each call's limiter wait
comes from the client's `on_request` hook (`RequestStats.limiter_wait`).

- **FIFO (before)**: one lane, no reserve (`TokenBucket(100, 1.5, reserve=0)`, the
  stream given `priority="interactive"`): every call queues behind the stream's
  waiters, as every limiter did before lanes.
- **lanes (after)**: `TokenBucket(100, 1.5)` (reserve 10); the sharded stream is bulk
  by default, the gets interactive.

Utilization is the simulator's sustained arrival rate (after its first window) ÷ the
limit; the stream's share is its own rate ÷ the slots bulk work may use
(`capacity - reserve`).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import random
import statistics
import time
from typing import Any

from _common import bench_main, md_table, target
from _simproc import SimProcess

import harvest_async as ha

NAME = "lanes"
TITLE = "7. Priority lanes: interactive calls during a saturating stream"
CAPACITY, PERIOD = 100, 1.5
GETS = 200
TARGET_P99 = 0.1
TARGET_UTILIZATION = 0.95


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


async def scenario(sim: SimProcess, *, lanes: bool, span: float, seed: int) -> dict[str, Any]:
    reserve = 10 if lanes else 0
    stats: list[ha.RequestStats] = []
    bucket = ha.TokenBucket(CAPACITY, PERIOD, reserve=reserve)
    first_day, last_day = (dt.date.fromisoformat(d) for d in sim.history)
    async with ha.HarvestClient(
        access_token=sim.access_token,
        account_id=sim.account_id,
        base_url=sim.base_url,
        user_agent="harvest_async benchmarks (dev@example.com)",
        rate_limiter=bucket,
        on_request=stats.append,
    ) as harvest:
        user_ids = [u.id for u in await harvest.users.list().collect()]
        streamer = harvest if lanes else harvest.with_options(priority="interactive")
        streamed = 0
        stop = asyncio.Event()

        async def stream() -> None:
            nonlocal streamed
            while not stop.is_set():
                pager = streamer.time_entries.list(
                    from_=first_day, to=last_day, shards=8, per_page=100
                )
                async for page in pager.pages():
                    streamed += len(page.items)
                    if stop.is_set():
                        return

        async def one_get(at: float, user_id: int) -> None:
            await asyncio.sleep(at)
            await harvest.users.get(user_id)

        streaming = asyncio.create_task(stream())
        await asyncio.sleep(2 * PERIOD)  # the window fills up
        sim.reset()
        stats.clear()
        rng = random.Random(seed)
        arrivals, t = [], 0.0
        for _ in range(GETS):
            t += rng.expovariate(GETS / span)
            arrivals.append(t)
        started = time.perf_counter()
        await asyncio.gather(*(one_get(a, rng.choice(user_ids)) for a in arrivals))
        measured = time.perf_counter() - started
        server = sim.stats()
        stop.set()
        streaming.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await streaming
    gets = [s for s in stats if s.path.startswith("/v2/users/") and s.method == "GET"]
    pages = [s for s in stats if s.path == "/v2/time_entries"]
    waits = [s.limiter_wait for s in gets]
    sustained = server["after_first_window"] / max(server["after_first_window_span"], 1e-9)
    stream_rate = len(pages) / measured
    return {
        "mode": "lanes (after)" if lanes else "FIFO (before)",
        "gets": len(gets),
        "p50": statistics.median(waits),
        "p99": percentile(waits, 0.99),
        "max": max(waits),
        "utilization": sustained * PERIOD / CAPACITY,
        "stream_share": stream_rate * PERIOD / (CAPACITY - reserve),
        "stream_rate": stream_rate,
        "throttled": server["throttled"],
        "max_in_window": server["max_in_window"],
        "measured": measured,
    }


def run(quick: bool) -> dict[str, Any]:
    span = 20.0 if quick else 45.0
    config = {
        "seed": 7,
        "time_entries": 400_000,
        "rate_limit": [CAPACITY, PERIOD],
        "latency": [0.03, 0.01],
        "page_based": [],
    }
    with SimProcess(config) as sim:
        before = asyncio.run(scenario(sim, lanes=False, span=span, seed=1))
        sim.reset()
        time.sleep(PERIOD)
        after = asyncio.run(scenario(sim, lanes=True, span=span, seed=1))
    rows = [
        [
            r["mode"],
            r["gets"],
            f"{r['p50'] * 1000:.1f}",
            f"{r['p99'] * 1000:.1f}",
            f"{r['max'] * 1000:.1f}",
            f"{r['utilization']:.3f}",
            f"{r['stream_share']:.3f}",
            r["max_in_window"],
            r["throttled"],
        ]
        for r in (before, after)
    ]
    table = md_table(
        [
            "limiter",
            "gets",
            "wait p50 (ms)",
            "wait p99 (ms)",
            "wait max (ms)",
            "utilization",
            "stream ÷ its slots",
            "max in a window",
            "429s",
        ],
        rows,
    )
    return {
        "name": NAME,
        "title": TITLE,
        "setup": (__doc__ or "").split("\n\n", 1)[1].strip().replace("``", "`"),
        "table": table,
        "targets": [
            target(
                "lanes: interactive limiter wait p99 (scaled)",
                f"{after['p99'] * 1000:.1f} ms",
                f"< {TARGET_P99 * 1000:g} ms",
                after["p99"] < TARGET_P99,
            ),
            target(
                "FIFO: interactive limiter wait p99 (scaled)",
                f"{before['p99'] * 1000:.1f} ms",
                "(report)",
                None,
            ),
            target(
                "lanes: stream utilization (its requests ÷ the slots bulk may use)",
                f"{after['stream_share']:.3f}",
                f">= {TARGET_UTILIZATION}",
                after["stream_share"] >= TARGET_UTILIZATION,
            ),
            target(
                "lanes: whole budget used (all requests ÷ limit)",
                f"{after['utilization']:.3f}",
                "(report)",
                None,
            ),
            target(
                "lanes: 429s received",
                str(after["throttled"]),
                "0",
                after["throttled"] == 0,
            ),
        ],
        "notes": [
            f"measured span: {before['measured']:.1f} s (FIFO), {after['measured']:.1f} s "
            f"(lanes); {GETS} gets each",
            "with lanes, bulk work never holds more than 90 of the 100 slots of a window: "
            "the stream's rate is capped at 90 per window, the interactive calls use "
            "(part of) the other 10; what they leave unused is the price of finding room "
            "at once, so the whole budget is used a little less than with FIFO",
        ],
    }


if __name__ == "__main__":
    bench_main(run)
