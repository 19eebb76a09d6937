"""The one cattrs converter: every hook between Harvest JSON and attrs models lives here.

Wire formats (https://help.getharvest.com/api-v2/introduction/overview/supported-formats/):
dates are ``"2017-12-31"``, timestamps ``"2017-12-31T14:59:22Z"`` (UTC), decimals are
JSON numbers. The transport decodes JSON numbers with a fraction as `Decimal`,
so money and hours arrive here exact and stay exact.
"""

from __future__ import annotations

import datetime as dt
import itertools
import operator
import re
import types
from collections.abc import Callable, Iterable
from decimal import Decimal
from functools import cache, partial
from typing import Any, TypeVar, Union, get_args, get_origin

import attrs
import cattrs
import msgspec
from cattrs.cols import list_structure_factory
from cattrs.gen import make_dict_structure_fn

from ._errors import DecodeError
from ._json import TIMESTAMP_RANGE_MESSAGE, dumps, format_datetime, loads

__all__ = [
    "DECIMAL_EXPONENT_LIMIT",
    "DECIMAL_INT_LIMIT",
    "INT_MAX",
    "INT_MIN",
    "decode",
    "decode_json",
    "decode_json_list",
    "decode_many",
    "encode_model",
    "format_datetime",
    "get_converter",
    "list_body_decoder",
    "make_converter",
    "required_fields",
]

T = TypeVar("T")

#: The range of an ``int`` field: Harvest's ids and counts are signed 64-bit integers
#: (what SQLite and PostgreSQL ``bigint`` hold).
INT_MIN = -(2**63)
INT_MAX = 2**63 - 1
#: Largest adjusted exponent (either sign) of a ``Decimal`` field: its value is 0 or
#: ``1e-30 <= abs(value) < 1e31``. Harvest's money and hours are far inside (a few digits
#: each side of the point), PostgreSQL ``NUMERIC`` holds all of it, and with the exponent
#: bounded no operation on the value can blow up (``int()``, ``f`` formatting and
#: ``quantize`` cost at most about its number of digits, which the response size bounds).
DECIMAL_EXPONENT_LIMIT = 30
#: Ints a ``Decimal`` field takes lie strictly between ``-DECIMAL_INT_LIMIT`` and this.
DECIMAL_INT_LIMIT = 10 ** (DECIMAL_EXPONENT_LIMIT + 1)

_INT_RANGE_MESSAGE = "an int beyond the signed 64-bit range"
_DECIMAL_RANGE_MESSAGE = (
    f"a Decimal out of range (adjusted exponent beyond +-{DECIMAL_EXPONENT_LIMIT})"
)
_TIMESTAMP_RANGE_MESSAGE = TIMESTAMP_RANGE_MESSAGE


def _checked_decimal(value: Decimal) -> Decimal:
    """``value`` if it is finite and within `DECIMAL_EXPONENT_LIMIT`, else ValueError."""
    if not value.is_finite():
        raise ValueError("a decimal number that is not finite")
    if not -DECIMAL_EXPONENT_LIMIT <= value.adjusted() <= DECIMAL_EXPONENT_LIMIT:
        raise ValueError(_DECIMAL_RANGE_MESSAGE)
    return value


def _structure_decimal(value: Any, _: type) -> Decimal:
    if isinstance(value, Decimal):
        return _checked_decimal(value)
    if isinstance(value, bool):
        raise TypeError("expected a number, got a boolean")
    if isinstance(value, int):
        if not -DECIMAL_INT_LIMIT < value < DECIMAL_INT_LIMIT:  # no Decimal of 4000 digits
            raise ValueError(_DECIMAL_RANGE_MESSAGE)
        return Decimal(value)
    if isinstance(value, float):
        # Only reachable for data not decoded by our transport (e.g. YAML examples).
        return _checked_decimal(Decimal(repr(value)))
    if isinstance(value, str):
        try:
            result = Decimal(value)
        except ArithmeticError:  # InvalidOperation, or an exponent beyond Decimal's
            raise ValueError("a string that is not a decimal number") from None
        return _checked_decimal(result)
    raise TypeError(f"expected a number, got {type(value).__name__}")


