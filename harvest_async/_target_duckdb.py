"""The DuckDB target of `harvest_async.sync` (``duckdb:///path.duckdb``; extra ``[duckdb]``).

Types are DuckDB's: DECIMAL(38, 12) (exact for Harvest's amounts: 26 digits before the
point, 12 after), DATE, TIMESTAMPTZ, TIME, BOOLEAN, BIGINT, JSON. DuckDB lets one
process write a file at a time; two syncs of one account in one process are kept apart
by a lock file next to the database, as for SQLite. DuckDB's calls block, but each is
one page's transaction, as SQLite's are.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from ._errors import ConfigurationError
from ._tables import Kind, Table
from ._targets import (
    Between,
    State,
    StateWrite,
    SyncDatabaseError,
    all_tables,
    child_rows,
    file_lock,
    ids_query,
    missing_columns,
    old_layout,
    quote,
    release_file_lock,
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


#: Rows written by one INSERT (DuckDB's executemany runs a statement per row: slow).
_ROWS_PER_INSERT = 256


def _upsert(name: str, columns: Sequence[tuple[str, Kind]], key: Sequence[str]) -> str:
    """The upsert of one row; `_insert_rows` repeats its ``VALUES`` group per row."""
    names = ", ".join(_q(c) for c, _ in columns)
    marks = "(" + ", ".join("?" for _ in columns) + ")"
    sets = ", ".join(f"{_q(c)} = excluded.{_q(c)}" for c, _ in columns if c not in key)
    action = f"DO UPDATE SET {sets}" if sets else "DO NOTHING"
    conflict = ", ".join(_q(c) for c in key)
    return f"INSERT INTO {_q(name)} ({names}) VALUES {marks} ON CONFLICT ({conflict}) {action}"


class DuckDBTarget:
    """A DuckDB file named by ``duckdb:///path.duckdb`` (see `duckdb_path`)."""

    def __init__(self, url: str) -> None:
        self.path = duckdb_path(url)
        self.label = self.path
        self._db: Any = None
        self._lock: tuple[IO[bytes] | None, int | None] = (None, None)
        self._plans: dict[str, tuple[str, list[tuple[Any, str, str]]]] = {}

    def _error(self, exc: BaseException) -> SyncDatabaseError:
        if isinstance(exc, SyncDatabaseError):
            return exc
        text = " ".join(str(exc).split()) or type(exc).__name__
        return SyncDatabaseError(f"database {self.label}: {text}")

    def _run(self, sql: str, params: Any = None, *, many: bool = False) -> Any:
        import duckdb

        try:
            if many:
                return self._db.executemany(sql, params)
            return self._db.execute(sql, params) if params is not None else self._db.execute(sql)
        except duckdb.Error as exc:
            raise self._error(exc) from exc

    async def open(self) -> None:
        try:
            import duckdb
        except ImportError:
            raise ConfigurationError(
                "a duckdb:// database needs duckdb, in the duckdb extra "
                "(from a clone: pip install -e '.[duckdb]')"
            ) from None
        if self.path != ":memory:" and not Path(self.path).parent.is_dir():
            raise SyncDatabaseError(f"database {self.label}: its folder does not exist")
        try:
            self._db = duckdb.connect(self.path)
        except duckdb.Error as exc:
            raise self._error(exc) from exc
        for statement in _STATE:
            self._run(statement)

    def _insert_rows(self, upsert: str, rows: Sequence[tuple[Any, ...]]) -> None:
        """Run ``upsert`` for ``rows``, many rows per statement."""
        head, _, tail = upsert.partition(" VALUES ")
        group, _, action = tail.partition(" ON CONFLICT ")
        for start in range(0, len(rows), _ROWS_PER_INSERT):
            part = rows[start : start + _ROWS_PER_INSERT]
            values = ", ".join(group for _ in part)
            self._run(
                f"{head} VALUES {values} ON CONFLICT {action}",
                [value for row in part for value in row],
            )

    def _transaction(self, body: Any) -> Any:
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
                    f"DELETE FROM {_q(child.table)} WHERE account_id = ? "
                    f"AND {_q(child.parent_key)}",
                    _upsert(child.table, child.column_kinds, child.key),
                )
                for child in table.children
            ]
            self._plans[table.name] = (_upsert(table.name, table.column_kinds, table.key), children)
        return changed

    async def state(self, account_id: int, resource: str) -> State | None:
        done = self._run(
            "SELECT updated_since FROM sync_state WHERE account_id = ? AND resource = ?",
            [account_id, resource],
        ).fetchone()
        resume = self._run(
            "SELECT url, since, total FROM sync_resume WHERE account_id = ? AND resource = ?",
            [account_id, resource],
        ).fetchone()
        if done is None and resume is None:
            return None
        return State(
            done[0] if done is not None else None,
            *(tuple(resume) if resume is not None else (None, None, None)),
        )

    async def reset(self, resource: str) -> None:
        def body() -> None:
            self._run("DELETE FROM sync_state WHERE resource = ?", [resource])
            self._run("DELETE FROM sync_resume WHERE resource = ?", [resource])

        self._transaction(body)

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

        def body() -> list[Any]:
            written = list(records)
            if changes_only and table.has_id and written:
                marks = ", ".join("?" for _ in written)
                stored = dict(
                    self._run(
                        f"SELECT id, updated_at FROM {_q(table.name)} "
                        f"WHERE account_id = ? AND id IN ({marks})",
                        [account_id, *(r.id for r in written)],
                    ).fetchall()
                )
                written = [
                    r
                    for r in written
                    if r.id not in stored or stored[r.id] != getattr(r, "updated_at", None)
                ]
            if written:
                self._insert_rows(upsert, [table.row(account_id, r) for r in written])
                for child, delete, insert in children:
                    marks = ", ".join("?" for _ in written)
                    self._run(f"{delete} IN ({marks})", [account_id, *(r.id for r in written)])
                    self._insert_rows(insert, child_rows(child, account_id, table, written))
            if state is not None:
                self._write_state(account_id, resource, state)
            return written

        return len(self._transaction(body))

    def _write_state(self, account_id: int, resource: str, state: StateWrite) -> None:
        if not state.done:
            self._run(
                "INSERT INTO sync_resume (account_id, resource, url, since, total) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (account_id, resource) DO UPDATE SET "
                "url = excluded.url, since = excluded.since, total = excluded.total",
                [account_id, resource, state.resume_url, state.resume_since, state.resume_total],
            )
            return
        self._run(
            "DELETE FROM sync_resume WHERE account_id = ? AND resource = ?",
            [account_id, resource],
        )
        if state.updated_since is not None:
            self._run(
                "INSERT INTO sync_state (account_id, resource, updated_since, completed_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (account_id, resource) DO UPDATE SET "
                "updated_since = excluded.updated_since, completed_at = excluded.completed_at",
                [account_id, resource, state.updated_since, dt.datetime.now(dt.UTC).isoformat()],
            )

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
        return {r[0] for r in self._run(sql, params).fetchall()}

    async def month_counts(self, table: Table, account_id: int, column: str) -> dict[str, int]:
        rows = self._run(
            f"SELECT coalesce(strftime({_q(column)}, '%Y-%m'), ''), COUNT(*) "
            f"FROM {_q(table.name)} WHERE account_id = ? GROUP BY 1",
            [account_id],
        ).fetchall()
        return {r[0]: int(r[1]) for r in rows}

    async def delete(self, table: Table, account_id: int, ids: Sequence[int]) -> None:
        pairs = [(account_id, i) for i in ids]

        def body() -> None:
            if not pairs:
                return
            self._run(
                f"DELETE FROM {_q(table.name)} WHERE account_id = ? AND id = ?", pairs, many=True
            )
            for child in table.children:
                self._run(
                    f"DELETE FROM {_q(child.table)} WHERE account_id = ? "
                    f"AND {_q(child.parent_key)} = ?",
                    pairs,
                    many=True,
                )

        self._transaction(body)

    async def count(self, table: Table, account_id: int) -> int:
        row = self._run(
            f"SELECT COUNT(*) FROM {_q(table.name)} WHERE account_id = ?", [account_id]
        ).fetchone()
        return int(row[0])

    async def lock(self, account_id: int, *, wait: bool) -> None:
        if self.path == ":memory:":
            return
        self._lock = await file_lock(
            Path(f"{self.path}.lock"), account_id, wait=wait, label=self.label
        )

    async def close(self) -> None:
        try:
            if self._db is not None:
                self._db.close()
        finally:
            self._db = None
            release_file_lock(*self._lock)
            self._lock = (None, None)
