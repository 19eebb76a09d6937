"""Limiter overhead: microseconds per uncontended ``acquire()`` + ``release()``.

``TokenBucket(100, 15)`` holds each slot for 15 s after its release, so an uncontended
loop over it admits only 100 requests. Two ways around that, both measured:

- a fresh ``TokenBucket(100, 15)`` per batch of 100 acquire+release pairs (its
  construction timed outside the loop): exactly Harvest's bucket, always under its limit;
- one ``TokenBucket(10**7, 15)``: the same code path, a bucket too big to fill.

Each pair is ``await bucket.acquire()`` then ``await bucket.release(handle)`` in one
coroutine on a running event loop (no other tasks), which is what the client does per
request. Best of several repeats (5; 3 with ``--quick``).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from _common import bench_main, md_table, target

NAME = "limiter"
TITLE = "4. Limiter overhead: uncontended TokenBucket acquire + release"
TARGET_US = 20.0


async def _fresh_batches(batches: int) -> float:
    from harvest_async import TokenBucket

    buckets = [TokenBucket(100, 15) for _ in range(batches)]
    clock = time.perf_counter
    total = 0.0
    for bucket in buckets:
        start = clock()
        for _ in range(100):
            handle = await bucket.acquire()
            await bucket.release(handle)
        total += clock() - start
    return total / (batches * 100)


async def _big_bucket(n: int) -> float:
    from harvest_async import TokenBucket

    bucket = TokenBucket(10**7, 15)
    start = time.perf_counter()
    for _ in range(n):
        handle = await bucket.acquire()
        await bucket.release(handle)
    return (time.perf_counter() - start) / n


async def _baseline(n: int) -> float:
    """The same loop around two no-op coroutines: the await overhead alone."""

    async def nothing(_: Any = None) -> None:
        return None

    start = time.perf_counter()
    for _ in range(n):
        handle = await nothing()
        await nothing(handle)
    return (time.perf_counter() - start) / n


def run(quick: bool) -> dict[str, Any]:
    repeats = 3 if quick else 5
    batches = 200 if quick else 1000
    n = 20_000 if quick else 100_000
    fresh = min(asyncio.run(_fresh_batches(batches)) for _ in range(repeats)) * 1e6
    big = min(asyncio.run(_big_bucket(n)) for _ in range(repeats)) * 1e6
    base = min(asyncio.run(_baseline(n)) for _ in range(repeats)) * 1e6
    rows = [
        [
            f"fresh `TokenBucket(100, 15)` per 100 pairs ({batches * 100:,} pairs)",
            f"{fresh:.2f}",
            f"{1e6 / fresh:,.0f}",
        ],
        [f"one `TokenBucket(10**7, 15)` ({n:,} pairs)", f"{big:.2f}", f"{1e6 / big:,.0f}"],
        ["baseline: two no-op coroutine awaits", f"{base:.2f}", f"{1e6 / base:,.0f}"],
    ]
    worst = max(fresh, big)
    return {
        "name": NAME,
        "title": TITLE,
        "setup": (__doc__ or "").split("\n\n", 1)[1].strip().replace("``", "`"),
        "table": md_table(["loop", "µs per acquire+release", "pairs/s"], rows),
        "targets": [
            target(
                "µs per uncontended acquire+release (worse of the two)",
                f"{worst:.2f} µs",
                f"< {TARGET_US:g} µs",
                worst < TARGET_US,
            )
        ],
        "notes": [],
    }


if __name__ == "__main__":
    bench_main(run)