def _structure_date(value: Any, _: type) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str):
        raise TypeError(f"expected a date string, got {type(value).__name__}")
    return _rfc3339(value, dt.date)


def _rfc3339(text: str, type_: type[T]) -> T:
    """``text`` read as msgspec reads it from bytes (RFC 3339), so both paths agree.

    Raises:
        ValueError: not an RFC 3339 date or timestamp (msgspec's ValidationError is one).
    """
    parsed: T = msgspec.convert(text, type_)
    return parsed


def _structure_datetime(value: Any, _: type) -> dt.datetime:
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, str):
        parsed = _rfc3339(value, dt.datetime)
    else:
        raise TypeError(f"expected a timestamp string, got {type(value).__name__}")
    tzinfo = parsed.tzinfo
    if tzinfo is dt.UTC:  # "...Z": the usual case, already what we return
        return parsed
    if tzinfo is None:
        # Harvest sends UTC ("Z"); a bare timestamp is taken as UTC too.
        return parsed.replace(tzinfo=dt.UTC)
    try:
        return parsed.astimezone(dt.UTC)
    except OverflowError:  # "9999-12-31T23:59:59-01:00" is in year 10000 in UTC
        raise ValueError(_TIMESTAMP_RANGE_MESSAGE) from None


def _structure_int(value: Any, _: type) -> int:
    # JSON integers only (as msgspec decodes bytes): ``1e999999999`` is never int()-ed.
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an integer, got {type(value).__name__}")
    if not INT_MIN <= value <= INT_MAX:
        raise ValueError(_INT_RANGE_MESSAGE)
    return value


def _structure_str(value: Any, _: type) -> str:
    if isinstance(value, str):
        return value
    raise TypeError(f"expected a string, got {type(value).__name__}")


def _structure_bool(value: Any, _: type) -> bool:
    if isinstance(value, bool):
        return value
    raise TypeError(f"expected true or false, got {type(value).__name__}")


class MissingFieldError(TypeError):
    """A record lacks a field Harvest always sends (or has it ``null``)."""

    def __init__(self, model: str, field: str, null: bool) -> None:
        super().__init__(f"{model}.{field} is {'null' if null else 'missing'}")


def required_fields(cls: type) -> tuple[str, ...]:
    """The keys a record of ``cls`` must carry non-null: fields without a default."""
    return tuple(f.alias for f in attrs.fields(cls) if f.init and f.default is attrs.NOTHING)


def _strict_object_factory(conv: cattrs.Converter) -> Any:
    """Models accept JSON objects only, with every required field given and not null."""

    def factory(cls: type) -> Any:
        inner: Any = make_dict_structure_fn(cls, conv)
        name = cls.__name__
        required = required_fields(cls)

        def structure(value: Any, _: type) -> Any:
            if not isinstance(value, dict):
                raise TypeError(f"expected an object for {name}, got {type(value).__name__}")
            for key in required:
                if value.get(key) is None:
                    raise MissingFieldError(name, key, key in value)
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


#: Messages of our own hooks name types only, so they are safe to show.
_SAFE_MESSAGES = re.compile(
    r"^(expected an? [\w ]+, got [\w ]+|a string that is not a decimal number|"
    r"a decimal number that is not finite|"
    + "|".join(
        re.escape(m) for m in (_INT_RANGE_MESSAGE, _DECIMAL_RANGE_MESSAGE, _TIMESTAMP_RANGE_MESSAGE)
    )
    + r")$"
)


def _describe(exc: Exception) -> str:
    text = str(exc)
    if isinstance(exc, MissingFieldError):
        return text
    if isinstance(exc, (TypeError, ValueError)) and _SAFE_MESSAGES.match(text):
        return text
    if isinstance(exc, ValueError):
        return "a value in the wrong format (e.g. a bad date or timestamp)"
    return f"a value of the wrong type ({type(exc).__name__})"


def decode(cls: type[T], data: Any) -> T:
    """Structure one JSON object into ``cls``, raising `DecodeError` on mismatch."""
    if not isinstance(data, dict):
        raise DecodeError(f"expected a JSON object for {cls.__name__}, got {type(data).__name__}")
    try:
        return get_converter().structure(data, cls)
    except Exception as exc:
        # The message names types, never values: a response may echo anything back
        # (a token included), and error messages end up in logs.
        raise DecodeError(f"cannot decode {cls.__name__}: {_describe(exc)}") from None


