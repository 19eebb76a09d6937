"""The one cattrs converter: every hook between Harvest JSON and attrs models lives here.

Wire formats (https://help.getharvest.com/api-v2/introduction/overview/supported-formats/):
dates are ``"2017-12-31"``, timestamps ``"2017-12-31T14:59:22Z"`` (UTC), decimals are
JSON numbers. The transport decodes JSON numbers with a fraction as `Decimal`,
so money and hours arrive here exact and stay exact.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import types
from collections.abc import Callable, Iterator
from decimal import Decimal
from functools import cache
from typing import Any, TypeVar, Union, get_args, get_origin

import attrs
import cattrs
import msgspec
from cattrs.cols import list_structure_factory
from cattrs.gen import make_dict_structure_fn

from ._errors import DecodeError
from ._json import TIMESTAMP_RANGE_MESSAGE, dumps, format_datetime

__all__ = [
    "DECIMAL_EXPONENT_LIMIT",
    "DECIMAL_INT_LIMIT",
    "INT_MAX",
    "INT_MIN",
    "decode",
    "decode_many",
    "encode_model",
    "format_datetime",
    "get_converter",
    "list_body_decoder",
    "make_converter",
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
    return dt.date.fromisoformat(value)


def _parse_datetime(text: str) -> dt.datetime:
    """RFC 3339 as msgspec reads it (so list pages decoded by msgspec agree), else ISO."""
    try:
        parsed: dt.datetime = _rfc3339(text, dt.datetime)
    except msgspec.ValidationError:
        return dt.datetime.fromisoformat(text)
    return parsed


_rfc3339 = msgspec.convert


def _structure_datetime(value: Any, _: type) -> dt.datetime:
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, str):
        parsed = _parse_datetime(value)
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
    if isinstance(value, bool) or not isinstance(value, int):
        if not isinstance(value, Decimal) or not value.is_finite():
            raise TypeError(f"expected an integer, got {type(value).__name__}")
        # ``1e999999999`` is integral: ``int()`` of it would build a billion digits.
        # The exponent is checked first, so only a Decimal below 1e19 is ever converted.
        if value.adjusted() > 18:
            raise ValueError(_INT_RANGE_MESSAGE)
        integral = value.to_integral_value()
        if integral != value:
            raise TypeError("expected an integer, got Decimal")
        result = int(integral)
    else:
        result = value
    if not INT_MIN <= result <= INT_MAX:
        raise ValueError(_INT_RANGE_MESSAGE)
    return result


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
    raise TypeError(f"expected true or false, got {type(value).__name__}")


#: Our primitive hooks whose result equals the input when the input already has the
#: target's exact class: generated code checks ``v.__class__ is T`` inline and calls the
#: hook only otherwise (one comparison instead of a call per field).
_IDENTITY_HOOKS: dict[type, Any] = {
    int: _structure_int,
    str: _structure_str,
    bool: _structure_bool,
    Decimal: _structure_decimal,
}
#: What generated code adds to the class check of an int or Decimal value: values out of
#: range go to the hook, which refuses them (names from `_RANGE_NAMES`).
_RANGE_TESTS: dict[type, str] = {
    int: " or {v} > _INT_MAX or {v} < _INT_MIN",
    Decimal: " or not {v}.is_finite() or not _DEC_LO <= {v}.adjusted() <= _DEC_HI",
}
_RANGE_NAMES: dict[str, Any] = {
    "_INT_MAX": INT_MAX,
    "_INT_MIN": INT_MIN,
    "_DEC_LO": -DECIMAL_EXPONENT_LIMIT,
    "_DEC_HI": DECIMAL_EXPONENT_LIMIT,
}
#: Hooks whose string case is one parser call, inlined by generated code: (hook,
#: parser, whether the result is checked to be UTC, else handed to the hook).
_STRING_PARSERS: dict[type, tuple[Any, Any, bool | None]] = {
    dt.date: (_structure_date, dt.date.fromisoformat, None),
    dt.datetime: (_structure_datetime, _parse_datetime, True),
}


def _optional_inner(type_: Any) -> Any:
    """``X`` of ``X | None`` (``Optional[X]``), else ``None``."""
    origin = get_origin(type_)
    if origin is not Union and origin is not types.UnionType:
        return None
    args = [a for a in get_args(type_) if a is not type(None)]
    if len(args) != 1 or len(args) == len(get_args(type_)):
        return None
    return args[0]


def _plain_optional(field: Any) -> Any:
    """``X`` of a plain ``x: X | None = None`` field (no converter, alias), else ``None``."""
    inner = _optional_inner(field.type)
    if field.default is not None or field.converter is not None or field.alias != field.name:
        return None
    return inner


def _slot_setters(cls: type, names: list[str]) -> list[Any] | None:
    """Each field's slot setter, where building ``cls`` may bypass its ``__init__``.

    A frozen slotted attrs class whose ``__init__`` only stores its arguments (no
    validators, converters, ``__attrs_post_init__``, hash cache or non-init fields) is
    built as ``object.__new__`` plus one slot store per field: about three times cheaper
    than attrs' frozen ``__init__`` (which goes through ``object.__setattr__``).
    """
    all_fields = attrs.fields(cls)
    if (
        "__slots__" not in cls.__dict__
        or getattr(cls, "__attrs_post_init__", None) is not None
        or getattr(cls, "__attrs_pre_init__", None) is not None
        or any(not f.init or f.validator is not None for f in all_fields)
        or any("hash" in slot for slot in getattr(cls, "__slots__", ()))
    ):
        return None
    setters = []
    for name in names:
        descriptor = getattr(cls, name, None)
        if not isinstance(descriptor, types.MemberDescriptorType):
            return None
        setters.append(descriptor.__set__)
    return setters


def _fast_structure_fn(conv: cattrs.Converter, cls: type, building: set[type]) -> Any:
    """A generated structure function for a model whose fields are all ``X | None = None``.

    Equivalent to cattrs' generated function with our hooks (absent keys and ``null`` are
    ``None``, extra keys are ignored, wrong types raise), but with the ``Optional``
    dispatch and the identity hooks inlined: one dict lookup per field, and a call only
    where a value needs converting. Returns ``None`` where a class does not qualify.
    """
    attrs.resolve_types(cls)
    fields = [f for f in attrs.fields(cls) if f.init]
    plan: list[tuple[str, str, Any]] = []
    for field in fields:
        inner = _plain_optional(field)
        if inner is None:
            return None
        plan.append((field.name, field.alias, inner))
    setters = _slot_setters(cls, [name for name, _, _ in plan])

    namespace: dict[str, Any] = {"_cls": cls, "_dict": dict, "_new": object.__new__}
    lines = [
        "def structure(o, _=None):",
        "    if o.__class__ is not _dict and not isinstance(o, _dict):",
        f"        raise TypeError('expected an object for {cls.__name__}, got '"
        " + type(o).__name__)",
        "    g = o.get",
    ]
    if setters is not None:
        lines.append("    r = _new(_cls)")
    call: list[str] = []
    for index, (name, alias, inner) in enumerate(plan):
        var = f"v{index}"
        hook_name, type_name = f"h{index}", f"t{index}"
        namespace[type_name] = inner
        lines.append(f"    {var} = g({name!r})")
        identity = isinstance(inner, type) and inner in _IDENTITY_HOOKS
        parse = _STRING_PARSERS.get(inner) if isinstance(inner, type) else None
        if identity and conv.get_structure_hook(inner) is _IDENTITY_HOOKS[inner]:
            namespace[hook_name] = _IDENTITY_HOOKS[inner]
            # An int or Decimal out of range goes to the hook too (which refuses it).
            test = f"{var}.__class__ is not {type_name}" + _RANGE_TESTS.get(inner, "").format(v=var)
            namespace.update(_RANGE_NAMES)
            lines.append(f"    if {var} is not None and ({test}):")
        elif parse is not None and conv.get_structure_hook(inner) is parse[0]:
            # Dates and timestamps: parse the usual string inline, the rest via the hook.
            namespace[hook_name], namespace[f"p{index}"], check = parse
            lines.append(f"    if {var} is not None:")
            lines.append(f"        if {var}.__class__ is str:")
            lines.append(f"            {var} = p{index}({var})")
            if check is not None:
                namespace["_UTC"] = dt.UTC
                lines.append(f"            if {var}.tzinfo is not _UTC:")
                lines.append(f"                {var} = {hook_name}({var}, {type_name})")
            lines.append("        else:")
            lines.append(f"            {var} = {hook_name}({var}, {type_name})")
            if setters is not None:
                namespace[f"s{index}"] = setters[index]
                lines.append(f"    s{index}(r, {var})")
            else:
                call.append(f"{alias}={var}")
            continue
        else:
            if inner in building:  # a model nesting itself: look the hook up at run time
                namespace[hook_name] = lambda v, t: conv.get_structure_hook(t)(v, t)
            else:
                namespace[hook_name] = conv.get_structure_hook(inner)
            lines.append(f"    if {var} is not None:")
        lines.append(f"        {var} = {hook_name}({var}, {type_name})")
        if setters is not None:
            namespace[f"s{index}"] = setters[index]
            lines.append(f"    s{index}(r, {var})")
        else:
            call.append(f"{alias}={var}")
    if setters is not None:
        lines.append("    return r")
    else:
        lines.append(f"    return _cls({', '.join(call)})")
    # Everything the function uses is a closure cell of ``make`` (fast to load).
    source = "\n".join(
        [
            f"def make({', '.join(namespace)}):",
            *(f"    {line}" for line in lines),
            "    return structure",
        ]
    )
    scope: dict[str, Any] = {}
    exec(compile(source, f"<harvest_async structure {cls.__qualname__}>", "exec"), scope)
    return scope["make"](**namespace)


def _fast_object_factory(conv: cattrs.Converter) -> Any:
    """Models: a generated fast function where the model qualifies, else cattrs' own."""
    strict = _strict_object_factory(conv)
    building: set[type] = set()

    def factory(cls: type) -> Any:
        building.add(cls)
        try:
            fast = _fast_structure_fn(conv, cls, building)
        finally:
            building.discard(cls)
        return fast if fast is not None else strict(cls)

    return factory


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
    conv.register_structure_hook_factory(attrs.has, _fast_object_factory(conv))
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


