"""The simulator serves the client's models: keys, their order and nesting come from them.

Nothing in the simulator lists a response's fields: a field added to a model is served
at once (see `harvest_async.testing._render`).
"""

from __future__ import annotations

import types
import typing
from collections.abc import AsyncIterator
from typing import Any, Union

import aiohttp
import attrs
import pytest

import harvest_async.models as m
from harvest_async.testing import HarvestSimulator
from harvest_async.testing._app import TOP_LEVEL
from harvest_async.testing._world import SERVED_AS

UA = "simulator render tests (dev@example.com)"


def nested_model(tp: Any) -> tuple[str, type | None]:
    """``("object", M)`` / ``("list", M)`` for a field holding models, else ``("", None)``."""
    args = (tp,)
    if typing.get_origin(tp) in (Union, types.UnionType):
        args = tuple(a for a in typing.get_args(tp) if a is not type(None))
    (inner,) = args
    if attrs.has(inner):
        return "object", inner
    if typing.get_origin(inner) is list and attrs.has(typing.get_args(inner)[0]):
        return "list", typing.get_args(inner)[0]
    return "", None


def field_names(model: type) -> list[str]:
    return [f.name for f in attrs.fields(model)]


@attrs.frozen(kw_only=True)
class ProbeProjectRef(m.ProjectRef):
    """ProjectRef with one more field."""

    x_probe: str | None = None


@attrs.frozen(kw_only=True)
class ProbeTimeEntry(m.TimeEntry):
    """TimeEntry with one more field, and the longer ProjectRef."""

    project: ProbeProjectRef | None = None
    x_probe: str | None = None


@attrs.frozen(kw_only=True)
class ProbeLineItem(m.InvoiceLineItem):
    """InvoiceLineItem with one more field."""

    x_probe: str | None = None


@attrs.frozen(kw_only=True)
class ProbeInvoice(m.Invoice):
    """Invoice whose line items have one more field."""

    line_items: list[ProbeLineItem] | None = None  # type: ignore[assignment]  # a scratch model


def session(sim: HarvestSimulator) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        headers={
            "Authorization": f"Bearer {sim.access_token}",
            "Harvest-Account-Id": str(sim.account_id),
            "User-Agent": UA,
        }
    )


async def get(http: aiohttp.ClientSession, url: str, **params: str) -> Any:
    async with http.get(url, params=params) as resp:
        assert resp.status == 200, (url, await resp.text())
        return await resp.json()


async def send(http: aiohttp.ClientSession, method: str, url: str, body: Any) -> Any:
    async with http.request(method, url, json=body) as resp:
        assert resp.status in (200, 201), (url, await resp.text())
        return await resp.json()


@pytest.fixture
async def sim() -> AsyncIterator[HarvestSimulator]:
    async with HarvestSimulator(seed=0, rate_limit=(100_000, 1.0)) as s:
        yield s
    assert s.errors == []


