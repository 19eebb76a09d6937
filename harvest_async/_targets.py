"""What a sync writes to: the small interface every database target implements.

A target holds the tables derived from the models (`harvest_async._tables`) and a
``sync_state`` table with, per account and resource, the checkpoint of the next
incremental run and where an interrupted list resumes. Each `Target.write_page` is one
transaction: a page's rows, its records' child rows and the state written with them
commit together or not at all.

The targets: SQLite (`harvest_async.sync.SQLiteTarget`), PostgreSQL
(`harvest_async._target_postgres`) and DuckDB (`harvest_async._target_duckdb`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import IO, Any, Protocol

import attrs

from ._errors import HarvestError
from ._tables import Child, Encoders, Kind, Table

__all__ = [
    "STATE_COLUMNS",
    "Between",
    "OldLayoutError",
    "State",
    "StateWrite",
    "SyncDatabaseError",
    "Target",
    "missing_columns",
]


#: A date range of one DATE column: ``(column, first, last)``, both days included.
Between = tuple[str, dt.date, dt.date]


def quote(name: str) -> str:
    """``name`` as an SQL identifier (double quotes, inner ones doubled)."""
    return '"' + name.replace('"', '""') + '"'


def ids_query(
    table: Table,
    account_id: int,
    *,
    between: Between | None,
    updated_since: dt.datetime | None,
    owner: tuple[str, int] | None,
    mark: Callable[[int], str] = lambda _: "?",
    value: Callable[[Any], Any] = lambda v: v,
) -> tuple[str, list[Any]]:
    """The ``SELECT id`` of a target's `Target.ids` and its parameters.

    Args:
        mark: The placeholder of the n-th parameter (1-based): ``?`` or ``$n``.
        value: A date or timestamp parameter as the driver takes it.
    """
    params: list[Any] = [account_id]
    where = [f"account_id = {mark(1)}"]

    def next_mark(param: Any) -> str:
        params.append(param)
        return mark(len(params))

    if between is not None:
        column, first, last = between
        low, high = next_mark(value(first)), next_mark(value(last))
        where.append(f"{quote(column)} BETWEEN {low} AND {high}")
    if owner is not None:
        where.append(f"{quote(owner[0])} = {next_mark(owner[1])}")
    if updated_since is not None:
        where.append(f"updated_at >= {next_mark(value(updated_since))}")
    return f"SELECT id FROM {quote(table.name)} WHERE " + " AND ".join(where), params


def _marks(mark: Callable[[int], str], count: int) -> list[str]:
    return [mark(n) for n in range(1, count + 1)]


def month_counts_query(
    table: Table,
    account_id: int,
    column: str,
    *,
    month: Callable[[str], str],
    mark: Callable[[int], str] = lambda _: "?",
) -> tuple[str, list[Any]]:
    """The query of a target's `Target.month_counts` and its parameters.

    Args:
        month: The SQL of a quoted DATE column's ``YYYY-MM`` text in the target's dialect.
        mark: The placeholder of the n-th parameter (1-based): ``?`` or ``$n``.
    """
    return (
        f"SELECT coalesce({month(quote(column))}, ''), COUNT(*) FROM {quote(table.name)} "
        f"WHERE account_id = {mark(1)} GROUP BY 1",
        [account_id],
    )


def month_counts_of(rows: Iterable[Sequence[Any]]) -> dict[str, int]:
    """`month_counts_query`'s rows as `Target.month_counts` returns them."""
    return {str(month): int(count) for month, count in rows}


def count_query(
    table: Table, account_id: int, *, mark: Callable[[int], str] = lambda _: "?"
) -> tuple[str, list[Any]]:
    """The query of a target's `Target.count` and its parameters."""
    return f"SELECT COUNT(*) FROM {quote(table.name)} WHERE account_id = {mark(1)}", [account_id]