# --- Page bodies straight to models --------------------------------------------------
#
# A list page is decoded from its bytes to models by msgspec's C decoder, which builds
# attrs classes itself, where that gives exactly what the converter's hooks give (the
# way cattrs' own msgspec converter hands attrs classes to msgspec when unstructuring).
# That holds for models whose fields are all ``X | None = None`` of the types below (or
# such models, or lists of them) with no validators, converters or post-init. The
# timestamp hook parses with msgspec's RFC 3339 parser too, so both agree on every
# spelling. What msgspec keeps and our hooks would change or refuse (a non-finite
# decimal, a timestamp not in UTC) is checked on the result; a page with one (or one
# msgspec refuses) goes through the converter, which is also what reports any error.

#: Field types msgspec decodes exactly as the converter's hooks do (checked below).
_PASSTHROUGH_TYPES = frozenset({int, str, bool, Decimal, dt.date, dt.datetime})

#: The envelope fields `parse_page` reads besides the items (decoded untyped).
_ENVELOPE_FIELDS = ("total_entries", "page", "total_pages", "per_page", "links")


def _passthrough_ok(conv: cattrs.Converter, type_: Any, seen: set[type]) -> bool:
    """Whether msgspec decodes ``type_`` exactly as ``conv`` structures it."""
    inner = _optional_inner(type_)
    if inner is not None:
        type_ = inner
    if get_origin(type_) is list:
        args = get_args(type_)
        item = _optional_inner(args[0]) or args[0] if len(args) == 1 else None
        # One level of list only: that is what the value check looks into.
        return (
            item is not None and get_origin(item) is not list and _passthrough_ok(conv, item, seen)
        )
    if not isinstance(type_, type):
        return False
    if type_ in _PASSTHROUGH_TYPES:
        hook = conv.get_structure_hook(type_)
        return hook is _IDENTITY_HOOKS.get(type_) or hook is _STRING_PARSERS.get(type_, (None,))[0]
    if not attrs.has(type_):
        return False
    if type_ in seen:
        return True
    seen.add(type_)
    attrs.resolve_types(type_)
    fields = attrs.fields(type_)
    if _slot_setters(type_, [f.name for f in fields]) is None:
        return False  # validators, post-init, non-init fields...
    return all(
        _plain_optional(f) is not None and _passthrough_ok(conv, f.type, seen) for f in fields
    )


