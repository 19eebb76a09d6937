"""Complete records for tests: every field a model requires, with a plain valid value.

Derived from the models (a field without a default is required), so a test that is
about one field gives only that field and `complete` fills in the rest.
"""

from __future__ import annotations

import datetime as dt
import json
import types
import typing
from decimal import Decimal
from typing import Any, TypeVar

import attrs

from harvest_async._converter import decode

__all__ = ["build", "complete", "record", "required_values"]

T = TypeVar("T")

_PLAIN: dict[Any, Any] = {
    int: 1,
    str: "x",
    bool: False,
    Decimal: 1,
    float: 1,
    dt.date: "2024-01-01",
    dt.datetime: "2024-01-01T00:00:00Z",
}


def _value(tp: Any) -> Any:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        (tp,) = [a for a in typing.get_args(tp) if a is not type(None)]
    if typing.get_origin(tp) is list:
        return []
    if attrs.has(tp):
        return required_values(tp)
    return _PLAIN[tp]


def required_values(cls: type) -> dict[str, Any]:
    """A JSON object (as Python values) with every required field of ``cls``."""
    hints = typing.get_type_hints(cls)
    return {f.alias: _value(hints[f.name]) for f in attrs.fields(cls) if f.default is attrs.NOTHING}


def complete(cls: type, item: str) -> str:
    """JSON object text ``item`` with ``cls``'s required fields put first (its own win)."""
    filler = json.dumps(required_values(cls))[1:-1]
    body = item.strip()
    if not filler or not body.startswith("{"):
        return item
    rest = body[1:].strip()
    return "{" + filler + ("" if rest == "}" else ", ") + rest


def build(cls: type[T], **fields: Any) -> T:
    """A ``cls`` with plain values in its required fields and ``fields`` given as they are."""
    return attrs.evolve(decode(cls, required_values(cls)), **fields)


def record(cls: type, **fields: Any) -> dict[str, Any]:
    """A JSON object (as Python values) of ``cls``: its required fields, then ``fields``."""
    return {**required_values(cls), **fields}
