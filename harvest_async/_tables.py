"""Typed, normalized tables derived from the attrs models (what `sync` writes).

Every table is built from one model's fields, in their order, so a field added to a
model is a column added to its table; nothing here names a field of Harvest:

- a scalar field is a column of the same name, typed by the field's type (`Kind`):
  ``int`` -> BIGINT, ``Decimal`` -> exact NUMERIC, ``date`` -> DATE, an aware
  ``datetime`` -> TIMESTAMPTZ, ``bool`` -> BOOLEAN, ``str`` -> TEXT;
- a nested record (``project: ProjectRef``) is flattened into ``<field>_<subfield>``
  columns (``project_id``, ``project_name``), nested records inside it likewise;
- a list of records or of scalars (``line_items``, ``roles``) goes to a child table
  ``<table>_<field>`` keyed by ``(account_id, <parent id>, position)``; a list of records
  inside such an item, and any free-form value (``dict``, ``Any``), is a JSON column;
- a text field holding a time of day (``started_time``: ``"8:00am"``) keeps Harvest's
  text and gains a parsed ``<field>_of_day`` TIME column.

Every table starts with ``account_id`` (BIGINT), part of its primary key with ``id``
(or, for a record without an id such as the company, alone).
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import itertools
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from typing import Any, Union

import attrs

from . import _json
from ._converter import encode_model, get_converter

__all__ = [
    "Child",
    "Column",
    "Encoders",
    "Kind",
    "Owned",
    "Table",
    "arrow_types",
    "export_columns",
    "owned_table",
    "parse_time_of_day",
    "table_for",
]


class Kind(enum.Enum):
    """The logical type of a column; each target maps it to one of its own."""

    BIGINT = "bigint"
    NUMERIC = "numeric"
    TEXT = "text"
    BOOLEAN = "boolean"
    DATE = "date"
    TIMESTAMPTZ = "timestamptz"
    TIME = "time"
    JSON = "json"


_SCALARS: dict[Any, Kind] = {
    int: Kind.BIGINT,
    Decimal: Kind.NUMERIC,
    str: Kind.TEXT,
    bool: Kind.BOOLEAN,
    dt.date: Kind.DATE,
    dt.datetime: Kind.TIMESTAMPTZ,
}

#: How a target stores the values of some kinds: ``kind -> (value -> stored value)``,
#: applied to the values that are not ``None`` (the other kinds are stored as read).
Encoders = Mapping[Kind, Callable[[Any], Any]]

#: Suffix of a text field holding a time of day; it gains a parsed ``_of_day`` column.
TIME_OF_DAY_SUFFIX = "_time"


@attrs.frozen(cache_hash=True)
class Column:
    """One column: its name, kind, and how its value is read from a record.

    Attributes:
        name: The column's name.
        kind: Its logical type.
        get: Record -> Python value (``None`` for null), before any target's encoding.
    """

    name: str
    kind: Kind
    get: Callable[[Any], Any] = attrs.field(eq=False, repr=False)
    #: The attributes read in turn (``("project", "name")``) when the value is just that.
    path: tuple[str, ...] | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(cache_hash=True)
class Child:
    """A child table holding one list field of the parent's records.

    Attributes:
        table: The child table (``<parent table>_<field>``).
        field: The list field of the parent model.
        columns: The columns after ``account_id``, the parent id and ``position``;
            for a list of scalars, one column ``value``.
        parent_key: The column holding the parent record's id.
    """

    table: str
    field: str
    columns: tuple[Column, ...]
    parent_key: str = "parent_id"

    @property
    def column_kinds(self) -> tuple[tuple[str, Kind], ...]:
        """Every column with its kind, keys first."""
        return (
            ("account_id", Kind.BIGINT),
            (self.parent_key, Kind.BIGINT),
            ("position", Kind.BIGINT),
            *((c.name, c.kind) for c in self.columns),
        )

    @property
    def key(self) -> tuple[str, ...]:
        return ("account_id", self.parent_key, "position")

    def rows(
        self, account_id: int, parent_id: int, record: Any, encoders: Encoders | None = None
    ) -> list[tuple[Any, ...]]:
        """The child rows of one parent record (none for a null or empty list)."""
        return self.row_builder(encoders)(account_id, parent_id, record)

    def row_builder(
        self, encoders: Encoders | None = None
    ) -> Callable[[int, int, Any], list[tuple[Any, ...]]]:
        """``(account_id, parent_id, record) -> child rows``, as `rows` (compiled once)."""
        build = _row_function(self.columns, _encoder_key(encoders), 3)
        field = self.field

        def rows(account_id: int, parent_id: int, record: Any) -> list[tuple[Any, ...]]:
            items = getattr(record, field, None)
            if not items:
                return []
            return [build(account_id, parent_id, n, item) for n, item in enumerate(items)]

        return rows


@attrs.frozen(cache_hash=True)
class Table:
    """A table derived from a model.

    Attributes:
        name: The table.
        model: The attrs class of its records.
        columns: The columns after ``account_id``.
        children: One child table per list field.
        has_id: Whether the records have an ``id`` (the key with ``account_id``).
    """

    name: str
    model: type
    columns: tuple[Column, ...]
    children: tuple[Child, ...]
    has_id: bool

    @property
    def column_kinds(self) -> tuple[tuple[str, Kind], ...]:
        """Every column with its kind, ``account_id`` first."""
        return (("account_id", Kind.BIGINT), *((c.name, c.kind) for c in self.columns))

    @property
    def key(self) -> tuple[str, ...]:
        return ("account_id", "id") if self.has_id else ("account_id",)

    @property
    def tables(self) -> tuple[str, ...]:
        """This table's name and its children's."""
        return (self.name, *(c.table for c in self.children))

    def row(self, account_id: int, record: Any) -> tuple[Any, ...]:
        """The record's row: ``account_id``, then one value per column."""
        return self.row_builder()(account_id, record)

    def row_builder(
        self, encoders: Encoders | None = None
    ) -> Callable[[int, Any], tuple[Any, ...]]:
        """``(account_id, record) -> row``, each value stored as ``encoders`` say.

        Compiled once per table and encoders: take it once per page, call it per record.
        """
        return _row_function(self.columns, _encoder_key(encoders), 1)


