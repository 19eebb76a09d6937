"""What every resource module shares: argument checks, wire formats, the base class.

Resources never touch aiohttp: they build paths, queries and bodies, and hand them to
the `Requester`.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Final, Literal, TypeVar

import attrs

from .._converter import (
    DECIMAL_EXPONENT_LIMIT,
    DECIMAL_INT_LIMIT,
    INT_MAX,
    INT_MIN,
    decode_json,
    decode_many,
    format_datetime,
    list_body_decoder,
)
from .._errors import DecodeError, InvalidRequestError
from .._http import Request
from .._json import MAX_DEPTH, loads, shown
from .._pagination import Paginator

if TYPE_CHECKING:
    from .._requester import Requester

__all__ = [
    "NOT_GIVEN",
    "NotGiven",
    "Resource",
    "body",
    "check_id",
    "operation",
    "query",
    "require",
    "shown",
]

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

#: Attribute set by `operation` on resource methods.
OPERATION_ATTR = "__harvest_operations__"


def operation(method: str, path: str) -> Callable[[F], F]:
    """Record which Harvest operation a resource method performs.

    ``path`` is written as in Harvest's OpenAPI description (``/time_entries/{timeEntryId}``);
    Harvest ID calls are prefixed ``id:`` (``id:/api/v2/oauth2/token``). The records feed
    ``docs/coverage.md`` (``python -m harvest_async._coverage``) and its tests. A method
    may carry several.
    """

    def mark(func: F) -> F:
        existing: tuple[tuple[str, str], ...] = getattr(func, OPERATION_ATTR, ())
        setattr(func, OPERATION_ATTR, ((method.upper(), path), *existing))
        return func

    return mark


class NotGiven(enum.Enum):
    """Marks an argument the caller did not give (``None`` is a value: JSON null)."""

    NOT_GIVEN = "NOT_GIVEN"

    def __repr__(self) -> str:
        return "NOT_GIVEN"

    def __bool__(self) -> Literal[False]:
        return False


NOT_GIVEN: Final = NotGiven.NOT_GIVEN

#: Most date shards one list may be cut into.
MAX_SHARDS = 100
#: Largest id accepted (Harvest ids are 64-bit integers).
MAX_ID = INT_MAX
#: Longest string accepted in a query or body value.
MAX_STRING = 65536

_DATE_NAMES = frozenset(
    {
        "from",
        "to",
        "spent_date",
        "issue_date",
        "due_date",
        "paid_date",
        "sent_date",
        "starts_on",
        "ends_on",
        "period_start",
        "period_end",
        "start_date",
        "end_date",
    }
)
_DATETIME_NAMES = frozenset({"updated_since", "paid_at", "timer_started_at"})
_STRING_ID_NAMES = frozenset({"external_reference_id"})
_BOOL_PREFIXES = (
    "is_",
    "has_",
    "wants_",
    "use_",
    "notify_",
    "show_",
    "send_",
    "attach_",
    "include_",
    "budget_is_",
)
_BOOL_NAMES = frozenset(
    {
        "billable",
        "active",
        "billable_by_default",
        "cost_budget_include_expenses",
        "delete_receipt",
        "thank_you",
        "reminder",
        "taxed",
        "taxed2",
        "budgeted",
    }
)
_INT_NAMES = frozenset({"weekly_capacity", "per_page", "page"})
_DECIMAL_NAMES = frozenset(
    {
        "hours",
        "total_cost",
        "units",
        "amount",
        "hourly_rate",
        "budget",
        "cost_budget",
        "fee",
        "unit_price",
        "quantity",
        "tax",
        "tax2",
        "discount",
        "default_hourly_rate",
        "cost_rate",
        "over_budget_notification_percentage",
        "default_cost_rate",
    }
)


def check_id(value: Any, name: str = "id") -> int:
    """A Harvest id: a positive int (``"1/../x"`` or ``True`` are rejected)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRequestError(f"{name} must be a positive int, got {shown(value)}")
    if not 0 < value <= MAX_ID:
        raise InvalidRequestError(f"{name} must be a positive int, got {shown(value)}")
    return value


def _check_date(name: str, value: Any) -> dt.date:
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


def _check_datetime(name: str, value: Any) -> dt.datetime:
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


def _check_decimal(name: str, value: Any) -> Decimal:
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


def _check_str(name: str, value: str) -> str:
    if len(value) > MAX_STRING:
        raise InvalidRequestError(f"{name} is longer than {MAX_STRING} characters")
    if "\0" in value:
        raise InvalidRequestError(f"{name} must not contain NUL characters")
    return value


def _is_bool_name(name: str) -> bool:
    return name.startswith(_BOOL_PREFIXES) or name in _BOOL_NAMES


def _check_int(name: str, value: int) -> int:
    if not INT_MIN <= value <= INT_MAX:
        raise InvalidRequestError(
            f"{name} is out of range (Harvest's integers are 64-bit): {shown(value)}"
        )
    return value


