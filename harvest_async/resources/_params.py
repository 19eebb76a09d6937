"""What a parameter annotation means on the wire: its check and its Python value.

A resource method's signature is the one description of its request parameters. Each
annotation is compiled once (on the method's first call) into a check that refuses bad
input with `InvalidRequestError` and returns the value in the form the wire encoding
takes it from (`body` and `query` in ``_base`` then only spell those values):

- a union with ``Decimal`` (the resources' ``Number``): a finite decimal in Harvest's
  range (``int``, ``float`` and numeric strings are read as decimals);
- with ``datetime``: an aware datetime (or an ISO 8601 string of one);
- with ``date``: a date (or ``"YYYY-MM-DD"``), never a datetime;
- ``bool``: ``True`` or ``False`` only;
- ``int``: an int, neither a bool nor a float; Harvest's integer parameters are ids,
  so 1..2**63-1 unless the annotation narrows it (``Annotated[int, Range(0, 10)]``);
- ``str``: a str without NUL, at most `MAX_STRING` characters;
- ``Literal[...]``: one of its values;
- ``Sequence[X]``: a list or tuple (not a str) of ``X``;
- a mapping or `typing.TypedDict`: a mapping (the resource checks its keys, with the
  field types read from the TypedDict by `typed_fields`);
- ``bytes`` in a union (a file to upload), ``Any``, ``object``, a callable: left to the
  method.

``NotGiven`` in a union makes the parameter optional, ``None`` makes null a value. A
``None`` given for an optional parameter that cannot be null means "not given" (no
filter, no field). An annotation of no known shape raises `TypeError`, so a new
parameter cannot go unchecked.

While a checked method runs, `call_keywords` holds its keyword-only arguments as
checked: they are its request's fields or filters, so ``Resource._body()`` /
``Resource._query()`` build the request without naming them again, and a new parameter
is one line of the signature (and one of its ``Args:``).
"""

from __future__ import annotations

import collections.abc
import contextvars
import datetime as dt
import functools
import inspect
import types
import typing
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Final, Literal, NotRequired, Required, Union

import attrs

from .._converter import DECIMAL_EXPONENT_LIMIT, DECIMAL_INT_LIMIT, INT_MAX, INT_MIN
from .._errors import InvalidRequestError
from .._json import MAX_DEPTH, shown

__all__ = [
    "MAX_ID",
    "MAX_STRING",
    "Field",
    "PerPage",
    "Range",
    "call_keywords",
    "check_bool",
    "check_date",
    "check_datetime",
    "check_decimal",
    "check_int",
    "check_mapping",
    "check_plain",
    "check_text",
    "checked",
    "field_of",
    "parameter_fields",
    "required_keys",
    "typed_fields",
]

#: Longest string accepted in a query or body value.
MAX_STRING = 65536

#: A check: ``(parameter name, value) -> value`` as it is sent, or `InvalidRequestError`.
Check = Callable[[str, Any], Any]


@attrs.frozen
class Range:
    """``Annotated[int, Range(low, high)]``: an int from ``low`` to ``high`` inclusive."""

    low: int
    high: int


#: Largest id accepted (Harvest ids are 64-bit integers).
MAX_ID: Final = INT_MAX
_IDS: Final = Range(1, MAX_ID)

#: ``per_page`` of every list: Harvest returns 1..2000 records per page.
PerPage = Annotated[int, Range(1, 2000)]


# -- the checks of each wire type ----------------------------------------------------


def check_int(name: str, value: Any, bounds: Range = _IDS) -> int:
    """An int within ``bounds`` (an id by default: ``"1/../x"`` or ``True`` are refused)."""
    if bounds == _IDS:
        wanted = "a positive int"
    elif bounds.high >= INT_MAX:
        wanted = f"an int of at least {bounds.low}"
    else:
        wanted = f"an int from {bounds.low} to {bounds.high}"
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRequestError(f"{name} must be {wanted}, got {shown(value)}")
    if not bounds.low <= value <= bounds.high:
        raise InvalidRequestError(f"{name} must be {wanted}, got {shown(value)}")
    return value


def check_date(name: str, value: Any) -> dt.date:
    """A date, or its ``YYYY-MM-DD`` spelling (a datetime is refused)."""
    if isinstance(value, dt.datetime):
        raise InvalidRequestError(f"{name} takes a date, not a datetime: {shown(value)}")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise InvalidRequestError(f"{name} must be a date (YYYY-MM-DD), got {shown(value)}")


