"""The simulator accepts on each write exactly the fields of the client's call for it.

Nothing in the simulator lists request fields: they are the keyword parameters of the
resource methods, their wire types read from the annotations (see
`harvest_async.testing._params`).
"""

from __future__ import annotations

import datetime as dt
import inspect
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, TypedDict

import aiohttp
import pytest

from harvest_async import NOT_GIVEN, NotGiven
from harvest_async.testing import HarvestSimulator
from harvest_async.testing._app import TOP_LEVEL
from harvest_async.testing._params import (
    CREATE_CALLS,
    CREATE_FIELDS,
    LINE_FIELDS,
    UPDATE_CALLS,
    UPDATE_FIELDS,
    fields_of,
    wire_kind,
)

Number = Decimal | int | str | float


class Item(TypedDict, total=False):
    id: int
    name: str


@pytest.mark.parametrize(
    ("annotation", "kind"),
    [
        (int, "int"),
        (int | NotGiven, "int"),
        (bool | NotGiven, "bool"),
        (str | NotGiven | None, "str"),
        (Literal["Project", "Tasks"] | NotGiven, "str"),
        (Literal[True], "bool"),
        (Number, "num"),
        (Number | NotGiven | None, "num"),
        (dt.date | str | NotGiven, "date"),
        (dt.datetime | str, "datetime"),
        (Sequence[int], "ints"),
        (Sequence[str] | NotGiven, "strs"),
        (Sequence[Literal["ach", "paypal"]], "strs"),
        (Sequence[Item] | NotGiven, "objs"),
        (Sequence[Mapping[str, Any]], "objs"),
        (list[int], "ints"),
        (Mapping[str, Any] | NotGiven | None, "obj"),
        (Item | NotGiven, "obj"),
        (str | Path | bytes | NotGiven, "file"),
    ],
)
def test_wire_kind_of_each_annotation(annotation: Any, kind: str) -> None:
    assert wire_kind(annotation) == kind


@pytest.mark.parametrize("annotation", [float, set[int], Sequence[float], int | str, Any])
def test_an_annotation_of_no_known_shape_fails_loudly(annotation: Any) -> None:
    with pytest.raises(TypeError, match="no wire type known"):
        wire_kind(annotation, "probe")


async def _call(
    self: object,
    record_id: int,
    *,
    name: str,
    count: int | NotGiven = NOT_GIVEN,
    upload: str | bytes | NotGiven = NOT_GIVEN,
    upload_filename: str | NotGiven = NOT_GIVEN,
    label_filename: str | NotGiven = NOT_GIVEN,
) -> None:
    """A resource method: a path id, then the body's fields."""


def test_fields_of_a_call_are_its_keyword_parameters() -> None:
    # the path id is not a field; the file part's name is not one either, but a
    # ``*_filename`` with no file of that name is
    assert fields_of(_call) == {
        "name": "str",
        "count": "int",
        "upload": "file",
        "label_filename": "str",
    }


def test_two_calls_of_one_write_accept_the_union_and_must_agree() -> None:
    async def other(self: object, *, name: str, extra: bool | NotGiven = NOT_GIVEN) -> None:
        pass

    async def clash(self: object, *, name: int) -> None:
        pass

    assert list(fields_of(_call, other)) == [
        "name",
        "count",
        "upload",
        "label_filename",
        "extra",
    ]
    with pytest.raises(TypeError, match="two wire types"):
        fields_of(_call, clash)


def _keyword_parameters(*calls: Any) -> set[str]:
    return {
        p.name
        for call in calls
        for p in inspect.signature(call).parameters.values()
        if p.kind is p.KEYWORD_ONLY
    }


@pytest.mark.parametrize("kind", sorted(CREATE_CALLS))
def test_each_create_accepts_the_keyword_parameters_of_its_call(kind: str) -> None:
    expected = _keyword_parameters(*CREATE_CALLS[kind]) - {"receipt_filename"}
    assert set(CREATE_FIELDS[kind]) == expected


@pytest.mark.parametrize("kind", sorted(UPDATE_CALLS))
def test_each_update_accepts_the_keyword_parameters_of_its_call(kind: str) -> None:
    expected = _keyword_parameters(*UPDATE_CALLS[kind]) - {"receipt_filename"}
    assert set(UPDATE_FIELDS[kind]) == expected


def test_every_write_the_simulator_routes_has_its_fields() -> None:
    assert set(TOP_LEVEL) <= set(CREATE_FIELDS)
    assert set(TOP_LEVEL) <= set(UPDATE_FIELDS)
    nested = {"user_assignments", "task_assignments", "billable_rates", "cost_rates"}
    children = {"invoice_messages", "estimate_messages", "invoice_payments"}
    assert nested | children <= set(CREATE_FIELDS)
    assert {"company", "teammates", "user_assignments", "task_assignments"} <= set(UPDATE_FIELDS)


def test_some_derived_types_as_harvest_takes_them() -> None:
    assert CREATE_FIELDS["time_entries"]["spent_date"] == "date"
    assert CREATE_FIELDS["time_entries"]["hours"] == "num"
    assert CREATE_FIELDS["time_entries"]["external_reference"] == "obj"
    assert CREATE_FIELDS["expenses"]["receipt"] == "file"
    assert CREATE_FIELDS["invoice_payments"]["paid_at"] == "datetime"
    assert CREATE_FIELDS["invoices"]["payment_options"] == "strs"
    assert CREATE_FIELDS["invoices"]["line_items_import"] == "obj"
    assert CREATE_FIELDS["roles"]["user_ids"] == "ints"
    assert UPDATE_FIELDS["teammates"] == {"teammate_ids": "ints"}
    assert UPDATE_FIELDS["expenses"]["delete_receipt"] == "bool"
    # line items: new ones, changes and deletions (``_destroy``) of each parent's call
    assert LINE_FIELDS["invoices"]["_destroy"] == "bool"
    assert LINE_FIELDS["invoices"]["project_id"] == "int"
    assert "project_id" not in LINE_FIELDS["estimates"]
    assert set(LINE_FIELDS["estimates"]) == set(LINE_FIELDS["invoices"]) - {"project_id"}


