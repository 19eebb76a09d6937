"""Mirror Harvest accounts into typed tables: full first run, incremental after, resumable.

Each resource gets a table derived from its model (`harvest_async._tables`): a column
per field, nested records flattened to ``<field>_<subfield>``, lists in child tables
``<table>_<field>``, ``account_id`` in every primary key. The database is a target
(`harvest_async._targets.Target`): SQLite (a path, the default), PostgreSQL
(``postgresql://...``) or DuckDB (``duckdb:///path``). Rows are upserted page by page,
each page in its own transaction; the page's ``links.next`` is written in that same
transaction, so a sync killed mid-list resumes from the page after the last one
committed, and a resource's checkpoint (the ``updated_since`` for the next run) is
written with its last page, so a sync killed at any point resumes without losing or
duplicating rows. A resume URL Harvest refuses (a 4xx answer) falls back to the
resource's checkpoint.

A page-based list is read by offset (``page=N``), so a record deleted while the list is
being walked shifts the later records one place back and one of them is never served
(records created meanwhile shift them forward: one is served twice, which is harmless).
A walk whose pages report different ``total_entries`` was changed under it and is not
trusted: the list is walked again (at most `MAX_REWALKS` times), and if it never holds
still the checkpoint is left where it was, so the next run lists those records again.
Cursor-based lists (``cursor=`` in ``links.next``) resume after the last id served and
are not affected. See https://help.getharvest.com/api-v2/introduction/overview/pagination/.

Harvest hard-deletes and keeps no tombstones: ``reconcile`` lists every id and removes
local rows Harvest no longer has, but only rows Harvest confirms are gone: absent from a
second walk done after the first, or answered 404 by a GET of that id. Records found by
these walks are upserted too, so a record missed by an earlier run comes back.

A SQLite (or DuckDB) target runs its statements in one worker thread of its own, one
call after another, so a page being written never holds back the requests in flight on
the event loop (the paginator fetches the next page meanwhile); SQLite's WAL
checkpoints, which write the database file and wait for the disk, run in another helper
thread with its own connection.

Database problems (a missing folder, a directory, a read-only file or place, a file that
is not a SQLite database, a corrupt database, a full disk, a mirror of the older JSON
layout) raise `SyncDatabaseError` with a one-line reason; a database that fails
``PRAGMA quick_check`` is refused before anything is written to it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import datetime as dt
import functools
import importlib
import inspect
import logging
import pkgutil
import re
import sqlite3
import threading
import time
import typing
from collections.abc import Awaitable, Callable, Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import attrs

from ._converter import encode_model
from ._errors import APIError, NotFoundError
from ._ratelimit import Priority, RateLimiter, as_bulk, as_rate_limiter
from ._tables import Child, Kind, Owned, Table, owned_table, table_for
from ._targets import (
    Between,
    State,
    StateWrite,
    SyncDatabaseError,
    Target,
    all_tables,
    child_rows,
    count_query,
    delete_statements,
    file_lock,
    ids_query,
    missing_columns,
    month_counts_of,
    month_counts_query,
    old_layout,
    quote,
    release_file_lock,
    reset_statements,
    state_queries,
    state_statements,
)
from .models.company import Company

if TYPE_CHECKING:
    from ._client import HarvestClient
    from ._pagination import Page, Paginator

__all__ = [
    "CHILD_PARENTS",
    "MAX_REWALKS",
    "REPORT_FIRST_MONTHS",
    "REPORT_REPULL",
    "RESOURCES",
    "ChildSpec",
    "MeteredLimiter",
    "ReportSpec",
    "ResourceSpec",
    "SQLiteTarget",
    "SyncDatabaseError",
    "Target",
    "SyncResult",
    "SyncStats",
    "child_lists",
    "children_of",
    "open_target",
    "report_specs",
    "report_windows",
    "sync_account",
    "sync_children",
    "sync_reports",
    "window_column",
]

#: Overlap kept between runs so records updated while a run was listing are not missed
#: even with some clock skew between this machine and Harvest.
CHECKPOINT_OVERLAP = dt.timedelta(minutes=5)

#: Walks of a list repeated, after the first, while its pages disagree on
#: ``total_entries`` (the list changed while it was being walked).
MAX_REWALKS = 2


_T = TypeVar("_T")


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@attrs.frozen
class ResourceSpec:
    """One mirrored resource: its table and how to list it.

    Attributes:
        name: The table (and, for `RESOURCES`, the client attribute).
        list_all: Lists the records updated since a time, or all of them for ``None``.
        incremental: Whether ``updated_since`` may be used (else every run is full).
        get_one: Fetches one record by id (raising `NotFoundError` once it is gone);
            ``reconcile`` then confirms a few deletions by GET rather than a second
            walk of the whole list. ``None`` where there is no such call.
        model: The records' model; by default the one the client's ``list`` of
            ``name`` returns.
        windowed: Whether ``reconcile`` may count the list per date window first
            (where `window_column` finds one); else it walks the list whole.
    """

    name: str
    list_all: Callable[[HarvestClient, dt.datetime | None], Paginator[Any]]
    incremental: bool = True
    get_one: Callable[[HarvestClient, int], Awaitable[Any]] | None = None
    model: type | None = None
    windowed: bool = True

    @property
    def table(self) -> Table:
        """The table derived from the model (`harvest_async._tables`)."""
        model = self.model or list_models().get(self.name, _Record)
        return table_for(self.name, model)


@attrs.frozen(kw_only=True)
class _Record:
    """What a list of no known model is stored as: its ids and update times."""

    id: int | None = None
    updated_at: dt.datetime | None = None


@functools.cache
def list_models() -> dict[str, type]:
    """The model of each account-wide list, read from the resources' ``list`` signatures.

    Keyed by the list's path (``/time_entries`` -> ``time_entries``), which is also the
    client's attribute and the table's name.
    """
    from . import resources
    from .resources._base import OPERATION_ATTR, Resource

    found: dict[str, type] = {}
    for info in pkgutil.iter_modules(resources.__path__):
        module = importlib.import_module(f"{resources.__name__}.{info.name}")
        for value in vars(module).values():
            if not (isinstance(value, type) and issubclass(value, Resource)):
                continue
            lister = value.__dict__.get("list")
            for method, path in getattr(lister, OPERATION_ATTR, ()):
                if method != "GET" or not path.startswith("/") or path.count("/") != 1:
                    continue
                hint = typing.get_type_hints(lister).get("return")
                args = typing.get_args(hint)
                if len(args) == 1 and attrs.has(args[0]):
                    found[path[1:]] = args[0]
    return found


def _lister(attr: str) -> Callable[[HarvestClient, dt.datetime | None], Paginator[Any]]:
    def list_all(client: HarvestClient, since: dt.datetime | None) -> Paginator[Any]:
        resource = getattr(client, attr)
        if since is None:
            return resource.list()  # type: ignore[no-any-return]
        return resource.list(updated_since=since)  # type: ignore[no-any-return]

    return list_all


def _getter(attr: str) -> Callable[[HarvestClient, int], Awaitable[Any]]:
    async def get_one(client: HarvestClient, record_id: int) -> Any:
        return await getattr(client, attr).get(record_id)

    return get_one


#: Lists whose records are fetched by their parent and id, not by id alone.
_NO_GET = frozenset({"task_assignments", "user_assignments"})

#: Every account-wide list of the API, in dependency-friendly order.
RESOURCES: tuple[ResourceSpec, ...] = tuple(
    ResourceSpec(name, _lister(name), get_one=None if name in _NO_GET else _getter(name))
    for name in (
        "clients",
        "contacts",
        "users",
        "roles",
        "tasks",
        "projects",
        "task_assignments",
        "user_assignments",
        "expense_categories",
        "invoice_item_categories",
        "estimate_item_categories",
        "time_entries",
        "expenses",
        "invoices",
        "estimates",
    )
)


#: The parents whose nested lists (`child_lists`) a sync mirrors: each list is fetched
#: per parent, and only for the parents updated since that list's last run.
CHILD_PARENTS = ("invoices", "estimates")

#: A list nested under one record: ``/invoices/{invoiceId}/messages``.
_NESTED_PATH = re.compile(r"^/(\w+)/\{(\w+)Id\}/(\w+)$")


@attrs.frozen
class ChildSpec:
    """A list nested under the records of a mirrored resource (an invoice's messages).

    Attributes:
        name: Its table (``invoice_messages``).
        parent: The parent resource (``invoices``), a client attribute.
        parent_key: The column holding the parent's id (``invoice_id``).
        method: The parent resource's method listing it (``messages``).
        model: The records' model.
    """

    name: str
    parent: str
    parent_key: str
    method: str
    model: type

    @property
    def table(self) -> Table:
        """`table_for`'s table of the model, with ``parent_key`` after ``account_id``."""
        return owned_table(self.name, self.model, ((self.parent_key, Kind.BIGINT),))

    def list_for(self, client: HarvestClient, parent_id: int) -> Paginator[Any]:
        """The list under one parent."""
        lister = getattr(getattr(client, self.parent), self.method)
        return lister(parent_id)  # type: ignore[no-any-return]


@functools.cache
def child_lists() -> tuple[ChildSpec, ...]:
    """Every list nested under a record of `CHILD_PARENTS`, read from the resources.

    A ``GET /<parent>/{<owner>Id}/<list>`` operation returning a `Paginator` of a model
    gives the table ``<owner>_<list>`` with the column ``<owner>_id``.
    """
    from . import resources
    from ._pagination import Paginator
    from .resources._base import OPERATION_ATTR, Resource

    found: dict[str, ChildSpec] = {}
    for info in pkgutil.iter_modules(resources.__path__):
        module = importlib.import_module(f"{resources.__name__}.{info.name}")
        for value in vars(module).values():
            if not (isinstance(value, type) and issubclass(value, Resource)):
                continue
            for attr, function in vars(value).items():
                for method, path in getattr(function, OPERATION_ATTR, ()):
                    match = _NESTED_PATH.match(path)
                    if method != "GET" or match is None or match[1] not in CHILD_PARENTS:
                        continue
                    hint = typing.get_type_hints(function).get("return")
                    args = typing.get_args(hint)
                    if typing.get_origin(hint) is not Paginator or not attrs.has(args[0]):
                        continue
                    owner = re.sub(r"(?<!^)([A-Z])", r"_\1", match[2]).lower()
                    name = f"{owner}_{match[3]}"
                    found[name] = ChildSpec(name, match[1], f"{owner}_id", attr, args[0])
    return tuple(found[name] for name in sorted(found))


def children_of(parent: str) -> tuple[ChildSpec, ...]:
    """The nested lists mirrored with ``parent`` (none outside `CHILD_PARENTS`)."""
    return tuple(child for child in child_lists() if child.parent == parent)


@attrs.define
class SyncStats:
    """What one resource's sync did."""

    name: str
    rows_written: int = 0
    pages: int = 0
    deleted: int = 0
    total_rows: int = 0
    mode: str = "full"
    seconds: float = 0.0


@attrs.define
class SyncResult:
    """What a whole sync did."""

    resources: list[SyncStats]
    requests: int
    seconds: float
    limiter_wait_seconds: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "resources": [attrs.asdict(r) for r in self.resources],
            "requests": self.requests,
            "seconds": round(self.seconds, 3),
            "limiter_wait_seconds": round(self.limiter_wait_seconds, 3),
        }


