"""``harvest-async``: mirror an account into SQLite, or export one resource.

Examples::

    harvest-async sync --demo --db demo.db          # no account needed
    harvest-async sync --db harvest.db              # $HARVEST_ACCESS_TOKEN, $HARVEST_ACCOUNT_ID
    harvest-async export time_entries --from 2024-01-01 --to 2024-01-31 --format csv
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import datetime as dt
import json
import sys
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import IO, Any

import attrs

from . import __version__
from ._client import HarvestClient
from ._errors import (
    APIError,
    AuthenticationError,
    ConfigurationError,
    HarvestError,
    InvalidRequestError,
    PermissionDeniedError,
    TransportError,
)
from ._ratelimit import TokenBucket
from .sync import RESOURCES, MeteredLimiter, SyncStats, record_json, sync_account

__all__ = ["main"]

EXPORTABLE = {spec.name: spec for spec in RESOURCES}
#: Lists that take from/to date filters.
DATED = {"time_entries", "expenses", "invoices", "estimates"}

EXIT_USAGE = 2
EXIT_AUTH = 3
EXIT_NETWORK = 4
EXIT_API = 5


class UserError(Exception):
    """An error to report in one line, without a traceback."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid date {text!r}: use YYYY-MM-DD") from None


def _timestamp(text: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        try:
            value = dt.datetime.combine(dt.date.fromisoformat(text), dt.time())
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"invalid timestamp {text!r}: use ISO 8601, e.g. 2024-01-31T12:00:00Z"
            ) from None
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="harvest-async",
        description="Mirror or export a Harvest account (API v2).",
    )
    parser.add_argument("--version", action="version", version=f"harvest-async {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--token", help="access token (default: $HARVEST_ACCESS_TOKEN)")
    common.add_argument("--account-id", help="account id (default: $HARVEST_ACCOUNT_ID)")
    common.add_argument("--user-agent", help="User-Agent (default: $HARVEST_USER_AGENT)")
    common.add_argument("--base-url", default=None, help=argparse.SUPPRESS)
    common.add_argument(
        "--demo",
        action="store_true",
        help="run against a built-in Harvest simulator (no account needed)",
    )
    common.add_argument("--quiet", action="store_true", help="no progress display")
    common.add_argument(
        "--max-retries", type=int, default=5, help="retries of a failed request (default 5)"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    sync = sub.add_parser("sync", parents=[common], help="mirror every resource into SQLite")
    sync.add_argument("--db", required=True, help="SQLite file to write")
    sync.add_argument("--full", action="store_true", help="ignore checkpoints, list all")
    sync.add_argument(
        "--reconcile",
        action="store_true",
        help="also delete local rows whose records Harvest no longer has",
    )
    sync.add_argument("--resources", help="comma-separated subset, e.g. clients,time_entries")
    sync.add_argument("--concurrency", type=int, default=4, help="resources synced at once")

    export = sub.add_parser("export", parents=[common], help="stream one resource")
    export.add_argument(
        "resource",
        choices=sorted(EXPORTABLE),
        metavar="RESOURCE",
        help=f"one of: {', '.join(sorted(EXPORTABLE))}",
    )
    export.add_argument("--from", dest="from_", type=_date, help="first date (YYYY-MM-DD)")
    export.add_argument("--to", type=_date, help="last date (YYYY-MM-DD)")
    export.add_argument("--updated-since", type=_timestamp, help="ISO 8601 timestamp")
    export.add_argument("--format", choices=["jsonl", "csv"], default="jsonl")
    export.add_argument("--output", "-o", help="file to write (default: standard output)")
    return parser


@attrs.frozen
class Target:
    """Where a command runs: a client, a name to show, and that side's clock."""

    client: HarvestClient
    name: str
    clock: Callable[[], dt.datetime]


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@contextlib.asynccontextmanager
async def open_target(args: argparse.Namespace) -> AsyncIterator[Target]:
    """A client for the chosen target: the demo simulator or the real API."""
    if args.demo:
        from .testing import HarvestSimulator

        async with HarvestSimulator(**demo_settings()) as sim:
            client = sim.client(
                rate_limiter=MeteredLimiter(sim.new_rate_limiter()), max_retries=args.max_retries
            )
            async with client:
                yield Target(client, "demo simulator", sim.now)
        return
    kwargs: dict[str, Any] = {}
    if args.base_url:
        kwargs["base_url"] = args.base_url
    limiter = MeteredLimiter(TokenBucket(100, 15.0))
    client = HarvestClient(
        args.token,
        args.account_id,
        user_agent=args.user_agent,
        rate_limiter=limiter,
        max_retries=args.max_retries,
        **kwargs,
    )
    async with client:
        yield Target(client, "Harvest", _utc_now)


def demo_settings() -> dict[str, Any]:
    """The built-in demo account: a busy team's year, small enough to sync in seconds."""
    from .testing import SimulatorScale

    return {
        "seed": 2024,
        "scale": SimulatorScale(
            users=25,
            clients=12,
            projects=40,
            time_entries=30_000,
            expenses=3_000,
            invoices=60,
            estimates=20,
        ),
    }


class Progress:
    """A live display on a terminal; nothing when quiet or not a TTY."""

    def __init__(self, enabled: bool, limiter: MeteredLimiter | None, limit: str) -> None:
        self.enabled = enabled
        self.limiter = limiter
        self.limit = limit
        self.records = 0
        self.pages = 0
        self.started = time.perf_counter()
        self._live: Any = None
        self.per_resource: dict[str, int] = {}

    def __enter__(self) -> Progress:
        if self.enabled:
            from rich.live import Live

            self._live = Live(self._render(), refresh_per_second=8, transient=True)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)

    def page(self, resource: str, count: int) -> None:
        self.records += count
        self.pages += 1
        self.per_resource[resource] = self.per_resource.get(resource, 0) + count
        if self._live is not None:
            self._live.update(self._render())

    def _render(self) -> Any:
        from rich.table import Table

        elapsed = max(1e-9, time.perf_counter() - self.started)
        requests = self.limiter.requests if self.limiter else 0
        waited = self.limiter.wait_seconds if self.limiter else 0.0
        table = Table.grid(padding=(0, 2))
        table.add_row("records", f"{self.records:,}", "pages", f"{self.pages:,}")
        table.add_row(
            "requests/s",
            f"{requests / elapsed:,.1f} ({self.limit})",
            "waiting on limiter",
            f"{waited:,.1f} s",
        )
        return table


