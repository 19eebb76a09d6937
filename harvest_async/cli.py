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
import importlib.util
import itertools
import json
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NoReturn

import attrs

from . import __version__
from ._client import ACCOUNT_ENV, TOKEN_ENV, HarvestClient
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
from ._tables import Kind, arrow_types, export_columns
from ._tables import Table as SyncTable
from .models.accounts import Account, Accounts
from .sync import (
    COMPANY_TABLE,
    RESOURCES,
    MeteredLimiter,
    ResourceSpec,
    SyncDatabaseError,
    SyncStats,
    format_timestamp,
    record_json,
    sync_account,
)

if TYPE_CHECKING:
    from .testing import HarvestSimulator

__all__ = ["main"]

EXPORTABLE = {spec.name: spec for spec in RESOURCES}
#: The one record that is not a list; synced and exported like the lists.
COMPANY = "company"
#: Every name `--resources` and `export` take.
NAMES = sorted([*EXPORTABLE, COMPANY])
#: Lists that take from/to date filters.
DATED = {"time_entries", "expenses", "invoices", "estimates"}

EXIT_USAGE = 2
EXIT_AUTH = 3
EXIT_NETWORK = 4
EXIT_API = 5
EXIT_DATABASE = 6
EXIT_MISSING_EXTRA = 7
EXIT_INTERRUPTED = 130

#: What the command line needs beyond the client: the ``cli`` extra of pyproject.toml.
CLI_EXTRA = ("rich",)


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


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}")
    return value


class _Parser(argparse.ArgumentParser):
    """Reports a usage error in one line (no usage dump), then exits with 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"harvest-async: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="harvest-async",
        description="Mirror or export a Harvest account (API v2).",
    )
    parser.add_argument("--version", action="version", version=f"harvest-async {__version__}")
    common = _Parser(add_help=False)
    common.add_argument("--token", help="access token (default: $HARVEST_ACCESS_TOKEN)")
    common.add_argument(
        "--account-id",
        action="append",
        help="account id (default: $HARVEST_ACCOUNT_ID); sync takes it more than once",
    )
    common.add_argument("--user-agent", help="User-Agent (default: $HARVEST_USER_AGENT)")
    common.add_argument("--base-url", default=None, help=argparse.SUPPRESS)
    common.add_argument(
        "--demo",
        action="store_true",
        help="run against a built-in Harvest simulator (no account needed)",
    )
    common.add_argument("--quiet", action="store_true", help="no progress display")
    common.add_argument(
        "--max-retries", type=_count, default=5, help="retries of a failed request (default 5)"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    sync = sub.add_parser(
        "sync", parents=[common], help="mirror every resource into SQLite, PostgreSQL or DuckDB"
    )
    sync.add_argument(
        "--db",
        required=True,
        help="SQLite file, postgresql://user@host:port/db, or duckdb:///path.duckdb",
    )
    sync.add_argument(
        "--all-accounts",
        action="store_true",
        help="sync every Harvest account of the token (listed by Harvest ID; Forecast "
        "accounts are skipped)",
    )
    sync.add_argument(
        "--wait-lock",
        action="store_true",
        help="wait for another sync of the same account into the same database to finish "
        "(default: exit with code 6)",
    )
    sync.add_argument("--full", action="store_true", help="ignore checkpoints, list all")
    sync.add_argument(
        "--reconcile",
        action="store_true",
        help="also delete local rows whose records Harvest no longer has",
    )
    sync.add_argument(
        "--reports",
        action="store_true",
        help="also mirror the time, expense, uninvoiced and project budget reports, one "
        "row set per month (the last two months pulled again each run)",
    )
    sync.add_argument(
        "--reports-from",
        type=_date,
        help="first month of the reports on their first run (YYYY-MM-DD; default: 10 months back)",
    )
    sync.add_argument(
        "--resources",
        help=f"comma-separated subset, e.g. company,clients,time_entries; of: {', '.join(NAMES)}",
    )
    sync.add_argument("--concurrency", type=int, default=4, help="resources synced at once")

    export = sub.add_parser("export", parents=[common], help="stream one resource")
    export.add_argument(
        "resource",
        choices=NAMES,
        metavar="RESOURCE",
        help=f"one of: {', '.join(NAMES)}",
    )
    export.add_argument("--from", dest="from_", type=_date, help="first date (YYYY-MM-DD)")
    export.add_argument("--to", type=_date, help="last date (YYYY-MM-DD)")
    export.add_argument("--updated-since", type=_timestamp, help="ISO 8601 timestamp")
    export.add_argument("--format", choices=["jsonl", "csv", "parquet"], default="jsonl")
    export.add_argument("--output", "-o", help="file to write (default: standard output)")
    return parser


@attrs.frozen
class Target:
    """Where a command runs: a client, a name to show, and that side's clock."""

    client: HarvestClient
    name: str
    clock: Callable[[], dt.datetime]
    #: For the demo: what changed in its account since the previous demo run.
    demo_changes: DemoChanges | None = None


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@contextlib.asynccontextmanager
async def open_target(args: argparse.Namespace, demo_run: int = 1) -> AsyncIterator[Target]:
    """A client for the chosen target: the demo simulator or the real API.

    ``demo_run`` picks the state of the demo account (see `apply_demo_changes`).
    """
    if args.demo:
        from .testing import HarvestSimulator

        sim = HarvestSimulator(**demo_settings())
        changes = apply_demo_changes(sim, demo_run)
        async with sim:
            client = sim.client(
                rate_limiter=MeteredLimiter(sim.new_rate_limiter()), max_retries=args.max_retries
            )
            async with client:
                yield Target(client, "demo simulator", sim.now, changes)
        return
    token = args.token if args.token is not None else os.environ.get(TOKEN_ENV)
    if not token:
        raise UserError(f"no access token: give --token or set ${TOKEN_ENV}")
    given = args.account_id or []
    if len(given) > 1:
        raise UserError(f"{args.command} takes one --account-id")
    account = given[0] if given else os.environ.get(ACCOUNT_ENV)
    if not account:
        raise UserError(f"no account id: give --account-id or set ${ACCOUNT_ENV}")
    kwargs: dict[str, Any] = {}
    if args.base_url:
        kwargs["base_url"] = args.base_url
    # The command is the only user of these budgets and all of its work is bulk: no
    # slot is kept back for interactive calls (reserve=0).
    limiter = MeteredLimiter(TokenBucket(100, 15.0, reserve=0))
    client = HarvestClient(
        token,
        account,
        user_agent=args.user_agent,
        rate_limiter=limiter,
        reports_rate_limiter=TokenBucket(100, 900.0, reserve=0),
        max_retries=args.max_retries,
        **kwargs,
    )
    async with client:
        yield Target(client, "Harvest", _utc_now)