def check_datetime(name: str, value: Any) -> dt.datetime:
    """An aware datetime (or an ISO 8601 string of one) that exists in UTC."""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            raise InvalidRequestError(
                f"{name} must be an ISO 8601 timestamp, got {shown(value)}"
            ) from None
    if isinstance(value, dt.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise InvalidRequestError(
                f"{name} must be an aware datetime (with a time zone), got {shown(value)}"
            )
        try:
            value.astimezone(dt.UTC)  # what is sent: year 10000 in UTC cannot be
        except OverflowError:
            raise InvalidRequestError(
                f"{name} is out of range once converted to UTC: {shown(value)}"
            ) from None
        return value
    raise InvalidRequestError(f"{name} must be a datetime, got {shown(value)}")


def check_decimal(name: str, value: Any) -> Decimal:
    """A finite decimal in Harvest's range, from a Decimal, int, float or numeric str."""
    if isinstance(value, bool):
        raise InvalidRequestError(f"{name} must be a number, got {shown(value)}")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        if not -DECIMAL_INT_LIMIT < value < DECIMAL_INT_LIMIT:  # no Decimal of 10**6 digits
            raise InvalidRequestError(f"{name} is out of range: {shown(value)}")
        result = Decimal(value)
    elif isinstance(value, (float, str)):
        try:
            result = Decimal(repr(value) if isinstance(value, float) else value.strip())
        except InvalidOperation:
            raise InvalidRequestError(
                f"{name} must be a decimal number, got {shown(value)}"
            ) from None
    else:
        raise InvalidRequestError(f"{name} must be a decimal number, got {shown(value)}")
    if not result.is_finite():
        raise InvalidRequestError(f"{name} must be a finite number, got {shown(value)}")
    if abs(result.adjusted()) > DECIMAL_EXPONENT_LIMIT:
        raise InvalidRequestError(f"{name} is out of range: {shown(value)}")
    return result


def check_bool(name: str, value: Any) -> bool:
    """``True`` or ``False`` (not ``1``, not ``"true"``)."""
    if not isinstance(value, bool):
        raise InvalidRequestError(f"{name} must be True or False, got {shown(value)}")
    return value


def check_text(name: str, value: Any) -> str:
    """A str without NUL, at most `MAX_STRING` characters."""
    if not isinstance(value, str):
        raise InvalidRequestError(f"{name} must be a string, got {shown(value)}")
    if len(value) > MAX_STRING:
        raise InvalidRequestError(f"{name} is longer than {MAX_STRING} characters")
    if "\0" in value:
        raise InvalidRequestError(f"{name} must not contain NUL characters")
    return value


def _check_choice(choices: tuple[Any, ...], name: str, value: Any) -> Any:
    # ``True == 1``: compare types too, so ``1`` is not the choice ``True``.
    if not any(value == c and type(value) is type(c) for c in choices):
        raise InvalidRequestError(
            f"{name} must be one of {', '.join(repr(c) for c in choices)}; got {shown(value)}"
        )
    return value


def _check_list(item: Check, name: str, value: Any) -> list[Any]:
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, (list, tuple)):
        raise InvalidRequestError(f"{name} must be a list, got {shown(value)}")
    return [item(f"{name}[{i}]", v) for i, v in enumerate(value)]


def check_mapping(name: str, value: Any) -> Mapping[Any, Any]:
    """A mapping (its keys are the resource's to check)."""
    if not isinstance(value, Mapping):
        raise InvalidRequestError(f"{name} must be a mapping, got {shown(value)}")
    return value


def _as_is(name: str, value: Any) -> Any:
    return value


def check_plain(name: str, value: Any, depth: int = 0) -> Any:
    """A value of no Harvest-specific type (strings, numbers, nesting), made JSON-able."""
    if value is None or isinstance(value, (bool, Decimal)):
        return value
    if isinstance(value, int):
        if not INT_MIN <= value <= INT_MAX:
            raise InvalidRequestError(
                f"{name} is out of range (Harvest's integers are 64-bit): {shown(value)}"
            )
        return value
    if isinstance(value, str):
        return check_text(name, value)
    if isinstance(value, float):
        return check_decimal(name, value)
    if isinstance(value, dt.datetime):
        return check_datetime(name, value)
    if isinstance(value, dt.date):
        return value
    if isinstance(value, (list, tuple, Mapping)) and depth >= MAX_DEPTH:
        raise InvalidRequestError(f"{name} is nested more than {MAX_DEPTH} levels deep")
    if isinstance(value, (list, tuple)):
        return [check_plain(name, item, depth + 1) for item in value]
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if isinstance(key, int) and not isinstance(key, bool):
                key = str(check_plain(f"{name} key", key))
            text = str(key)
            out[text] = check_plain(f"{name}.{text}", item, depth + 1)
        return out
    raise InvalidRequestError(f"{name}: cannot send a {type(value).__name__}: {shown(value)}")