class MeteredLimiter:
    """Wraps a limiter to count requests and the time spent waiting for slots."""

    def __init__(self, inner: Any) -> None:
        self.inner: RateLimiter = as_rate_limiter(inner)
        self.requests = 0
        self.wait_seconds = 0.0

    async def acquire(
        self, *, priority: Priority | None = None, max_wait: float | None = None
    ) -> Any:
        start = time.perf_counter()
        handle = await self.inner.acquire(priority=priority, max_wait=max_wait)
        self.wait_seconds += time.perf_counter() - start
        self.requests += 1
        return handle

    async def release(self, handle: Any) -> None:
        await self.inner.release(handle)

    async def pause(self, seconds: float) -> None:
        await self.inner.pause(seconds)


#: What to do with a corrupt mirror.
_CORRUPT_ADVICE = "restore it from a backup or sync into a new file"


def _database_error(path: str | Path, exc: sqlite3.Error) -> SyncDatabaseError:
    """``exc`` as a `SyncDatabaseError` naming ``path`` and the likely cause."""
    if isinstance(exc, SyncDatabaseError):
        return exc
    code = getattr(exc, "sqlite_errorname", None) or ""
    text = str(exc)
    where = Path(path)
    if code.startswith("SQLITE_FULL") or "disk is full" in text:
        why = "the database or the disk is full"
    elif code.startswith("SQLITE_READONLY") or "readonly database" in text:
        why = "the database is read-only"
    elif code.startswith("SQLITE_NOTADB") or "not a database" in text:
        why = "the file is not a SQLite database"
    elif code.startswith("SQLITE_CORRUPT") or "malformed" in text:
        why = f"the database is corrupt; {_CORRUPT_ADVICE}"
    elif code.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "is locked" in text:
        why = "the database is locked by another program"
    elif code.startswith("SQLITE_CANTOPEN") or "unable to open" in text:
        if where.is_dir():
            why = "it is a directory, not a database file"
        elif not where.parent.is_dir():
            why = "its folder does not exist"
        else:
            why = "cannot open or create it there (permission denied or read-only)"
    else:
        why = text
    return SyncDatabaseError(f"database {path}: {why}")


def open_db(path: str | Path) -> sqlite3.Connection:
    """Open (and create if needed) the mirror database.

    Raises:
        SyncDatabaseError: The file cannot be opened, is not a SQLite database, or
            fails ``PRAGMA quick_check`` (checked before anything is written to it).
    """
    try:
        db = sqlite3.connect(str(path), isolation_level=None)
    except sqlite3.Error as exc:
        raise _database_error(path, exc) from exc
    try:
        if [row[0] for row in db.execute("PRAGMA quick_check")] != ["ok"]:
            raise SyncDatabaseError(
                f"database {path}: the database is corrupt (PRAGMA quick_check failed); "
                f"{_CORRUPT_ADVICE}"
            )
        state = {row[1] for row in db.execute("PRAGMA table_info(sync_state)")}
        if state and "account_id" not in state:
            raise old_layout(str(path))
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        for statement in _SQLITE_STATE:
            db.execute(statement)
    except sqlite3.Error as exc:
        db.close()
        raise _database_error(path, exc) from exc
    except BaseException:
        db.close()
        raise
    return db


