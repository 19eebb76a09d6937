"""Harvest's JSON objects rendered from stored rows by the fields of the client's models.

The attrs models of `harvest_async.models` are the one description of every response:
a model's fields, in their order, are the keys of the object served, and each field's
type says how its value is found in a stored row:

- a scalar (``int``, ``str``, ``Decimal``, ``list[str]``, ...) is the row's value of the
  same name (stored already as its JSON value: floats for decimals, ``"...Z"`` strings
  for timestamps, ``"YYYY-MM-DD"`` for dates); a row without it serves ``null``;
- a nested model (``client: ClientRef``) is, when the row stores ``<field>_id`` and the
  storage says which table that id points at, the referenced record (live, or its
  tombstone) rendered with the nested model's fields; else the object stored in the row
  under the field's own name (``receipt``, ``external_reference``);
- a list of models (``line_items``, ``recipients``) is rendered item by item.

The rest is the simulator's to say, once each: which table a stored ``<field>_id``
points at, and the few values that are computed rather than stored, keyed by model and
field (a computed nested field gives the row, or rows, to render it from).

Each model gets one plan, built on first use, so serving a row reflects on nothing.
References are cached as encoded JSON (`msgspec.Raw`) per referenced record: the
objects handed to `encode` carry them as they are, and a record that changes must be
passed to `Renderer.forget`. Only references whose model has no nested objects are
cached, so a cached one depends on its own record alone (computed values of a
referenced model, such as a user reference's ``name``, must read only that record).
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Mapping
from operator import itemgetter, methodcaller
from typing import Any, Union

import attrs
import msgspec

__all__ = ["Plan", "Renderer", "decode", "encode"]

Row = dict[str, Any]
Getter = Callable[[Row], Any]
#: ``(table, id) -> row``: a stored record, or its tombstone, or ``None``.
Lookup = Callable[[str, int], Row | None]

#: Compact JSON of rendered objects (`msgspec.Raw` references are copied as they are).
encode: Callable[[Any], bytes] = msgspec.json.Encoder().encode
#: JSON text back to plain Python values (what a client sees of an answer).
decode: Callable[[bytes], Any] = msgspec.json.Decoder().decode


def _shape(tp: Any) -> tuple[str, type | None]:
    """``("object", M)``, ``("list", M)`` for nested models, else ``("scalar", None)``."""
    args: tuple[Any, ...] = (tp,)
    if typing.get_origin(tp) in (Union, types.UnionType):
        args = tuple(a for a in typing.get_args(tp) if a is not type(None))
    if len(args) == 1:
        (inner,) = args
        if attrs.has(inner):
            return "object", inner
        if typing.get_origin(inner) is list:
            item_args = typing.get_args(inner)
            if len(item_args) == 1 and attrs.has(item_args[0]):
                return "list", item_args[0]
    return "scalar", None


@attrs.frozen
class Plan:
    """How one model is rendered: ``(key, getter)`` per field, in the model's order.

    Attributes:
        model: The attrs class.
        steps: One ``(field name, row -> JSON value)`` per field; a stored field the
            row lacks is ``None``.
        fast: The same, with stored fields read by `operator.itemgetter` (several times
            faster than ``dict.get``), raising `KeyError` when the row lacks one.
        flat: Whether every field is a scalar (such a reference can be cached).
        reads: The keys read from a row: field names, and ``<field>_id`` of references.
    """

    model: type
    steps: tuple[tuple[str, Getter], ...]
    fast: tuple[tuple[str, Getter], ...]
    flat: bool
    reads: tuple[str, ...]

    def render(self, row: Row) -> dict[str, Any]:
        """The JSON object of a row (references as `msgspec.Raw`)."""
        try:
            return {name: get(row) for name, get in self.fast}
        except KeyError:  # a row without some field: those are null
            return {name: get(row) for name, get in self.steps}


class Renderer:
    """Renders rows as the JSON objects of models, with cached references.

    Args:
        lookup: Finds a stored record (or its tombstone) by table and id.
        refs: Stored key -> table it points at (``"creator_id": "users"``); ``None``
            for an id with no table of its own, served as ``{"id": ...}``.
        computed: ``(model, field name) -> row -> value`` for values not stored; for a
            nested field, the row (or list of rows) to render it from.
    """

    def __init__(
        self,
        *,
        lookup: Lookup,
        refs: Mapping[str, str | None],
        computed: Mapping[tuple[type, str], Getter],
    ) -> None:
        self._lookup = lookup
        self._refs = dict(refs)
        self._computed = dict(computed)
        self._plans: dict[type, Plan | None] = {}
        self._caches: dict[str, list[dict[int, msgspec.Raw]]] = {}

    def forget(self, table: str, rid: int) -> None:
        """Drop the cached references to a record that changed or was deleted."""
        for cache in self._caches.get(table, ()):
            cache.pop(rid, None)

    def plan(self, model: type) -> Plan:
        """The plan of a model (built once)."""
        if model in self._plans:
            found = self._plans[model]
            if found is None:
                raise TypeError(f"{model.__name__} contains itself")
            return found
        self._plans[model] = None
        try:
            built = self._build(model)
        except BaseException:
            del self._plans[model]
            raise
        self._plans[model] = built
        return built

    def render(self, model: type, row: Row) -> dict[str, Any]:
        """A row as the JSON object of ``model`` (references as `msgspec.Raw`)."""
        return self.plan(model).render(row)

    def unstored(self, model: type, row: Row) -> list[str]:
        """The keys ``model`` reads that ``row`` lacks (their fields are served as null)."""
        return [key for key in self.plan(model).reads if key not in row]

    # ------------------------------------------------------------------ building

    def _build(self, model: type) -> Plan:
        hints = typing.get_type_hints(model)
        steps: list[tuple[str, Getter]] = []
        fast: list[tuple[str, Getter]] = []
        reads: list[str] = []
        flat = True
        for field in attrs.fields(model):
            name = field.name
            shape, nested = _shape(hints[name])
            computed = self._computed.get((model, name))
            if computed is None:
                reads.append(name)
            if nested is None:
                steps.append((name, computed or methodcaller("get", name)))
                fast.append((name, computed or itemgetter(name)))
                continue
            flat = False
            sub = self.plan(nested)
            key = f"{name}_id"
            if shape == "object" and computed is None and key in self._refs:
                reads[-1] = key
                steps.append((name, self._reference(key, self._refs[key], sub)))
            elif shape == "object":
                steps.append((name, _inline(computed or methodcaller("get", name), sub)))
            else:
                steps.append((name, _items(computed or methodcaller("get", name), sub)))
            fast.append(steps[-1])
        return Plan(model, tuple(steps), tuple(fast), flat, tuple(reads))

    def _reference(self, key: str, table: str | None, sub: Plan) -> Getter:
        render = sub.render
        if table is None:

            def by_id(row: Row) -> Any:
                rid = row.get(key)
                return None if rid is None else render({"id": rid})

            return by_id
        lookup = self._lookup
        if not sub.flat:

            def fresh(row: Row) -> Any:
                rid = row.get(key)
                target = None if rid is None else lookup(table, rid)
                return None if target is None else render(target)

            return fresh
        cache: dict[int, msgspec.Raw] = {}
        self._caches.setdefault(table, []).append(cache)

        def cached(row: Row) -> Any:
            rid = row.get(key)
            if rid is None:
                return None
            hit = cache.get(rid)
            if hit is None:
                target = lookup(table, rid)
                if target is None:
                    return None
                hit = cache[rid] = msgspec.Raw(encode(render(target)))
            return hit

        return cached


def _inline(source: Getter, sub: Plan) -> Getter:
    render = sub.render

    def get(row: Row) -> Any:
        value = source(row)
        return None if value is None else render(value)

    return get


def _items(source: Getter, sub: Plan) -> Getter:
    render = sub.render

    def get(row: Row) -> Any:
        values = source(row)
        return None if values is None else [render(v) for v in values]

    return get