def decode_many(cls: type[T], items: Any) -> list[T]:
    """Structure a JSON array of objects into a list of ``cls``."""
    if not isinstance(items, list):
        raise DecodeError(f"expected a JSON array of {cls.__name__}, got {type(items).__name__}")
    hook = get_converter().get_structure_hook(cls)
    try:
        # The hook checks each item is an object; one try for the whole page.
        return [hook(item, cls) for item in items]
    except Exception:
        pass
    return [decode(cls, item) for item in items]  # find and report the bad item


# --- Bytes straight to models --------------------------------------------------------
#
# A body is decoded from its bytes to models by msgspec's C decoder, which builds the
# attrs classes itself from their annotations (decimals exact from the JSON text,
# required fields enforced, unknown keys skipped). What msgspec takes and the converter's
# hooks refuse or change is then checked column by column over the decoded objects
# (`_Checks`, built once per model from its fields): ints within `INT_MIN`..`INT_MAX`,
# decimals finite and within `DECIMAL_EXPONENT_LIMIT`, timestamps in UTC (a timestamp
# with another offset, or none, is converted as the converter does).

#: The envelope fields `parse_page` reads besides the items (decoded untyped).
_ENVELOPE_FIELDS = ("total_entries", "page", "total_pages", "per_page", "links")
#: What msgspec may raise for a body: bad JSON or types, too deep, ``1e99999999999``.
_BODY_ERRORS = (msgspec.DecodeError, ValueError, RecursionError, ArithmeticError)

_not_none = partial(operator.is_not, None)
_is_utc = partial(operator.is_, dt.UTC)
_tzinfo = operator.attrgetter("tzinfo")


def _unwrap(type_: Any) -> tuple[Any, int, bool]:
    """``(inner type, how many lists deep, may be None)`` of a field's type."""
    optional = False
    if get_origin(type_) in (Union, types.UnionType):
        args = [a for a in get_args(type_) if a is not type(None)]
        optional = len(args) < len(get_args(type_))
        type_ = args[0] if len(args) == 1 else Any
    depth = 0
    if get_origin(type_) is list:
        (type_,) = get_args(type_) or (Any,)
        type_, depth, _ = _unwrap(type_)
        depth += 1
    return type_, depth, optional


@attrs.frozen
class _Checks:
    """The columns of one model to check after msgspec.

    ``scalars``: ``(field, int/Decimal/datetime, lists deep, the field's type)``;
    ``nested``: ``(field, model, lists deep)``.
    """

    scalars: tuple[tuple[str, Any, int, Any], ...]
    nested: tuple[tuple[str, type, int], ...]


_checks_cache: dict[type, _Checks] = {}


def _checks(cls: type) -> _Checks:
    found = _checks_cache.get(cls)
    if found is None:
        attrs.resolve_types(cls)
        scalars, nested = [], []
        for field in attrs.fields(cls):
            inner, depth, _ = _unwrap(field.type)
            if inner in (int, Decimal, dt.datetime):
                scalars.append((field.name, inner, depth, field.type))
            elif isinstance(inner, type) and attrs.has(inner):
                nested.append((field.name, inner, depth))
        found = _checks_cache[cls] = _Checks(tuple(scalars), tuple(nested))
    return found


def _column_ok(values: list[Any], type_: Any) -> bool:
    """Whether a column of non-null values holds only what the converter would give."""
    if not values:
        return True
    if type_ is int:
        return bool(max(values) <= INT_MAX and min(values) >= INT_MIN)
    if type_ is Decimal:
        if not all(map(Decimal.is_finite, values)):
            return False
        adjusted = list(map(Decimal.adjusted, values))
        return max(adjusted) <= DECIMAL_EXPONENT_LIMIT and min(adjusted) >= -DECIMAL_EXPONENT_LIMIT
    return all(map(_is_utc, map(_tzinfo, values)))


