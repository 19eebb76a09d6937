"""Mirror a Harvest account into SQLite: full first run, incremental after, resumable.

Each resource gets one table ``(id INTEGER PRIMARY KEY, updated_at TEXT, data TEXT)`` with
the full record as JSON. Rows are upserted page by page, each page in its own
transaction; a resource's checkpoint (the ``updated_since`` for the next run) is written in
the same transaction as its last page, so a sync killed at any point resumes without
losing or duplicating rows. Harvest hard-deletes and keeps no tombstones: ``reconcile``
lists every id and removes local rows Harvest no longer has.

`sync_account` writes on the event loop's thread (each page's transaction is short),
but leaves SQLite's WAL checkpoints, which write the database file and wait for the
disk, to a helper thread with its own connection, so that a slow disk never stalls the
requests in flight.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import inspect
import logging
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from . import _json

if TYPE_CHECKING:
    from ._client import HarvestClient
    from ._pagination import Paginator

__all__ = [
    "RESOURCES",
    "MeteredLimiter",
    "ResourceSpec",
    "SyncResult",
    "SyncStats",
    "sync_account",
]

#: Overlap kept between runs so records updated while a run was listing are not missed
#: even with some clock skew between this machine and Harvest.
CHECKPOINT_OVERLAP = dt.timedelta(minutes=5)


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@attrs.frozen
class ResourceSpec:
    """One mirrored resource: its table and how to list it."""

    name: str
    list_all: Callable[[HarvestClient, dt.datetime | None], Paginator[Any]]
    incremental: bool = True


def _lister(attr: str) -> Callable[[HarvestClient, dt.datetime | None], Paginator[Any]]:
    def list_all(client: HarvestClient, since: dt.datetime | None) -> Paginator[Any]:
        resource = getattr(client, attr)
        if since is None:
            return resource.list()  # type: ignore[no-any-return]
        return resource.list(updated_since=since)  # type: ignore[no-any-return]

    return list_all


#: Every account-wide list of the API, in dependency-friendly order.
RESOURCES: tuple[ResourceSpec, ...] = tuple(
    ResourceSpec(name, _lister(name))
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
        self.inner = inner
        self.requests = 0
        self.wait_seconds = 0.0
        self._release = getattr(inner, "release", None)
        self._pause = getattr(inner, "pause", None)

    async def acquire(self) -> Any:
        start = time.perf_counter()
        handle = await self.inner.acquire()
        self.wait_seconds += time.perf_counter() - start
        self.requests += 1
        return handle

    async def release(self, handle: Any) -> None:
        if self._release is not None:
            await self._release(handle)

    async def pause(self, seconds: float) -> None:
        if self._pause is not None:
            await self._pause(seconds)


def open_db(path: str | Path) -> sqlite3.Connection:
    """Open (and create if needed) the mirror database."""
    db = sqlite3.connect(str(path), isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute(
        "CREATE TABLE IF NOT EXISTS sync_state (resource TEXT PRIMARY KEY, "
        "updated_since TEXT, completed_at TEXT NOT NULL)"
    )
    return db


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


def _ensure_table(db: sqlite3.Connection, name: str) -> None:
    db.execute(
        f'CREATE TABLE IF NOT EXISTS "{name}" (id INTEGER PRIMARY KEY, updated_at TEXT, '
        "data TEXT NOT NULL)"
    )
    db.execute(f'CREATE INDEX IF NOT EXISTS "{name}_updated_at" ON "{name}" (updated_at)')


def _checkpoint(db: sqlite3.Connection, name: str) -> dt.datetime | None:
    row = db.execute("SELECT updated_since FROM sync_state WHERE resource = ?", (name,)).fetchone()
    if row is None or row[0] is None:
        return None
    return dt.datetime.fromisoformat(row[0])


def record_json(model: Any) -> str:
    """The record as JSON text (decimals as numbers, exactly as Harvest sent them).

    The same JSON as the converter's unstructuring through `_json.dumps` (dates as
    ``YYYY-MM-DD``, timestamps as UTC ``...Z``, ``null`` kept), encoded by msgspec's
    C encoder; keys come in alphabetical order.
    """
    return _json.encode_model(model)


def _row(model: Any) -> tuple[int, str | None, str]:
    updated = getattr(model, "updated_at", None)
    return (
        model.id,
        updated.isoformat().replace("+00:00", "Z") if updated is not None else None,
        record_json(model),
    )


async def _pages(paginator: Paginator[Any]) -> AsyncIterator[list[Any]]:
    async for page in paginator.pages():
        yield page.items


async def sync_resource(
    client: HarvestClient,
    db: sqlite3.Connection,
    spec: ResourceSpec,
    *,
    full: bool = False,
    reconcile: bool = False,
    on_page: Callable[[str, int], None] | None = None,
    clock: Callable[[], dt.datetime] = _utc_now,
) -> SyncStats:
    """Mirror one resource; see the module docstring for the guarantees.

    ``clock`` gives the current time as Harvest sees it: the next run asks for records
    updated since this run started (less `CHECKPOINT_OVERLAP`).
    """
    started = time.perf_counter()
    stats = SyncStats(spec.name)
    _ensure_table(db, spec.name)
    incremental = (
        spec.incremental
        and "updated_since" in inspect.signature(getattr(client, spec.name).list).parameters
    )
    since = None if full or not incremental else _checkpoint(db, spec.name)
    stats.mode = "incremental" if since is not None else "full"
    run_started = clock()
    seen: set[int] | None = set() if reconcile and since is None else None
    pages = _pages(spec.list_all(client, since))
    pending: list[Any] | None = await anext(pages, None)
    while pending is not None:
        following = await anext(pages, None)
        rows = [_row(item) for item in pending if getattr(item, "id", None) is not None]
        if seen is not None:
            seen.update(r[0] for r in rows)
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany(
                f'INSERT INTO "{spec.name}" (id, updated_at, data) VALUES (?, ?, ?) '
                "ON CONFLICT(id) DO UPDATE SET updated_at = excluded.updated_at, "
                "data = excluded.data",
                rows,
            )
            if following is None and not reconcile:
                _write_checkpoint(db, spec.name, run_started)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        stats.rows_written += len(rows)
        stats.pages += 1
        if on_page is not None:
            on_page(spec.name, len(rows))
        pending = following
    if stats.pages == 0 and not reconcile:
        db.execute("BEGIN IMMEDIATE")
        _write_checkpoint(db, spec.name, run_started)
        db.execute("COMMIT")
    if reconcile:
        if seen is None:
            seen = set()
            async for items in _pages(spec.list_all(client, None)):
                seen.update(item.id for item in items if getattr(item, "id", None) is not None)
        stats.deleted = _delete_missing(db, spec.name, seen, run_started)
    stats.total_rows = db.execute(f'SELECT COUNT(*) FROM "{spec.name}"').fetchone()[0]
    stats.seconds = time.perf_counter() - started
    return stats


def _write_checkpoint(db: sqlite3.Connection, name: str, run_started: dt.datetime) -> None:
    since = (run_started - CHECKPOINT_OVERLAP).isoformat()
    db.execute(
        "INSERT INTO sync_state (resource, updated_since, completed_at) VALUES (?, ?, ?) "
        "ON CONFLICT(resource) DO UPDATE SET updated_since = excluded.updated_since, "
        "completed_at = excluded.completed_at",
        (name, since, dt.datetime.now(dt.UTC).isoformat()),
    )


def _delete_missing(
    db: sqlite3.Connection, name: str, seen: set[int], run_started: dt.datetime
) -> int:
    local = [row[0] for row in db.execute(f'SELECT id FROM "{name}"')]
    gone = [(i,) for i in local if i not in seen]
    db.execute("BEGIN IMMEDIATE")
    try:
        db.executemany(f'DELETE FROM "{name}" WHERE id = ?', gone)
        _write_checkpoint(db, name, run_started)
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return len(gone)


async def sync_company(client: HarvestClient, db: sqlite3.Connection) -> SyncStats:
    """The company is one record: stored with id 1 in table ``company``."""
    started = time.perf_counter()
    _ensure_table(db, "company")
    company = await client.company.get()
    db.execute("BEGIN IMMEDIATE")
    db.execute(
        'INSERT INTO "company" (id, updated_at, data) VALUES (1, NULL, ?) '
        "ON CONFLICT(id) DO UPDATE SET data = excluded.data",
        (record_json(company),),
    )
    db.execute("COMMIT")
    return SyncStats(
        "company",
        rows_written=1,
        pages=1,
        total_rows=1,
        mode="full",
        seconds=time.perf_counter() - started,
    )


async def sync_account(
    client: HarvestClient,
    db_path: str | Path,
    *,
    resources: Sequence[ResourceSpec] = RESOURCES,
    full: bool = False,
    reconcile: bool = False,
    concurrency: int = 4,
    on_page: Callable[[str, int], None] | None = None,
    clock: Callable[[], dt.datetime] = _utc_now,
) -> list[SyncStats]:
    """Mirror every resource of the account into the SQLite file at ``db_path``.

    Resources are synced ``concurrency`` at a time; the client's rate limiter keeps the
    whole run within Harvest's limit.
    """
    db = open_db(db_path)
    # The checkpointer's thread copies the WAL into the database as it grows; the
    # writer's own checkpoint (which rewinds the WAL, and would wait for the disk on
    # the loop's thread) is kept as a backstop, ten times rarer than SQLite's default.
    db.execute(f"PRAGMA wal_autocheckpoint={WAL_BACKSTOP_PAGES}")
    checkpointer = _Checkpointer(db_path)
    checkpointer.start()
    try:
        gate = asyncio.Semaphore(max(1, concurrency))

        async def one(spec: ResourceSpec) -> SyncStats:
            async with gate:
                return await sync_resource(
                    client,
                    db,
                    spec,
                    full=full,
                    reconcile=reconcile,
                    on_page=on_page,
                    clock=clock,
                )

        # The company (one request) goes alongside the lists, not before them.
        tasks = [asyncio.ensure_future(sync_company(client, db))]
        tasks += [asyncio.ensure_future(one(spec)) for spec in resources]
        try:
            results: list[SyncStats] = await asyncio.gather(*tasks)
        except BaseException:
            # One resource failed (or the sync was cancelled): stop the others before
            # the database closes under them.
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        return results
    finally:
        try:
            await checkpointer.stop()
        finally:
            db.close()


def table_counts(db_path: str | Path) -> dict[str, int]:
    """Rows per table of a mirror database."""
    db = sqlite3.connect(str(db_path))
    try:
        names = [
            r[0]
            for r in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name != 'sync_state'"
            )
        ]
        return {n: db.execute(f'SELECT COUNT(*) FROM "{n}"').fetchone()[0] for n in names}
    finally:
        db.close()