def _check_plain(name: str, value: Any, depth: int = 0) -> Any:
    """Validate a value that has no Harvest-specific type (strings, numbers, nesting)."""
    if value is None or isinstance(value, (bool, Decimal)):
        return value
    if isinstance(value, int):
        return _check_int(name, value)
    if isinstance(value, str):
        return _check_str(name, value)
    if isinstance(value, float):
        return _check_decimal(name, value)
    if isinstance(value, dt.datetime):
        return _check_datetime(name, value)
    if isinstance(value, dt.date):
        return value
    if isinstance(value, (list, tuple, Mapping)) and depth >= MAX_DEPTH:
        raise InvalidRequestError(f"{name} is nested more than {MAX_DEPTH} levels deep")
    if isinstance(value, (list, tuple)):
        return [_check_plain(name, item, depth + 1) for item in value]
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if isinstance(key, int) and not isinstance(key, bool):
                key = str(_check_int(f"{name} key", key))
            text = str(key)
            out[text] = _check_plain(f"{name}.{text}", item, depth + 1)
        return out
    raise InvalidRequestError(f"{name}: cannot send a {type(value).__name__}: {shown(value)}")


def _check_value(name: str, value: Any) -> Any:
    """Validate one argument by its Harvest field name; return it in a JSON-able form."""
    if value is None:
        return None
    if name in _STRING_ID_NAMES:
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise InvalidRequestError(f"{name} must be a string, got {shown(value)}")
        if isinstance(value, int):
            value = str(_check_int(name, value))
        return _check_str(name, value)
    if name.endswith("_id") or name == "id":
        return check_id(value, name)
    if name.endswith("_ids"):
        if not isinstance(value, (list, tuple)):
            raise InvalidRequestError(f"{name} must be a list of ids, got {shown(value)}")
        return [check_id(item, name) for item in value]
    if name in _DATE_NAMES:
        return _check_date(name, value)
    if name in _DATETIME_NAMES:
        return _check_datetime(name, value)
    if name in _DECIMAL_NAMES:
        return _check_decimal(name, value)
    if _is_bool_name(name):
        if not isinstance(value, bool):
            raise InvalidRequestError(f"{name} must be True or False, got {shown(value)}")
        return value
    if name in _INT_NAMES:
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidRequestError(f"{name} must be an int, got {shown(value)}")
        return _check_int(name, value)
    return _check_plain(name, value)


def _wire_name(name: str) -> str:
    return "from" if name == "from_" else name


def body(**fields: Any) -> dict[str, Any]:
    """A JSON body of the fields the caller gave (``NOT_GIVEN`` ones are left out)."""
    out: dict[str, Any] = {}
    for name, value in fields.items():
        if value is NOT_GIVEN:
            continue
        wire = _wire_name(name)
        out[wire] = _check_value(wire, value)
    return out