# -- annotations to checks -----------------------------------------------------------

_FILES = (bytes, bytearray, memoryview)
_SEQUENCES = (collections.abc.Sequence, list, tuple)
_MAPPINGS = (collections.abc.Mapping, dict)


def _union(tp: Any) -> tuple[Any, ...]:
    if typing.get_origin(tp) in (Union, types.UnionType):
        return typing.get_args(tp)
    return (tp,)


def _is_not_given(tp: Any) -> bool:
    return isinstance(tp, type) and tp.__name__ == "NotGiven"


def _is_object(tp: Any) -> bool:
    origin = typing.get_origin(tp) or tp
    return typing.is_typeddict(tp) or (isinstance(origin, type) and issubclass(origin, Mapping))


def _compile(tp: Any, name: str) -> Check:
    """The check of the non-null, given members of annotation ``tp``."""
    members = [m for m in _union(tp) if m is not type(None) and not _is_not_given(m)]
    if not members:
        raise TypeError(f"no wire type known for {name}: {tp!r}")
    if all(typing.get_origin(m) is Literal for m in members):
        choices = tuple(v for m in members for v in typing.get_args(m))
        return functools.partial(_check_choice, choices)
    if any(m in _FILES for m in members):
        return _as_is  # a file to upload: the method reads and checks it
    if Decimal in members:
        return check_decimal
    if dt.datetime in members:
        return check_datetime
    if dt.date in members:
        return check_date
    if all(_is_object(m) for m in members):
        return check_mapping
    if len(members) == 1:
        (only,) = members
        bounds = _IDS
        if typing.get_origin(only) is Annotated:
            only, *extras = typing.get_args(only)
            bounds = next((e for e in extras if isinstance(e, Range)), _IDS)
        if only is bool:
            return check_bool
        if only is int:
            return functools.partial(_check_int_in, bounds)
        if only is str:
            return check_text
        if only is Any or only is object or typing.get_origin(only) is collections.abc.Callable:
            return _as_is
        if typing.get_origin(only) in _SEQUENCES:
            (item,) = typing.get_args(only)[:1]
            return functools.partial(_check_list, _compile(item, f"{name} items"))
    raise TypeError(f"no wire type known for {name}: {tp!r}")


def _check_int_in(bounds: Range, name: str, value: Any) -> int:
    return check_int(name, value, bounds)


def _strip_required(tp: Any) -> Any:
    while typing.get_origin(tp) in (Required, NotRequired):
        (tp,) = typing.get_args(tp)
    return tp


@attrs.frozen
class Field:
    """One parameter (or TypedDict key) as its annotation describes it."""

    check: Check
    #: ``None`` is a value (JSON null).
    nullable: bool
    #: It may be left out (``NotGiven`` in the union).
    optional: bool

    def convert(self, name: str, value: Any) -> Any:
        """``value`` as sent, or `InvalidRequestError` naming ``name``."""
        if value is None and self.nullable:
            return None
        return self.check(name, value)


def field_of(tp: Any, name: str) -> Field:
    """The `Field` an annotation describes (``TypeError`` for an unknown shape)."""
    tp = _strip_required(tp)
    members = _union(tp)
    return Field(
        check=_compile(tp, name),
        nullable=type(None) in members,
        optional=any(_is_not_given(m) for m in members),
    )


def typed_fields(*dicts: type) -> dict[str, Field]:
    """The keys of `typing.TypedDict` classes and their fields, in declaration order."""
    out: dict[str, Field] = {}
    for typed in dicts:
        for key, tp in typing.get_type_hints(typed, include_extras=True).items():
            out.setdefault(key, field_of(tp, key))
    return out