def _encoder_key(encoders: Encoders | None) -> tuple[tuple[Kind, Callable[[Any], Any]], ...]:
    return tuple(sorted((encoders or {}).items(), key=lambda pair: pair[0].value))


@functools.cache
def _row_function(
    columns: tuple[Column, ...],
    encoders: tuple[tuple[Kind, Callable[[Any], Any]], ...],
    leading: int,
) -> Callable[..., tuple[Any, ...]]:
    """``(*leading values, record) -> row``, compiled once per columns and encoders (a
    sync calls it for every record: plain attribute reads, not a call per column)."""
    names: dict[str, Any] = {}
    encode = dict(encoders)
    args = [f"_k{i}" for i in range(leading)]
    parts = list(args)
    temp = itertools.count()
    for i, column in enumerate(columns):
        if column.path is None:
            names[f"_g{i}"] = column.get
            expr = f"_g{i}(record)"
        else:
            expr = f"record.{column.path[-1]}" if len(column.path) == 1 else ""
            if len(column.path) > 1:
                holder = "record"
                opened = 0
                for attr in column.path[:-1]:
                    t = f"_t{next(temp)}"
                    expr += f"(None if ({t} := {holder}.{attr}) is None else "
                    holder = t
                    opened += 1
                expr += f"{holder}.{column.path[-1]}" + ")" * opened
        if column.kind in encode:
            names[f"_e{i}"] = encode[column.kind]
            t = f"_t{next(temp)}"
            expr = f"(None if ({t} := {expr}) is None else _e{i}({t}))"
        parts.append(expr)
    source = f"def row({', '.join([*args, 'record'])}):\n    return (" + ", ".join(parts) + ",)\n"
    exec(compile(source, "<harvest_async row>", "exec"), names)
    function: Callable[..., tuple[Any, ...]] = names["row"]
    return function


def _strip_optional(tp: Any) -> Any:
    if typing.get_origin(tp) in (Union, types.UnionType):
        args = tuple(a for a in typing.get_args(tp) if a is not type(None))
        if len(args) == 1:
            return args[0]
        return Any
    return tp


def parse_time_of_day(text: Any) -> dt.time | None:
    """Harvest's ``"8:00am"``, ``"2:30pm"`` or ``"14:00"`` as a time; ``None`` if not one."""
    if not isinstance(text, str):
        return None
    value = text.strip().lower().replace(" ", "")
    for fmt in ("%I:%M%p", "%H:%M", "%H:%M:%S"):
        try:
            return dt.datetime.strptime(value, fmt).time()
        except ValueError:
            continue
    return None


def _chain(outer: Callable[[Any], Any], name: str) -> Callable[[Any], Any]:
    def get(record: Any) -> Any:
        inner = outer(record)
        return None if inner is None else getattr(inner, name, None)

    return get


def _attr(name: str) -> Callable[[Any], Any]:
    def get(record: Any) -> Any:
        return getattr(record, name, None)

    return get


