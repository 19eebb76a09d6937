"""Several worker processes, one Harvest budget: shared RedisRateLimiter vs a TokenBucket each.

Starts a throwaway redis-server and a loopback HTTP server that enforces Harvest's rule
scaled down (``--capacity`` requests per rolling ``--period`` seconds, else 429 with
``Retry-After``), then runs ``--workers`` OS processes that each send ``--requests``
``GET /users/me`` through ``harvest_async.HarvestClient``:

- ``RedisRateLimiter``: one budget shared through Redis;
- ``TokenBucket`` per process: each process believes it has the whole budget.

Prints a markdown table: accepted requests per second against the limit, 429s, and the
most requests the server saw in one window.

Run: ``python benchmarks/bench_redis_limiter.py`` (needs ``redis-server`` on PATH or
``$REDIS_SERVER``, and ``pip install 'harvest_async[redis]'``).
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import math
import subprocess
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path

from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent


class Harvestish:
    """The loopback server: counts arrivals, answers 429 over the rolling limit."""

    def __init__(self, capacity: int, period: float) -> None:
        self.capacity = capacity
        self.period = period
        self.accepted: list[float] = []
        self.arrivals: list[float] = []
        self.throttled = 0

    async def handle(self, request: web.Request) -> web.Response:
        now = asyncio.get_running_loop().time()
        self.arrivals.append(now)
        recent = [t for t in self.accepted[-self.capacity :] if t > now - self.period]
        if len(recent) >= self.capacity:
            self.throttled += 1
            wait = max(1, math.ceil(recent[0] + self.period - now))
            return web.json_response(
                {"message": "This request has been throttled."},
                status=429,
                headers={"Retry-After": str(wait)},
            )
        self.accepted.append(now)
        await asyncio.sleep(0.002)
        return web.json_response({"id": 1, "first_name": "Ada"})

    def reset(self) -> None:
        self.accepted.clear()
        self.arrivals.clear()
        self.throttled = 0


def max_in_window(times: Sequence[float], period: float) -> int:
    ordered = sorted(times)
    return max(
        (bisect.bisect_left(ordered, t + period) - i for i, t in enumerate(ordered)), default=0
    )


async def run_mode(
    mode: str, server: Harvestish, base: str, redis_url: str, args: argparse.Namespace
) -> dict[str, float | int | str]:
    server.reset()
    key = f"bench:{uuid.uuid4().hex}"
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--worker",
            mode,
            redis_url,
            key,
            base,
            str(args.requests),
            str(args.capacity),
            str(args.period),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(args.workers)
    ]
    for proc in procs:
        assert proc.stdout is not None
        line = await proc.stdout.readline()
        if line != b"ready\n":
            _, err = await proc.communicate()
            raise RuntimeError(f"worker failed to start: {err.decode()[-2000:]}")
    loop = asyncio.get_running_loop()
    start = loop.time()
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write(b"go\n")
        await proc.stdin.drain()
    results = await asyncio.gather(*(proc.communicate() for proc in procs))
    elapsed = loop.time() - start
    for proc, (_, err) in zip(procs, results, strict=True):
        if proc.returncode != 0:
            raise RuntimeError(f"worker failed: {err.decode()[-2000:]}")
    done = sum(int(out.split()[-1]) for out, _ in results)
    rate = len(server.accepted) / elapsed
    limit = args.capacity / args.period
    return {
        "limiter": "RedisRateLimiter (shared)" if mode == "redis" else "TokenBucket per process",
        "requests": done,
        "sent": len(server.arrivals),
        "429s": server.throttled,
        "seconds": elapsed,
        "rate": rate,
        "limit": limit,
        "utilization": rate / limit,
        "max_window": max_in_window(server.arrivals, args.period),
    }


async def bench(args: argparse.Namespace) -> None:
    sys.path.insert(0, str(ROOT))
    from tests.redis_server import INSTALL_HINT, RedisServer, find_redis_server

    binary = find_redis_server()
    if binary is None:
        raise SystemExit(INSTALL_HINT)
    server = Harvestish(args.capacity, args.period)
    app = web.Application()
    app.router.add_get("/v2/users/me", server.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}/v2"
    rows = []
    try:
        with RedisServer(binary) as redis_server:
            for mode in ("redis", "bucket"):
                rows.append(await run_mode(mode, server, base, redis_server.url, args))
    finally:
        await runner.cleanup()

    print(
        f"\n{args.workers} processes x {args.requests} requests; Harvest-like server: "
        f"{args.capacity} per rolling {args.period:g} s (429 + Retry-After beyond)\n"
    )
    print(
        "| limiter | requests done | sent (incl. retries) | 429s | seconds "
        "| accepted req/s | limit req/s | utilization | max sent in one window |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['limiter']} | {r['requests']} | {r['sent']} | {r['429s']} "
            f"| {r['seconds']:.2f} | {r['rate']:.1f} | {r['limit']:.0f} "
            f"| {r['utilization']:.0%} | {r['max_window']} |"
        )


async def worker(
    mode: str, redis_url: str, key: str, base: str, n: int, capacity: int, period: float
) -> None:
    import harvest_async as ha
    from harvest_async._redis_ratelimit import RedisRateLimiter

    limiter: ha.RateLimiter
    redis_limiter: RedisRateLimiter | None = None
    if mode == "redis":
        limiter = redis_limiter = RedisRateLimiter(
            redis_url, key=key, capacity=capacity, period=period
        )
    else:
        limiter = ha.TokenBucket(capacity, period)
    try:
        async with ha.HarvestClient(
            access_token="token",
            account_id="1",
            base_url=base,
            rate_limiter=limiter,
            user_agent="bench (dev@example.com)",
            max_retries=50,
        ) as client:
            print("ready", flush=True)
            await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
            users = await asyncio.gather(*(client.users.me() for _ in range(n)))
    finally:
        if redis_limiter is not None:
            await redis_limiter.aclose()
    print("done", len(users), flush=True)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        mode, redis_url, key, base, n, capacity, period = sys.argv[2:9]
        asyncio.run(worker(mode, redis_url, key, base, int(n), int(capacity), float(period)))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--requests", type=int, default=250, help="per worker")
    parser.add_argument("--capacity", type=int, default=100)
    parser.add_argument("--period", type=float, default=1.0)
    asyncio.run(bench(parser.parse_args()))


if __name__ == "__main__":
    main()