def _limit_of(limiter: Any) -> str:
    inner = getattr(limiter, "inner", limiter)
    capacity, period = getattr(inner, "capacity", None), getattr(inner, "period", None)
    if isinstance(capacity, int) and isinstance(period, float) and period > 0:
        return f"limit {capacity} per {period:g} s"
    return "custom limiter"


def _print_summary(
    stats: Sequence[SyncStats],
    seconds: float,
    requests: int,
    waited: float,
    target: str,
    out: IO[str],
    tty: bool,
) -> None:
    if tty:
        from rich.console import Console
        from rich.table import Table

        table = Table(
            title=f"harvest-async sync ({target}) in {seconds:.1f} s, "
            f"{requests:,} requests, {waited:.1f} s waiting on the limiter"
        )
        for column in ("resource", "mode", "written", "deleted", "rows"):
            table.add_column(column, justify="left" if column in ("resource", "mode") else "right")
        for s in stats:
            table.add_row(
                s.name, s.mode, f"{s.rows_written:,}", f"{s.deleted:,}", f"{s.total_rows:,}"
            )
        Console(file=out).print(table)
        return
    out.write("resource\tmode\twritten\tdeleted\trows\n")
    for s in stats:
        out.write(f"{s.name}\t{s.mode}\t{s.rows_written}\t{s.deleted}\t{s.total_rows}\n")
    out.write(
        json.dumps(
            {
                "seconds": round(seconds, 3),
                "requests": requests,
                "limiter_wait_seconds": round(waited, 3),
                "target": target,
            }
        )
        + "\n"
    )