def delete_statements(
    table: Table,
    owned: Sequence[tuple[Table, str]] = (),
    *,
    mark: Callable[[int], str] = lambda n: f"?{n}",
    match: Callable[[str, str], str] = lambda column, ids: f"{column} = {ids}",
) -> list[str]:
    """The statements of a target's `Target.delete`, each run with ``(account_id, ids)``.

    They delete, in this order: the rows of each ``owned`` table (by its column holding
    the records' ids) with their own child rows, then the records' child rows, then the
    records.

    Args:
        mark: The placeholder of the n-th parameter (1-based, each used more than once).
        match: SQL testing a quoted column against the ids' placeholder: ``col = ?2``
            (run once per id) or ``col = ANY($2)`` (run once for all).
    """
    account, ids = mark(1), mark(2)

    def where(column: str) -> str:
        return f"WHERE account_id = {account} AND {match(quote(column), ids)}"

    out: list[str] = []
    for other, column in owned:
        for child in other.children:
            out.append(
                f"DELETE FROM {quote(child.table)} WHERE account_id = {account} AND "
                f"{quote(child.parent_key)} IN (SELECT id FROM {quote(other.name)} "
                f"{where(column)})"
            )
        out.append(f"DELETE FROM {quote(other.name)} {where(column)}")
    for child in table.children:
        out.append(f"DELETE FROM {quote(child.table)} {where(child.parent_key)}")
    out.append(f"DELETE FROM {quote(table.name)} {where('id')}")
    return out


def state_queries(
    account_id: int, resource: str, *, mark: Callable[[int], str] = lambda _: "?"
) -> list[tuple[str, list[Any]]]:
    """The two queries of a target's `Target.state`: the checkpoint, then the resume row."""
    one, two = _marks(mark, 2)
    where = f"WHERE account_id = {one} AND resource = {two}"
    params: list[Any] = [account_id, resource]
    return [
        (f"SELECT updated_since FROM sync_state {where}", params),
        (f"SELECT url, since, total FROM sync_resume {where}", params),
    ]


def reset_statements(
    resource: str, *, mark: Callable[[int], str] = lambda _: "?"
) -> list[tuple[str, list[Any]]]:
    """The statements of a target's `Target.reset` (run in one transaction)."""
    return [
        (f"DELETE FROM {name} WHERE resource = {mark(1)}", [resource])
        for name in ("sync_state", "sync_resume")
    ]


def state_statements(
    account_id: int,
    resource: str,
    state: StateWrite,
    *,
    mark: Callable[[int], str] = lambda _: "?",
) -> list[tuple[str, list[Any]]]:
    """The statements writing ``state`` with a page, in that page's transaction."""
    if not state.done:
        marks = ", ".join(_marks(mark, 5))
        return [
            (
                f"INSERT INTO sync_resume (account_id, resource, url, since, total) "
                f"VALUES ({marks}) ON CONFLICT (account_id, resource) DO UPDATE SET "
                "url = excluded.url, since = excluded.since, total = excluded.total",
                [account_id, resource, state.resume_url, state.resume_since, state.resume_total],
            )
        ]
    one, two = _marks(mark, 2)
    out: list[tuple[str, list[Any]]] = [
        (
            f"DELETE FROM sync_resume WHERE account_id = {one} AND resource = {two}",
            [account_id, resource],
        )
    ]
    if state.updated_since is not None:
        marks = ", ".join(_marks(mark, 4))
        out.append(
            (
                "INSERT INTO sync_state (account_id, resource, updated_since, completed_at) "
                f"VALUES ({marks}) ON CONFLICT (account_id, resource) DO UPDATE SET "
                "updated_since = excluded.updated_since, completed_at = excluded.completed_at",
                [account_id, resource, state.updated_since, dt.datetime.now(dt.UTC).isoformat()],
            )
        )
    return out


class SyncDatabaseError(HarvestError, sqlite3.DatabaseError):
    """The mirror database cannot be opened or written; the message says why in a line.

    Also a `sqlite3.DatabaseError`; the error it comes from (if any) is its ``__cause__``.
    """