UA = "simulator params tests (dev@example.com)"


async def _send(sim: HarvestSimulator, method: str, path: str, body: Any) -> tuple[int, Any]:
    headers = {
        "Authorization": f"Bearer {sim.access_token}",
        "Harvest-Account-Id": str(sim.account_id),
        "User-Agent": UA,
    }
    async with (
        aiohttp.ClientSession(headers=headers) as http,
        http.request(method, f"{sim.base_url}/{path}", json=body) as resp,
    ):
        return resp.status, await resp.json(content_type=None)


async def test_times_of_day_are_still_checked() -> None:
    async with HarvestSimulator(seed=0, rate_limit=(100_000, 1.0)) as sim:
        me = sim.world.me_id
        ua = next(a for a in sim.records("user_assignments") if a["user"]["id"] == me)
        pid = ua["project"]["id"]
        ta = next(t for t in sim.records("task_assignments") if t["project"]["id"] == pid)
        entry = {"project_id": pid, "task_id": ta["task"]["id"], "spent_date": "2025-01-15"}
        status, body = await _send(sim, "POST", "time_entries", {**entry, "started_time": "25:99"})
        assert (status, body) == (422, {"message": "started_time is not a valid time of day"})
        status, made = await _send(
            sim,
            "POST",
            "time_entries",
            {**entry, "started_time": "9:00am", "ended_time": "10:30am"},
        )
        assert status == 201
        assert made["hours"] == 1.5
        status, body = await _send(
            sim, "PATCH", f"time_entries/{made['id']}", {"ended_time": "noon"}
        )
        assert (status, body) == (422, {"message": "ended_time is not a valid time of day"})
        status, body = await _send(
            sim, "PATCH", f"time_entries/{made['id']}", {"ended_time": "11:00am"}
        )
        assert status == 200
        assert body["hours"] == 2.0
    assert sim.errors == []


async def test_a_field_no_call_sends_is_ignored() -> None:
    # Harvest ignores unknown fields; the simulator knows only the client's fields.
    async with HarvestSimulator(seed=0, rate_limit=(100_000, 1.0)) as sim:
        uid = sim.records("users", limit=1)[0]["id"]
        before = sim.record("users", uid)
        assert before is not None
        status, body = await _send(
            sim, "PATCH", f"users/{uid}", {"telephone": "555-0100", "first_name": "Renamed"}
        )
        assert status == 200
        assert body["first_name"] == "Renamed"
        assert body["telephone"] == before["telephone"]
    assert sim.errors == []


def test_list_filters_are_the_list_calls_parameters() -> None:
    from harvest_async.testing._app import DATE_FIELD
    from harvest_async.testing._params import FILTERS, LIST_CALLS, UPDATED_SINCE

    assert FILTERS["time_entries"] == {
        name: (name, code)
        for name, code in {
            "user_id": "int",
            "client_id": "int",
            "project_id": "int",
            "task_id": "int",
            "is_billed": "bool",
            "is_running": "bool",
            "approval_status": "str",
        }.items()
    }
    # nested and account-wide lists of one kind take the union of their filters
    assert set(FILTERS["user_assignments"]) == {"user_id", "is_active"}
    # the projects of an invoice's line items have their own rule
    assert set(FILTERS["invoices"]) == {"client_id", "state"}
    for kind, calls in LIST_CALLS.items():
        params = _keyword_parameters(*calls)
        assert set(FILTERS[kind]) <= params - {"per_page", "shards"}, kind
        assert (kind in UPDATED_SINCE) == ("updated_since" in params), kind
        # a list with a date range says which stored date it filters
        assert (kind in DATE_FIELD) == ("from_" in params), kind
    assert {"roles", "billable_rates", "cost_rates"}.isdisjoint(UPDATED_SINCE)


def test_each_kind_is_served_as_the_model_its_calls_decode_into() -> None:
    import harvest_async.models as m
    from harvest_async.resources.projects import Projects
    from harvest_async.resources.time_entries import TimeEntries
    from harvest_async.testing._params import (
        REPORT_GROUPS,
        REPORTS_SERVED_AS,
        SERVED_AS,
        decoded_as,
    )

    assert SERVED_AS["time_entries"] is m.TimeEntry
    assert SERVED_AS["company"] is m.Company
    assert SERVED_AS["project_assignments"] is m.ProjectAssignment
    reports = dict(REPORTS_SERVED_AS)
    assert reports == {
        "time": m.TimeReportResult,
        "expenses": m.ExpenseReportResult,
        "uninvoiced": m.UninvoicedReportResult,
        "project_budget": m.ProjectBudgetReportResult,
    }
    groups = dict(REPORT_GROUPS)
    assert groups == {
        "time": ("clients", "projects", "tasks", "team"),
        "expenses": ("clients", "projects", "categories", "team"),
    }
    with pytest.raises(TypeError, match="decode into"):
        decoded_as(TimeEntries.list, Projects.list)
    with pytest.raises(TypeError, match="not a model"):
        decoded_as(TimeEntries.delete)
