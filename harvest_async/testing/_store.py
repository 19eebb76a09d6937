"""Storage for the simulator: id-ordered tables, lazily generated tables, the clock.

Every list is served newest first (highest id first), so a cursor is simply the last id
served: rows created while a client walks a list get higher ids and never shift the
pages still to come, and deleted rows are skipped.
"""

from __future__ import annotations

import bisect
import datetime as dt
import heapq
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol

__all__ = [
    "LazyTable",
    "Row",
    "SimClock",
    "Source",
    "StaticSource",
    "Table",
    "fmt_date",
    "fmt_ts",
    "mix64",
]

Row = dict[str, Any]

_MASK = (1 << 64) - 1


def mix64(x: int) -> int:
    """SplitMix64 finalizer: a fast, well-spread 64-bit hash of an integer."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


def fmt_ts(epoch: float) -> str:
    """``2017-06-26T21:36:23Z`` for a POSIX time (whole seconds, UTC)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(epoch)))


_ORDINAL_1970 = dt.date(1970, 1, 1).toordinal()


def fmt_date(ordinal: int) -> str:
    """``2017-06-26`` for a proleptic Gregorian ordinal."""
    return dt.date.fromordinal(ordinal).isoformat()


def epoch_of_ordinal(ordinal: int) -> int:
    """POSIX time of midnight UTC of a date ordinal."""
    return (ordinal - _ORDINAL_1970) * 86400