@contextlib.contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``, rolled back if the body (or the commit) fails.

    SQLite rolls a transaction back by itself on some errors (a full disk, an I/O
    error); a ``ROLLBACK`` then fails with "no transaction is active", and that error
    must not replace the one that matters.
    """
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            try:
                db.execute("ROLLBACK")
            except sqlite3.Error as exc:  # the first error is the one to report
                _log.debug("rollback failed: %s", exc)
        raise


_log = logging.getLogger("harvest_async.sync")

#: WAL pages (4 KiB each) after which the writing connection checkpoints itself; the
#: checkpointer thread keeps most of that work off the event loop's thread.
WAL_BACKSTOP_PAGES = 10_000


class _Checkpointer:
    """WAL checkpoints of a mirror database, off the event loop's thread.

    This thread, with its own connection, runs a passive checkpoint (which never blocks
    the writer) every ``interval`` seconds, then one that empties the WAL when stopped.
    Only the writer can rewind the WAL, at its own (rarer, `WAL_BACKSTOP_PAGES`)
    checkpoints, which then find most pages already copied.
    """

    def __init__(self, path: str | Path, interval: float = 0.5) -> None:
        self._path = str(path)
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="harvest-async-checkpoint", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        try:
            db = sqlite3.connect(self._path, isolation_level=None)
        except sqlite3.Error as exc:  # the writer's backstop checkpoints then do it
            _log.debug("checkpoint thread could not open the database: %s", exc)
            return
        try:
            while not self._stop.wait(self._interval):
                db.execute("PRAGMA wal_checkpoint(PASSIVE)")
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error as exc:
            _log.debug("WAL checkpoint failed: %s", exc)
        finally:
            db.close()

    async def stop(self) -> None:
        """Stop after a last checkpoint, waiting for it without blocking the loop."""
        self._stop.set()
        if self._thread.is_alive():
            await asyncio.to_thread(self._thread.join)


def record_json(model: Any) -> str:
    """The record as JSON text (decimals as numbers, exactly as Harvest sent them).

    The library's one encoder of models (`encode_model`): the converter's unstructuring
    written by `_json.dumps` (dates as ``YYYY-MM-DD``, timestamps as UTC ``...Z``,
    ``null`` kept), keys in the model's field order.
    """
    return encode_model(model)


#: Each kind's SQLite column type. Decimals are kept as their exact text (an affinity of
#: TEXT: SQLite's own NUMERIC would store them as floats); ``sum()`` still reads them.
SQLITE_TYPES: dict[Kind, str] = {
    Kind.BIGINT: "INTEGER",
    Kind.NUMERIC: "DECIMAL_TEXT",
    Kind.TEXT: "TEXT",
    Kind.BOOLEAN: "BOOLEAN",
    Kind.DATE: "DATE",
    Kind.TIMESTAMPTZ: "TIMESTAMPTZ",
    Kind.TIME: "TIME",
    Kind.JSON: "TEXT",
}


def sqlite_value(kind: Kind, value: Any) -> Any:
    """A column's value as SQLite stores it (``Z`` timestamps, exact decimal text)."""
    if value is None:
        return None
    if kind is Kind.TIMESTAMPTZ:
        return format_timestamp(value)
    if kind is Kind.NUMERIC:
        return str(value)
    if kind in (Kind.DATE, Kind.TIME):
        return value.isoformat()
    if kind is Kind.BOOLEAN:
        return int(value)
    return value


class _DecimalSum:
    """SQLite aggregate ``decimal_sum(x)``: the exact sum of decimal text, as text."""

    def __init__(self) -> None:
        self.total: Decimal | None = None

    def step(self, value: Any) -> None:
        if value is None:
            return
        try:
            number = Decimal(str(value))
        except ArithmeticError:
            return
        self.total = number if self.total is None else self.total + number

    def finalize(self) -> str | None:
        return None if self.total is None else str(self.total)


def add_sqlite_functions(db: sqlite3.Connection) -> sqlite3.Connection:
    """Add ``decimal_sum(x)`` to a connection: exact sums of the mirror's decimal columns.

    SQLite's own ``sum()`` reads the exact decimal text as floats; ``decimal_sum`` adds
    them as `decimal.Decimal` and returns the exact total as text.
    """
    db.create_aggregate("decimal_sum", 1, _DecimalSum)  # type: ignore[arg-type]
    return db


def format_timestamp(value: dt.datetime) -> str:
    """An aware timestamp as Harvest writes it: UTC, ``...Z``."""
    if value.tzinfo is not dt.UTC:
        value = value.astimezone(dt.UTC)
    return value.isoformat()[:-6] + "Z"  # "+00:00" is always last


def _isoformat(value: dt.date | dt.time) -> str:
    return value.isoformat()


#: How SQLite stores the kinds it has no type for (`sqlite_value`, compiled into rows).
SQLITE_ENCODERS: dict[Kind, Callable[[Any], Any]] = {
    Kind.TIMESTAMPTZ: format_timestamp,
    Kind.NUMERIC: str,
    Kind.DATE: _isoformat,
    Kind.TIME: _isoformat,
    Kind.BOOLEAN: int,
}


_quote = quote


def _sqlite_value(value: dt.date) -> str:
    """A date or an aware timestamp as the SQLite mirror stores it (text)."""
    if isinstance(value, dt.datetime):
        return format_timestamp(value)
    return value.isoformat()


_SQLITE_STATE = (
    "CREATE TABLE IF NOT EXISTS sync_state (account_id INTEGER NOT NULL, resource TEXT "
    "NOT NULL, updated_since TEXT, completed_at TEXT NOT NULL, "
    "PRIMARY KEY (account_id, resource))",
    "CREATE TABLE IF NOT EXISTS sync_resume (account_id INTEGER NOT NULL, resource TEXT "
    "NOT NULL, url TEXT NOT NULL, since TEXT, total INTEGER, "
    "PRIMARY KEY (account_id, resource))",
)


@attrs.frozen
class _SQLiteTable:
    """The statements of one derived table in SQLite, and its rows' builder."""

    upsert: str
    row: Callable[[int, Any], tuple[Any, ...]]
    children: tuple[tuple[Child, str, str], ...]


def _upsert_statement(name: str, columns: Sequence[str], key: Sequence[str]) -> str:
    names = ", ".join(_quote(c) for c in columns)
    marks = ", ".join("?" for _ in columns)
    sets = ", ".join(f"{_quote(c)} = excluded.{_quote(c)}" for c in columns if c not in key)
    conflict = ", ".join(_quote(c) for c in key)
    action = f"DO UPDATE SET {sets}" if sets else "DO NOTHING"
    return f"INSERT INTO {_quote(name)} ({names}) VALUES ({marks}) ON CONFLICT({conflict}) {action}"