class OldLayoutError(SyncDatabaseError):
    """The database holds a mirror of the older layout (one JSON ``data`` column per row)."""


def old_layout(where: str) -> OldLayoutError:
    """The one-line refusal of a mirror in the older JSON layout."""
    return OldLayoutError(
        f"database {where}: it holds a mirror in the older layout (one JSON data column "
        "per row); sync into a new database, or delete this one to start over"
    )


#: ``sync_state``'s columns after its key ``(account_id, resource)``.
STATE_COLUMNS = ("updated_since", "completed_at", "resume_url", "resume_since", "resume_total")


@attrs.frozen
class State:
    """A resource's stored state.

    Attributes:
        updated_since: The ``updated_since`` of the next incremental run (ISO 8601).
        resume_url: Where the interrupted walk of the list goes on (``links.next``).
        resume_since: The ``updated_since`` that walk was listing with (``None``: all).
        resume_total: ``total_entries`` its first page reported.
    """

    updated_since: str | None = None
    resume_url: str | None = None
    resume_since: str | None = None
    resume_total: int | None = None


@attrs.frozen
class StateWrite:
    """State written with a page: a finished walk (``updated_since``) or where it goes on.

    Attributes:
        done: The walk ended; ``updated_since`` (if not ``None``) is the new checkpoint.
        updated_since: The new checkpoint, when ``done``.
        resume_url: When not ``done``: the next page's URL.
        resume_since: When not ``done``: the walk's ``updated_since``.
        resume_total: When not ``done``: the first page's ``total_entries``.
    """

    done: bool
    updated_since: str | None = None
    resume_url: str | None = None
    resume_since: str | None = None
    resume_total: int | None = None

    def values(self, previous: State | None) -> tuple[Any, ...]:
        """The ``STATE_COLUMNS`` to write."""
        now = dt.datetime.now(dt.UTC).isoformat()
        if self.done:
            since = self.updated_since
            if since is None and previous is not None:
                since = previous.updated_since
            return (since, now, None, None, None)
        kept = previous.updated_since if previous is not None else None
        return (kept, now, self.resume_url, self.resume_since, self.resume_total)


class Target(Protocol):
    """A database a sync writes to; every method may raise `SyncDatabaseError`."""

    #: Shown in messages and the summary (a path or a URL without its password).
    label: str

    async def open(self) -> None:
        """Connect (a target is opened once, before anything else)."""

    async def prepare(self, tables: Sequence[Table]) -> set[str]:
        """Create the tables, or add the columns they lack; return the tables changed.

        Raises:
            OldLayoutError: The database holds the older JSON layout.
        """

    async def state(self, account_id: int, resource: str) -> State | None:
        """The stored state of a resource, if any."""

    async def reset(self, resource: str) -> None:
        """Forget a resource's checkpoints, in every account (its next walk is full)."""

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
        """Upsert records (and their child rows) and the state, in one transaction.

        Returns:
            The rows written: all of them, or with ``changes_only`` those missing or
            with another ``updated_at``.
        """

    async def ids(
        self,
        table: Table,
        account_id: int,
        *,
        between: Between | None = None,
        updated_since: dt.datetime | None = None,
        owner: tuple[str, int] | None = None,
    ) -> set[int]:
        """The ids stored for the account.

        Args:
            owner: Only rows whose BIGINT column (``(column, value)``) holds this value.
            between: Only rows whose DATE column (``(column, first, last)``) falls in
                ``first..last`` (both included).
            updated_since: Only rows with an ``updated_at`` at or after this time.
        """

    async def month_counts(self, table: Table, account_id: int, column: str) -> dict[str, int]:
        """Rows stored for the account per month (``"YYYY-MM"``) of a DATE column.

        Rows where the column is NULL are counted under ``""``.
        """

    async def delete(
        self,
        table: Table,
        account_id: int,
        ids: Sequence[int],
        *,
        owned: Sequence[tuple[Table, str]] = (),
    ) -> None:
        """Delete these records (and their child rows) in one transaction.

        Args:
            owned: Tables of rows that belong to the records (an invoice's messages):
                ``(table, column holding the record's id)``; their rows (and their
                own child rows) go in the same transaction.
        """

    async def count(self, table: Table, account_id: int) -> int:
        """Rows stored for the account."""

    async def lock(self, account_id: int, *, wait: bool) -> None:
        """Hold the account's sync lock until `close` (or raise `SyncDatabaseError`)."""

    async def close(self) -> None:
        """Release the lock and the connection."""