def _as_json(get: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def encode(record: Any) -> Any:
        value = get(record)
        if value is None:
            return None
        if attrs.has(type(value)):
            return encode_model(value)
        return _json.dumps(get_converter().unstructure(value))

    return encode


def _of_day(get: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def parse(record: Any) -> Any:
        return parse_time_of_day(get(record))

    return parse


def _columns(
    model: type, prefix: str, get: Callable[[Any], Any] | None, path: tuple[str, ...] = ()
) -> Iterator[tuple[str, Kind, Callable[[Any], Any], Any]]:
    """``(name, kind, getter, list item type or None)`` per flattened field of ``model``.

    A ``None`` kind marks a list field (its item type last), for a child table.
    """
    hints = typing.get_type_hints(model)
    for field in attrs.fields(model):
        tp = _strip_optional(hints.get(field.name, Any))
        name = f"{prefix}{field.name}"
        getter = _attr(field.name) if get is None else _chain(get, field.name)
        if tp in _SCALARS:
            _PATHS[id(getter)] = (*path, field.name)
            yield name, _SCALARS[tp], getter, None
            if tp is str and field.name.endswith(TIME_OF_DAY_SUFFIX):
                yield f"{name}_of_day", Kind.TIME, _of_day(getter), None
        elif isinstance(tp, type) and attrs.has(tp):
            yield from _columns(tp, f"{name}_", getter, (*path, field.name))
        elif typing.get_origin(tp) is list and get is None:
            (item,) = typing.get_args(tp) or (Any,)
            yield name, None, getter, _strip_optional(item)  # type: ignore[misc]
        else:  # free-form (dict, Any) or a list inside a nested record
            yield name, Kind.JSON, _as_json(getter), None


#: The attribute path of each plain getter `_columns` made (by the getter's id; the
#: getters live as long as the tables that hold them).
_PATHS: dict[int, tuple[str, ...]] = {}


def _column(name: str, kind: Kind, get: Callable[[Any], Any]) -> Column:
    return Column(name, kind, get, _PATHS.get(id(get)))


def _child(parent: str, field: str, item: Any) -> Child:
    if isinstance(item, type) and attrs.has(item):
        columns = tuple(
            Column(n, Kind.JSON, _as_json(g)) if k is None else _column(n, k, g)
            for n, k, g, _ in _columns(item, "", None)
        )
    else:
        kind = _SCALARS.get(item, Kind.JSON)
        get = _identity if kind is not Kind.JSON else _as_json(_identity)
        columns = (Column("value", kind, get),)
    return Child(f"{parent}_{field}", field, columns)


def _identity(value: Any) -> Any:
    return value


@functools.cache
def table_for(name: str, model: type) -> Table:
    """The table ``name`` holding records of ``model`` (built once per pair)."""
    columns: list[Column] = []
    children: list[Child] = []
    for column, kind, get, item in _columns(model, "", None):
        if kind is None:
            children.append(_child(name, column, item))
        else:
            columns.append(_column(column, kind, get))
    names = [c.name for c in columns]
    if "account_id" in names:  # a model's own account_id would clash with the key
        columns = [
            attrs.evolve(c, name="record_account_id") if c.name == "account_id" else c
            for c in columns
        ]
    return Table(name, model, tuple(columns), tuple(children), has_id="id" in names)


class Owned:
    """A record with values it does not carry: its parent's id, a report row's window.

    Reads as the record itself, plus each name of ``extra`` (``invoice_id``) holding
    its value: what `owned_table`'s rows read.
    """

    __slots__ = ("_extra", "_record")

    def __init__(self, record: Any, extra: dict[str, Any]) -> None:
        self._record = record
        self._extra = extra

    def __getattr__(self, name: str) -> Any:
        extra = self._extra
        if name in extra:
            return extra[name]
        return getattr(self._record, name)


@functools.cache
def owned_table(name: str, model: type, extra: tuple[tuple[str, Kind], ...]) -> Table:
    """`table_for`'s table with the columns ``extra`` first, read from `Owned` records.

    An ``id`` among them makes it the key with ``account_id``.
    """
    table = table_for(name, model)
    present = {c.name for c in table.columns}
    added = tuple(
        Column(column, kind, _attr(column), path=(column,))
        for column, kind in extra
        if column not in present
    )
    return attrs.evolve(
        table,
        columns=(*added, *table.columns),
        has_id=table.has_id or any(c.name == "id" for c in added),
    )


def export_columns(table: Table) -> tuple[Column, ...]:
    """The columns of a flat export (CSV, Parquet): the table's, then each list as JSON."""
    lists = tuple(Column(c.field, Kind.JSON, _as_json(_attr(c.field))) for c in table.children)
    return (*table.columns, *lists)


@functools.cache
def arrow_types() -> dict[Kind, Any]:
    """Each kind's Arrow type (Parquet export, DuckDB pages); needs pyarrow."""
    import pyarrow as pa

    return {
        Kind.BIGINT: pa.int64(),
        Kind.NUMERIC: pa.decimal128(38, 12),
        Kind.TEXT: pa.string(),
        Kind.BOOLEAN: pa.bool_(),
        Kind.DATE: pa.date32(),
        Kind.TIMESTAMPTZ: pa.timestamp("us", tz="UTC"),
        Kind.TIME: pa.time64("us"),
        Kind.JSON: pa.string(),  # DuckDB casts the text to its JSON type on insert
    }
