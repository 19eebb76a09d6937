"""Mirror a Harvest account into SQLite: full first run, incremental after, resumable.

Each resource gets one table ``(id INTEGER PRIMARY KEY, updated_at TEXT, data TEXT)`` with
the full record as JSON. Rows are upserted page by page, each page in its own
transaction; a resource's checkpoint (the ``updated_since`` for the next run) is written in
the same transaction as its last page, so a sync killed at any point resumes without
losing or duplicating rows.

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

`sync_account` writes on the event loop's thread (each page's transaction is short),
but leaves SQLite's WAL checkpoints, which write the database file and wait for the
disk, to a helper thread with its own connection, so that a slow disk never stalls the
requests in flight.

Database problems (a missing folder, a directory, a read-only file or place, a file that
is not a SQLite database, a corrupt database, a full disk) raise `SyncDatabaseError`
with a one-line reason; a database that fails ``PRAGMA quick_check`` is refused before
anything is written to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import inspect
import logging
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import attrs

from ._converter import encode_model
from ._errors import HarvestError, NotFoundError

if TYPE_CHECKING:
    from ._client import HarvestClient
    from ._pagination import Page, Paginator

__all__ = [
    "MAX_REWALKS",
    "RESOURCES",
    "MeteredLimiter",
    "ResourceSpec",
    "SyncDatabaseError",
    "SyncResult",
    "SyncStats",
    "sync_account",
]

#: Overlap kept between runs so records updated while a run was listing are not missed
#: even with some clock skew between this machine and Harvest.
CHECKPOINT_OVERLAP = dt.timedelta(minutes=5)

#: Walks of a list repeated, after the first, while its pages disagree on
#: ``total_entries`` (the list changed while it was being walked).
MAX_REWALKS = 2


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
    """

    name: str
    list_all: Callable[[HarvestClient, dt.datetime | None], Paginator[Any]]
    incremental: bool = True
    get_one: Callable[[HarvestClient, int], Awaitable[Any]] | None = None


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


class SyncDatabaseError(HarvestError, sqlite3.DatabaseError):
    """The mirror database cannot be opened or written; the message says why in a line.

    Also a `sqlite3.DatabaseError`; the SQLite error it comes from (if any) is its
    ``__cause__``.
    """


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
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute(
            "CREATE TABLE IF NOT EXISTS sync_state (resource TEXT PRIMARY KEY, "
            "updated_since TEXT, completed_at TEXT NOT NULL)"
        )
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
    return encode_model(model)


def _row(model: Any) -> tuple[int, str | None, str]:
    updated = getattr(model, "updated_at", None)
    return (
        model.id,
        updated.isoformat().replace("+00:00", "Z") if updated is not None else None,
        record_json(model),
    )


def _upsert_sql(name: str, *, changes_only: bool) -> str:
    sql = (
        f'INSERT INTO "{name}" (id, updated_at, data) VALUES (?, ?, ?) '
        "ON CONFLICT(id) DO UPDATE SET updated_at = excluded.updated_at, data = excluded.data"
    )
    if changes_only:  # leaves equal rows alone, so that `total_changes` counts the others
        sql += (
            f' WHERE "{name}".updated_at IS NOT excluded.updated_at'
            f' OR "{name}".data IS NOT excluded.data'
        )
    return sql


def _offset_paged(page: Page[Any]) -> bool:
    """Whether ``links.next`` asks for a page number (not a cursor)."""
    if page.next_url is None:
        return False
    names = {part.partition("=")[0] for part in urlsplit(page.next_url).query.split("&")}
    return "page" in names and "cursor" not in names


@attrs.define
class _Walk:
    """What one walk of a list saw."""

    ids: set[int] | None
    pages: int = 0
    #: False when the list was page-based and its pages disagreed on ``total_entries``.
    stable: bool = True


async def _walk(
    client: HarvestClient,
    db: sqlite3.Connection,
    spec: ResourceSpec,
    since: dt.datetime | None,
    stats: SyncStats,
    *,
    keep_ids: bool,
    changes_only: bool,
    checkpoint: dt.datetime | None,
    on_page: Callable[[str, int], None] | None,
) -> _Walk:
    """Walk a list once, upserting each page in its own transaction.

    ``changes_only`` counts (in ``stats.rows_written``) only rows that were missing or
    different. ``checkpoint``, when given, is written with the last page of a walk
    found stable (https://help.getharvest.com/api-v2/introduction/overview/pagination/).
    """
    walk = _Walk(set() if keep_ids else None)
    totals: set[int] = set()
    by_offset = False
    sql = _upsert_sql(spec.name, changes_only=changes_only)
    async with contextlib.aclosing(spec.list_all(client, since).pages()) as pages:
        pending: Page[Any] | None = await anext(pages, None)
        while pending is not None:
            following = await anext(pages, None)
            if pending.total_entries is not None:
                totals.add(pending.total_entries)
            by_offset = by_offset or _offset_paged(pending)
            walk.stable = not (by_offset and len(totals) > 1)
            rows = [_row(item) for item in pending.items if getattr(item, "id", None) is not None]
            if walk.ids is not None:
                walk.ids.update(r[0] for r in rows)
            with _transaction(db):
                before = db.total_changes
                db.executemany(sql, rows)
                written = db.total_changes - before if changes_only else len(rows)
                if following is None and walk.stable and checkpoint is not None:
                    _write_checkpoint(db, spec.name, checkpoint)
            stats.rows_written += written
            stats.pages += 1
            walk.pages += 1
            if on_page is not None:
                on_page(spec.name, len(rows))
            pending = following
    if walk.pages == 0 and checkpoint is not None:
        with _transaction(db):
            _write_checkpoint(db, spec.name, checkpoint)
    return walk


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
    keep_ids = reconcile and since is None  # a full walk is reconcile's first id walk
    walk = await _walk(
        client,
        db,
        spec,
        since,
        stats,
        keep_ids=keep_ids,
        changes_only=False,
        checkpoint=run_started,
        on_page=on_page,
    )
    for _ in range(MAX_REWALKS):
        if walk.stable:
            break
        _log.info("%s changed while it was listed: listing it again", spec.name)
        walk = await _walk(
            client,
            db,
            spec,
            since,
            stats,
            keep_ids=keep_ids,
            changes_only=True,
            checkpoint=run_started,
            on_page=on_page,
        )
    if not walk.stable:
        _log.warning(
            "%s kept changing while it was listed: its checkpoint stays where it was, "
            "so the next run lists it again",
            spec.name,
        )
    if reconcile:
        stats.deleted = await _reconcile(
            client, db, spec, walk if keep_ids else None, stats, on_page
        )
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


