"""Requests: a resource method's signature is the one description of its parameters.

Every argument is checked and converted by its annotation before the method runs (no
table of parameter names anywhere): a new parameter is one line of a signature, and a
name says nothing about a type. Also the shared shapes: one item-category class, one
body per report kind, invoices and estimates on one base, one ``async with`` mixin.
"""

from __future__ import annotations

import datetime as dt
import inspect
import typing
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Annotated, Any, Literal

import pytest

import harvest_async as ha
from harvest_async import _json
from harvest_async.resources import _base, _params
from harvest_async.resources._base import (
    NOT_GIVEN,
    OPERATION_ATTR,
    NotGiven,
    PerPage,
    Range,
    Resource,
)
from harvest_async.resources._documents import Documents
from harvest_async.resources._item_categories import ItemCategories
from harvest_async.resources.estimate_item_categories import EstimateItemCategories
from harvest_async.resources.estimates import Estimates
from harvest_async.resources.invoice_item_categories import InvoiceItemCategories
from harvest_async.resources.invoices import Invoices
from harvest_async.resources.reports import ExpenseReports, TimeReports

Number = Decimal | int | str | float
Colour = Literal["red", "green"]


class Scratch(Resource):
    """A resource written in a test: each parameter is one annotated line, nothing else."""

    async def create(
        self,
        thing_id: int,
        *,
        hours: str | NotGiven = NOT_GIVEN,  # a name that once meant "decimal"
        zz_amount: Number | NotGiven | None = NOT_GIVEN,
        zz_day: dt.date | str | NotGiven = NOT_GIVEN,
        zz_when: dt.datetime | str | NotGiven = NOT_GIVEN,
        zz_flag: bool | NotGiven = NOT_GIVEN,
        zz_count: Annotated[int, Range(0, 5)] | NotGiven = NOT_GIVEN,
        zz_colour: Colour | NotGiven = NOT_GIVEN,
        zz_ids: Sequence[int] | NotGiven = NOT_GIVEN,
        zz_extra: Mapping[str, Any] | NotGiven = NOT_GIVEN,
    ) -> dict[str, Any]:
        """Build the body it would send: its keyword arguments, as checked."""
        return self._body()

    def list(
        self,
        *,
        zz_day: dt.date | str | NotGiven = NOT_GIVEN,
        zz_flag: bool | NotGiven = NOT_GIVEN,
        zz_ids: Sequence[int] | NotGiven = NOT_GIVEN,
        per_page: PerPage | NotGiven = NOT_GIVEN,
    ) -> list[tuple[str, str]]:
        """Build the query it would send."""
        return self._query()


@pytest.fixture
def scratch() -> Scratch:
    return Scratch(None)  # type: ignore[arg-type]  # builds values, sends nothing


def test_base_holds_no_table_of_parameter_names() -> None:
    source = inspect.getsource(_base) + inspect.getsource(_params)
    for table in ("_DECIMAL_NAMES", "_BOOL_PREFIXES", "_BOOL_NAMES", "_DATE_NAMES", "_INT_NAMES"):
        assert table not in source


async def test_a_new_parameter_is_one_annotated_line(scratch: Scratch) -> None:
    sent = await scratch.create(
        7,
        hours="8:00",
        zz_amount="1.50",
        zz_day="2024-01-02",
        zz_when="2024-01-02T03:04:05+01:00",
        zz_flag=False,
        zz_count=0,
        zz_colour="red",
        zz_ids=(1, 2),
        zz_extra={"a": [1, 2.5]},
    )
    assert sent == {
        "hours": "8:00",  # the annotation says str: the name means nothing
        "zz_amount": Decimal("1.50"),
        "zz_day": dt.date(2024, 1, 2),
        "zz_when": dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=1))),
        "zz_flag": False,
        "zz_count": 0,
        "zz_colour": "red",
        "zz_ids": [1, 2],
        "zz_extra": {"a": [1, Decimal("2.5")]},
    }
    assert _json.dumps(sent).startswith('{"hours":"8:00","zz_amount":1.50,')