def missing_columns(
    wanted: Sequence[tuple[str, Kind]], present: set[str]
) -> list[tuple[str, Kind]]:
    """The wanted ``(column, kind)`` pairs not in ``present`` (in the model's order)."""
    return [(n, k) for n, k in wanted if n not in present]


def all_tables(table: Table) -> list[tuple[str, tuple[tuple[str, Kind], ...], tuple[str, ...]]]:
    """``(name, columns, key)`` of a table and of its children."""
    out = [(table.name, table.column_kinds, table.key)]
    out += [(c.table, c.column_kinds, c.key) for c in table.children]
    return out


def child_rows(
    child: Child,
    account_id: int,
    table: Table,
    records: Sequence[Any],
    encoders: Encoders | None = None,
) -> list[Any]:
    """Every child row of these records (values stored as ``encoders`` say)."""
    rows: list[Any] = []
    build = child.row_builder(encoders)
    for record in records:
        rows.extend(build(account_id, record.id, record))
    return rows


def lock_key(label: str, account_id: int) -> str:
    """The name of an account's sync lock on a target."""
    return f"harvest-async sync {account_id} {label}"


#: Accounts this process holds a file lock for, per lock file, each with the event set
#: when it is released (POSIX locks are the process's: a second sync in the same
#: process must be held apart here).
_HELD: dict[tuple[str, int], asyncio.Event] = {}


def _lock_key(path: str | Path, account_id: int) -> tuple[str, int]:
    return os.path.abspath(path), account_id


async def file_lock(
    path: Path, account_id: int, *, wait: bool, label: str
) -> tuple[IO[bytes], int]:
    """Lock byte ``account_id`` of ``path``: one sync of an account at a time.

    Raises:
        SyncDatabaseError: Another sync of the account holds it (and ``wait`` is false),
            or the lock file cannot be opened.
    """
    import fcntl

    busy = SyncDatabaseError(
        f"database {label}: another sync of account {account_id} is running; "
        "wait for it to finish, or pass --wait-lock to wait"
    )
    key = _lock_key(path, account_id)
    while key in _HELD:
        if not wait:
            raise busy
        await _HELD[key].wait()
    _HELD[key] = asyncio.Event()
    try:
        try:
            handle = await asyncio.to_thread(open, path, "a+b")
        except OSError as exc:
            raise SyncDatabaseError(f"database {label}: cannot open its lock file {path}") from exc
        try:
            try:
                fcntl.lockf(handle, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, account_id)
            except OSError:
                if not wait:
                    raise busy from None
                await asyncio.to_thread(fcntl.lockf, handle, fcntl.LOCK_EX, 1, account_id)
        except BaseException:
            handle.close()
            raise
    except BaseException:
        _HELD.pop(key).set()
        raise
    return handle, account_id


def release_file_lock(handle: IO[bytes] | None, account_id: int | None) -> None:
    """Release a `file_lock`."""
    if handle is None or account_id is None:
        return
    import fcntl

    try:
        fcntl.lockf(handle, fcntl.LOCK_UN, 1, account_id)
    finally:
        handle.close()
        released = _HELD.pop(_lock_key(str(handle.name), account_id), None)
        if released is not None:
            released.set()