async def _reconcile(
    client: HarvestClient,
    db: sqlite3.Connection,
    spec: ResourceSpec,
    first: _Walk | None,
    stats: SyncStats,
    on_page: Callable[[str, int], None] | None,
) -> int:
    """Delete the local rows whose records Harvest confirms are gone; return how many.

    ``first`` is a full walk already done (the sync's own), else one is done here. A
    row missing from it is deleted once a later walk that held still misses it too, or
    a GET of its id answers 404; a GET is used when that takes fewer requests than
    walking the list again (and when a second walk did not hold still).
    """

    async def walk_all() -> _Walk:
        return await _walk(
            client,
            db,
            spec,
            None,
            stats,
            keep_ids=True,
            changes_only=True,
            checkpoint=None,
            on_page=on_page,
        )

    if first is None:
        first = await walk_all()
    assert first.ids is not None
    gone = {row[0] for row in db.execute(f'SELECT id FROM "{spec.name}"')} - first.ids
    confirmed = False
    if gone and (spec.get_one is None or len(gone) > first.pages):
        second = await walk_all()
        assert second.ids is not None
        gone -= second.ids
        confirmed = second.stable
    if gone and not confirmed:
        if spec.get_one is None:
            _log.warning(
                "%s changed while it was listed: %d deletion(s) left for a later reconcile",
                spec.name,
                len(gone),
            )
            return 0
        gone = await _confirm_gone(client, db, spec, sorted(gone), stats)
    if gone:
        with _transaction(db):
            db.executemany(f'DELETE FROM "{spec.name}" WHERE id = ?', [(i,) for i in gone])
    return len(gone)


async def _confirm_gone(
    client: HarvestClient,
    db: sqlite3.Connection,
    spec: ResourceSpec,
    ids: list[int],
    stats: SyncStats,
) -> set[int]:
    """The ids a GET answers 404 for; the records still there are upserted."""
    assert spec.get_one is not None
    gone: set[int] = set()
    sql = _upsert_sql(spec.name, changes_only=True)
    for record_id in ids:
        try:
            record = await spec.get_one(client, record_id)
        except NotFoundError:
            gone.add(record_id)
            continue
        with _transaction(db):
            before = db.total_changes
            db.execute(sql, _row(record))
            stats.rows_written += db.total_changes - before
    return gone


async def sync_company(client: HarvestClient, db: sqlite3.Connection) -> SyncStats:
    """The company is one record: stored with id 1 in table ``company``."""
    started = time.perf_counter()
    _ensure_table(db, "company")
    company = await client.company.get()
    with _transaction(db):
        db.execute(
            'INSERT INTO "company" (id, updated_at, data) VALUES (1, NULL, ?) '
            "ON CONFLICT(id) DO UPDATE SET data = excluded.data",
            (record_json(company),),
        )
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
    company: bool = True,
) -> list[SyncStats]:
    """Mirror every resource of the account into the SQLite file at ``db_path``.

    Resources are synced ``concurrency`` at a time; the client's rate limiter keeps the
    whole run within Harvest's limit. ``company=False`` leaves the company out.

    Raises:
        SyncDatabaseError: The database cannot be opened or written (the pages
            committed before stay, and the checkpoints never run ahead of them).
    """
    db = open_db(db_path)
    checkpointer: _Checkpointer | None = None
    try:
        # The checkpointer's thread copies the WAL into the database as it grows; the
        # writer's own checkpoint (which rewinds the WAL, and would wait for the disk on
        # the loop's thread) is kept as a backstop, ten times rarer than SQLite's default.
        db.execute(f"PRAGMA wal_autocheckpoint={WAL_BACKSTOP_PAGES}")
        checkpointer = _Checkpointer(db_path)
        checkpointer.start()
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
        tasks = [asyncio.ensure_future(sync_company(client, db))] if company else []
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
    except sqlite3.Error as exc:
        raise _database_error(db_path, exc) from exc
    finally:
        try:
            if checkpointer is not None:
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