def test_a_query_is_spelled_from_the_converted_values(scratch: Scratch) -> None:
    assert scratch.list(zz_day="2024-01-02", zz_flag=True, zz_ids=[3, 4], per_page=50) == [
        ("zz_day", "2024-01-02"),
        ("zz_flag", "true"),
        ("zz_ids", "3,4"),
        ("per_page", "50"),
    ]


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        ({"hours": 1.5}, "hours must be a string"),
        ({"zz_amount": "lots"}, "zz_amount must be a decimal number"),
        ({"zz_amount": float("nan")}, "zz_amount must be a finite number"),
        ({"zz_amount": True}, "zz_amount must be a number"),
        ({"zz_day": "2024-02-30"}, "zz_day must be a date"),
        ({"zz_day": dt.datetime(2024, 1, 1, tzinfo=dt.UTC)}, "not a datetime"),
        ({"zz_when": dt.datetime(2024, 1, 1)}, "zz_when must be an aware datetime"),
        ({"zz_flag": "yes"}, "zz_flag must be True or False"),
        ({"zz_count": 6}, "zz_count must be an int from 0 to 5"),
        ({"zz_count": True}, "zz_count must be an int from 0 to 5"),
        ({"zz_colour": "blue"}, "zz_colour must be one of 'red', 'green'"),
        ({"zz_ids": "1,2"}, "zz_ids must be a list"),
        ({"zz_ids": [1, 0]}, r"zz_ids\[1\] must be a positive int"),
        ({"zz_extra": [1]}, "zz_extra must be a mapping"),
        ({"zz_extra": {"a": {1, 2}}}, "cannot send a set"),
    ],
)
async def test_bad_input_is_refused_by_its_annotation(
    scratch: Scratch, kwargs: dict[str, Any], says: str
) -> None:
    with pytest.raises(ha.InvalidRequestError, match=says):
        await scratch.create(1, **kwargs)


@pytest.mark.parametrize("bad", [0, -1, True, "1", 1.0, 2**63, None])
async def test_an_int_is_an_id_unless_its_annotation_narrows_it(scratch: Scratch, bad: Any) -> None:
    with pytest.raises(ha.InvalidRequestError, match="thing_id must be a positive int"):
        await scratch.create(bad)


def test_per_page_bounds_come_from_its_annotation(scratch: Scratch) -> None:
    for bad in (0, 2001, "10", True):
        with pytest.raises(ha.InvalidRequestError, match="per_page must be an int from 1 to 2000"):
            scratch.list(per_page=bad)
    assert scratch.list(per_page=2000) == [("per_page", "2000")]


async def test_none_is_null_only_where_the_annotation_says_so(scratch: Scratch) -> None:
    # nullable: sent as null; optional but not nullable: as if not given (no field, no
    # filter); required: refused.
    assert await scratch.create(1, zz_amount=None, zz_flag=None) == {"zz_amount": None}
    assert scratch.list(zz_day=None) == []


async def test_a_coroutine_method_checks_when_awaited_and_binds_at_once(
    scratch: Scratch,
) -> None:
    pending = scratch.create(1, zz_flag="no")  # nothing raised yet, as before
    with pytest.raises(ha.InvalidRequestError):
        await pending
    with pytest.raises(TypeError):
        await scratch.create(1, zz_unknown=1)  # type: ignore[call-arg]
    assert inspect.iscoroutinefunction(Scratch.create)


async def test_a_body_is_the_keyword_arguments_of_its_own_call(scratch: Scratch) -> None:
    class Nested(Resource):
        async def outer(self, *, zz_a: int | NotGiven = NOT_GIVEN) -> Any:
            """Call another checked method, then build its own body.

            Args:
                zz_a: A field.
            """
            inner = await self.inner(zz_b=2)
            return inner, self._body()

        async def inner(self, *, zz_b: int | NotGiven = NOT_GIVEN) -> dict[str, Any]:
            """Build a body.

            Args:
                zz_b: A field.
            """
            return self._body()

    assert await Nested(None).outer(zz_a=1) == ({"zz_b": 2}, {"zz_a": 1})  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="checked method"):
        _params.call_keywords()


def test_a_plain_method_checks_at_the_call(scratch: Scratch) -> None:
    with pytest.raises(ha.InvalidRequestError):
        scratch.list(zz_flag=1)


def test_an_annotation_of_no_known_shape_is_a_type_error() -> None:
    class Odd(Resource):
        def weird(self, *, value: complex) -> None:
            """Take a complex."""

    with pytest.raises(TypeError, match="no wire type known for value"):
        Odd(None).weird(value=1j)  # type: ignore[arg-type]