class SimClock:
    """The simulator's wall clock: ``start`` plus event-loop time elapsed plus advances.

    Writes are stamped with `stamp`, which never returns the same second twice,
    so every write moves ``updated_at`` strictly forward.
    """

    def __init__(self, start: dt.datetime) -> None:
        if start.tzinfo is None:
            start = start.replace(tzinfo=dt.UTC)
        self.start = start.astimezone(dt.UTC)
        self._start_epoch = self.start.timestamp()
        self._loop_time: Callable[[], float] | None = None
        self._t0 = 0.0
        self._offset = 0.0
        self._last_stamp = int(self._start_epoch) - 1

    def bind(self, loop_time: Callable[[], float]) -> None:
        """Follow an event loop's clock from now on."""
        self.unbind()
        self._loop_time = loop_time
        self._t0 = loop_time()

    def unbind(self) -> None:
        """Stop following the event loop, keeping the time elapsed so far."""
        if self._loop_time is not None:
            self._offset += self._loop_time() - self._t0
            self._loop_time = None

    def now(self) -> float:
        """Current simulated POSIX time."""
        elapsed = self._loop_time() - self._t0 if self._loop_time is not None else 0.0
        return self._start_epoch + elapsed + self._offset

    def advance(self, seconds: float) -> None:
        """Move simulated time forward (timers, token expiry) without waiting."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self._offset += seconds

    def stamp(self) -> int:
        """A write timestamp: now, but strictly after every earlier stamp."""
        s = max(int(self.now()), self._last_stamp + 1)
        self._last_stamp = s
        return s

    def stamp_str(self) -> str:
        """`stamp` formatted as Harvest's ``...Z`` timestamp."""
        return fmt_ts(self.stamp())

    def today(self) -> int:
        """Today's date ordinal in UTC."""
        return _ORDINAL_1970 + int(self.now() // 86400)


class Source(Protocol):
    """Rows of one list, in list order, addressed by an integer key (id or position)."""

    def keys_after(self, after: int | None) -> Iterator[int]:
        """Keys in list order, starting after ``after`` (from the start if ``None``)."""
        ...

    def row(self, key: int) -> Row | None:
        """The row of a key yielded by `keys_after`."""
        ...

    def count(self) -> int | None:
        """Number of rows, where that is cheap to know, else ``None``."""
        ...


class Table:
    """Rows by id; ids are handed out increasing, lists run highest id first."""

    def __init__(self, name: str, first_id: int) -> None:
        self.name = name
        self.next_id = first_id
        self.rows: dict[int, Row] = {}
        self._ids: list[int] = []  # ascending; may hold ids since deleted
        self._dead = 0

    def __len__(self) -> int:
        return len(self.rows)

    def __contains__(self, key: object) -> bool:
        return key in self.rows

    def new_id(self) -> int:
        """Reserve the next id."""
        i = self.next_id
        self.next_id += 1
        return i

    def insert(self, row: Row) -> Row:
        """Add a row (its ``id`` must come from `new_id`)."""
        rid = row["id"]
        if self._ids and rid <= self._ids[-1]:
            bisect.insort(self._ids, rid)
        else:
            self._ids.append(rid)
        self.rows[rid] = row
        return row

    def get(self, rid: int) -> Row | None:
        """The row, or ``None``."""
        return self.rows.get(rid)

    def delete(self, rid: int) -> Row | None:
        """Remove a row; return it (``None`` if there was none)."""
        row = self.rows.pop(rid, None)
        if row is not None:
            self._dead += 1
            if self._dead > 64 and self._dead > len(self.rows):
                self._ids = [i for i in self._ids if i in self.rows]
                self._dead = 0
        return row

    def values(self) -> Iterable[Row]:
        """Every row, oldest first."""
        return self.rows.values()

    def ids_desc(self, below: int | None = None) -> Iterator[int]:
        """Live ids, highest first, each below ``below`` when given."""
        ids = self._ids
        end = len(ids) if below is None else bisect.bisect_left(ids, below)
        rows = self.rows
        for k in range(end - 1, -1, -1):
            rid = ids[k]
            if rid in rows:
                yield rid

    # Source protocol
    def keys_after(self, after: int | None) -> Iterator[int]:
        return self.ids_desc(after)

    def row(self, key: int) -> Row | None:
        return self.rows.get(key)

    def count(self) -> int | None:
        return len(self.rows)


class StaticSource:
    """A computed list (report rows, teammates): keys are positions."""

    def __init__(self, rows: list[Row]) -> None:
        self.rows = rows

    def keys_after(self, after: int | None) -> Iterator[int]:
        return iter(range(0 if after is None else after + 1, len(self.rows)))

    def row(self, key: int) -> Row | None:
        return self.rows[key] if 0 <= key < len(self.rows) else None

    def count(self) -> int | None:
        return len(self.rows)


class LazyTable:
    """``count`` rows generated on demand from their index, plus changes as overlays.

    Row ``i`` has id ``first_id + i`` and is built by ``generate(i)`` each time it is
    read, so a million rows cost no memory until touched. Updated generated rows live in
    ``overrides``, deleted ones in ``deleted``, and new rows in ``created`` (a
    `Table` whose ids follow the generated ones). ``hidden``, when set, hides
    generated rows cheaply (e.g. those of a deleted project).
    """

    def __init__(
        self, name: str, first_id: int, count: int, generate: Callable[[int], Row]
    ) -> None:
        self.name = name
        self.first_id = first_id
        self.generated_count = count
        self.generate = generate
        self.overrides: dict[int, Row] = {}
        self.deleted: set[int] = set()
        self.created = Table(name, first_id + count)
        self.hidden: Callable[[int], bool] | None = None
        #: How many rows were built by ``generate`` (tests check laziness with it).
        self.materialized = 0

    def __len__(self) -> int:
        if self.hidden is not None:
            return sum(1 for _ in self.ids_desc())
        return self.generated_count - len(self.deleted) + len(self.created)

    def new_id(self) -> int:
        """Reserve an id for a new row."""
        return self.created.new_id()

    def is_generated(self, rid: int) -> bool:
        """Whether ``rid`` falls in the generated range."""
        return self.first_id <= rid < self.first_id + self.generated_count

    def _live_generated(self, rid: int) -> bool:
        if rid in self.deleted:
            return False
        hidden = self.hidden
        return hidden is None or rid in self.overrides or not hidden(rid - self.first_id)

    def get(self, rid: int) -> Row | None:
        """The current row, or ``None``."""
        if self.is_generated(rid):
            if not self._live_generated(rid):
                return None
            row = self.overrides.get(rid)
            if row is None:
                self.materialized += 1
                row = self.generate(rid - self.first_id)
            return row
        return self.created.get(rid)

    def put(self, row: Row) -> None:
        """Store a changed row (generated rows go to the overlay)."""
        rid = row["id"]
        if self.is_generated(rid):
            self.overrides[rid] = row
        else:
            self.created.rows[rid] = row

    def insert(self, row: Row) -> Row:
        """Add a new row (id from `new_id`)."""
        return self.created.insert(row)

    def delete(self, rid: int) -> Row | None:
        """Delete a row; return what it was."""
        row = self.get(rid)
        if row is None:
            return None
        if self.is_generated(rid):
            self.deleted.add(rid)
            self.overrides.pop(rid, None)
        else:
            self.created.delete(rid)
        return row

    def changed_rows(self) -> Iterator[Row]:
        """Rows that are not as generated: overrides and created rows."""
        yield from self.overrides.values()
        yield from self.created.values()

    def ids_desc(
        self, below: int | None = None, index_range: tuple[int, int] | None = None
    ) -> Iterator[int]:
        """Live ids, highest first.

        ``index_range`` (``lo``, ``hi``: generated indexes, ``hi`` exclusive) limits the
        generated rows scanned; overridden rows outside it are still yielded, since a
        change may have moved them into whatever the caller filters for.
        """
        first = self.first_id
        n = self.generated_count
        lo, hi = (0, n) if index_range is None else (max(0, index_range[0]), min(n, index_range[1]))
        top = hi if below is None else min(hi, below - first)

        def generated() -> Iterator[int]:
            deleted = self.deleted
            hidden = self.hidden
            overrides = self.overrides
            for i in range(top - 1, lo - 1, -1):
                rid = first + i
                if rid in deleted:
                    continue
                if hidden is not None and rid not in overrides and hidden(i):
                    continue
                yield rid

        streams: list[Iterator[int]] = [self.created.ids_desc(below), generated()]
        if index_range is not None and self.overrides:
            outside = sorted(
                (
                    rid
                    for rid in self.overrides
                    if not (lo <= rid - first < hi) and (below is None or rid < below)
                ),
                reverse=True,
            )
            if outside:
                streams.append(iter(outside))
            return heapq.merge(*streams, reverse=True)
        # created ids are all above the generated ones: simply chain.
        return _chain(streams)

    def view(self, index_range: tuple[int, int] | None) -> LazyView:
        """A `Source` over this table, scanning only ``index_range`` if given."""
        return LazyView(self, index_range)


def _chain(streams: list[Iterator[int]]) -> Iterator[int]:
    for s in streams:
        yield from s


class LazyView:
    """A `Source` over a `LazyTable` (optionally a generated index range)."""

    def __init__(self, table: LazyTable, index_range: tuple[int, int] | None) -> None:
        self.table = table
        self.index_range = index_range

    def keys_after(self, after: int | None) -> Iterator[int]:
        return self.table.ids_desc(after, self.index_range)

    def row(self, key: int) -> Row | None:
        return self.table.get(key)

    def count(self) -> int | None:
        if self.index_range is None and self.table.hidden is None:
            return len(self.table)
        return None