_checkers: dict[type, Any] = {}


def values_ok(model: Any) -> bool:
    """Whether an attrs ``model`` holds only values the converter's hooks would give.

    Every decimal finite and within `DECIMAL_EXPONENT_LIMIT`, every int within
    `INT_MIN`..`INT_MAX`, every timestamp UTC.
    """
    cls = type(model)
    check = _checkers[cls] if cls in _checkers else _values_checker(cls, _checkers)
    return check is None or bool(check(model))


def _values_checker(cls: type, checkers: dict[type, Any]) -> Any:
    """A generated ``check(model) -> bool``: the values `values_ok` asks for.

    ``None`` where ``cls`` holds no int, decimal or timestamp (nor nested models that do).
    msgspec takes ints up to ``2**64 - 1`` (and beyond) for an ``int`` field, and any
    exponent for a ``Decimal``: those fail the check, so the converter reports them.
    Nested models are checked inline (no call per reference), lists of them and a model
    nesting itself by their own checker.
    """
    if cls in checkers:
        return checkers[cls]
    checkers[cls] = lambda value: checkers[cls](value)  # a model nesting itself
    namespace: dict[str, Any] = {
        "_UTC": dt.UTC,
        "_Decimal": Decimal,
        "_datetime": dt.datetime,
        "_int": int,
        **_RANGE_NAMES,
    }
    lines: list[str] = []
    _check_lines(cls, "r", "    ", lines, namespace, checkers, (cls,), itertools.count())
    if not lines:
        checkers[cls] = None
        return None
    # Every name a default argument: a local in the function (fast to load).
    params = ", ".join(f"{name}={name}" for name in namespace)
    source = "\n".join([f"def check(r, {params}):", *lines, "    return True"])
    scope: dict[str, Any] = {}
    exec(compile(source, f"<harvest_async check {cls.__qualname__}>", "exec"), namespace, scope)
    checkers[cls] = scope["check"]
    return scope["check"]