def _resource_methods() -> list[tuple[str, Any]]:
    client = ha.HarvestClient(access_token="t", account_id="1")
    found: dict[str, Any] = {}
    seen: set[int] = set()

    def walk(obj: object) -> None:
        if id(obj) in seen:
            return
        seen.add(id(obj))
        for name, func in inspect.getmembers(type(obj), inspect.isfunction):
            if not name.startswith("_"):
                found[f"{type(obj).__name__}.{name}"] = func
        for value in vars(obj).values():
            if isinstance(value, Resource):
                walk(value)

    for value in vars(client).values():
        if isinstance(value, Resource):
            walk(value)
    return sorted(found.items())


RESOURCE_METHODS = _resource_methods()


@pytest.mark.parametrize(("name", "method"), RESOURCE_METHODS, ids=[n for n, _ in RESOURCE_METHODS])
def test_every_parameter_of_every_resource_method_has_a_wire_type(name: str, method: Any) -> None:
    fields = _params.parameter_fields(method)
    signature = inspect.signature(method)
    named = {
        p.name
        for p in signature.parameters.values()
        if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    }
    assert set(fields) == named
    # What others read from the signatures is unchanged by the checks: same names,
    # same hints (Annotated bounds are extras, invisible to plain get_type_hints).
    assert typing.get_type_hints(method) == typing.get_type_hints(inspect.unwrap(method))


def test_per_page_reads_as_a_plain_int() -> None:
    hints = typing.get_type_hints(Invoices.list)
    assert hints["per_page"] == int | NotGiven


# -- shared shapes --------------------------------------------------------------------


def test_item_categories_are_one_class_for_both_kinds() -> None:
    from harvest_async.models.estimates import EstimateItemCategory
    from harvest_async.models.invoices import InvoiceItemCategory

    for cls, kind, model in (
        (InvoiceItemCategories, "invoice", InvoiceItemCategory),
        (EstimateItemCategories, "estimate", EstimateItemCategory),
    ):
        assert issubclass(cls, ItemCategories)
        for name in ("list", "get", "create", "update", "delete"):
            # the kind's method runs the one class's code
            own = inspect.unwrap(getattr(cls, name)).__code__
            assert own is inspect.unwrap(getattr(ItemCategories, name)).__code__
        assert typing.get_type_hints(cls.get)["return"] is model
        assert typing.get_type_hints(cls.list)["return"] == ha.Paginator[model]
        camel = kind + "ItemCategory"
        assert getattr(cls.update, OPERATION_ATTR) == (
            ("PATCH", f"/{kind}_item_categories/{{{camel}Id}}"),
        )
        assert f"{kind} item category" in (cls.delete.__doc__ or "")


def test_each_report_kind_has_one_body() -> None:
    for cls, groups in (
        (TimeReports, ("clients", "projects", "tasks", "team")),
        (ExpenseReports, ("clients", "projects", "categories", "team")),
    ):
        kind = "time" if cls is TimeReports else "expenses"
        by = vars(cls)["_by"]
        for group in groups:
            method = getattr(cls, group)
            assert method.__name__ == group
            assert "group" not in inspect.signature(method).parameters
            assert getattr(method, OPERATION_ATTR) == (("GET", f"/reports/{kind}/{group}"),)
            # the group method calls the kind's one report body
            assert by in (cell.cell_contents for cell in inspect.unwrap(method).__closure__ or ())


def test_invoices_and_estimates_share_one_base() -> None:
    assert issubclass(Invoices, Documents)
    assert issubclass(Estimates, Documents)
    shared = ("_patch_line_items", "_messages", "_send_message", "_delete_message")
    for name in shared:
        assert name not in vars(Invoices)
        assert name not in vars(Estimates)


def test_one_async_with_mixin() -> None:
    from harvest_async.oauth import HarvestID
    from harvest_async.testing import HarvestSimulator

    for cls in (ha.HarvestClient, HarvestID, ha.RedisRateLimiter, HarvestSimulator):
        assert issubclass(cls, ha.AsyncClosing)
        assert "__aenter__" not in vars(cls)
        assert "__aexit__" not in vars(cls)


async def test_async_with_closes_even_when_the_block_raises() -> None:
    events: list[str] = []

    class Thing(ha.AsyncClosing):
        async def _open(self) -> None:
            events.append("open")

        async def aclose(self) -> None:
            events.append("close")

    async def use() -> None:
        async with Thing() as thing:
            assert isinstance(thing, Thing)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await use()
    assert events == ["open", "close"]
    assert NOT_GIVEN is ha.NOT_GIVEN
