"""The one cattrs converter: every hook between Harvest JSON and attrs models lives here.

Wire formats (https://help.getharvest.com/api-v2/introduction/overview/supported-formats/):
dates are ``"2017-12-31"``, timestamps ``"2017-12-31T14:59:22Z"`` (UTC), decimals are
JSON numbers. The transport decodes JSON numbers with a fraction as :class:`Decimal`,
so money and hours arrive here exact and stay exact.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any, TypeVar, get_origin

import attrs
import cattrs
from cattrs.cols import list_structure_factory
from cattrs.gen import make_dict_structure_fn

from ._errors import DecodeError

__all__ = ["decode", "decode_many", "get_converter", "make_converter"]

T = TypeVar("T")


def _structure_decimal(value: Any, _: type) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        raise TypeError(f"expected a number, got {value!r}")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        # Only reachable for data not decoded by our transport (e.g. YAML examples).
        return Decimal(repr(value))
    if isinstance(value, str):
        try:
            result = Decimal(value)
        except InvalidOperation:
            raise ValueError(f"not a decimal number: {value!r}") from None
        if not result.is_finite():
            raise ValueError(f"not a finite decimal number: {value!r}")
        return result
    raise TypeError(f"expected a number, got {type(value).__name__}")


def _structure_date(value: Any, _: type) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str):
        raise TypeError(f"expected a date string, got {type(value).__name__}")
    return dt.date.fromisoformat(value)


def _structure_datetime(value: Any, _: type) -> dt.datetime:
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, str):
        parsed = dt.datetime.fromisoformat(value)
    else:
        raise TypeError(f"expected a timestamp string, got {type(value).__name__}")
    if parsed.tzinfo is None:
        # Harvest sends UTC ("Z"); a bare timestamp is taken as UTC too.
        return parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def _structure_int(value: Any, _: type) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, Decimal) and value == value.to_integral_value():
            return int(value)
        raise TypeError(f"expected an integer, got {value!r}")
    return value


def _structure_str(value: Any, _: type) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        # Harvest documents some codes as strings but may send a bare number.
        return str(value)
    raise TypeError(f"expected a string, got {type(value).__name__}")


def _structure_bool(value: Any, _: type) -> bool:
    if isinstance(value, bool):
        return value
    raise TypeError(f"expected true or false, got {value!r}")


def _strict_object_factory(conv: cattrs.Converter) -> Any:
    """Models accept JSON objects only (cattrs alone would take a list or string)."""

    def factory(cls: type) -> Any:
        inner: Any = make_dict_structure_fn(cls, conv)
        name = cls.__name__

        def structure(value: Any, _: type) -> Any:
            if not isinstance(value, dict):
                raise TypeError(f"expected an object for {name}, got {type(value).__name__}")
            return inner(value, cls)

        return structure

    return factory


def _strict_list_factory(conv: cattrs.Converter) -> Any:
    """List fields accept JSON arrays only (not strings or objects)."""

    def factory(type_: Any) -> Any:
        inner: Any = list_structure_factory(type_, conv)

        def structure(value: Any, _: type) -> Any:
            if not isinstance(value, list):
                raise TypeError(f"expected an array, got {type(value).__name__}")
            return inner(value, type_)

        return structure

    return factory


def _is_list_type(type_: Any) -> bool:
    origin: Any = get_origin(type_)
    return origin is list


def format_datetime(value: dt.datetime) -> str:
    """Format an aware datetime as Harvest's UTC ISO 8601 (``2017-12-31T14:59:22Z``)."""
    utc = value.astimezone(dt.UTC)
    text = utc.isoformat()
    return text[: -len("+00:00")] + "Z" if text.endswith("+00:00") else text


def make_converter() -> cattrs.Converter:
    """Build the converter used for every model.

    Hooks are registered once here; cattrs then generates and caches one structuring
    function per model class, so decoding does no per-item reflection.
    """
    conv = cattrs.Converter(forbid_extra_keys=False, detailed_validation=False)
    conv.register_structure_hook(Decimal, _structure_decimal)
    conv.register_structure_hook(dt.date, _structure_date)
    conv.register_structure_hook(dt.datetime, _structure_datetime)
    conv.register_structure_hook(int, _structure_int)
    conv.register_structure_hook(str, _structure_str)
    conv.register_structure_hook(bool, _structure_bool)
    conv.register_structure_hook_factory(attrs.has, _strict_object_factory(conv))
    conv.register_structure_hook_factory(_is_list_type, _strict_list_factory(conv))
    conv.register_unstructure_hook(Decimal, lambda v: v)
    conv.register_unstructure_hook(dt.date, lambda v: v.isoformat())
    conv.register_unstructure_hook(dt.datetime, format_datetime)
    return conv


@cache
def get_converter() -> cattrs.Converter:
    """The process-wide converter (built on first use)."""
    return make_converter()


def decode(cls: type[T], data: Any) -> T:
    """Structure one JSON object into ``cls``, raising :class:`DecodeError` on mismatch."""
    if not isinstance(data, dict):
        raise DecodeError(
            f"expected a JSON object for {cls.__name__}, got {type(data).__name__}"
        )
    try:
        return get_converter().structure(data, cls)
    except Exception as exc:
        raise DecodeError(f"cannot decode {cls.__name__}: {exc}") from exc


def decode_many(cls: type[T], items: Any) -> list[T]:
    """Structure a JSON array of objects into a list of ``cls``."""
    if not isinstance(items, list):
        raise DecodeError(
            f"expected a JSON array of {cls.__name__}, got {type(items).__name__}"
        )
    return [decode(cls, item) for item in items]
