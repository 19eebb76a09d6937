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
from .sync import (
    RESOURCES,
    MeteredLimiter,
    ResourceSpec,
    SyncDatabaseError,
    SyncStats,
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
        "--max-retries", type=_count, default=5, help="retries of a failed request (default 5)"
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
    export.add_argument("--format", choices=["jsonl", "csv"], default="jsonl")
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
    account = args.account_id if args.account_id is not None else os.environ.get(ACCOUNT_ENV)
    if not account:
        raise UserError(f"no account id: give --account-id or set ${ACCOUNT_ENV}")
    kwargs: dict[str, Any] = {}
    if args.base_url:
        kwargs["base_url"] = args.base_url
    limiter = MeteredLimiter(TokenBucket(100, 15.0))
    client = HarvestClient(
        token,
        account,
        user_agent=args.user_agent,
        rate_limiter=limiter,
        max_retries=args.max_retries,
        **kwargs,
    )
    async with client:
        yield Target(client, "Harvest", _utc_now)


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
def _replacing(path: str | Path) -> Iterator[IO[str]]:
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
    demo_run = read_demo_run(args.db) if args.demo else 1
    async with open_target(args, demo_run) as target:
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
                company=company,
            )
        requests = limiter.requests if limiter else 0
        waited = limiter.wait_seconds if limiter else 0.0
    if target.demo_changes is not None:
        write_demo_run(args.db, demo_run)
        if not args.quiet:
            print(_demo_news(demo_run, target.demo_changes), file=sys.stderr)
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
        if name == COMPANY:
            raise UserError("--updated-since does not apply to company")
        filters["updated_since"] = args.updated_since
    with contextlib.ExitStack() as stack:
        # Written to a file next to the target, which replaces it only once complete.
        out = stack.enter_context(_replacing(args.output)) if args.output else sys.stdout
        count = 0
        async with open_target(args) as target:
            writer = _Writer(out, args.format)
            if name == COMPANY:
                writer.write(await target.client.company.get())
                count = 1
            else:
                async for item in getattr(target.client, name).list(**filters):
                    writer.write(item)
                    count += 1
    if args.output and not args.quiet:
        print(f"wrote {count:,} {name} to {args.output}", file=sys.stderr)
    return 0


class _Writer:
    """Writes records as JSON Lines or CSV (the header from the first record's fields)."""

    def __init__(self, out: IO[str], fmt: str) -> None:
        self.out = out
        self.csv = fmt == "csv"
        self._writer: csv.DictWriter[str] | None = None

    def write(self, item: Any) -> None:
        if not self.csv:
            self.out.write(record_json(item) + "\n")
            return
        if self._writer is None:
            fields = [f.name for f in attrs.fields(type(item))]
            self._writer = csv.DictWriter(self.out, fieldnames=fields, extrasaction="ignore")
            self._writer.writeheader()
        self._writer.writerow(_flatten(json.loads(record_json(item))))


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