async def run_sync(args: argparse.Namespace) -> int:
    specs = RESOURCES
    if args.resources:
        wanted = [n.strip() for n in args.resources.split(",") if n.strip()]
        unknown = [n for n in wanted if n not in EXPORTABLE]
        if unknown:
            raise UserError(
                f"unknown resource(s): {', '.join(unknown)}; choose from {', '.join(EXPORTABLE)}"
            )
        specs = tuple(EXPORTABLE[n] for n in wanted)
    if args.concurrency < 1:
        raise UserError("--concurrency must be at least 1")
    tty = sys.stdout.isatty()
    started = time.perf_counter()
    async with open_target(args) as target:
        client = target.client
        limiter = client.rate_limiter if isinstance(client.rate_limiter, MeteredLimiter) else None
        with Progress(tty and not args.quiet, limiter, _limit_of(client.rate_limiter)) as bar:
            stats = await sync_account(
                client,
                args.db,
                resources=specs,
                full=args.full,
                reconcile=args.reconcile,
                concurrency=args.concurrency,
                on_page=bar.page,
                clock=target.clock,
            )
        requests = limiter.requests if limiter else 0
        waited = limiter.wait_seconds if limiter else 0.0
    _print_summary(
        stats, time.perf_counter() - started, requests, waited, target.name, sys.stdout, tty
    )
    return 0


def _flatten(record: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in record.items():
        if value is None:
            out[key] = ""
        elif isinstance(value, (dict, list)):
            out[key] = json.dumps(value, separators=(",", ":"), default=str)
        elif isinstance(value, bool):
            out[key] = "true" if value else "false"
        else:
            out[key] = str(value)
    return out


async def run_export(args: argparse.Namespace) -> int:
    name = args.resource
    filters: dict[str, Any] = {}
    if args.from_ or args.to:
        if name not in DATED:
            raise UserError(f"--from/--to apply to {', '.join(sorted(DATED))}, not {name}")
        if args.from_ and args.to and args.to < args.from_:
            raise UserError("--to is before --from")
        if args.from_:
            filters["from_"] = args.from_
        if args.to:
            filters["to"] = args.to
    if args.updated_since:
        filters["updated_since"] = args.updated_since
    out: IO[str]
    with contextlib.ExitStack() as stack:
        if args.output:
            try:
                # One open at start-up; the loop then writes as records stream in.
                out = stack.enter_context(
                    open(args.output, "w", encoding="utf-8", newline="")  # noqa: ASYNC230
                )
            except OSError as exc:
                raise UserError(f"cannot write {args.output}: {exc.strerror}") from None
        else:
            out = sys.stdout
        writer: csv.DictWriter[str] | None = None
        count = 0
        async with open_target(args) as target:
            resource = getattr(target.client, name)
            async for item in resource.list(**filters):
                if args.format == "jsonl":
                    out.write(record_json(item) + "\n")
                else:
                    row = _flatten(json.loads(record_json(item)))
                    if writer is None:
                        fields = [f.name for f in attrs.fields(type(item))]
                        writer = csv.DictWriter(out, fieldnames=fields, extrasaction="ignore")
                        writer.writeheader()
                    writer.writerow(row)
                count += 1
        if args.output and not args.quiet:
            print(f"wrote {count:,} {name} to {args.output}", file=sys.stderr)
    return 0


def _one_line(exc: BaseException) -> tuple[str, int]:
    if isinstance(exc, UserError):
        return str(exc), exc.code
    if isinstance(exc, AuthenticationError):
        return (
            "authentication failed (401): check the access token "
            "($HARVEST_ACCESS_TOKEN or --token) and account id",
            EXIT_AUTH,
        )
    if isinstance(exc, PermissionDeniedError):
        return f"permission denied (403): {exc.message}", EXIT_AUTH
    if isinstance(exc, ConfigurationError | InvalidRequestError):
        return str(exc), EXIT_USAGE
    if isinstance(exc, TransportError):
        return f"cannot reach Harvest: {exc}", EXIT_NETWORK
    if isinstance(exc, APIError):
        return f"Harvest answered {exc.status}: {exc.message}", EXIT_API
    return f"{type(exc).__name__}: {exc}", EXIT_API


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``harvest-async`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    runner = run_sync if args.command == "sync" else run_export
    try:
        return asyncio.run(runner(args))
    except KeyboardInterrupt:
        print("harvest-async: interrupted", file=sys.stderr)
        return 130
    except (HarvestError, UserError) as exc:
        message, code = _one_line(exc)
        print(f"harvest-async: error: {message}", file=sys.stderr)
        return code
    except BrokenPipeError:
        with contextlib.suppress(OSError):
            sys.stdout.close()
        return 0
    except OSError as exc:
        print(f"harvest-async: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