class SQLiteTarget:
    """A SQLite file (`open_db`), its WAL checkpoints in a helper thread (`_Checkpointer`).

    Every statement runs in one worker thread of the target's own, one call after
    another (a page's transaction, a count): SQLite's calls block, and on the event
    loop's thread they would hold back the requests in flight while a page is written.

    Args:
        path: The database file (created if needed).
    """

    def __init__(self, path: str | Path) -> None:
        self.label = str(path)
        self._path = path
        self._tables: dict[str, _SQLiteTable] = {}
        self._lock_file: IO[bytes] | None = None
        self._locked: int | None = None
        self._checkpointer: _Checkpointer | None = None
        self._worker = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="harvest-async-sqlite"
        )
        try:
            # Opened in the worker, the connection is only ever used there.
            self.db = self._worker.submit(open_db, path).result()
        except BaseException:
            self._worker.shutdown()
            raise
        try:
            # The checkpointer's thread copies the WAL into the database as it grows;
            # the writer's own checkpoint (which rewinds the WAL) is kept as a
            # backstop, ten times rarer than SQLite's default.
            self._worker.submit(
                self.db.execute, f"PRAGMA wal_autocheckpoint={WAL_BACKSTOP_PAGES}"
            ).result()
            self._checkpointer = _Checkpointer(path)
            self._checkpointer.start()
        except BaseException:
            self._worker.submit(self.db.close).result()
            self._worker.shutdown()
            raise

    async def _call(self, function: Callable[..., _T], *args: Any) -> _T:
        """``function(*args)`` in the worker thread, its `sqlite3.Error` made ours.

        A cancelled caller leaves the call to finish there (a transaction commits or
        rolls back whole); the calls after it wait for it.
        """

        def run() -> _T:
            try:
                return function(*args)
            except sqlite3.Error as exc:
                raise self._error(exc) from exc

        return await asyncio.get_running_loop().run_in_executor(self._worker, run)

    async def open(self) -> None:
        """Nothing to do: the file is opened by the constructor."""

    def _error(self, exc: sqlite3.Error) -> SyncDatabaseError:
        return _database_error(self._path, exc)

    async def prepare(self, tables: Sequence[Table]) -> set[str]:
        return await self._call(self._prepare, tables)

    def _prepare(self, tables: Sequence[Table]) -> set[str]:
        changed: set[str] = set()
        for table in tables:
            for name, columns, key in all_tables(table):
                present = {row[1] for row in self.db.execute(f"PRAGMA table_info({_quote(name)})")}
                if present and "account_id" not in present:
                    raise old_layout(self.label)
                if not present:
                    defs = ", ".join(
                        f"{_quote(n)} {SQLITE_TYPES[k]}" + (" NOT NULL" if n in key else "")
                        for n, k in columns
                    )
                    keys = ", ".join(_quote(c) for c in key)
                    self.db.execute(f"CREATE TABLE {_quote(name)} ({defs}, PRIMARY KEY ({keys}))")
                    if name == table.name and "updated_at" in dict(columns):
                        self.db.execute(
                            f"CREATE INDEX IF NOT EXISTS {_quote(name + '_updated_at')} "
                            f"ON {_quote(name)} (account_id, updated_at)"
                        )
                    continue
                for column, kind in missing_columns(columns, present):
                    self.db.execute(
                        f"ALTER TABLE {_quote(name)} ADD COLUMN {_quote(column)} "
                        f"{SQLITE_TYPES[kind]}"
                    )
                    changed.add(table.name)
            self._tables[table.name] = self._statements(table)
        return changed

    def _statements(self, table: Table) -> _SQLiteTable:
        main = [n for n, _ in table.column_kinds]
        children = tuple(
            (
                child,
                f"DELETE FROM {_quote(child.table)} WHERE account_id = ? "
                f"AND {_quote(child.parent_key)} = ?",
                _upsert_statement(child.table, [n for n, _ in child.column_kinds], child.key),
            )
            for child in table.children
        )
        return _SQLiteTable(
            _upsert_statement(table.name, main, table.key),
            table.row_builder(SQLITE_ENCODERS),
            children,
        )

    async def state(self, account_id: int, resource: str) -> State | None:
        return await self._call(self._state, account_id, resource)

    def _state(self, account_id: int, resource: str) -> State | None:
        done, resume = (
            self.db.execute(sql, params).fetchone()
            for sql, params in state_queries(account_id, resource)
        )
        if done is None and resume is None:
            return None
        return State(
            done[0] if done is not None else None,
            *(resume if resume is not None else (None, None, None)),
        )

    async def reset(self, resource: str) -> None:
        def run() -> None:
            with _transaction(self.db):
                for sql, params in reset_statements(resource):
                    self.db.execute(sql, params)

        await self._call(run)

    def _changed(self, table: Table, account_id: int, records: Sequence[Any]) -> list[Any]:
        """The records missing here or stored with another ``updated_at``."""
        if not table.has_id or not records:
            return list(records)
        stored: dict[int, Any] = {}
        ids = [r.id for r in records]
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            marks = ", ".join("?" for _ in part)
            stored.update(
                self.db.execute(
                    f"SELECT id, updated_at FROM {_quote(table.name)} "
                    f"WHERE account_id = ? AND id IN ({marks})",
                    (account_id, *part),
                )
            )
        return [
            r
            for r in records
            if r.id not in stored
            or stored[r.id] != sqlite_value(Kind.TIMESTAMPTZ, getattr(r, "updated_at", None))
        ]

    async def write_page(
        self,
        table: Table,
        account_id: int,
        records: Sequence[Any],
        *,
        changes_only: bool,
        state: StateWrite | None,
        resource: str,
    ) -> int:
        plan = self._tables[table.name]

        def run() -> int:
            written = records
            with _transaction(self.db):
                if changes_only:
                    written = self._changed(table, account_id, written)
                row = plan.row
                self.db.executemany(plan.upsert, [row(account_id, r) for r in written])
                for child, delete, insert in plan.children:
                    self.db.executemany(delete, [(account_id, r.id) for r in written])
                    rows = child_rows(child, account_id, table, written, SQLITE_ENCODERS)
                    if rows:
                        self.db.executemany(insert, rows)
                if state is not None:
                    for sql, params in state_statements(account_id, resource, state):
                        self.db.execute(sql, params)
            return len(written)

        return await self._call(run)

    async def ids(
        self,
        table: Table,
        account_id: int,
        *,
        between: Between | None = None,
        updated_since: dt.datetime | None = None,
        owner: tuple[str, int] | None = None,
    ) -> set[int]:
        sql, params = ids_query(
            table,
            account_id,
            between=between,
            updated_since=updated_since,
            owner=owner,
            value=_sqlite_value,
        )
        return await self._call(lambda: {row[0] for row in self.db.execute(sql, params)})

    async def month_counts(self, table: Table, account_id: int, column: str) -> dict[str, int]:
        sql, params = month_counts_query(
            table, account_id, column, month=lambda c: f"substr({c}, 1, 7)"
        )
        return await self._call(lambda: month_counts_of(self.db.execute(sql, params)))

    async def delete(
        self,
        table: Table,
        account_id: int,
        ids: Sequence[int],
        *,
        owned: Sequence[tuple[Table, str]] = (),
    ) -> None:
        pairs = [(account_id, i) for i in ids]

        def run() -> None:
            with _transaction(self.db):
                for statement in delete_statements(table, owned):
                    self.db.executemany(statement, pairs)

        await self._call(run)

    async def count(self, table: Table, account_id: int) -> int:
        sql, params = count_query(table, account_id)
        return await self._call(lambda: int(self.db.execute(sql, params).fetchone()[0]))

    async def lock(self, account_id: int, *, wait: bool) -> None:
        self._lock_file, self._locked = await file_lock(
            Path(f"{self._path}.lock"), account_id, wait=wait, label=self.label
        )

    async def close(self) -> None:
        try:
            if self._checkpointer is not None:
                await self._checkpointer.stop()
        finally:
            try:
                # After the calls still queued (a cancelled page's transaction).
                await asyncio.get_running_loop().run_in_executor(self._worker, self.db.close)
            finally:
                self._worker.shutdown(wait=False)
                release_file_lock(self._lock_file, self._locked)
                self._lock_file = None


def _offset_url(url: str | None) -> bool:
    """Whether a ``links.next`` asks for a page number (not a cursor)."""
    if url is None:
        return False
    names = {part.partition("=")[0] for part in urlsplit(url).query.split("&")}
    return "page" in names and "cursor" not in names