def _fix(obj: Any, cls: type, name: str, type_: Any) -> None:
    """Structure one field's value as the converter does; timestamps are stored in UTC."""
    value = getattr(obj, name)
    try:
        fixed = get_converter().structure(value, type_)
    except (TypeError, ValueError) as exc:
        raise _FieldError(cls.__name__, name, _describe(exc)) from None
    if fixed is not value:
        object.__setattr__(obj, name, fixed)  # still being built: no one has seen it


class _FieldError(ValueError):
    def __init__(self, model: str, field: str, what: str) -> None:
        super().__init__(f"{model}.{field}: {what}")


def _column(objs: list[Any], name: str, depth: int) -> list[Any]:
    """The non-null values of field ``name`` of ``objs``, lists flattened ``depth`` deep."""
    values: Iterable[Any] = filter(_not_none, map(operator.attrgetter(name), objs))
    for _ in range(depth):
        values = filter(_not_none, itertools.chain.from_iterable(values))
    return list(values)


def _check(objs: list[Any], cls: type) -> None:
    """Check (and bring to UTC) every int, decimal and timestamp of ``objs``, nested too."""
    checks = _checks(cls)
    for name, type_, depth, field_type in checks.scalars:
        if not _column_ok(_column(objs, name, depth), type_):
            for obj in objs:
                _fix(obj, cls, name, field_type)
    for name, inner, depth in checks.nested:
        children = _column(objs, name, depth)
        if children:
            _check(children, inner)


_SAFE_BODY_MESSAGE = re.compile(r"^Expected `[^`]*`, got `[^`]*`")


def _body_error(cls: type, exc: BaseException) -> DecodeError:
    """The `DecodeError` for ``exc``: names the model and field, never a value."""
    if isinstance(exc, _FieldError):
        return DecodeError(f"cannot decode {cls.__name__}: {exc}")
    if isinstance(exc, RecursionError):
        return DecodeError(f"cannot decode {cls.__name__}: response JSON is nested too deeply")
    if isinstance(exc, ArithmeticError):
        return DecodeError(f"cannot decode {cls.__name__}: response JSON has a number out of range")
    if isinstance(exc, msgspec.ValidationError):
        text, _, where = str(exc).partition(" - at `")
        where = where.rstrip("`") or "$"
        safe = _SAFE_BODY_MESSAGE.match(text)
        if text.startswith("Object missing required field `"):
            where += "." + text.split("`")[1]
        model, field = _locate(cls, where)
        if text.startswith("Object missing required field `"):
            what = "is missing"
        elif text.endswith("got `null`") and field is not None:
            what = "is null"
        elif safe:
            what = f": {safe.group(0).replace('`', '').lower()}"
        elif "out of range" in text.lower() or text == "Invalid decimal string":
            what = ": a number out of range"
        else:
            what = ": a value in the wrong format"
        place = f"{model}.{field}" if field is not None else model
        return DecodeError(f"cannot decode {cls.__name__}: {place} {what}".replace(" :", ":"))
    if isinstance(exc, UnicodeDecodeError):
        return DecodeError(f"response is not UTF-8 text (byte {exc.start} of the body)")
    return DecodeError(f"cannot decode {cls.__name__}: response is not valid JSON")


def _locate(cls: type, path: str) -> tuple[str, str | None]:
    """The model and field a msgspec path (``$[3].project.name``) points at."""
    model: Any = cls
    field: str | None = None
    for part in re.findall(r"\.(\w+)|\[\d+\]", path.removeprefix("$")):
        if not part:  # an index: into the list's items
            continue
        if field is not None:
            hints = {f.name: f.type for f in attrs.fields(model)}
            inner, _, _ = _unwrap(hints.get(field))
            if not (isinstance(inner, type) and attrs.has(inner)):
                break
            model = inner
        field = part
    return model.__name__, field


_json_decoders: dict[Any, msgspec.json.Decoder[Any]] = {}


def _json_decoder(type_: Any) -> msgspec.json.Decoder[Any]:
    found = _json_decoders.get(type_)
    if found is None:
        found = _json_decoders[type_] = msgspec.json.Decoder(type_)
    return found


def _utf8_checked(body: bytes) -> None:
    # msgspec skips what it does not read (unknown fields) unchecked: the whole body
    # must be UTF-8, as any JSON text.
    if not body.isascii():
        body.decode("utf-8")


