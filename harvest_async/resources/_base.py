"""What every resource module shares: argument checks, wire formats, the base class.

Resources never touch aiohttp: they build paths, queries and bodies, and hand them to
the `Requester`.
"""

from __future__ import annotations

import datetime as dt
import enum
import inspect
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal, TypeVar

import attrs

from .._converter import decode_json, decode_many, format_datetime, list_body_decoder
from .._errors import DecodeError, InvalidRequestError
from .._http import Request
from .._json import loads, shown
from .._pagination import Paginator
from ._params import (
    MAX_ID,
    MAX_STRING,
    PerPage,
    Range,
    call_keywords,
    check_date,
    check_int,
    check_plain,
    checked,
    typed_fields,
)

if TYPE_CHECKING:
    from .._requester import Requester

__all__ = [
    "MAX_ID",
    "MAX_STRING",
    "NOT_GIVEN",
    "NotGiven",
    "PerPage",
    "Range",
    "Resource",
    "Seconds",
    "Shards",
    "check_date",
    "body",
    "check_id",
    "operation",
    "query",
    "require",
    "shown",
    "typed_fields",
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
#: ``shards`` of a sharded list: 1..`MAX_SHARDS` date ranges.
Shards = Annotated[int, Range(1, MAX_SHARDS)]
#: A duration in whole seconds (``weekly_capacity``).
Seconds = Annotated[int, Range(0, MAX_ID)]


def check_id(value: Any, name: str = "id") -> int:
    """A Harvest id: a positive int (``"1/../x"`` or ``True`` are rejected)."""
    return check_int(name, value)


def _wire_name(name: str) -> str:
    return "from" if name == "from_" else name


def body(**fields: Any) -> dict[str, Any]:
    """A JSON body of the fields the caller gave (``NOT_GIVEN`` ones are left out).

    The values are those the method's checks returned (`Resource` checks every argument
    by its annotation before the method runs); here they are only made JSON-able.
    """
    out: dict[str, Any] = {}
    for name, value in fields.items():
        if value is NOT_GIVEN:
            continue
        wire = _wire_name(name)
        out[wire] = check_plain(wire, value)
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

    ``None`` and ``NOT_GIVEN`` both mean "no filter". The values are those the method's
    checks returned: a date goes out as ``YYYY-MM-DD``, a datetime in UTC, a bool as
    ``true``/``false``, a list comma-separated.
    """
    out: list[tuple[str, str]] = []
    for name, value in filters.items():
        if value is NOT_GIVEN or value is None:
            continue
        wire = _wire_name(name)
        out.append((wire, _query_text(wire, check_plain(wire, value))))
    return out


class Resource:
    """Base of every resource: holds the requester and the shared request helpers.

    Every public method of a subclass is `checked`: each argument is checked and
    converted by its annotation before the method's body runs, so the signature alone
    says what a parameter accepts and how it is sent.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name, member in list(vars(cls).items()):
            if not name.startswith("_") and inspect.isfunction(member):
                setattr(cls, name, checked(member))

    def __init__(self, requester: Requester) -> None:
        self._requester = requester

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"

    @staticmethod
    def _arguments(*leave_out: str, **replacing: Any) -> dict[str, Any]:
        """The running method's keyword arguments (`call_keywords`), as its fields.

        Args:
            *leave_out: Parameters that are not fields (``shards``, a file).
            **replacing: Fields whose value the method worked out itself (a
                ``NOT_GIVEN`` value leaves the field out).
        """
        values = call_keywords()
        for name in leave_out:
            values.pop(name, None)
        values.update(replacing)
        return values

    @classmethod
    def _body(cls, *leave_out: str, **replacing: Any) -> dict[str, Any]:
        """The JSON body of the running method: its keyword arguments (see `_arguments`)."""
        return body(**cls._arguments(*leave_out, **replacing))

    @classmethod
    def _query(cls, *leave_out: str, **replacing: Any) -> list[tuple[str, str]]:
        """The query of the running method: its keyword arguments (see `_arguments`)."""
        return query(**cls._arguments(*leave_out, **replacing))

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
        first, last = check_date("from", start), check_date("to", end)
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
