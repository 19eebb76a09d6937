"""The PostgreSQL target of `harvest_async.sync` (asyncpg; extra ``[postgres]``).

Types are PostgreSQL's own: NUMERIC (exact), DATE, TIMESTAMPTZ, TIME, BOOLEAN, BIGINT,
JSONB. Each page is one transaction; two syncs of one account never interleave, held
apart by a session advisory lock (``pg_try_advisory_lock``, or ``pg_advisory_lock``
to wait).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ._errors import ConfigurationError
from ._tables import Kind, Table
from ._targets import (
    Between,
    State,
    StateWrite,
    SyncDatabaseError,
    all_tables,
    child_rows,
    count_query,
    delete_statements,
    ids_query,
    lock_key,
    missing_columns,
    month_counts_of,
    month_counts_query,
    quote,
    reset_statements,
    state_queries,
    state_statements,
)

__all__ = ["POSTGRES_TYPES", "PostgresTarget", "redacted_url"]

_log = logging.getLogger("harvest_async.sync")

#: Connections used at once (one per resource being synced, up to this).
POOL_SIZE = 8

POSTGRES_TYPES: dict[Kind, str] = {
    Kind.BIGINT: "BIGINT",
    Kind.NUMERIC: "NUMERIC",
    Kind.TEXT: "TEXT",
    Kind.BOOLEAN: "BOOLEAN",
    Kind.DATE: "DATE",
    Kind.TIMESTAMPTZ: "TIMESTAMPTZ",
    Kind.TIME: "TIME",
    Kind.JSON: "JSONB",
}

_STATE = (
    "CREATE TABLE IF NOT EXISTS sync_state (account_id BIGINT NOT NULL, resource TEXT "
    "NOT NULL, updated_since TEXT, completed_at TEXT NOT NULL, "
    "PRIMARY KEY (account_id, resource))",
    "CREATE TABLE IF NOT EXISTS sync_resume (account_id BIGINT NOT NULL, resource TEXT "
    "NOT NULL, url TEXT NOT NULL, since TEXT, total BIGINT, "
    "PRIMARY KEY (account_id, resource))",
)


def redacted_url(url: str) -> str:
    """The URL without its password (what messages show)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


_q = quote


def _mark(n: int) -> str:
    return f"${n}"


#: Rows from which a page goes through ``COPY`` (binary, one round trip) into a staging
#: table, then one ``INSERT ... SELECT`` upserts them; fewer are bound row by row.
COPY_FROM = 64


def _upsert_from(
    source: str, name: str, columns: Sequence[tuple[str, Kind]], key: Sequence[str]
) -> str:
    """The upsert of every row of the staging table ``source`` into ``name``."""
    names = ", ".join(_q(c) for c, _ in columns)
    sets = ", ".join(f"{_q(c)} = excluded.{_q(c)}" for c, _ in columns if c not in key)
    action = f"DO UPDATE SET {sets}" if sets else "DO NOTHING"
    conflict = ", ".join(_q(c) for c in key)
    return (
        f"INSERT INTO {_q(name)} ({names}) SELECT {names} FROM {source} "
        f"ON CONFLICT ({conflict}) {action}"
    )


def _upsert(name: str, columns: Sequence[tuple[str, Kind]], key: Sequence[str]) -> str:
    names = ", ".join(_q(c) for c, _ in columns)
    marks = ", ".join(
        f"${i}::jsonb" if k is Kind.JSON else f"${i}" for i, (_, k) in enumerate(columns, 1)
    )
    sets = ", ".join(f"{_q(c)} = excluded.{_q(c)}" for c, _ in columns if c not in key)
    action = f"DO UPDATE SET {sets}" if sets else "DO NOTHING"
    conflict = ", ".join(_q(c) for c in key)
    return f"INSERT INTO {_q(name)} ({names}) VALUES ({marks}) ON CONFLICT ({conflict}) {action}"