def _many_accounts(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "all_accounts", False)) or len(args.account_id or []) > 1


def _account_ids(args: argparse.Namespace) -> set[int]:
    wanted: set[int] = set()
    for text in args.account_id or []:
        if not text.strip().isdigit():
            raise UserError(f"--account-id must be a number, got {text!r}")
        wanted.add(int(text))
    return wanted


def _harvest_accounts(listed: Accounts, wanted: set[int], quiet: bool) -> list[Account]:
    """The Harvest accounts (``product == "harvest"``) to sync, of those a token reaches."""
    harvest = [a for a in listed.accounts or [] if a.product == "harvest" and a.id is not None]
    for other in listed.accounts or []:
        if other.product != "harvest" and not quiet:
            print(
                f"harvest-async: skipping {other.product} account {other.id} ({other.name})",
                file=sys.stderr,
            )
    if wanted:
        unknown = wanted - {a.id for a in harvest}
        if unknown:
            known = ", ".join(str(a.id) for a in harvest) or "none"
            raise UserError(
                f"account(s) {', '.join(map(str, sorted(unknown)))} are not Harvest accounts "
                f"of this token (its Harvest accounts: {known})"
            )
        harvest = [a for a in harvest if a.id in wanted]
    if not harvest:
        raise UserError("the token reaches no Harvest account")
    return harvest


#: The demo's second Harvest account, and its Forecast account (skipped by a sync).
DEMO_SECOND_SEED = 2025
DEMO_FORECAST_ID = 1_000_001


def demo_second_settings() -> dict[str, Any]:
    """The demo's second Harvest account: a smaller team."""
    from .testing import SimulatorScale

    return {
        "seed": DEMO_SECOND_SEED,
        "scale": SimulatorScale(
            users=8,
            clients=4,
            projects=10,
            time_entries=5_000,
            expenses=300,
            invoices=20,
            estimates=8,
        ),
    }