def _check_lines(
    cls: type,
    obj: str,
    pad: str,
    out: list[str],
    namespace: dict[str, Any],
    checkers: dict[type, Any],
    stack: tuple[type, ...],
    counter: Iterator[int],
) -> None:
    """Append the lines that ``return False`` unless model ``obj`` (a ``cls``) checks out."""
    attrs.resolve_types(cls)
    for field in attrs.fields(cls):
        type_ = _optional_inner(field.type) or field.type
        many = get_origin(type_) is list
        if many:
            type_ = get_args(type_)[0]
            type_ = _optional_inner(type_) or type_
        index = next(counter)
        # A value not of the declared class (a hand-built model) fails the check too.
        if type_ is Decimal:
            test = "v is not None and (v.__class__ is not _Decimal" + _RANGE_TESTS[Decimal] + ")"
        elif type_ is int:
            test = "v is not None and (v.__class__ is not _int" + _RANGE_TESTS[int] + ")"
        elif type_ is dt.datetime:
            test = "v is not None and (v.__class__ is not _datetime or v.tzinfo is not _UTC)"
        elif attrs.has(type_) and not many and type_ not in stack:
            var, kind = f"w{index}", f"k{index}"
            inner: list[str] = []
            _check_lines(
                type_, var, pad + "    ", inner, namespace, checkers, (*stack, type_), counter
            )
            if inner:
                namespace[kind] = type_
                out += [
                    f"{pad}{var} = {obj}.{field.name}",
                    f"{pad}if {var} is not None:",
                    f"{pad}    if {var}.__class__ is not {kind}:",
                    f"{pad}        return False",
                    *inner,
                ]
            continue
        elif attrs.has(type_) and _values_checker(type_, checkers) is not None:
            namespace[f"c{index}"], namespace[f"k{index}"] = checkers[type_], type_
            test = f"v is not None and (v.__class__ is not k{index} or not c{index}(v))"
        else:
            continue
        out.append(
            f"{pad}for v in {obj}.{field.name} or ():" if many else f"{pad}v = {obj}.{field.name}"
        )
        deeper = pad + "    " if many else pad
        out += [f"{deeper}if {test.format(v='v')}:", f"{deeper}    return False"]


