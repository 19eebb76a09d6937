"""The DuckDB target of `harvest_async.sync` (``duckdb:///path.duckdb``; extra ``[duckdb]``).

Types are DuckDB's: DECIMAL(38, 12) (exact for Harvest's amounts: 26 digits before the
point, 12 after), DATE, TIMESTAMPTZ, TIME, BOOLEAN, BIGINT, JSON. DuckDB lets one
process write a file at a time; two syncs of one account in one process are kept apart
by a lock file next to the database, as for SQLite. DuckDB's calls block: they run in one
worker thread of the target's own, one after another, off the event loop's thread.

A page is written as DuckDB writes fast: its rows go column by column into an Arrow
table (pyarrow, pulled in by the extra), inserted by one ``INSERT ... SELECT`` (see
https://duckdb.org/docs/stable/guides/python/import_arrow); rows bound one by one as
parameters cost DuckDB a statement each.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import datetime as dt
import decimal
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any, TypeVar

from ._errors import ConfigurationError
from ._tables import Kind, Table, arrow_types
from ._targets import (
    Between,
    State,
    StateWrite,
    SyncDatabaseError,
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

__all__ = ["DUCKDB_TYPES", "DuckDBTarget", "duckdb_path"]

DUCKDB_TYPES: dict[Kind, str] = {
    Kind.BIGINT: "BIGINT",
    Kind.NUMERIC: "DECIMAL(38, 12)",
    Kind.TEXT: "VARCHAR",
    Kind.BOOLEAN: "BOOLEAN",
    Kind.DATE: "DATE",
    Kind.TIMESTAMPTZ: "TIMESTAMPTZ",
    Kind.TIME: "TIME",
    Kind.JSON: "JSON",
}

_STATE = (
    "CREATE TABLE IF NOT EXISTS sync_state (account_id BIGINT NOT NULL, resource VARCHAR "
    "NOT NULL, updated_since VARCHAR, completed_at VARCHAR NOT NULL, "
    "PRIMARY KEY (account_id, resource))",
    "CREATE TABLE IF NOT EXISTS sync_resume (account_id BIGINT NOT NULL, resource VARCHAR "
    "NOT NULL, url VARCHAR NOT NULL, since VARCHAR, total BIGINT, "
    "PRIMARY KEY (account_id, resource))",
)


def duckdb_path(url: str) -> str:
    """The file of a ``duckdb:///path`` URL: relative after three ``/``, absolute after four.

    ``duckdb:///:memory:`` (or nothing after the ``///``) is an in-memory database.
    """
    path = url.removeprefix("duckdb:///")
    return path or ":memory:"


_q = quote
_T = TypeVar("_T")

#: DuckDB's DECIMAL scale (`DUCKDB_TYPES`): a decimal with more places is rounded to it.
_SCALE = decimal.Decimal(1).scaleb(-12)

#: The name a page's Arrow table is registered under while it is inserted (one at a
#: time: a connection is only used by its target's worker thread).
_PAGE = "harvest_async_page"


def _arrow_column(kind: Kind, values: Sequence[Any]) -> Any:
    import pyarrow as pa

    try:
        return pa.array(values, type=arrow_types()[kind])
    except pa.ArrowInvalid:
        if kind is not Kind.NUMERIC:
            raise
        # More than 12 places: rounded as DuckDB's DECIMAL(38, 12) would store it.
        rounded = [None if v is None else decimal.Decimal(v).quantize(_SCALE) for v in values]
        return pa.array(rounded, type=arrow_types()[kind])


def _arrow_table(columns: Sequence[tuple[str, Kind]], rows: Sequence[tuple[Any, ...]]) -> Any:
    """The rows as an Arrow table, one typed array per column."""
    import pyarrow as pa

    values = list(zip(*rows, strict=True)) if rows else [() for _ in columns]
    return pa.Table.from_arrays(
        [_arrow_column(kind, column) for (_, kind), column in zip(columns, values, strict=True)],
        names=[name for name, _ in columns],
    )


def _insert(name: str, columns: Sequence[tuple[str, Kind]], key: Sequence[str] | None) -> str:
    """``INSERT`` into ``name`` from the Arrow table ``{source}``; an upsert on ``key``."""
    names = ", ".join(_q(c) for c, _ in columns)
    statement = f"INSERT INTO {_q(name)} ({names}) SELECT {names} FROM {{source}}"
    if key is None:
        return statement
    sets = ", ".join(f"{_q(c)} = excluded.{_q(c)}" for c, _ in columns if c not in key)
    action = f"DO UPDATE SET {sets}" if sets else "DO NOTHING"
    return f"{statement} ON CONFLICT ({', '.join(_q(c) for c in key)}) {action}"


def _mark(n: int) -> str:
    return f"${n}"


class DuckDBTarget:
    """A DuckDB file named by ``duckdb:///path.duckdb`` (see `duckdb_path`)."""

    def __init__(self, url: str) -> None:
        self.path = duckdb_path(url)
        self.label = self.path
        self._db: Any = None
        self._lock: tuple[IO[bytes] | None, int | None] = (None, None)
        self._plans: dict[str, tuple[str, list[tuple[Any, str, str]]]] = {}
        self._worker = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="harvest-async-duckdb"
        )

    def _error(self, exc: BaseException) -> SyncDatabaseError:
        if isinstance(exc, SyncDatabaseError):
            return exc
        text = " ".join(str(exc).split()) or type(exc).__name__
        return SyncDatabaseError(f"database {self.label}: {text}")

    async def _call(self, function: Callable[..., _T], *args: Any) -> _T:
        """``function(*args)`` in the worker thread (a cancelled caller lets it finish)."""
        import duckdb
        import pyarrow as pa

        def run() -> _T:
            try:
                return function(*args)
            except (duckdb.Error, pa.ArrowException) as exc:
                raise self._error(exc) from exc

        return await asyncio.get_running_loop().run_in_executor(self._worker, run)

    def _run(self, sql: str, params: Any = None, *, many: bool = False) -> Any:
        if many:
            return self._db.executemany(sql, params)
        return self._db.execute(sql, params) if params is not None else self._db.execute(sql)

    async def open(self) -> None:
        try:
            import duckdb
            import pyarrow  # noqa: F401
        except ImportError:
            raise ConfigurationError(
                "a duckdb:// database needs duckdb and pyarrow, in the duckdb extra "
                "(from a clone: pip install -e '.[duckdb]')"
            ) from None
        if self.path != ":memory:" and not Path(self.path).parent.is_dir():
            raise SyncDatabaseError(f"database {self.label}: its folder does not exist")

        def connect() -> None:
            self._db = duckdb.connect(self.path)
            for statement in _STATE:
                self._run(statement)

        await self._call(connect)

    def _insert_rows(self, statement: str, columns: Any, rows: Sequence[tuple[Any, ...]]) -> None:
        """Run ``statement`` (`_insert`'s) from ``rows``, as one Arrow table."""
        if not rows:
            return
        self._db.register(_PAGE, _arrow_table(columns, rows))
        try:
            self._db.execute(statement.format(source=_PAGE))
        finally:
            self._db.unregister(_PAGE)

    def _transaction(self, body: Callable[[], _T]) -> _T:
        import duckdb

        self._run("BEGIN TRANSACTION")
        try:
            result = body()
            self._run("COMMIT")
        except BaseException:
            with contextlib.suppress(duckdb.Error):  # the first error is the one to report
                self._db.execute("ROLLBACK")
            raise
        return result

    async def prepare(self, tables: Sequence[Table]) -> set[str]:
        return await self._call(self._prepare, tables)

    def _prepare(self, tables: Sequence[Table]) -> set[str]:
        changed: set[str] = set()
        for table in tables:
            for name, columns, key in all_tables(table):
                present = {
                    r[0]
                    for r in self._run(
                        "SELECT column_name FROM information_schema.columns WHERE table_name = ?",
                        [name],
                    ).fetchall()
                }
                if present and "account_id" not in present:
                    raise old_layout(self.label)
                if not present:
                    defs = ", ".join(
                        f"{_q(n)} {DUCKDB_TYPES[k]}" + (" NOT NULL" if n in key else "")
                        for n, k in columns
                    )
                    keys = ", ".join(_q(c) for c in key)
                    self._run(
                        f"CREATE TABLE IF NOT EXISTS {_q(name)} ({defs}, PRIMARY KEY ({keys}))"
                    )
                    continue
                for column, kind in missing_columns(columns, present):
                    self._run(
                        f"ALTER TABLE {_q(name)} ADD COLUMN {_q(column)} {DUCKDB_TYPES[kind]}"
                    )
                    changed.add(table.name)
            children = [
                (
                    child,
                    f"DELETE FROM {_q(child.table)} WHERE account_id = $1 "
                    f"AND {_q(child.parent_key)} IN (SELECT UNNEST($2::BIGINT[]))",
                    # The page's child rows were deleted first: nothing to conflict with.
                    _insert(child.table, child.column_kinds, None),
                )
                for child in table.children
            ]
            self._plans[table.name] = (_insert(table.name, table.column_kinds, table.key), children)
        return changed

    async def state(self, account_id: int, resource: str) -> State | None:
        def run() -> State | None:
            done, resume = (
                self._run(sql, params).fetchone()
                for sql, params in state_queries(account_id, resource, mark=_mark)
            )
            if done is None and resume is None:
                return None
            return State(
                done[0] if done is not None else None,
                *(tuple(resume) if resume is not None else (None, None, None)),
            )

        return await self._call(run)

    async def reset(self, resource: str) -> None:
        def body() -> None:
            for sql, params in reset_statements(resource, mark=_mark):
                self._run(sql, params)

        await self._call(self._transaction, body)

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
        upsert, children = self._plans[table.name]

        def body() -> int:
            written = list(records)
            if table.has_id and written:
                # One upsert may not touch a row twice: the last of a repeated id wins.
                written = list({r.id: r for r in written}.values())
            if changes_only and table.has_id and written:
                stored = dict(
                    self._run(
                        f"SELECT id, updated_at FROM {_q(table.name)} "
                        "WHERE account_id = $1 AND id IN (SELECT UNNEST($2::BIGINT[]))",
                        [account_id, [r.id for r in written]],
                    ).fetchall()
                )
                written = [
                    r
                    for r in written
                    if r.id not in stored or stored[r.id] != getattr(r, "updated_at", None)
                ]
            if written:
                row = table.row_builder()
                self._insert_rows(upsert, table.column_kinds, [row(account_id, r) for r in written])
                for child, delete, insert in children:
                    self._run(delete, [account_id, [r.id for r in written]])
                    rows = child_rows(child, account_id, table, written)
                    self._insert_rows(insert, child.column_kinds, rows)
            if state is not None:
                for sql, params in state_statements(account_id, resource, state, mark=_mark):
                    self._run(sql, params)
            return len(written)

        return await self._call(self._transaction, body)

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
            table, account_id, between=between, updated_since=updated_since, owner=owner
        )
        return await self._call(lambda: {r[0] for r in self._run(sql, params).fetchall()})

    async def month_counts(self, table: Table, account_id: int, column: str) -> dict[str, int]:
        sql, params = month_counts_query(
            table, account_id, column, month=lambda c: f"strftime({c}, '%Y-%m')", mark=_mark
        )
        return await self._call(lambda: month_counts_of(self._run(sql, params).fetchall()))

    async def delete(
        self,
        table: Table,
        account_id: int,
        ids: Sequence[int],
        *,
        owned: Sequence[tuple[Table, str]] = (),
    ) -> None:
        statements = delete_statements(
            table,
            owned,
            mark=_mark,
            match=lambda column, ids: f"{column} IN (SELECT UNNEST({ids}::BIGINT[]))",
        )

        def body() -> None:
            for statement in statements:
                self._run(statement, [account_id, list(ids)])

        if ids:
            await self._call(self._transaction, body)

    async def count(self, table: Table, account_id: int) -> int:
        sql, params = count_query(table, account_id, mark=_mark)
        return await self._call(lambda: int(self._run(sql, params).fetchone()[0]))

    async def lock(self, account_id: int, *, wait: bool) -> None:
        if self.path == ":memory:":
            return
        self._lock = await file_lock(
            Path(f"{self.path}.lock"), account_id, wait=wait, label=self.label
        )

    async def close(self) -> None:
        def close() -> None:
            if self._db is not None:
                self._db.close()

        try:
            # After the calls still queued (a cancelled page's transaction).
            await asyncio.get_running_loop().run_in_executor(self._worker, close)
        finally:
            self._db = None
            self._worker.shutdown(wait=False)
            release_file_lock(*self._lock)
            self._lock = (None, None)