def required_keys(typed: type) -> frozenset[str]:
    """The keys a `typing.TypedDict` requires (``Required[...]``, or all of a total one).

    Read from the resolved annotations: under ``from __future__ import annotations``
    the class's own ``__required_keys__`` cannot see ``Required`` in a string.
    """
    total = getattr(typed, "__total__", True)
    out = set()
    for key, tp in typing.get_type_hints(typed, include_extras=True).items():
        origin = typing.get_origin(tp)
        if origin is Required or (total and origin is not NotRequired):
            out.add(key)
    return frozenset(out)


# -- checked methods -----------------------------------------------------------------

_VARIADIC = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


class _Signature:
    """A method's parameters and their fields, read on first use and kept."""

    def __init__(self, func: Callable[..., Any]) -> None:
        self.func = func
        self.signature = inspect.signature(func)
        self._fields: dict[str, Field] | None = None

    @property
    def fields(self) -> dict[str, Field]:
        if self._fields is None:
            hints = typing.get_type_hints(self.func, include_extras=True)
            self._fields = {
                p.name: field_of(hints[p.name], p.name)
                for p in self.signature.parameters.values()
                if p.name != "self" and p.kind not in _VARIADIC
            }
        return self._fields

    def convert(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> inspect.BoundArguments:
        """The call's arguments, each checked and converted by its annotation."""
        bound = self.signature.bind(*args, **kwargs)
        fields = self.fields
        values = bound.arguments
        for name, value in values.items():
            field = fields.get(name)
            if field is None or _is_not_given(type(value)):
                continue  # self, *args/**kwargs, or NOT_GIVEN (a default)
            if value is None and field.optional and not field.nullable:
                values[name] = self.signature.parameters[name].default
                continue
            values[name] = field.convert(name, value)
        return bound


#: Set on a method `checked` wrapped.
_CHECKED = "__harvest_checked__"

#: The keyword arguments of the `checked` method running now (as checked, NOT_GIVEN
#: left out): what `call_keywords` returns. Set for the duration of the call only.
_KEYWORDS: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar("harvest_keywords")


def call_keywords() -> dict[str, Any]:
    """The keyword-only arguments of the `checked` method running now, as checked.

    Those left out (or given as ``NOT_GIVEN``) are absent, in signature order. A
    method's keyword-only parameters are its request's fields or filters, so its body
    or query is built from this without naming them again.

    Raises:
        RuntimeError: no `checked` method is running.
    """
    try:
        return dict(_KEYWORDS.get())
    except LookupError:
        raise RuntimeError("call_keywords() is only for the body of a checked method") from None


def _keywords(signature: inspect.Signature, bound: inspect.BoundArguments) -> dict[str, Any]:
    return {
        name: value
        for name, value in bound.arguments.items()
        if signature.parameters[name].kind is inspect.Parameter.KEYWORD_ONLY
        and not _is_not_given(type(value))
    }


FuncT = typing.TypeVar("FuncT", bound=Callable[..., Any])


def checked(func: FuncT) -> FuncT:
    """``func``, with every argument checked and converted by its annotation first.

    Bad input raises `InvalidRequestError` where ``func`` itself would have raised it:
    at the call for a plain method, when awaited for a coroutine method.
    """
    if getattr(func, _CHECKED, False):
        return func
    signature = _Signature(func)

    if inspect.iscoroutinefunction(func):

        @functools.wraps(func)
        async def checked_coroutine(*args: Any, **kwargs: Any) -> Any:
            bound = signature.convert(args, kwargs)
            token = _KEYWORDS.set(_keywords(signature.signature, bound))
            try:
                return await func(*bound.args, **bound.kwargs)
            finally:
                _KEYWORDS.reset(token)

        wrapper: Callable[..., Any] = checked_coroutine
    else:

        @functools.wraps(func)
        def checked_call(*args: Any, **kwargs: Any) -> Any:
            bound = signature.convert(args, kwargs)
            token = _KEYWORDS.set(_keywords(signature.signature, bound))
            try:
                return func(*bound.args, **bound.kwargs)
            finally:
                _KEYWORDS.reset(token)

        wrapper = checked_call
    setattr(wrapper, _CHECKED, True)
    return typing.cast(FuncT, wrapper)


def parameter_fields(func: Callable[..., Any]) -> dict[str, Field]:
    """The fields of ``func``'s parameters (of the method a `checked` wrapper wraps)."""
    return _Signature(inspect.unwrap(func)).fields
