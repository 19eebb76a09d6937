"""``python -m harvest_async.testing serve``: the simulator as a standalone server.

Any app then runs unchanged against it: export the ``HARVEST_BASE_URL``,
``HARVEST_ACCESS_TOKEN`` and ``HARVEST_ACCOUNT_ID`` lines it prints (the client reads
all three). It serves until interrupted (Ctrl-C or SIGTERM).

Exit codes: 0 stopped by a signal, 1 the server could not start (e.g. the port is
taken), 2 bad arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import signal
import sys
from collections.abc import Sequence

from ._config import SimulatorScale
from ._simulator import HarvestSimulator

__all__ = ["main", "parse_rate_limit"]


def parse_rate_limit(text: str) -> tuple[int, float]:
    """``"100/15"`` as ``(100, 15.0)``: requests per window of seconds.

    Raises:
        argparse.ArgumentTypeError: not ``CAPACITY/SECONDS`` with both positive.
    """
    capacity_text, slash, period_text = text.partition("/")
    try:
        capacity, period = int(capacity_text), float(period_text)
    except ValueError:
        capacity, period = 0, 0.0
    if not slash or capacity < 1 or not (math.isfinite(period) and period > 0):
        raise argparse.ArgumentTypeError(f"expected CAPACITY/SECONDS such as 100/15, got {text!r}")
    return capacity, period


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an int >= 0, got {text!r}")
    return value


def _port(text: str) -> int:
    value = _non_negative(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"expected a port from 0 to 65535, got {text!r}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m harvest_async.testing",
        description="Harvest API v2 simulator (seeded data, rate limits, faults).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser(
        "serve",
        help="serve the simulator until interrupted",
        description="Serve the simulator on HOST:PORT until interrupted; prints the "
        "HARVEST_BASE_URL, HARVEST_ACCESS_TOKEN and HARVEST_ACCOUNT_ID to use.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    serve.add_argument(
        "--port", type=_port, default=8080, help="API port (default 8080; 0 picks a free one)"
    )
    serve.add_argument("--seed", type=int, default=0, help="seeds the data (default 0)")
    serve.add_argument(
        "--time-entries",
        type=_non_negative,
        default=None,
        metavar="N",
        help=f"time entries to seed (default {SimulatorScale().time_entries})",
    )
    serve.add_argument(
        "--rate-limit",
        type=parse_rate_limit,
        default=(100, 15.0),
        metavar="CAPACITY/SECONDS",
        help="the general window (default 100/15, as Harvest)",
    )
    serve.add_argument(
        "--reports-rate-limit",
        type=parse_rate_limit,
        default=(100, 900.0),
        metavar="CAPACITY/SECONDS",
        help="the /reports window (default 100/900, as Harvest)",
    )
    return parser


async def _serve(args: argparse.Namespace) -> int:
    scale = SimulatorScale()
    if args.time_entries is not None:
        scale = SimulatorScale(time_entries=args.time_entries)
    sim = HarvestSimulator(
        seed=args.seed,
        scale=scale,
        rate_limit=args.rate_limit,
        reports_rate_limit=args.reports_rate_limit,
        host=args.host,
        port=args.port,
    )
    try:
        await sim.start()
    except OSError as exc:
        print(
            f"error: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        return 1
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    try:
        capacity, period = sim.rate_limit
        print(f"export HARVEST_BASE_URL={sim.base_url}")
        print(f"export HARVEST_ACCESS_TOKEN={sim.access_token}")
        print(f"export HARVEST_ACCOUNT_ID={sim.account_id}")
        print(
            f"# Harvest simulator (seed {args.seed}, {scale.time_entries} time entries, "
            f"{capacity} requests per {period:g} s); Ctrl-C stops it",
            flush=True,
        )
        await stop.wait()
    finally:
        await sim.aclose()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        return asyncio.run(_serve(args))
    except KeyboardInterrupt:  # a signal before the handlers were installed
        return 0


if __name__ == "__main__":
    sys.exit(main())