@attrs.frozen
class ListBodyDecoder:
    """Decodes list-page bytes in two steps: the envelope now, the items when wanted.

    `split` reads the page fields (a fast scan; the items stay raw JSON, a slice of
    the body) so a paginator knows the next page without building any model; `items`
    then builds the models. Either gives ``None`` for a body it leaves to the converter.
    """

    split: Callable[[bytes], tuple[Any, dict[str, Any]] | None]
    items: Callable[[Any], list[Any] | None]


_body_decoders: dict[tuple[type, str], Any] = {}


def list_body_decoder(cls: type, key: str) -> ListBodyDecoder | None:
    """The `ListBodyDecoder` for pages of ``cls`` under ``key``, where ``cls`` allows one.

    ``None`` where ``cls`` does not qualify (see above). Built once per ``(cls, key)``.
    """
    try:
        found: ListBodyDecoder | None = _body_decoders[cls, key]
    except KeyError:
        found = _body_decoders[cls, key] = _make_body_decoder(cls, key)
    return found


def _make_body_decoder(cls: type, key: str) -> ListBodyDecoder | None:
    conv = get_converter()
    if not _passthrough_ok(conv, cls, set()):
        return None
    envelope_type = msgspec.defstruct(
        f"{cls.__name__}Page",
        [(key, msgspec.Raw), *((name, Any, None) for name in _ENVELOPE_FIELDS)],
    )
    envelope_decoder = msgspec.json.Decoder(envelope_type, float_hook=Decimal)
    items_decoder = msgspec.json.Decoder(list[cls])  # type: ignore[valid-type]
    check = _values_checker(cls, _checkers)

    def split(body: bytes) -> tuple[Any, dict[str, Any]] | None:
        try:
            if not body.isascii():
                # msgspec skips what it does not read (unknown fields) unchecked; the
                # body must be UTF-8 throughout, as the converter's path requires.
                body.decode("utf-8")
            page = envelope_decoder.decode(body)
        except (msgspec.DecodeError, ValueError, RecursionError, ArithmeticError):
            # ArithmeticError: decimal.InvalidOperation of ``1e9999999999999999999``
            return None
        return getattr(page, key), {name: getattr(page, name) for name in _ENVELOPE_FIELDS}

    def items(raw: Any) -> list[Any] | None:
        try:
            decoded: list[Any] = items_decoder.decode(raw)
        except (msgspec.DecodeError, ValueError, RecursionError, ArithmeticError):
            return None
        if check is not None and not all(map(check, decoded)):
            return None
        return decoded

    return ListBodyDecoder(split, items)


_model_encoder = msgspec.json.Encoder(decimal_format="number")


def encode_model(model: Any) -> str:
    """A model as compact JSON text: what the converter unstructures, as `dumps` writes it.

    Decimals are JSON numbers, dates ``YYYY-MM-DD``, timestamps UTC ISO 8601 with ``Z``;
    every field is written (``null`` where empty). A model as the converter decodes them
    (decimals finite and in range, ints of 64 bits, UTC timestamps) goes through
    msgspec's C encoder, keys in alphabetical order; any other goes the converter's way
    (which refuses what JSON cannot hold).
    """
    if attrs.has(type(model)) and values_ok(model):
        try:
            return _model_encoder.encode(model).decode("utf-8")
        except UnicodeEncodeError:
            pass  # a lone surrogate (decodable JSON, not UTF-8): dumps escapes it
    return dumps(get_converter().unstructure(model))