async def test_a_field_added_to_a_model_is_served_with_no_other_edit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The only change: the models served carry new fields (top level, in a reference,
    # in list items); the values are stored in the rows, as the simulator stores any.
    monkeypatch.setitem(SERVED_AS, "time_entries", ProbeTimeEntry)
    monkeypatch.setitem(SERVED_AS, "invoices", ProbeInvoice)
    async with HarvestSimulator(seed=0, rate_limit=(100_000, 1.0)) as sim, session(sim) as http:
        w = sim.world
        base = sim.base_url
        first = await get(http, f"{base}/time_entries", per_page="5")
        assert all(e["x_probe"] is None for e in first["time_entries"])
        assert all(e["project"]["x_probe"] is None for e in first["time_entries"])

        entry = first["time_entries"][0]
        row = w.time_entries.get(entry["id"])
        assert row is not None
        w.time_entries.put({**row, "x_probe": "kept on the entry"})
        project = w.projects.get(entry["project"]["id"])
        assert project is not None
        project["x_probe"] = "kept on the project"
        w.touch_refs("projects", project["id"])
        invoice = next(iter(w.invoices.values()))
        invoice["line_items"][0]["x_probe"] = "kept on the line"

        served = await get(http, f"{base}/time_entries/{entry['id']}")
        assert list(served) == field_names(ProbeTimeEntry)
        assert served["x_probe"] == "kept on the entry"
        assert list(served["project"]) == ["id", "name", "code", "x_probe"]
        assert served["project"]["x_probe"] == "kept on the project"
        page = await get(http, f"{base}/time_entries", per_page="2000")
        for e in page["time_entries"]:
            assert e["x_probe"] == ("kept on the entry" if e["id"] == entry["id"] else None)
            on_project = e["project"]["id"] == project["id"]
            assert e["project"]["x_probe"] == ("kept on the project" if on_project else None)
        assert sim.record("time_entries", entry["id"]) == served

        served_invoice = await get(http, f"{base}/invoices/{invoice['id']}")
        lines = served_invoice["line_items"]
        assert list(lines[0]) == field_names(ProbeLineItem)
        assert [li["x_probe"] for li in lines] == ["kept on the line"] + [None] * (len(lines) - 1)
    assert sim.errors == []


async def _served_objects(sim: HarvestSimulator) -> dict[str, list[dict[str, Any]]]:
    """Every kind as the API serves it, with the rarer nested objects made to appear."""
    base = sim.base_url
    w = sim.world
    me = w.me_id
    out: dict[str, list[dict[str, Any]]] = {kind: [] for kind in SERVED_AS}
    async with session(sim) as http:
        ua = next(a for a in sim.records("user_assignments") if a["user"]["id"] == me)
        pid = ua["project"]["id"]
        ta = next(t for t in sim.records("task_assignments") if t["project"]["id"] == pid)
        reference = {"id": "card-7", "group_id": "board", "permalink": "https://trello.com/c/7"}
        timer = {"project_id": pid, "task_id": ta["task"]["id"], "spent_date": "2025-01-15"}
        out["time_entries"].append(
            await send(
                http, "POST", f"{base}/time_entries", {**timer, "external_reference": reference}
            )
        )
        estimate = sim.records("estimates")[0]["id"]
        client = sim.records("clients")[0]["id"]
        invoice = {
            "client_id": client,
            "estimate_id": estimate,
            "retainer_id": 77,
            "line_items": [{"kind": "Service", "description": "Work", "unit_price": 10}],
        }
        out["invoices"].append(await send(http, "POST", f"{base}/invoices", invoice))

        out["company"].append(await get(http, f"{base}/company"))
        out["users"].append(await get(http, f"{base}/users/me"))
        lists = {
            kind: f"{base}/{kind}"
            for kind in SERVED_AS
            if kind in w.tables or kind in ("time_entries", "expenses")
        }
        lists.update(
            {
                kind: f"{base}/users/{me}/{kind}"
                for kind in ("teammates", "billable_rates", "cost_rates")
            }
        )
        lists["project_assignments"] = f"{base}/users/me/project_assignments"
        for kind in ("invoice_messages", "invoice_payments", "estimate_messages"):
            del lists[kind]
        for kind, url in lists.items():
            body = await get(http, url, per_page="2000")
            out[kind] += body[kind]
            if kind in TOP_LEVEL:
                rid = body[kind][0]["id"]
                out[kind].append(await get(http, f"{base}/{kind}/{rid}"))
                out[kind] += sim.records(kind, limit=50)
        for inv in sim.records("invoices"):
            for sub, kind in (("messages", "invoice_messages"), ("payments", "invoice_payments")):
                body = await get(http, f"{base}/invoices/{inv['id']}/{sub}")
                out[kind] += body[kind]
        for est in sim.records("estimates"):
            body = await get(http, f"{base}/estimates/{est['id']}/messages")
            out["estimate_messages"] += body["estimate_messages"]
    return out


def _check(model: type, obj: dict[str, Any], seen: set[tuple[str, str]], path: str) -> None:
    assert list(obj) == field_names(model), path
    hints = typing.get_type_hints(model)
    for name in field_names(model):
        shape, nested = nested_model(hints[name])
        value = obj[name]
        if nested is None or value is None:
            continue
        seen.add((model.__name__, name))
        for item in value if shape == "list" else [value]:
            _check(nested, item, seen, f"{path}.{name}")


async def test_every_kind_serves_exactly_the_fields_of_its_model(
    sim: HarvestSimulator,
) -> None:
    served = await _served_objects(sim)
    seen: set[tuple[str, str]] = set()
    for kind, objects in served.items():
        assert objects, kind
        for obj in objects:
            _check(SERVED_AS[kind], obj, seen, kind)
    # Every nested object of every model served was met, so each was checked too.
    wanted: set[tuple[str, str]] = set()
    todo = list(SERVED_AS.values())
    while todo:
        model = todo.pop()
        for name, tp in typing.get_type_hints(model).items():
            nested = nested_model(tp)[1]
            if nested is not None and (model.__name__, name) not in wanted:
                wanted.add((model.__name__, name))
                todo.append(nested)
    assert wanted - seen == set()


async def test_embeds_smaller_than_their_namesakes_have_precise_models(
    sim: HarvestSimulator,
) -> None:
    contact = sim.records("contacts", limit=1)[0]
    assert list(contact["client"]) == ["id", "name"]
    entry = sim.records("time_entries", limit=1)[0]
    assert "project" not in entry["user_assignment"]
    assert "task" not in entry["task_assignment"]
    async with sim.client() as harvest:
        got = await harvest.time_entries.get(entry["id"])
        assert isinstance(got.user_assignment, m.UserAssignmentRef)
        assert isinstance(got.task_assignment, m.TaskAssignmentRef)
        assert got.user_assignment.id == entry["user_assignment"]["id"]
        (assignment, *_) = await harvest.users.my_project_assignments().collect()
        assert assignment.task_assignments
        assert all(
            isinstance(t, m.ProjectAssignmentTaskAssignment) and t.task is not None
            for t in assignment.task_assignments
        )


def test_every_field_served_is_stored_or_computed() -> None:
    w = HarvestSimulator(seed=1).world
    rows: dict[str, list[dict[str, Any]]] = {
        "company": [w.company],
        "teammates": list(w.users.values()),
        "project_assignments": list(w.user_assignments.values()),
    }
    for lazy in (w.time_entries, w.expenses):
        rows[lazy.name] = [r for i in lazy.ids_desc() if (r := lazy.get(i)) is not None]
    unstored: dict[str, set[str]] = {}
    for kind, model in SERVED_AS.items():
        found = rows[kind] if kind in rows else list(w.table(kind).values())
        assert found, kind
        for row in found:
            if missing := w.renderer.unstored(model, row):
                unstored.setdefault(kind, set()).update(missing)
    # Only the permission flags of older user records, which current Harvest leaves
    # out (it says the same through access_roles and permissions_claims): null.
    assert unstored == {
        "users": {"is_admin", "is_project_manager", "can_see_rates", "can_create_invoices"}
    }


async def test_references_follow_renames_and_plans_are_built_once(
    sim: HarvestSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = sim.base_url
    async with session(sim) as http:
        page = await get(http, f"{base}/time_entries", per_page="2000")
        entry = page["time_entries"][0]
        pid, uid = entry["project"]["id"], entry["user"]["id"]
        await get(http, f"{base}/projects/{pid}")
        await get(http, f"{base}/users/{uid}")

        def no_reflection(*args: Any, **kwargs: Any) -> Any:
            raise AssertionError("a model was inspected again")

        # Every model served below has been served once: its plan is kept.
        monkeypatch.setattr(typing, "get_type_hints", no_reflection)
        await send(http, "PATCH", f"{base}/projects/{pid}", {"name": "Renamed Project"})
        await send(http, "PATCH", f"{base}/users/{uid}", {"first_name": "Renamed"})
        page = await get(http, f"{base}/time_entries", per_page="2000")
    for e in page["time_entries"]:
        if e["project"]["id"] == pid:
            assert e["project"]["name"] == "Renamed Project"
        if e["user"]["id"] == uid:
            assert e["user"]["name"].startswith("Renamed ")
    assert any(e["project"]["id"] == pid for e in page["time_entries"])


REPORT_SHAPES = {
    "time/clients": ["client_id", "client_name"],
    "time/projects": ["project_id", "project_name", "client_id", "client_name"],
    "time/tasks": ["task_id", "task_name"],
    "time/team": ["user_id", "user_name", "is_contractor"],
    "expenses/clients": ["client_id", "client_name"],
    "expenses/projects": ["client_id", "client_name", "project_id", "project_name"],
    "expenses/categories": ["expense_category_id", "expense_category_name"],
    "expenses/team": ["user_id", "user_name", "is_contractor"],
}


@pytest.mark.parametrize("report", list(REPORT_SHAPES))
async def test_report_rows_carry_their_groups_fields_of_the_model(
    sim: HarvestSimulator, report: str
) -> None:
    # Each group's rows carry its own identity and the totals, as Harvest sends them;
    # every key is a field of the report's model.
    model = m.TimeReportResult if report.startswith("time") else m.ExpenseReportResult
    async with session(sim) as http:
        body = await get(
            http, f"{sim.base_url}/reports/{report}", **{"from": "20240101", "to": "20241230"}
        )
    rows = body["results"]
    assert rows
    totals = (
        ["total_hours", "billable_hours", "currency", "billable_amount"]
        if report.startswith("time")
        else ["total_amount", "billable_amount", "currency"]
    )
    for row in rows:
        assert set(row) <= set(field_names(model))
        assert list(row)[: len(REPORT_SHAPES[report])] == REPORT_SHAPES[report]
        extra = {"weekly_capacity", "avatar_url"} if report == "time/team" else set()
        assert set(row) == {*REPORT_SHAPES[report], *totals, *extra}