@contextlib.asynccontextmanager
async def open_accounts(args: argparse.Namespace, demo_run: int = 1) -> AsyncIterator[list[Target]]:
    """One `Target` per account to sync: the one of `open_target`, or with
    ``--all-accounts`` / several ``--account-id`` the token's Harvest accounts, listed by
    Harvest ID (https://help.getharvest.com/api-v2/authentication-api/authentication/authentication/),
    each client with a rate limiter of its own (Harvest's limits are per account).

    The demo offers two Harvest accounts (two simulators) and a Forecast account.
    """
    if not _many_accounts(args):
        async with open_target(args, demo_run) as one:
            yield [one]
        return
    from ._oauth import HarvestID

    wanted = _account_ids(args)
    async with contextlib.AsyncExitStack() as stack:
        if args.demo:
            from .testing import HarvestSimulator

            first = HarvestSimulator(**demo_settings())
            changes = apply_demo_changes(first, demo_run)
            second = HarvestSimulator(**demo_second_settings())
            first.id_accounts = [
                {
                    "id": second.account_id,
                    "name": second.world.company["name"],
                    "product": "harvest",
                },
                {"id": DEMO_FORECAST_ID, "name": "Demo Forecast", "product": "forecast"},
            ]
            await stack.enter_async_context(first)
            await stack.enter_async_context(second)
            sims = {first.account_id: first, second.account_id: second}
            harvest_id = await stack.enter_async_context(HarvestID(base_url=first.id_base_url))
            listed = await harvest_id.accounts(first.access_token)
            targets = []
            for account in _harvest_accounts(listed, wanted, args.quiet):
                sim = sims[account.id]  # type: ignore[index]
                client = sim.client(
                    rate_limiter=MeteredLimiter(sim.new_rate_limiter()),
                    max_retries=args.max_retries,
                )
                await stack.enter_async_context(client)
                targets.append(
                    Target(
                        client,
                        f"demo account {account.id}",
                        sim.now,
                        changes if sim is first else None,
                    )
                )
            yield targets
            return
        token = args.token if args.token is not None else os.environ.get(TOKEN_ENV)
        if not token:
            raise UserError(f"no access token: give --token or set ${TOKEN_ENV}")
        harvest_id = await stack.enter_async_context(HarvestID(user_agent=args.user_agent))
        listed = await harvest_id.accounts(token)
        kwargs: dict[str, Any] = {"base_url": args.base_url} if args.base_url else {}
        targets = []
        for account in _harvest_accounts(listed, wanted, args.quiet):
            client = HarvestClient(
                token,
                account.id,
                user_agent=args.user_agent,
                rate_limiter=MeteredLimiter(TokenBucket(100, 15.0)),
                max_retries=args.max_retries,
                **kwargs,
            )
            await stack.enter_async_context(client)
            targets.append(Target(client, f"Harvest account {account.id}", _utc_now))
        yield targets


#: Seeds the demo account: the same account on every machine.
DEMO_SEED = 2024