def _msgspec_refused(exc: BaseException) -> bool:
    """Whether msgspec refused the JSON text itself (not its fit to the model)."""
    return type(exc) is msgspec.DecodeError


def decode_json(cls: type[T], body: bytes | None) -> T:
    """One record of ``cls`` from the bytes of a JSON object (a response body).

    msgspec builds the model from the bytes (`_check` then holds it to the converter's
    rules). A text msgspec refuses as JSON is read by `loads`, which words the error,
    or (lone surrogate escapes, which only the standard library takes) gives the JSON
    the converter structures.

    Raises:
        DecodeError: the body is not a JSON object of ``cls``: the message names the
            model and field (a required one missing or null, a wrong type), never a value.
    """
    if body is None:  # an empty 2xx body
        return decode(cls, body)
    record: T = _from_bytes(cls, body, many=False)
    return record


def decode_json_list(cls: type[T], body: bytes | msgspec.Raw) -> list[T]:
    """Records of ``cls`` from the bytes of a JSON array, as `decode_json` reads one."""
    records: list[T] = _from_bytes(cls, body, many=True)
    return records


def _from_bytes(cls: type, body: bytes | msgspec.Raw, *, many: bool) -> Any:
    """A record of ``cls`` (a list of them if ``many``) decoded by msgspec; a text
    msgspec refuses as JSON goes to `loads` and the converter."""
    try:
        if isinstance(body, bytes):
            _utf8_checked(body)
        decoded = _json_decoder(list[cls] if many else cls).decode(body)  # type: ignore[valid-type]
        _check(decoded if many else [decoded], cls)
    except (*_BODY_ERRORS, _FieldError) as exc:
        if _msgspec_refused(exc):
            refused = True
        else:
            refused, error = False, _body_error(cls, exc)
    else:
        return decoded
    if refused:
        return (decode_many if many else decode)(cls, loads(bytes(body)))
    raise error  # outside the handler: no chained exception holding the body


@attrs.frozen
class ListBodyDecoder:
    """Decodes list-page bytes in two steps: the envelope now, the items when wanted.

    `split` reads the page fields (the items stay raw JSON, a slice of the body) so a
    paginator knows the next page without building any model, or gives ``None`` for a
    body whose envelope it cannot read (left to ``json``, which reports the error);
    `items` then builds the models (`decode_json_list`), raising `DecodeError`.
    """

    split: Callable[[bytes], tuple[Any, dict[str, Any]] | None]
    items: Callable[[Any], list[Any]]


_body_decoders: dict[tuple[type, str], ListBodyDecoder] = {}


def list_body_decoder(cls: type, key: str) -> ListBodyDecoder:
    """The `ListBodyDecoder` for pages of ``cls`` under ``key`` (built once per pair)."""
    found = _body_decoders.get((cls, key))
    if found is None:
        found = _body_decoders[cls, key] = _make_body_decoder(cls, key)
    return found


def _make_body_decoder(cls: type, key: str) -> ListBodyDecoder:
    envelope_type = msgspec.defstruct(
        f"{cls.__name__}Page",
        [(key, msgspec.Raw), *((name, Any, None) for name in _ENVELOPE_FIELDS)],
    )
    envelope_decoder = msgspec.json.Decoder(envelope_type, float_hook=Decimal)

    def split(body: bytes) -> tuple[Any, dict[str, Any]] | None:
        try:
            _utf8_checked(body)
            page = envelope_decoder.decode(body)
        except _BODY_ERRORS:
            return None
        return getattr(page, key), {name: getattr(page, name) for name in _ENVELOPE_FIELDS}

    return ListBodyDecoder(split, partial(decode_json_list, cls))


def encode_model(model: Any) -> str:
    """A model as compact JSON text: the converter's unstructuring, written by `dumps`.

    The one encoder of models (sync's ``record_json``, the command line's exports).
    Decimals are JSON numbers, dates ``YYYY-MM-DD``, timestamps UTC ISO 8601 with ``Z``;
    every field is written (``null`` where empty), in the model's order. What JSON cannot
    hold (a non-finite decimal, an int too long to write) is an `InvalidRequestError`.
    """
    return dumps(get_converter().unstructure(model))