def _first_by_number(url: str) -> str:
    """A ``links.next`` URL turned into its list's first page asked by number."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in ("cursor", "page")]
    return urlunsplit(parts._replace(query=urlencode([*query, ("page", "1")])))


def _window_keys(url: str, first: dt.date, last: dt.date) -> tuple[str, str] | None:
    """The query keys of ``url`` holding ``first`` and ``last`` (as the list sent them)."""
    query = parse_qsl(urlsplit(url).query)
    firsts = [k for k, v in query if v == first.isoformat()]
    lasts = [k for k, v in query if v == last.isoformat()]
    if len(firsts) != 1 or len(lasts) != 1 or firsts == lasts:
        return None
    return firsts[0], lasts[0]


def _with_query(url: str, values: dict[str, dt.date]) -> str:
    """``url`` with the query keys of ``values`` set to those days."""
    parts = urlsplit(url)
    query = [(k, values[k].isoformat() if k in values else v) for k, v in parse_qsl(parts.query)]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _offset_paged(page: Page[Any]) -> bool:
    """Whether ``links.next`` asks for a page number (not a cursor)."""
    return _offset_url(page.next_url)


@attrs.define
class _Walk:
    """What one walk of a list saw."""

    ids: set[int] | None
    pages: int = 0
    #: False when the list was page-based and its pages disagreed on ``total_entries``.
    stable: bool = True


class _ResumeRefused(Exception):
    """Harvest refused the URL an interrupted walk was to resume from."""


def _since_text(since: dt.datetime | None) -> str | None:
    return None if since is None else since.isoformat()


async def _walk(
    client: HarvestClient,
    target: Target,
    spec: ResourceSpec,
    since: dt.datetime | None,
    stats: SyncStats,
    *,
    keep_ids: bool,
    changes_only: bool,
    checkpoint: dt.datetime | None,
    on_page: Callable[[str, int], None] | None,
    resume: State | None = None,
    record_resume: bool = False,
    paginator: Paginator[Any] | None = None,
) -> _Walk:
    """Walk a list once, upserting each page in its own transaction.

    ``changes_only`` counts (in ``stats.rows_written``) only rows that were missing or
    different. ``checkpoint``, when given, is written with the last page of a walk
    found stable (https://help.getharvest.com/api-v2/introduction/overview/pagination/).
    ``record_resume`` keeps each page's ``links.next`` with its rows; ``resume`` starts
    from such a URL (raising `_ResumeRefused` when Harvest answers it with a 4xx).
    ``paginator`` walks that list instead of the resource's (one date window of it).
    """
    walk = _Walk(set() if keep_ids else None)
    totals: set[int] = set()
    by_offset = False
    first_total: int | None = None
    if paginator is None:
        paginator = spec.list_all(client, since)
    if resume is not None and resume.resume_url is not None:
        paginator = paginator.starting_at(resume.resume_url)
        by_offset = _offset_url(resume.resume_url)
        if resume.resume_total is not None:
            totals.add(resume.resume_total)
            first_total = resume.resume_total
    account_id = _account_of(client)
    table = spec.table
    async with contextlib.aclosing(paginator.pages()) as pages:
        try:
            pending: Page[Any] | None = await anext(pages, None)
        except APIError as exc:
            if resume is not None and 400 <= exc.status < 500 and exc.status not in (401, 403, 429):
                raise _ResumeRefused from exc
            raise
        while pending is not None:
            following = await anext(pages, None)
            if pending.total_entries is not None:
                totals.add(pending.total_entries)
                if first_total is None:
                    first_total = pending.total_entries
            by_offset = by_offset or _offset_paged(pending)
            walk.stable = not (by_offset and len(totals) > 1)
            records = [item for item in pending.items if getattr(item, "id", None) is not None]
            if walk.ids is not None:
                walk.ids.update(r.id for r in records)
            state: StateWrite | None = None
            if following is None:
                if checkpoint is not None or record_resume:
                    state = StateWrite(
                        done=True,
                        updated_since=_checkpoint_text(checkpoint)
                        if walk.stable and checkpoint is not None
                        else None,
                    )
            elif record_resume and pending.next_url is not None:
                state = StateWrite(
                    done=False,
                    resume_url=pending.next_url,
                    resume_since=_since_text(since),
                    resume_total=first_total,
                )
            written = await target.write_page(
                table,
                account_id,
                records,
                changes_only=changes_only,
                state=state,
                resource=spec.name,
            )
            stats.rows_written += written
            stats.pages += 1
            walk.pages += 1
            if on_page is not None:
                on_page(spec.name, len(records))
            pending = following
    if walk.pages == 0 and checkpoint is not None:
        await target.write_page(
            table,
            account_id,
            [],
            changes_only=False,
            state=StateWrite(done=True, updated_since=_checkpoint_text(checkpoint)),
            resource=spec.name,
        )
    return walk


def _checkpoint_text(run_started: dt.datetime | None) -> str | None:
    if run_started is None:
        return None
    return (run_started - CHECKPOINT_OVERLAP).isoformat()


def _account_of(client: HarvestClient) -> int:
    return int(client.account_id)


@as_bulk
async def sync_resource(
    client: HarvestClient,
    target: Target,
    spec: ResourceSpec,
    *,
    full: bool = False,
    reconcile: bool = False,
    on_page: Callable[[str, int], None] | None = None,
    clock: Callable[[], dt.datetime] = _utc_now,
    owned: Sequence[tuple[Table, str]] = (),
) -> SyncStats:
    """Mirror one resource; see the module docstring for the guarantees.

    ``clock`` gives the current time as Harvest sees it: the next run asks for records
    updated since this run started (less `CHECKPOINT_OVERLAP`). ``owned`` names the
    tables of rows belonging to the records (``(table, column holding the record's
    id)``: an invoice's messages and payments); a record ``reconcile`` deletes takes
    its rows there with it, in the same transaction.
    """
    started = time.perf_counter()
    stats = SyncStats(spec.name)
    account_id = _account_of(client)
    incremental = (
        spec.incremental
        and "updated_since" in inspect.signature(getattr(client, spec.name).list).parameters
    )
    stored = None if full else await target.state(account_id, spec.name)
    since = None
    if incremental and stored is not None and stored.updated_since is not None:
        since = dt.datetime.fromisoformat(stored.updated_since)
    resume = stored if stored is not None and stored.resume_url is not None else None
    walk_since = since
    if resume is not None:
        walk_since = dt.datetime.fromisoformat(resume.resume_since) if resume.resume_since else None
    stats.mode = "incremental" if walk_since is not None else "full"
    run_started = clock()
    keep_ids = reconcile and walk_since is None and resume is None

    async def walk_once(
        *, changes_only: bool, walk_since: dt.datetime | None, resume: State | None
    ) -> _Walk:
        return await _walk(
            client,
            target,
            spec,
            walk_since,
            stats,
            keep_ids=keep_ids,
            changes_only=changes_only,
            checkpoint=run_started,
            on_page=on_page,
            resume=resume,
            record_resume=True,
        )

    try:
        walk = await walk_once(changes_only=False, walk_since=walk_since, resume=resume)
        if resume is not None:
            stats.mode = "resumed"
    except _ResumeRefused:
        _log.info("%s: Harvest refused the page to resume from; listing it again", spec.name)
        stats.mode = "incremental" if since is not None else "full"
        keep_ids = reconcile and since is None
        walk = await walk_once(changes_only=False, walk_since=since, resume=None)
    for _ in range(MAX_REWALKS):
        if walk.stable:
            break
        _log.info("%s changed while it was listed: listing it again", spec.name)
        walk = await walk_once(changes_only=True, walk_since=since, resume=None)
    if not walk.stable:
        _log.warning(
            "%s kept changing while it was listed: its checkpoint stays where it was, "
            "so the next run lists it again",
            spec.name,
        )
    if reconcile:
        stats.deleted = await _reconcile(
            client, target, spec, walk if keep_ids else None, stats, on_page, owned
        )
    stats.total_rows = await target.count(spec.table, account_id)
    stats.seconds = time.perf_counter() - started
    return stats


async def _reconcile(
    client: HarvestClient,
    target: Target,
    spec: ResourceSpec,
    first: _Walk | None,
    stats: SyncStats,
    on_page: Callable[[str, int], None] | None,
    owned: Sequence[tuple[Table, str]] = (),
) -> int:
    """Delete the local rows whose records Harvest confirms are gone; return how many.

    ``first`` is a full walk already done (the sync's own). Without one, a list with
    date windows (`window_column`) compares counts per window first
    (`_reconcile_windows`); any other list is walked whole here.
    """
    column = window_column(client, spec) if first is None else None
    if column is not None:
        deleted = await _reconcile_windows(client, target, spec, column, stats, on_page, owned)
        if deleted is not None:
            return deleted

    async def walk_all() -> _Walk:
        return await _walk(
            client,
            target,
            spec,
            None,
            stats,
            keep_ids=True,
            changes_only=True,
            checkpoint=None,
            on_page=on_page,
        )

    account_id = _account_of(client)
    if first is None:
        first = await walk_all()
    assert first.ids is not None
    gone = await _settle(
        client,
        target,
        spec,
        await target.ids(spec.table, account_id) - first.ids,
        first,
        walk_all,
        stats,
    )
    if gone:
        await target.delete(spec.table, account_id, sorted(gone), owned=owned)
    return len(gone)


async def _settle(
    client: HarvestClient,
    target: Target,
    spec: ResourceSpec,
    gone: set[int],
    first: _Walk,
    walk_again: Callable[[], Awaitable[_Walk]],
    stats: SyncStats,
) -> set[int]:
    """The ids of ``gone`` (stored, missing from the walk ``first``) Harvest confirms gone.

    An id is confirmed once a second walk that held still misses it too, or a GET of
    it answers 404; a GET is used when that takes fewer requests than walking again
    (and when the second walk did not hold still).
    """
    confirmed = False
    if gone and (spec.get_one is None or len(gone) > first.pages):
        second = await walk_again()
        assert second.ids is not None
        gone = gone - second.ids
        confirmed = second.stable
    if gone and not confirmed:
        if spec.get_one is None:
            _log.warning(
                "%s changed while it was listed: %d deletion(s) left for a later reconcile",
                spec.name,
                len(gone),
            )
            return set()
        gone = await _confirm_gone(client, target, spec, sorted(gone), stats)
    return gone


#: How ``from_``'s description in a ``list`` docstring names the date it filters on.
_WINDOW_DOC = re.compile(r"^\s*from_: Only \w+ with (?:an? )?``(\w+)`` on or after", re.MULTILINE)


def window_column(client: HarvestClient, spec: ResourceSpec) -> str | None:
    """The DATE column a resource's list filters with ``from_``/``to``, if it has one.

    Read from the resource's ``list`` signature (``from_``, ``to`` and ``per_page``) and
    its documentation of ``from_`` (``spent_date`` for time entries and expenses,
    ``issue_date`` for invoices and estimates); the column must be a DATE of the table.
    """
    if not spec.windowed:
        return None
    resource = getattr(client, spec.name, None)
    lister = getattr(type(resource), "list", None)
    if lister is None:
        return None
    if not {"from_", "to", "per_page"} <= inspect.signature(lister).parameters.keys():
        return None
    match = _WINDOW_DOC.search(inspect.getdoc(lister) or "")
    if match is None:
        return None
    column = match.group(1)
    return column if dict(spec.table.column_kinds).get(column) is Kind.DATE else None


@attrs.frozen
class _Window:
    """Days ``first..last`` of a date column, and the rows stored in them."""

    first: dt.date
    last: dt.date
    stored: int
    months: tuple[str, ...]


def _month_window(month: str, stored: int) -> _Window:
    first = dt.date.fromisoformat(f"{month}-01")
    following = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return _Window(first, following - dt.timedelta(days=1), stored, (month,))


def _span(windows: Sequence[_Window]) -> _Window:
    return _Window(
        min(w.first for w in windows),
        max(w.last for w in windows),
        sum(w.stored for w in windows),
        tuple(m for w in windows for m in w.months),
    )


#: Rows of a window listed at once rather than counted month by month (one page).
_LIST_BELOW = 2000


async def _reconcile_windows(
    client: HarvestClient,
    target: Target,
    spec: ResourceSpec,
    column: str,
    stats: SyncStats,
    on_page: Callable[[str, int], None] | None,
    owned: Sequence[tuple[Table, str]] = (),
) -> int | None:
    """Reconcile a dated list by counts first; ``None`` when it cannot be windowed.

    Harvest's ``total_entries`` of a one-record page (``per_page=1``) counts a window
    in one request. The span of the stored rows' months is counted whole; a window
    whose count differs from the rows stored is halved (one half counted, the other's
    count the rest), down to single months (or windows of at most `_LIST_BELOW` rows).
    Only those are listed, and their stored rows missing from the listing are settled
    as in `_settle`
    (https://help.getharvest.com/api-v2/introduction/overview/pagination/).
    """
    account_id = _account_of(client)
    table = spec.table
    counts = await target.month_counts(table, account_id, column)
    if counts.get("", 0):  # rows without the date cannot be windowed
        return None
    if not counts:
        return 0
    resource = getattr(client, spec.name)

    async def first_page(listing: Paginator[Any]) -> Page[Any] | None:
        listing = listing.with_options(prefetch=0, concurrency=1)
        async with contextlib.aclosing(listing.pages()) as pages:
            return await anext(pages, None)

    #: Once a cursor page left its count out: a counting URL by page number, and the
    #: query keys holding its window's first and last days.
    by_number: tuple[str, str, str] | None = None

    async def harvest_count(window: _Window) -> int | None:
        nonlocal by_number
        listing = resource.list(from_=window.first, to=window.last, per_page=1)
        if by_number is not None:
            url, first_key, last_key = by_number
            url = _with_query(url, {first_key: window.first, last_key: window.last})
            page = await first_page(listing.starting_at(url))
            return 0 if page is None else page.total_entries
        page = await first_page(listing)
        if page is None:
            return 0
        if page.total_entries is None and page.next_url is None:
            return len(page.items)
        if page.total_entries is None and page.next_url is not None:
            # A cursor page may leave the count out; the same filters asked by page
            # number (Harvest's deprecated ``page``, still answered) always count, so
            # the next windows are asked that way at once.
            url = _first_by_number(page.next_url)
            keys = _window_keys(url, window.first, window.last)
            if keys is not None:
                by_number = (url, *keys)
            page = await first_page(listing.starting_at(url))
        return None if page is None else page.total_entries

    # Every calendar month from the first stored one to the last (none stored: 0).
    stored_months = sorted(counts)
    months = [_month_window(stored_months[0], counts[stored_months[0]])]
    while months[-1].months[0] != stored_months[-1]:
        following = _next_month(months[-1].first).isoformat()[:7]
        months.append(_month_window(following, counts.get(following, 0)))
    to_list: list[_Window] = []
    # Halve each window whose count differs; a half's count is asked, the other
    # half's is the rest of its parent's (one request per halving).
    pending = [(0, len(months), await harvest_count(_span(months)))]
    while pending:
        start, end, found = pending.pop()
        window = _span(months[start:end])
        if found == window.stored:
            continue
        if end - start == 1 or window.stored <= _LIST_BELOW:
            to_list.append(window)
            continue
        middle = (start + end) // 2
        left = await harvest_count(_span(months[start:middle]))
        if left is None or found is None:
            right = await harvest_count(_span(months[middle:end]))
        else:
            right = found - left
        pending += [(middle, end, right), (start, middle, left)]
    deleted = 0
    for window in to_list:

        async def walk_window(window: _Window = window) -> _Walk:
            return await _walk(
                client,
                target,
                spec,
                None,
                stats,
                keep_ids=True,
                changes_only=True,
                checkpoint=None,
                on_page=on_page,
                paginator=resource.list(from_=window.first, to=window.last),
            )

        listed = await walk_window()
        assert listed.ids is not None
        stored = await target.ids(table, account_id, between=(column, window.first, window.last))
        gone = await _settle(client, target, spec, stored - listed.ids, listed, walk_window, stats)
        if gone:
            await target.delete(table, account_id, sorted(gone), owned=owned)
            deleted += len(gone)
    return deleted


async def _confirm_gone(
    client: HarvestClient,
    target: Target,
    spec: ResourceSpec,
    ids: list[int],
    stats: SyncStats,
) -> set[int]:
    """The ids a GET answers 404 for; the records still there are upserted."""
    assert spec.get_one is not None
    gone: set[int] = set()
    account_id = _account_of(client)
    for record_id in ids:
        try:
            record = await spec.get_one(client, record_id)
        except NotFoundError:
            gone.add(record_id)
            continue
        written = await target.write_page(
            spec.table, account_id, [record], changes_only=True, state=None, resource=spec.name
        )
        stats.rows_written += written
    return gone


@as_bulk
async def sync_children(
    client: HarvestClient,
    target: Target,
    child: ChildSpec,
    *,
    full: bool = False,
    on_page: Callable[[str, int], None] | None = None,
    clock: Callable[[], dt.datetime] = _utc_now,
    concurrency: int = 4,
) -> SyncStats:
    """Mirror a nested list for the parents updated since its last run (all, the first time).

    Run after the parent's own sync: the parents are read from the mirror (those with an
    ``updated_at`` at or after this list's checkpoint), so an unchanged invoice costs no
    request. Each parent's list replaces what was stored under it (rows it no longer
    holds are deleted), in one transaction; the checkpoint (this run's start, less
    `CHECKPOINT_OVERLAP`) is written once every parent is done.
    """
    started = time.perf_counter()
    stats = SyncStats(child.name)
    account_id = _account_of(client)
    stored = None if full else await target.state(account_id, child.name)
    since = None
    if stored is not None and stored.updated_since is not None:
        since = dt.datetime.fromisoformat(stored.updated_since)
    stats.mode = "incremental" if since is not None else "full"
    run_started = clock()
    parent_table = table_for(child.parent, list_models().get(child.parent, _Record))
    parents = sorted(await target.ids(parent_table, account_id, updated_since=since))
    table = child.table
    gate = asyncio.Semaphore(max(1, concurrency))

    async def one(parent_id: int) -> None:
        async with gate:
            records: list[Any] = []
            try:
                async for page in child.list_for(client, parent_id).pages():
                    records += [
                        Owned(r, {child.parent_key: parent_id})
                        for r in page.items
                        if getattr(r, "id", None) is not None
                    ]
                    stats.pages += 1
            except NotFoundError:  # the parent went since its row was written
                records = []
            # Added once written: the parents' writes run at once, and `+= await` would
            # add to a count read before the others'.
            written = await target.write_page(
                table, account_id, records, changes_only=True, state=None, resource=child.name
            )
            stats.rows_written += written
            gone = await target.ids(table, account_id, owner=(child.parent_key, parent_id))
            gone -= {r.id for r in records}
            if gone:
                await target.delete(table, account_id, sorted(gone))
                stats.deleted += len(gone)
            if on_page is not None:
                on_page(child.name, len(records))

    async with asyncio.TaskGroup() as group:
        for parent_id in parents:
            group.create_task(one(parent_id))
    await target.write_page(
        table,
        account_id,
        [],
        changes_only=False,
        state=StateWrite(done=True, updated_since=_checkpoint_text(run_started)),
        resource=child.name,
    )
    stats.total_rows = await target.count(table, account_id)
    stats.seconds = time.perf_counter() - started
    return stats


#: The columns a report row gains: its window (the days it covers, both included) and
#: an ``id`` made of the window's first day and the row's position in the report.
REPORT_COLUMNS: tuple[tuple[str, Kind], ...] = (
    ("id", Kind.BIGINT),
    ("window_from", Kind.DATE),
    ("window_to", Kind.DATE),
)

#: Windows of the dated reports pulled again on every run (the latest ones still change).
REPORT_REPULL = 2

#: Months of the dated reports pulled by a first run (``reports_from`` sets another start):
#: with the project budget, 91 report requests, within one budget of Harvest's reports
#: limit (100 per 15 minutes).
REPORT_FIRST_MONTHS = 10

_ROWS_PER_WINDOW = 1_000_000


@attrs.frozen
class ReportSpec:
    """One Harvest report mirrored into a table keyed by its window.

    Attributes:
        name: Its table (``reports_time_projects``), from the operation's path.
        path: The client attributes leading to its method (``reports``, ``time``,
            ``projects``).
        model: Its rows' model.
        dated: Whether it takes ``from_`` and ``to`` (else it is pulled whole each run,
            its window being the run's day).
    """

    name: str
    path: tuple[str, ...]
    model: type
    dated: bool

    @property
    def table(self) -> Table:
        """`table_for`'s table of the model, after `REPORT_COLUMNS`."""
        return owned_table(self.name, self.model, REPORT_COLUMNS)

    def rows(self, client: HarvestClient, first: dt.date, last: dt.date) -> Paginator[Any]:
        """The report's rows for one window."""
        method: Any = client
        for attr in self.path:
            method = getattr(method, attr)
        if self.dated:
            return method(from_=first, to=last)  # type: ignore[no-any-return]
        return method()  # type: ignore[no-any-return]


@functools.cache
def report_specs() -> tuple[ReportSpec, ...]:
    """Every report operation of the client (``GET /reports/...``), read from the resources."""
    from ._pagination import Paginator
    from .resources import reports
    from .resources._base import OPERATION_ATTR, Resource

    found: dict[str, ReportSpec] = {}
    for value in vars(reports).values():
        if not (isinstance(value, type) and issubclass(value, Resource)):
            continue
        for function in vars(value).values():
            for method, path in getattr(function, OPERATION_ATTR, ()):
                if method != "GET" or not path.startswith("/reports/"):
                    continue
                hint = typing.get_type_hints(function).get("return")
                args = typing.get_args(hint)
                if typing.get_origin(hint) is not Paginator or not attrs.has(args[0]):
                    continue
                parts = tuple(path.strip("/").split("/"))
                dated = {"from_", "to"} <= inspect.signature(function).parameters.keys()
                name = "_".join(parts)
                found[name] = ReportSpec(name, parts, args[0], dated)
    return tuple(found[name] for name in sorted(found))


def _month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _next_month(day: dt.date) -> dt.date:
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def _previous_month(day: dt.date) -> dt.date:
    return (day.replace(day=1) - dt.timedelta(days=1)).replace(day=1)


def report_windows(
    today: dt.date, last_pulled: dt.date | None, first: dt.date | None = None
) -> list[tuple[dt.date, dt.date]]:
    """The month windows a reports run pulls: the `REPORT_REPULL` latest windows pulled
    before, and every month after them up to ``today``'s.

    A first run (``last_pulled`` is ``None``) starts at ``first``'s month, by default
    `REPORT_FIRST_MONTHS` months back (this month included).
    """
    current = _month_start(today)
    if last_pulled is not None:
        start = _month_start(last_pulled)
        for _ in range(REPORT_REPULL - 1):
            start = _previous_month(start)
    elif first is not None:
        start = _month_start(first)
    else:
        start = current
        for _ in range(REPORT_FIRST_MONTHS - 1):
            start = _previous_month(start)
    start = min(start, current)
    windows = []
    while start <= current:
        following = _next_month(start)
        windows.append((start, following - dt.timedelta(days=1)))
        start = following
    return windows


#: The state row of the reports (the first day of the latest window pulled).
_REPORTS_STATE = "reports"


@as_bulk
async def sync_reports(
    client: HarvestClient,
    target: Target,
    *,
    clock: Callable[[], dt.datetime] = _utc_now,
    reports_from: dt.date | None = None,
    on_page: Callable[[str, int], None] | None = None,
) -> list[SyncStats]:
    """Mirror Harvest's reports (`report_specs`) into tables keyed by their window.

    The dated reports (time, expense, uninvoiced) are pulled per calendar month
    (`report_windows`): a first run pulls `REPORT_FIRST_MONTHS` months (or from
    ``reports_from``), later runs pull again the `REPORT_REPULL` latest windows and any
    month since. Each window's rows replace the ones stored for it, in one
    transaction. The project budget report has no window: each run stores it under the
    run's day. Reports have their own rate limit (the client's reports limiter)
    (https://help.getharvest.com/api-v2/introduction/overview/general/#rate-limiting).
    """
    account_id = _account_of(client)
    today = clock().astimezone(dt.UTC).date()
    stored = await target.state(account_id, _REPORTS_STATE)
    last = None
    if stored is not None and stored.updated_since is not None:
        last = dt.date.fromisoformat(stored.updated_since)
    windows = report_windows(today, last, reports_from)
    results: list[SyncStats] = []
    for spec in report_specs():
        started = time.perf_counter()
        stats = SyncStats(spec.name, mode="incremental" if last is not None else "full")
        table = spec.table
        for first, final in windows if spec.dated else [(today, today)]:
            records: list[Any] = []
            async for page in spec.rows(client, first, final).pages():
                stats.pages += 1
                for item in page.items:
                    if len(records) >= _ROWS_PER_WINDOW:
                        raise SyncDatabaseError(
                            f"{spec.name}: more than {_ROWS_PER_WINDOW} rows in one window"
                        )
                    row_id = first.toordinal() * _ROWS_PER_WINDOW + len(records)
                    extra = {"id": row_id, "window_from": first, "window_to": final}
                    records.append(Owned(item, extra))
            written = await target.write_page(
                table, account_id, records, changes_only=False, state=None, resource=spec.name
            )
            stats.rows_written += written
            stale = await target.ids(table, account_id, between=("window_from", first, first))
            stale -= {r.id for r in records}
            if stale:
                await target.delete(table, account_id, sorted(stale))
            if on_page is not None:
                on_page(spec.name, len(records))
        stats.total_rows = await target.count(table, account_id)
        stats.seconds = time.perf_counter() - started
        results.append(stats)
    await target.write_page(
        report_specs()[0].table,
        account_id,
        [],
        changes_only=False,
        state=StateWrite(done=True, updated_since=windows[-1][0].isoformat()),
        resource=_REPORTS_STATE,
    )
    return results


#: The company's table: one row per account.
COMPANY_TABLE = table_for("company", Company)


@as_bulk
async def sync_company(client: HarvestClient, target: Target) -> SyncStats:
    """The company is one record: one row per account in table ``company``."""
    started = time.perf_counter()
    company = await client.company.get()
    await target.write_page(
        COMPANY_TABLE,
        _account_of(client),
        [company],
        changes_only=False,
        state=None,
        resource="company",
    )
    return SyncStats(
        "company",
        rows_written=1,
        pages=1,
        total_rows=1,
        mode="full",
        seconds=time.perf_counter() - started,
    )


def open_target(db: str | Path | Target) -> Target:
    """The target a ``db`` names: a SQLite path, ``postgresql://...`` or ``duckdb:///...``.

    A `Target` is returned as it is.

    Raises:
        SyncDatabaseError: The database cannot be opened.
        ConfigurationError: The driver of its kind is not installed (naming the extra).
    """
    if not isinstance(db, (str, Path)):
        return db
    text = str(db)
    if text.startswith(("postgresql://", "postgres://")):
        from ._target_postgres import PostgresTarget

        return PostgresTarget(text)
    if text.startswith("duckdb://"):
        from ._target_duckdb import DuckDBTarget

        return DuckDBTarget(text)
    if text.startswith("sqlite:///"):
        text = text.removeprefix("sqlite:///")
    return SQLiteTarget(text)


@as_bulk
async def sync_account(
    client: HarvestClient,
    db_path: str | Path | Target,
    *,
    resources: Sequence[ResourceSpec] = RESOURCES,
    full: bool = False,
    reconcile: bool = False,
    concurrency: int = 4,
    on_page: Callable[[str, int], None] | None = None,
    clock: Callable[[], dt.datetime] = _utc_now,
    company: bool = True,
    wait_lock: bool = False,
    children: bool = True,
    reports: bool = False,
    reports_from: dt.date | None = None,
) -> list[SyncStats]:
    """Mirror every resource of the client's account into a database.

    ``db_path`` is a SQLite file, a ``postgresql://`` URL, a ``duckdb:///`` URL, or a
    `Target` (left open). Resources are synced ``concurrency`` at a time; the client's
    rate limiter keeps the whole run within Harvest's limit. ``company=False`` leaves
    the company out. The lists nested under a resource's records (`child_lists`: an
    invoice's messages and payments, an estimate's messages) follow that resource,
    fetched only for the records updated since their last run (``children=False``
    leaves them out). ``reports=True`` also mirrors the reports (`sync_reports`, from
    ``reports_from`` on a first run). Two syncs of one account into one database never
    interleave: the second waits (``wait_lock=True``) or fails with `SyncDatabaseError`.

    Raises:
        SyncDatabaseError: The database cannot be opened or written (the pages
            committed before stay, and the checkpoints never run ahead of them), holds
            the older JSON layout, or another sync of the account holds its lock.
    """
    owned = isinstance(db_path, (str, Path))
    label = str(db_path) if isinstance(db_path, (str, Path)) else db_path.label
    try:
        target = open_target(db_path)
    except sqlite3.Error as exc:
        raise _database_error(label, exc) from exc
    try:
        await target.open()
        await target.lock(_account_of(client), wait=wait_lock)
        nested = [c for spec in resources for c in children_of(spec.name)] if children else []
        tables = [spec.table for spec in resources] + [c.table for c in nested]
        if reports:
            tables += [spec.table for spec in report_specs()]
        changed = await target.prepare([COMPANY_TABLE, *tables] if company else tables)
        for name in sorted(changed):  # new columns: list the resource whole once
            _log.info("%s gained columns: its next walk is full", name)
            await target.reset(name)
        gate = asyncio.Semaphore(max(1, concurrency))

        async def one(spec: ResourceSpec) -> list[SyncStats]:
            async with gate:
                done = [
                    await sync_resource(
                        client,
                        target,
                        spec,
                        full=full,
                        reconcile=reconcile,
                        on_page=on_page,
                        clock=clock,
                        owned=[(c.table, c.parent_key) for c in nested if c.parent == spec.name],
                    )
                ]
                for child in nested:
                    if child.parent == spec.name:
                        done.append(
                            await sync_children(
                                client, target, child, full=full, on_page=on_page, clock=clock
                            )
                        )
                return done

        # The company (one request) goes alongside the lists, not before them.
        async def company_row() -> list[SyncStats]:
            return [await sync_company(client, target)]

        async def report_rows() -> list[SyncStats]:
            return await sync_reports(
                client, target, clock=clock, reports_from=reports_from, on_page=on_page
            )

        tasks = [asyncio.ensure_future(company_row())] if company else []
        if reports:
            tasks.append(asyncio.ensure_future(report_rows()))
        tasks += [asyncio.ensure_future(one(spec)) for spec in resources]
        try:
            results = [s for done in await asyncio.gather(*tasks) for s in done]
        except BaseException:
            # One resource failed (or the sync was cancelled): stop the others before
            # the database closes under them.
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        return results
    except sqlite3.Error as exc:
        raise _database_error(label, exc) from exc
    finally:
        if owned:
            await target.close()


def table_counts(db_path: str | Path) -> dict[str, int]:
    """Rows per table of a mirror database."""
    db = sqlite3.connect(str(db_path))
    try:
        names = [
            r[0]
            for r in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT IN ('sync_state', 'sync_resume')"
            )
        ]
        return {n: db.execute(f'SELECT COUNT(*) FROM "{n}"').fetchone()[0] for n in names}
    finally:
        db.close()