class PostgresTarget:
    """A PostgreSQL database named by a ``postgresql://user@host:port/db`` URL."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.label = redacted_url(url)
        self._conn: Any = None  # prepares the tables and holds the advisory lock
        self._pool: Any = None
        self._locks: list[int] = []
        self._plans: dict[str, tuple[str, list[tuple[Any, str, str]]]] = {}
        #: Per table: its staging table's statement and name, and the upsert from it.
        self._staged: dict[str, tuple[str, str, str]] = {}

    def _error(self, exc: BaseException) -> SyncDatabaseError:
        if isinstance(exc, SyncDatabaseError):
            return exc
        text = " ".join(str(exc).split()) or type(exc).__name__
        return SyncDatabaseError(f"database {self.label}: {text}")

    async def open(self) -> None:
        try:
            import asyncpg
        except ImportError:
            raise ConfigurationError(
                "a postgresql:// database needs asyncpg, in the postgres extra "
                "(from a clone: pip install -e '.[postgres]')"
            ) from None
        try:
            self._conn = await asyncpg.connect(self.url)
            for statement in _STATE:
                await self._conn.execute(statement)
            # Resources are synced several at a time: each call takes a connection.
            self._pool = await asyncpg.create_pool(self.url, min_size=1, max_size=POOL_SIZE)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise self._error(exc) from exc

    async def _run(self, coro: Any) -> Any:
        import asyncpg

        try:
            return await coro
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise self._error(exc) from exc

    async def prepare(self, tables: Sequence[Table]) -> set[str]:
        changed: set[str] = set()
        for table in tables:
            for name, columns, key in all_tables(table):
                rows = await self._run(
                    self._conn.fetch(
                        "SELECT column_name FROM information_schema.columns "
                        "WHERE table_schema = current_schema() AND table_name = $1",
                        name,
                    )
                )
                present = {r[0] for r in rows}
                if present and "account_id" not in present:
                    from ._targets import old_layout

                    raise old_layout(self.label)
                if not present:
                    defs = ", ".join(
                        f"{_q(n)} {POSTGRES_TYPES[k]}" + (" NOT NULL" if n in key else "")
                        for n, k in columns
                    )
                    keys = ", ".join(_q(c) for c in key)
                    await self._run(
                        self._conn.execute(
                            f"CREATE TABLE IF NOT EXISTS {_q(name)} ({defs}, PRIMARY KEY ({keys}))"
                        )
                    )
                    continue
                for column, kind in missing_columns(columns, present):
                    await self._run(
                        self._conn.execute(
                            f"ALTER TABLE {_q(name)} ADD COLUMN IF NOT EXISTS {_q(column)} "
                            f"{POSTGRES_TYPES[kind]}"
                        )
                    )
                    changed.add(table.name)
            children = [
                (
                    child,
                    f"DELETE FROM {_q(child.table)} WHERE account_id = $1 "
                    f"AND {_q(child.parent_key)} = ANY($2::bigint[])",
                    _upsert(child.table, child.column_kinds, child.key),
                )
                for child in table.children
            ]
            self._plans[table.name] = (_upsert(table.name, table.column_kinds, table.key), children)
            stage = f"harvest_async_stage_{len(self._staged)}"
            self._staged[table.name] = (
                # A session's own table, emptied by each commit; made like the table as it
                # is now (after the columns added above).
                f"CREATE TEMP TABLE IF NOT EXISTS {stage} (LIKE {_q(table.name)}) "
                "ON COMMIT DELETE ROWS",
                stage,
                _upsert_from(stage, table.name, table.column_kinds, table.key),
            )
        return changed

    async def state(self, account_id: int, resource: str) -> State | None:
        async with self._pool.acquire() as con:
            return await self._state(con, account_id, resource)

    async def _state(self, con: Any, account_id: int, resource: str) -> State | None:
        (done_sql, params), (resume_sql, _) = state_queries(account_id, resource, mark=_mark)
        done = await self._run(con.fetchrow(done_sql, *params))
        resume = await self._run(con.fetchrow(resume_sql, *params))
        if done is None and resume is None:
            return None
        return State(
            done[0] if done is not None else None,
            *(tuple(resume) if resume is not None else (None, None, None)),
        )

    async def reset(self, resource: str) -> None:
        async def run() -> None:
            async with self._conn.transaction():
                for sql, params in reset_statements(resource, mark=_mark):
                    await self._conn.execute(sql, *params)

        await self._run(run())

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
        written: list[Any] = list(records)

        async def run() -> None:
            nonlocal written
            async with self._pool.acquire() as con, con.transaction():
                if changes_only and table.has_id and written:
                    stored = dict(
                        await con.fetch(
                            f"SELECT id, updated_at FROM {_q(table.name)} "
                            "WHERE account_id = $1 AND id = ANY($2::bigint[])",
                            account_id,
                            [r.id for r in written],
                        )
                    )
                    written = [
                        r
                        for r in written
                        if r.id not in stored or stored[r.id] != getattr(r, "updated_at", None)
                    ]
                if table.has_id and len(written) >= COPY_FROM:
                    # One upsert may not touch a row twice: the last of a repeated id wins.
                    written = list({r.id: r for r in written}.values())
                if written:
                    row = table.row_builder()
                    rows = [row(account_id, r) for r in written]
                    if len(rows) >= COPY_FROM:
                        create, stage, upsert_staged = self._staged[table.name]
                        await con.execute(create)
                        await con.copy_records_to_table(
                            stage, records=rows, columns=[n for n, _ in table.column_kinds]
                        )
                        await con.execute(upsert_staged)
                    else:
                        await con.executemany(upsert, rows)
                for child, delete, insert in children:
                    if not written:
                        break
                    await con.execute(delete, account_id, [r.id for r in written])
                    rows = child_rows(child, account_id, table, written)
                    if len(rows) >= COPY_FROM:
                        # Every row of these parents was deleted just now: a plain COPY.
                        await con.copy_records_to_table(
                            child.table, records=rows, columns=[n for n, _ in child.column_kinds]
                        )
                    elif rows:
                        await con.executemany(insert, rows)
                if state is not None:
                    for sql, params in state_statements(account_id, resource, state, mark=_mark):
                        await con.execute(sql, *params)

        await self._run(run())
        return len(written)

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
            mark=_mark,
        )
        async with self._pool.acquire() as con:
            rows = await self._run(con.fetch(sql, *params))
        return {r[0] for r in rows}

    async def month_counts(self, table: Table, account_id: int, column: str) -> dict[str, int]:
        sql, params = month_counts_query(
            table, account_id, column, month=lambda c: f"to_char({c}, 'YYYY-MM')", mark=_mark
        )
        async with self._pool.acquire() as con:
            return month_counts_of(await self._run(con.fetch(sql, *params)))

    async def delete(
        self,
        table: Table,
        account_id: int,
        ids: Sequence[int],
        *,
        owned: Sequence[tuple[Table, str]] = (),
    ) -> None:
        statements = delete_statements(
            table, owned, mark=_mark, match=lambda column, ids: f"{column} = ANY({ids}::bigint[])"
        )

        async def run() -> None:
            async with self._pool.acquire() as con, con.transaction():
                for statement in statements:
                    await con.execute(statement, account_id, list(ids))

        await self._run(run())

    async def count(self, table: Table, account_id: int) -> int:
        sql, params = count_query(table, account_id, mark=_mark)
        async with self._pool.acquire() as con:
            value = await self._run(con.fetchval(sql, *params))
        return int(value)

    async def lock(self, account_id: int, *, wait: bool) -> None:
        digest = hashlib.sha256(lock_key("postgres", account_id).encode()).digest()
        key = int.from_bytes(digest[:8], "big", signed=True)
        if wait:
            await self._run(self._conn.execute("SELECT pg_advisory_lock($1)", key))
        elif not await self._run(self._conn.fetchval("SELECT pg_try_advisory_lock($1)", key)):
            raise SyncDatabaseError(
                f"database {self.label}: another sync of account {account_id} is running; "
                "wait for it to finish, or pass --wait-lock to wait"
            )
        self._locks.append(key)

    async def close(self) -> None:
        if self._pool is not None:
            try:
                await self._pool.close()
            except Exception as exc:  # the connections are gone either way
                _log.debug("closing %s failed: %s", self.label, exc)
            self._pool = None
        if self._conn is None:
            return
        try:
            await self._conn.close()  # ends the session, and with it the advisory locks
        except Exception as exc:  # the connection is gone either way
            _log.debug("closing %s failed: %s", self.label, exc)
        finally:
            self._conn = None
            self._locks.clear()
