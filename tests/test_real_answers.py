"""Real recorded Harvest answers, replayed to the client (read in place, see ``shared.py``).

- Reports: Harvest answered ``from=20210101&to=20220101`` (``to - from`` is 365 days,
  366 counted inclusively) with data; the client sends that very request, dates spelled
  ``YYYYMMDD``, and decodes the recorded rows exactly.
- DELETE: Harvest answers 200 with the deleted record; ``delete()`` returns ``None``
  for it, for an empty body and for a body that is not JSON.
- Users: older records carry ``is_admin``, ``is_project_manager``, ``can_see_rates`` and
  ``can_create_invoices``; the model keeps them.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import attrs
import pytest
from aioresponses import aioresponses

import harvest_async as ha
from harvest_async._converter import decode, decode_many
from harvest_async._pagination import Paginator
from harvest_async.models import (
    ExpenseReportResult,
    TimeReportResult,
    UninvoicedReportResult,
    User,
)

from .conftest import sent_requests
from .records import required_values
from .shared import realapi_answer, realapi_answers

ORIGIN = "https://api.harvestapp.com"


def content_type(answer: dict[str, Any]) -> str:
    headers = {k.lower(): v for k, v in answer["response"]["headers"].items()}
    return str(headers.get("content-type", "application/json")).split(";")[0]


def replay(mock: aioresponses, answer: dict[str, Any]) -> None:
    """Serve ``answer`` once at its recorded method and path (any query string)."""
    request, response = answer["request"], answer["response"]
    url = re.compile(rf"^{re.escape(ORIGIN + request['path'])}(\?.*)?$")
    mock.add(
        url,
        request["method"],
        status=response["status"],
        body=response["body"],
        content_type=content_type(answer),
    )


def same_value(got: Any, raw: Any) -> bool:
    """A decoded field equals its recorded JSON value (numbers exactly, by value)."""
    if isinstance(got, Decimal):
        return not isinstance(raw, bool) and got == Decimal(str(raw))
    return bool(got == raw) and type(got) is type(raw)


# -------------------------------------------------------------------------------- reports

REPORTS: list[tuple[str, Callable[[ha.HarvestClient], Callable[..., Paginator[Any]]], type]] = [
    ("airbyte-030-expenses_clients", lambda h: h.reports.expenses.clients, ExpenseReportResult),
    ("airbyte-031-expenses_projects", lambda h: h.reports.expenses.projects, ExpenseReportResult),
    (
        "airbyte-032-expenses_categories",
        lambda h: h.reports.expenses.categories,
        ExpenseReportResult,
    ),
    ("airbyte-033-expenses_team", lambda h: h.reports.expenses.team, ExpenseReportResult),
    ("airbyte-034-uninvoiced", lambda h: h.reports.uninvoiced, UninvoicedReportResult),
    ("airbyte-035-time_clients", lambda h: h.reports.time.clients, TimeReportResult),
    ("airbyte-036-time_projects", lambda h: h.reports.time.projects, TimeReportResult),
    ("airbyte-037-time_tasks", lambda h: h.reports.time.tasks, TimeReportResult),
    ("airbyte-038-time_team", lambda h: h.reports.time.team, TimeReportResult),
]


@pytest.mark.parametrize(("name", "report", "model"), REPORTS, ids=[n for n, _, _ in REPORTS])
async def test_a_recorded_year_long_report_is_sent_as_recorded_and_decoded(
    mock: aioresponses,
    client: ha.HarvestClient,
    name: str,
    report: Callable[[ha.HarvestClient], Callable[..., Paginator[Any]]],
    model: type,
) -> None:
    answer = realapi_answer(name)
    assert answer["request"]["query"] == [["from", "20210101"], ["to", "20220101"]]
    assert answer["response"]["status"] == 200
    replay(mock, answer)
    # 2021-01-01..2022-01-01: to - from is 365 days, which Harvest answered.
    rows = await report(client)(from_=dt.date(2021, 1, 1), to=dt.date(2022, 1, 1)).collect()
    (sent,) = sent_requests(mock)
    assert (sent.method, sent.url.path) == ("GET", answer["request"]["path"])
    assert [list(pair) for pair in sent.url.query.items()] == answer["request"]["query"]
    recorded = json.loads(answer["response"]["body"])["results"]
    assert rows
    assert len(rows) == len(recorded)
    for row, raw in zip(rows, recorded, strict=True):
        assert type(row) is model
        fields = attrs.fields_dict(model)
        for key, value in raw.items():
            assert key in fields, key
            assert same_value(getattr(row, key), value), (key, getattr(row, key), value)


# --------------------------------------------------------------------------------- deletes


def recorded_deletes(status: int) -> list[dict[str, Any]]:
    return [
        a
        for a in realapi_answers()
        if a["id"].startswith("harvesting-")
        and a["request"]["method"] == "DELETE"
        and a["response"]["status"] == status
    ]


def delete_call(client: ha.HarvestClient, path: str) -> Any:
    """``client.<kind>.delete(id)`` for a recorded ``/v2/<kind>/<id>`` path."""
    match = re.fullmatch(r"/v2/(\w+)/(\d+)", path)
    assert match, path
    kind, ident = match.groups()
    return getattr(client, kind).delete(int(ident))


async def test_recorded_deletes_answer_the_record_and_return_none(
    mock: aioresponses, client: ha.HarvestClient
) -> None:
    answers = recorded_deletes(200)
    kinds = {a["request"]["path"].split("/")[2] for a in answers}
    assert {"time_entries", "tasks", "projects", "clients", "users"} <= kinds
    for answer in answers:
        record = json.loads(answer["response"]["body"])  # the deleted record itself
        assert str(record["id"]) == answer["request"]["path"].rsplit("/", 1)[1]
        replay(mock, answer)
        assert await delete_call(client, answer["request"]["path"]) is None
    assert len(sent_requests(mock)) == len(answers)  # each sent once


async def test_a_recorded_refused_delete_raises_validation_error(
    mock: aioresponses, client: ha.HarvestClient
) -> None:
    (answer,) = recorded_deletes(422)
    replay(mock, answer)
    with pytest.raises(ha.ValidationError) as caught:
        await delete_call(client, answer["request"]["path"])
    assert caught.value.status == 422
    assert len(sent_requests(mock)) == 1  # a 422 is not retried


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        ('{"id": 7, "name": "Gone"}', "application/json"),
        ("", "application/json"),
        ("", "text/html"),
        ("OK", "text/plain"),
        ("<html><body>Deleted</body></html>", "text/html"),
        ('{"id": 7, "name": ', "application/json"),  # cut short: still deleted
    ],
    ids=["record", "empty-json", "empty-html", "text", "html", "not-json"],
)
async def test_delete_accepts_any_200_body(
    mock: aioresponses, client: ha.HarvestClient, body: str, kind: str
) -> None:
    mock.delete("https://api.harvestapp.com/v2/tasks/7", status=200, body=body, content_type=kind)
    await client.tasks.delete(7)
    assert len(sent_requests(mock)) == 1


# ----------------------------------------------------------------------------------- users

OLD_FLAGS = ("is_admin", "is_project_manager", "can_see_rates", "can_create_invoices")


def recorded_users() -> list[dict[str, Any]]:
    """Every user record of a recorded ``/v2/users...`` answer that has the old flags."""
    records: list[dict[str, Any]] = []
    for answer in realapi_answers():
        if not answer["id"].startswith("harvesting-"):
            continue
        if not answer["request"]["path"].startswith("/v2/users"):
            continue
        if answer["response"]["status"] not in (200, 201):
            continue
        body = json.loads(answer["response"]["body"])
        for record in body.get("users", [body]):
            if "is_admin" in record:
                records.append(record)
    return records


def test_recorded_user_records_keep_the_old_permission_flags() -> None:
    records = recorded_users()
    assert len(records) >= 7
    for record in records:
        user = decode(User, record)
        for flag in OLD_FLAGS:
            assert getattr(user, flag) is record[flag], (record["id"], flag)
    admins = {u.id for u in decode_many(User, records) if u.is_admin}
    assert admins == {2348607}


async def test_the_recorded_admin_decodes_through_the_client(
    mock: aioresponses, client: ha.HarvestClient
) -> None:
    replay(mock, realapi_answer("harvesting-075"))  # GET /v2/users/me
    me = await client.users.me()
    assert (me.id, me.first_name) == (2348607, "Alexander")
    assert (me.is_admin, me.is_project_manager, me.can_see_rates, me.can_create_invoices) == (
        True,
        False,
        True,
        True,
    )
    replay(mock, realapi_answer("harvesting-054"))  # GET /v2/users, one page of 4
    users = await client.users.list().collect()
    assert [u.id for u in users] == [2516176, 2516175, 2516167, 2348607]
    assert [u.is_admin for u in users] == [False, False, False, True]
    assert [u.can_create_invoices for u in users] == [False, False, False, True]


def test_current_user_records_leave_the_old_flags_unset() -> None:
    user = decode(User, {**required_values(User), "access_roles": ["administrator"]})
    assert all(getattr(user, flag) is None for flag in OLD_FLAGS)