def _query_text(name: str, value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, dt.datetime):
        return format_datetime(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return ",".join(_query_text(name, item) for item in value)
    text = str(value)
    if any(c in text for c in "\r\n\0"):
        raise InvalidRequestError(f"{name} must not contain CR, LF or NUL characters")
    return text


def query(**filters: Any) -> list[tuple[str, str]]:
    """Query parameters of the filters the caller gave, in Harvest's formats.

    ``None`` and ``NOT_GIVEN`` both mean "no filter".
    """
    out: list[tuple[str, str]] = []
    for name, value in filters.items():
        if value is NOT_GIVEN or value is None:
            continue
        wire = _wire_name(name)
        if wire == "per_page":
            per_page = check_id(value, "per_page")
            if per_page > 2000:
                raise InvalidRequestError(f"per_page must be 1..2000, got {per_page}")
        out.append((wire, _query_text(wire, _check_value(wire, value))))
    return out


class Resource:
    """Base of every resource: holds the requester and the shared request helpers."""

    def __init__(self, requester: Requester) -> None:
        self._requester = requester

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"

    def _paginate(
        self,
        path: str,
        key: str,
        model: type[T],
        params: list[tuple[str, str]],
    ) -> Paginator[T]:
        requester = self._requester
        # Raw bytes: the paginator decodes them straight to models (decode_body).
        first = Request("GET", path, query=params, raw_json=True)

        async def fetch(next_url: str | None) -> Any:
            if next_url is None:
                return await requester.send(first)
            return await requester.send(first.following(requester.check_next_url(next_url)))

        def decode_items(items: Any) -> list[T]:
            return decode_many(model, items)

        return Paginator(
            fetch, key, decode_items, description=path, decode_body=list_body_decoder(model, key)
        )

    def _paginate_sharded(
        self,
        path: str,
        key: str,
        model: type[T],
        filters: Mapping[str, Any],
        *,
        shards: Any,
        call: str,
    ) -> Paginator[T]:
        """``_paginate`` over ``filters["from_"]..filters["to"]`` cut into date shards.

        The shards are contiguous, disjoint ``spent_date`` ranges, newest first; each is
        one list (same filters, its own ``from``/``to``) and they are walked
        concurrently as one `Paginator.merge` (pages as they arrive; with
        ``.with_options(ordered=True)`` shard by shard, the unsharded order).
        """
        if (
            isinstance(shards, bool)
            or not isinstance(shards, int)
            or not (1 <= shards <= MAX_SHARDS)
        ):
            raise InvalidRequestError(
                f"{call}: shards must be an int from 1 to {MAX_SHARDS}, got {shown(shards)}"
            )
        query(**filters)  # every filter checked before anything is built
        start, end = filters.get("from_", NOT_GIVEN), filters.get("to", NOT_GIVEN)
        if start is NOT_GIVEN or start is None or end is NOT_GIVEN or end is None:
            raise InvalidRequestError(f"{call}: shards= needs both from_ and to")
        first, last = _check_date("from", start), _check_date("to", end)
        if last < first:
            raise InvalidRequestError(f"{call}: to ({last}) is before from_ ({first})")
        parts = [
            self._paginate(path, key, model, query(**{**filters, "from_": lo, "to": hi}))
            for lo, hi in split_days(first, last, shards)
        ]
        return Paginator.merge(parts, description=f"{path} in {len(parts)} date shards")

    async def _record(self, model: type[T], request: Request) -> T:
        """Send ``request`` and decode its answer, a record of ``model``, from its bytes."""
        body = await self._requester.send(attrs.evolve(request, raw_json=True))
        return decode_json(model, body)

    async def _records(self, model: type[T], request: Request, key: str, call: str) -> list[T]:
        """Send ``request`` and decode the ``key`` array of ``model`` records it answers."""
        body = await self._requester.send(attrs.evolve(request, raw_json=True))
        decoder = list_body_decoder(model, key)
        split = decoder.split(body) if isinstance(body, bytes) else None
        if split is None:
            data = loads(body) if isinstance(body, bytes) else None  # the parser's verdict
            if not isinstance(data, dict) or not isinstance(data.get(key), list):
                raise DecodeError(f"{call}: response has no {key!r} array")
            return decode_many(model, data[key])  # JSON only the standard library reads
        return decoder.items(split[0])

    async def _get(
        self, model: type[T], path: str, params: list[tuple[str, str]] | None = None
    ) -> T:
        return await self._record(model, Request("GET", path, query=params or ()))

    async def _create(self, model: type[T], path: str, fields: dict[str, Any]) -> T:
        return await self._record(model, Request("POST", path, json=fields))

    async def _update(
        self, model: type[T], path: str, fields: dict[str, Any], *, replay_safe: bool = True
    ) -> T:
        """PATCH ``fields``; ``replay_safe=False`` for one that adds rows (not idempotent)."""
        if not fields:
            raise InvalidRequestError("update() needs at least one field to change")
        request = Request("PATCH", path, json=fields, replay_safe=replay_safe)
        return await self._record(model, request)

    async def _action(self, model: type[T], method: str, path: str) -> T:
        """A body-less action (timer stop/restart): never re-sent once it may have run."""
        return await self._record(model, Request(method, path, replay_safe=False))

    async def _delete(self, path: str) -> None:
        """DELETE ``path``; the call returns ``None`` whatever the 2xx answer holds.

        Harvest answers 200 with the deleted record. The body is not decoded: a record,
        an empty body or one that is not JSON all mean "deleted".
        """
        # raw_json: a 2xx body comes back as its bytes and is dropped unparsed.
        await self._requester.send(Request("DELETE", path, raw_json=True))


def split_days(first: dt.date, last: dt.date, shards: int) -> list[tuple[dt.date, dt.date]]:
    """Cut the days ``first..last`` into ``min(shards, days)`` contiguous ranges.

    The ranges are inclusive, newest first, disjoint and together cover every day once;
    their lengths differ by at most one day.
    """
    days = (last - first).days + 1
    count = min(shards, days)
    size, extra = divmod(days, count)
    ranges: list[tuple[dt.date, dt.date]] = []
    hi = last
    for index in range(count):
        lo = hi - dt.timedelta(days=size + (index < extra) - 1)
        ranges.append((lo, hi))
        if index < count - 1:
            hi = lo - dt.timedelta(days=1)
    return ranges


def require(fields: Mapping[str, Any], *names: str, call: str) -> None:
    """Raise `InvalidRequestError` unless every name was given (not NOT_GIVEN)."""
    missing = [n for n in names if fields.get(n, NOT_GIVEN) is NOT_GIVEN]
    if missing:
        raise InvalidRequestError(f"{call} requires {', '.join(missing)}")