def demo_settings() -> dict[str, Any]:
    """The built-in demo account: a busy team's year, small enough to sync in seconds."""
    from .testing import SimulatorScale

    return {
        "seed": DEMO_SEED,
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


@attrs.define
class DemoChanges:
    """Records the latest round of `apply_demo_changes` created, edited and deleted."""

    created: int = 0
    edited: int = 0
    deleted: int = 0


def apply_demo_changes(sim: HarvestSimulator, run: int) -> DemoChanges:
    """Bring a demo simulator (not started yet) to the state of the ``run``-th demo sync.

    The first run sees the seeded account; before each later one, its users went on
    working: round ``k`` (for runs ``k + 1`` and after) creates a client with a contact
    and three time entries, edits a contact and two time entries, and deletes a contact
    (so that their number stays the same) and four time entries. Each round happens an
    hour after the previous one on the simulator's clock, and the sync ten minutes after
    the last, so that an incremental run lists exactly the latest round's creations and
    edits, and ``--reconcile`` finds its deletions. Same ``run``, same account: ids,
    names and timestamps are reproducible.
    """
    world, ops = sim.world, sim.ops
    entries = world.time_entries
    done = DemoChanges()
    for k in range(1, run):
        done = DemoChanges()
        sim.advance(3600)
        # Created: a client with a contact, and three entries on a project the owner
        # works on.
        client = ops.create("clients", {"name": f"Demo round {k} client"})
        ops.create("contacts", {"client_id": client["id"], "first_name": f"Round {k}"})
        mine = next(
            row
            for row in map(entries.get, entries.ids_desc())
            if row is not None and row["user_id"] == world.me_id
        )
        for n in range(3):
            ops.create(
                "time_entries",
                {
                    "project_id": mine["project_id"],
                    "task_id": mine["task_id"],
                    "spent_date": sim.now().date().isoformat(),
                    "hours": 0.5 + n,
                    "notes": f"Demo round {k}, entry {n + 1}",
                },
            )
        done.created += 5
        # Edited: a contact and two entries of the seeded history.
        contacts = sorted(world.contacts.ids_desc())
        contact = world.contacts.get(contacts[k % len(contacts)])
        assert contact is not None
        ops.update("contacts", contact, {"title": f"Reviewed in round {k}"})
        for rid in itertools.islice(entries.ids_desc(), 100 + 10 * k, 102 + 10 * k):
            row = entries.get(rid)
            assert row is not None
            ops.update("time_entries", row, {"notes": f"Edited in demo round {k}"})
        done.edited += 3
        # Deleted: a contact and four entries further back.
        gone = world.contacts.get(contacts[(k + 1) % len(contacts)])
        assert gone is not None
        ops.delete("contacts", gone)
        for rid in list(itertools.islice(entries.ids_desc(), 1000 + 20 * k, 1004 + 20 * k)):
            row = entries.get(rid)
            assert row is not None
            ops.delete("time_entries", row)
        done.deleted += 5
    if run > 1:
        sim.advance(600)
    return done


def _demo_news(run: int, changes: DemoChanges) -> str:
    if run == 1:
        return (
            "demo run 1: the seeded account; before each later run its users create, "
            "edit and delete records (--reconcile finds the deletions)"
        )
    return (
        f"demo run {run}: since run {run - 1}, {changes.created} records were created, "
        f"{changes.edited} edited and {changes.deleted} deleted "
        "(an incremental sync reads the first two; --reconcile finds the deletions)"
    )


def demo_db_file(db: str) -> Path | None:
    """The file of a ``--db`` (SQLite or DuckDB); ``None`` for a server (PostgreSQL)."""
    if db.startswith(("postgresql://", "postgres://")):
        return None
    if db.startswith("duckdb://"):
        from ._target_duckdb import duckdb_path

        path = duckdb_path(db)
        return None if path == ":memory:" else Path(path)
    return Path(db.removeprefix("sqlite:///"))


def demo_state_path(db: str | Path) -> Path:
    """The file next to a demo mirror that counts the demo runs synced into it."""
    return Path(f"{db}.demo-state.json")


def read_demo_run(db: str | Path) -> int:
    """The number of this demo sync into ``db``: 1 for a new mirror, then 2, 3, ..."""
    if not Path(db).exists():
        return 1  # a new mirror starts from the seeded account
    try:
        state = json.loads(demo_state_path(db).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return 1
    if not isinstance(state, dict) or state.get("seed") != DEMO_SEED:
        return 1
    last = state.get("run")
    if isinstance(last, bool) or not isinstance(last, int) or last < 1:
        return 1
    return last + 1


def write_demo_run(db: str | Path, run: int) -> None:
    """Record that demo run ``run`` was synced into ``db`` (replacing the file whole)."""
    path = demo_state_path(db)
    with _replacing(path) as out:
        json.dump({"seed": DEMO_SEED, "run": run}, out)
        out.write("\n")


@contextlib.contextmanager
def _replacing(path: str | Path, *, binary: bool = False) -> Iterator[IO[Any]]:
    """A file written next to ``path`` that replaces it only once the block succeeds.

    On an error (or Ctrl-C) the partial file is removed and ``path`` is left as it was.
    The new file keeps the mode of the one it replaces (else the umask's default).
    """
    target = Path(path)
    if target.is_dir():
        raise UserError(f"cannot write {path}: it is a directory")
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror}") from None
    try:
        if binary:
            with open(fd, "wb") as raw:
                yield raw
        else:
            with open(fd, "w", encoding="utf-8", newline="") as out:
                yield out
        if target.exists():
            shutil.copymode(target, temp)
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(temp, 0o666 & ~umask)
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


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


def _chosen(text: str | None) -> tuple[tuple[ResourceSpec, ...], bool]:
    """The lists ``--resources`` names, and whether it names the company."""
    if text is None:
        return RESOURCES, True
    wanted = [n.strip() for n in text.split(",") if n.strip()]
    if not wanted:
        raise UserError(f"--resources is empty; choose from {', '.join(NAMES)}")
    unknown = [n for n in wanted if n not in NAMES]
    if unknown:
        raise UserError(
            f"unknown resource(s): {', '.join(unknown)}; choose from {', '.join(NAMES)}"
        )
    specs = tuple(spec for spec in RESOURCES if spec.name in wanted)
    return specs, COMPANY in wanted


async def run_sync(args: argparse.Namespace) -> int:
    specs, company = _chosen(args.resources)
    if args.concurrency < 1:
        raise UserError("--concurrency must be at least 1")
    tty = sys.stdout.isatty()
    started = time.perf_counter()
    demo_file = demo_db_file(args.db)
    demo_run = read_demo_run(demo_file) if args.demo and demo_file is not None else 1
    results: list[tuple[Target, list[SyncStats]]] = []
    requests, waited = 0, 0.0
    async with open_accounts(args, demo_run) as targets:
        for target in targets:  # one account at a time, each with its own limiter
            client = target.client
            metered = client.rate_limiter
            limiter = metered if isinstance(metered, MeteredLimiter) else None
            with Progress(tty and not args.quiet, limiter, _limit_of(metered)) as bar:
                stats = await sync_account(
                    client,
                    args.db,
                    resources=specs,
                    full=args.full,
                    reconcile=args.reconcile,
                    concurrency=args.concurrency,
                    on_page=bar.page,
                    clock=target.clock,
                    company=company,
                    wait_lock=args.wait_lock,
                    reports=args.reports,
                    reports_from=args.reports_from,
                )
            results.append((target, stats))
            requests += limiter.requests if limiter else 0
            waited += limiter.wait_seconds if limiter else 0.0
    for target, _ in results:
        if target.demo_changes is not None and demo_file is not None:
            write_demo_run(demo_file, demo_run)
            if not args.quiet:
                print(_demo_news(demo_run, target.demo_changes), file=sys.stderr)
    seconds = time.perf_counter() - started
    if len(results) == 1:
        target, stats = results[0]
        _print_summary(stats, seconds, requests, waited, target.name, sys.stdout, tty)
    else:
        rows = [
            attrs.evolve(s, name=f"{t.client.account_id}/{s.name}") for t, st in results for s in st
        ]
        names = ", ".join(t.name for t, _ in results)
        _print_summary(rows, seconds, requests, waited, names, sys.stdout, tty)
    return 0


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
        if name == COMPANY:
            raise UserError("--updated-since does not apply to company")
        filters["updated_since"] = args.updated_since
    parquet = args.format == "parquet"
    if parquet:
        if not args.output:
            raise UserError("--format parquet writes a file: give -o FILE")
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise UserError(
                "--format parquet needs pyarrow, in the parquet extra "
                "(from a clone: pip install -e '.[parquet]')"
            ) from None
    if name == COMPANY:
        table = COMPANY_TABLE
    else:
        (table,) = [spec.table for spec in RESOURCES if spec.name == name]
    with contextlib.ExitStack() as stack:
        # Written to a file next to the target, which replaces it only once complete.
        out = (
            stack.enter_context(_replacing(args.output, binary=parquet))
            if args.output
            else sys.stdout
        )
        count = 0
        async with open_target(args) as target:
            writer = _Writer(out, args.format, table)
            if name == COMPANY:
                writer.write(await target.client.company.get())
                count = 1
            else:
                async for item in getattr(target.client, name).list(**filters):
                    writer.write(item)
                    count += 1
            writer.close()
    if args.output and not args.quiet:
        print(f"wrote {count:,} {name} to {args.output}", file=sys.stderr)
    return 0


class _Writer:
    """Writes records as JSON Lines, CSV or Parquet.

    CSV and Parquet have the columns of the record's sync table (`export_columns`):
    nested records flattened to ``<field>_<subfield>`` (``project_name``), lists as
    JSON text. CSV writes decimals exactly, booleans as ``true``/``false``, timestamps
    as UTC ``...Z``; Parquet keeps the types (decimal128(38, 12), date32, UTC
    timestamps, time64, booleans, int64), a row group per `PARQUET_ROWS` records.
    """

    def __init__(self, out: IO[Any], fmt: str, table: SyncTable) -> None:
        self.out = out
        self.format = fmt
        self.columns = export_columns(table)
        self._csv: Any = None
        self._parquet: Any = None
        self._batch: list[list[Any]] = [[] for _ in self.columns]
        self._held = 0

    def write(self, item: Any) -> None:
        if self.format == "jsonl":
            self.out.write(record_json(item) + "\n")
            return
        if self.format == "csv":
            if self._csv is None:
                self._csv = csv.writer(self.out)
                self._csv.writerow([c.name for c in self.columns])
            self._csv.writerow([_csv_cell(c.kind, c.get(item)) for c in self.columns])
            return
        for values, column in zip(self._batch, self.columns, strict=True):
            values.append(column.get(item))
        self._held += 1
        if self._held >= PARQUET_ROWS:
            self._flush()

    def _flush(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        schema = pa.schema([(c.name, arrow_types()[c.kind]) for c in self.columns])
        if self._parquet is None:
            self._parquet = pq.ParquetWriter(self.out, schema)
        arrays = [
            pa.array(values, type=schema.field(i).type) for i, values in enumerate(self._batch)
        ]
        self._parquet.write_table(pa.Table.from_arrays(arrays, schema=schema))
        self._batch = [[] for _ in self.columns]
        self._held = 0

    def close(self) -> None:
        """Finish the file (Parquet: the last row group and the footer)."""
        if self.format != "parquet":
            return
        if self._held or self._parquet is None:
            self._flush()
        self._parquet.close()


#: Records per Parquet row group.
PARQUET_ROWS = 10_000


def _csv_cell(kind: Kind, value: Any) -> str:
    if value is None:
        return ""
    if kind is Kind.BOOLEAN:
        return "true" if value else "false"
    if kind is Kind.TIMESTAMPTZ:
        return format_timestamp(value)
    if kind in (Kind.DATE, Kind.TIME):
        return str(value.isoformat())
    return str(value)


#: Client keywords and the options that set them, for messages of `HarvestClient`.
_OPTION_WORDS = (
    (re.compile(r"\bpass access_token= or set\b"), "give --token or set"),
    (re.compile(r"\bpass account_id= or set\b"), "give --account-id or set"),
    (re.compile(r"\baccess_token\b"), "--token"),
    (re.compile(r"\baccount_id\b"), "--account-id"),
    (re.compile(r"\b(?:user_agent|User-Agent)\b"), "--user-agent"),
    (re.compile(r"\bmax_retries\b"), "--max-retries"),
    (re.compile(r"\bbase_url\b"), "--base-url"),
    (re.compile(r"\bupdated_since\b"), "--updated-since"),
    (re.compile(r"\bfrom_\b"), "--from"),
)


def _cli_words(message: str) -> str:
    """A library message in the command line's words (``--token``, not ``access_token=``)."""
    for pattern, words in _OPTION_WORDS:
        message = pattern.sub(words, message)
    return message


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
    if isinstance(exc, SyncDatabaseError):
        return str(exc), EXIT_DATABASE
    if isinstance(exc, ConfigurationError | InvalidRequestError):
        return _cli_words(str(exc)), EXIT_USAGE
    if isinstance(exc, TransportError):
        return f"cannot reach Harvest: {exc}", EXIT_NETWORK
    if isinstance(exc, APIError):
        return f"Harvest answered {exc.status}: {exc.message}", EXIT_API
    return f"{type(exc).__name__}: {exc}", EXIT_API


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``harvest-async`` console script."""
    missing = [name for name in CLI_EXTRA if importlib.util.find_spec(name) is None]
    if missing:
        print(
            f"harvest-async: error: the command line needs {', '.join(missing)}: install "
            "harvest_async with its cli extra (from a clone: pip install -e '.[cli]')",
            file=sys.stderr,
        )
        return EXIT_MISSING_EXTRA
    try:
        return _run(argv)
    except KeyboardInterrupt:  # at any point: start-up, the run, or its clean-up
        print("harvest-async: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _run(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    runner = run_sync if args.command == "sync" else run_export
    try:
        return asyncio.run(runner(args))
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
