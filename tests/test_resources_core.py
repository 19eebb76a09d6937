"""Request shapes of the core resources: time entries, clients, company, projects (with
their user and task assignments), tasks and users (with their nested collections).

Each operation is checked for method, path, query, exact JSON body (decimals as JSON
numbers), no body where there is nothing to send, and the model decoded from a realistic
response (Harvest's documented examples, passed as JSON text so decimals stay exact).
Bad arguments must raise ``InvalidRequestError`` before anything is sent.
"""

from __future__ import annotations

import datetime as dt
import inspect
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from aioresponses import aioresponses

import harvest_async as ha
from harvest_async.models import (
    BillableRate,
    Client,
    Company,
    CostRate,
    Project,
    ProjectAssignment,
    Task,
    TaskAssignment,
    Teammate,
    TimeEntry,
    User,
    UserAssignment,
)
from harvest_async.resources.clients import Clients
from harvest_async.resources.company import CompanyResource
from harvest_async.resources.projects import Projects
from harvest_async.resources.tasks import Tasks
from harvest_async.resources.time_entries import TimeEntries
from harvest_async.resources.users import Users

from .conftest import BASE, Sent, sent_requests

# -- helpers -------------------------------------------------------------------------


def at(path: str) -> re.Pattern[str]:
    """Match the API path with any query string."""
    return re.compile(rf"^{re.escape(BASE)}/{re.escape(path)}(\?.*)?$")


def only(mock: aioresponses) -> Sent:
    """The one request sent."""
    sent = sent_requests(mock)
    assert len(sent) == 1, sent
    return sent[0]


def raw_body(mock: aioresponses) -> bytes:
    """The bytes of the one request body sent."""
    calls = [call for items in mock.requests.values() for call in items]
    assert len(calls) == 1
    data = calls[0].kwargs.get("data")
    assert isinstance(data, bytes)
    return data


def list_envelope(key: str, items: str, path: str, total: int = 1) -> str:
    """A page-based list response with one page."""
    first = f"{BASE}/{path}?page=1&per_page=2000"
    return (
        f'{{"{key}": [{items}], "per_page": 2000, "total_pages": 1, '
        f'"total_entries": {total}, "next_page": null, "previous_page": null, "page": 1, '
        f'"links": {{"first": "{first}", "next": null, "previous": null, "last": "{first}"}}}}'
    )


async def run(call: Callable[[], Any]) -> Any:
    """Call ``call`` and await its result when it is a coroutine."""
    result = call()
    if inspect.isawaitable(result):
        return await result
    return result


# Aware datetime 2024-01-02 05:04:05 +02:00 == 03:04:05 UTC.
SINCE = dt.datetime(2024, 1, 2, 5, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=2)))
SINCE_WIRE = "2024-01-02T03:04:05Z"

# -- payloads (Harvest's documented examples) -----------------------------------------

TIME_ENTRY = """{
 "id": 636708723, "spent_date": "2017-03-01",
 "user": {"id": 1782959, "name": "Kim Allen"},
 "client": {"id": 5735776, "name": "123 Industries"},
 "project": {"id": 14308069, "name": "Online Store - Phase 1"},
 "task": {"id": 8083366, "name": "Programming"},
 "user_assignment": {"id": 125068554, "is_project_manager": true, "is_active": true,
   "budget": null, "created_at": "2017-06-26T22:32:52Z",
   "updated_at": "2017-06-26T22:32:52Z", "hourly_rate": 100.0},
 "task_assignment": {"id": 155505014, "billable": true, "is_active": true,
   "created_at": "2017-06-26T21:52:18Z", "updated_at": "2017-06-26T21:52:18Z",
   "hourly_rate": 100.0, "budget": null},
 "hours": 1.5, "hours_without_timer": 1.5, "rounded_hours": 1.50,
 "notes": "Importing products", "created_at": "2017-06-27T15:49:28Z",
 "updated_at": "2017-06-27T16:47:14Z", "is_locked": true,
 "locked_reason": "Item Invoiced and Approved and Locked for this Time Period",
 "is_closed": true, "is_billed": true, "timer_started_at": null,
 "started_time": "1:00pm", "ended_time": "2:30pm", "is_running": false,
 "invoice": {"id": 13150403, "number": "1001"}, "external_reference": null,
 "billable": true, "budgeted": true, "billable_rate": 100.0, "cost_rate": 50.0
}"""

RUNNING_ENTRY = """{
 "id": 662202797, "spent_date": "2017-03-21",
 "user": {"id": 1795925, "name": "Jane Smith"},
 "client": {"id": 5735776, "name": "123 Industries"},
 "project": {"id": 14808188, "name": "Task Force"},
 "task": {"id": 8083366, "name": "Programming"},
 "hours": 0.0, "rounded_hours": 0.0, "notes": null,
 "created_at": "2017-08-22T17:36:54Z", "updated_at": "2017-08-22T17:40:24Z",
 "is_locked": false, "locked_reason": null, "is_closed": false, "is_billed": false,
 "timer_started_at": "2017-08-22T17:40:24Z", "started_time": "11:40am",
 "ended_time": null, "is_running": true, "invoice": null, "external_reference": null,
 "billable": false, "budgeted": false, "billable_rate": null, "cost_rate": null
}"""

CLIENT = """{"id": 5735776, "name": "123 Industries", "is_active": true,
 "address": "123 Main St.\\r\\nAnytown, LA 71223",
 "statement_key": "0a39d3e33c8058cf7c3f8097d854c64e",
 "created_at": "2017-06-26T21:02:12Z", "updated_at": "2017-06-26T21:34:11Z",
 "currency": "EUR"}"""

COMPANY = """{"base_uri": "https://example.harvestapp.com",
 "full_domain": "example.harvestapp.com", "name": "API Examples", "is_active": true,
 "week_start_day": "Monday", "wants_timestamp_timers": true,
 "time_format": "hours_minutes", "date_format": "%Y-%m-%d", "plan_type": "sponsored",
 "expense_feature": true, "invoice_feature": true, "estimate_feature": true,
 "approval_feature": true, "clock": "12h", "currency_code_display": "iso_code_none",
 "currency_symbol_display": "symbol_before", "decimal_symbol": ".",
 "thousands_separator": ",", "color_scheme": "orange", "weekly_capacity": 126000}"""

PROJECT = """{"id": 14308069, "name": "Online Store - Phase 1", "code": "OS1",
 "is_active": true, "bill_by": "Project", "budget": 200.0, "budget_by": "project",
 "budget_is_monthly": false, "notify_when_over_budget": true,
 "over_budget_notification_percentage": 80.0, "over_budget_notification_date": null,
 "show_budget_to_all": false, "created_at": "2017-06-26T21:52:18Z",
 "updated_at": "2017-06-26T21:54:06Z", "starts_on": "2017-06-01", "ends_on": null,
 "is_billable": true, "is_fixed_fee": false, "notes": "",
 "client": {"id": 5735776, "name": "123 Industries", "currency": "EUR"},
 "cost_budget": null, "cost_budget_include_expenses": false, "hourly_rate": 100.0,
 "fee": null}"""

USER_ASSIGNMENT = """{"id": 125068758, "is_project_manager": false, "is_active": true,
 "use_default_rates": false, "budget": 120.0, "created_at": "2017-06-26T22:36:01Z",
 "updated_at": "2017-06-26T22:36:35Z", "hourly_rate": 75.5,
 "project": {"id": 14308069, "name": "Online Store - Phase 1", "code": "OS1"},
 "user": {"id": 1782974, "name": "Jim Allen"}}"""

TASK_ASSIGNMENT = """{"id": 155506339, "billable": true, "is_active": true,
 "created_at": "2017-06-26T22:10:43Z", "updated_at": "2017-06-26T22:10:43Z",
 "hourly_rate": 75.5, "budget": null,
 "project": {"id": 14308069, "name": "Online Store - Phase 1", "code": "OS1"},
 "task": {"id": 8083800, "name": "Business Development"}}"""

TASK = """{"id": 8083368, "name": "Project Management", "billable_by_default": true,
 "default_hourly_rate": 100.0, "is_default": true, "is_active": true,
 "created_at": "2017-06-26T20:41:00Z", "updated_at": "2017-06-26T21:14:10Z"}"""

USER = """{"id": 1782884, "first_name": "Bob", "last_name": "Powell",
 "email": "bobpowell@example.com", "telephone": "",
 "timezone": "Mountain Time (US & Canada)", "has_access_to_all_future_projects": false,
 "is_contractor": false, "is_active": true, "created_at": "2020-05-01T20:41:00Z",
 "updated_at": "2020-05-01T20:42:25Z", "weekly_capacity": 126000,
 "default_hourly_rate": 100.0, "cost_rate": 75.0, "roles": ["Founder", "CEO"],
 "access_roles": ["administrator"],
 "avatar_url": "https://cache.harvestapp.com/assets/profile_images/clock_tower.png"}"""

PROJECT_ASSIGNMENT = """{"id": 125068554, "is_project_manager": true, "is_active": true,
 "use_default_rates": true, "budget": null, "created_at": "2017-06-26T22:32:52Z",
 "updated_at": "2017-06-26T22:32:52Z", "hourly_rate": 100.0,
 "project": {"id": 14308069, "name": "Online Store - Phase 1", "code": "OS1"},
 "client": {"id": 5735776, "name": "123 Industries"},
 "task_assignments": [{"id": 155505013, "billable": true, "is_active": true,
   "created_at": "2017-06-26T21:52:18Z", "updated_at": "2017-06-26T21:52:18Z",
   "hourly_rate": 100.0, "budget": null,
   "task": {"id": 8083365, "name": "Graphic Design"}}]}"""

BILLABLE_RATE = """{"id": 1836493, "amount": 8.25, "start_date": "2019-01-01",
 "end_date": "2019-05-31", "created_at": "2020-05-01T13:17:42Z",
 "updated_at": "2020-05-01T13:17:50Z"}"""

COST_RATE = """{"id": 825305, "amount": 13.0, "start_date": "2020-04-05",
 "end_date": null, "created_at": "2020-05-01T13:23:27Z",
 "updated_at": "2020-05-01T13:23:27Z"}"""

TEAMMATES = """{"id": 3230547, "first_name": "Jim", "last_name": "Allen",
 "email": "jimallen@example.com"}, {"id": 3230575, "first_name": "Gary",
 "last_name": "Brookes", "email": "gary@example.com"}"""


# ====================================================================================
# time entries
# ====================================================================================


async def test_time_entries_list_every_filter(mock: aioresponses, client: ha.HarvestClient) -> None:
    mock.get(at("time_entries"), body=list_envelope("time_entries", TIME_ENTRY, "time_entries"))
    entries = await client.time_entries.list(
        user_id=1782959,
        client_id=5735776,
        project_id=14308069,
        task_id=8083366,
        is_billed=False,
        is_running=True,
        approval_status="approved",
        updated_since=SINCE,
        from_=dt.date(2017, 3, 1),
        to="2017-03-31",
        per_page=100,
    ).collect()
    req = only(mock)
    assert req.method == "GET"
    assert req.path == "time_entries"
    assert req.query == {
        "user_id": "1782959",
        "client_id": "5735776",
        "project_id": "14308069",
        "task_id": "8083366",
        "is_billed": "false",
        "is_running": "true",
        "approval_status": "approved",
        "updated_since": SINCE_WIRE,
        "from": "2017-03-01",
        "to": "2017-03-31",
        "per_page": "100",
    }
    assert req.body is None
    [entry] = entries
    assert isinstance(entry, TimeEntry)
    assert entry.id == 636708723
    assert entry.spent_date == dt.date(2017, 3, 1)
    assert str(entry.hours) == "1.5"
    assert str(entry.rounded_hours) == "1.50"
    assert entry.billable_rate == Decimal("100.0")
    assert entry.invoice is not None
    assert entry.invoice.number == "1001"
    assert entry.created_at == dt.datetime(2017, 6, 27, 15, 49, 28, tzinfo=dt.UTC)


async def test_time_entries_list_external_reference_id_is_a_string(
    mock: aioresponses, client: ha.HarvestClient
) -> None:
    mock.get(at("time_entries"), body=list_envelope("time_entries", TIME_ENTRY, "time_entries"))
    await client.time_entries.list(external_reference_id="PROJ-9").collect()
    assert only(mock).query == {"external_reference_id": "PROJ-9"}


async def test_time_entries_list_no_filters_sends_no_query(
    mock: aioresponses, client: ha.HarvestClient
) -> None:
    mock.get(at("time_entries"), body=list_envelope("time_entries", "", "time_entries", 0))
    assert await client.time_entries.list().collect() == []
    assert only(mock).query == {}


async def test_list_sends_nothing_until_iterated(
    mock: aioresponses, client: ha.HarvestClient
) -> None:
    mock.get(at("time_entries"), body=list_envelope("time_entries", TIME_ENTRY, "time_entries"))
    pager = client.time_entries.list(is_running=False)
    assert isinstance(pager, ha.Paginator)
    assert sent_requests(mock) == []
    # Nothing for the nested lists either.
    client.projects.user_assignments(1)
    client.users.billable_rates(1)
    assert sent_requests(mock) == []
    assert [e.id async for e in pager] == [636708723]
    assert len(sent_requests(mock)) == 1


async def test_list_follows_cursor_links_next(mock: aioresponses, client: ha.HarvestClient) -> None:
    next_url = f"{BASE}/time_entries?cursor=eyJpZCI6NjM2NzA4NzIzfQ&per_page=1"
    page1 = (
        f'{{"time_entries": [{TIME_ENTRY}], "per_page": 1, "page": null, '
        f'"links": {{"first": "{BASE}/time_entries?per_page=1", '
        f'"next": "{next_url}", "previous": null, "last": null}}}}'
    )
    page2 = (
        f'{{"time_entries": [{RUNNING_ENTRY}], "per_page": 1, "page": null, '
        f'"links": {{"first": "{BASE}/time_entries?per_page=1", "next": null, '
        f'"previous": null, "last": null}}}}'
    )
    mock.get(f"{BASE}/time_entries?per_page=1", body=page1)
    mock.get(next_url, body=page2)

    pages = [page async for page in client.time_entries.list(per_page=1).pages()]

    assert [[e.id for e in p.items] for p in pages] == [[636708723], [662202797]]
    assert pages[0].next_url == next_url
    assert pages[0].total_entries is None
    assert pages[1].next_url is None
    sent = sent_requests(mock)
    assert [(s.method, s.path) for s in sent] == [("GET", "time_entries")] * 2
    assert sent[0].query == {"per_page": "1"}
    # links.next is followed as given: the cursor, never a page number.
    assert sent[1].query == {"cursor": "eyJpZCI6NjM2NzA4NzIzfQ", "per_page": "1"}
    assert pages[1].items[0].is_running is True


async def test_time_entries_get(mock: aioresponses, client: ha.HarvestClient) -> None:
    mock.get(at("time_entries/636708723"), body=TIME_ENTRY)
    entry = await client.time_entries.get(636708723)
    req = only(mock)
    assert (req.method, req.path, req.query, req.body) == (
        "GET",
        "time_entries/636708723",
        {},
        None,
    )
    assert isinstance(entry, TimeEntry)
    assert entry.project is not None
    assert entry.project.name == "Online Store - Phase 1"
    assert entry.user_assignment is not None
    assert entry.user_assignment.hourly_rate == Decimal("100.0")
    assert entry.started_time == "1:00pm"


async def test_time_entries_create_by_duration(
    mock: aioresponses, client: ha.HarvestClient
) -> None:
    mock.post(at("time_entries"), status=201, body=TIME_ENTRY)
    entry = await client.time_entries.create(
        project_id=14308069,
        task_id=8083366,
        spent_date=dt.date(2017, 3, 1),
        hours=Decimal("1.5"),
        notes="Importing products",
        user_id=1782959,
    )
    req = only(mock)
    assert (req.method, req.path, req.query) == ("POST", "time_entries", {})
    assert req.body == {
        "project_id": 14308069,
        "task_id": 8083366,
        "spent_date": "2017-03-01",
        "user_id": 1782959,
        "hours": Decimal("1.5"),
        "notes": "Importing products",
    }
    raw = raw_body(mock)
    assert b'"hours":1.5' in raw
    assert b'"1.5"' not in raw
    assert req.headers.get("Content-Type") == "application/json"
    assert entry.hours == Decimal("1.5")


async def test_time_entries_create_by_duration_helper(
    mock: aioresponses, client: ha.HarvestClient
) -> None:
    mock.post(at("time_entries"), status=201, body=TIME_ENTRY)
    await client.time_entries.create_by_duration(
        project_id=1, task_id=2, spent_date="2017-03-01", hours="0.25"
    )
    req = only(mock)
    assert req.body == {
        "project_id": 1,
        "task_id": 2,
        "spent_date": "2017-03-01",
        "hours": Decimal("0.25"),
    }
    assert b'"hours":0.25' in raw_body(mock)


async def test_time_entries_create_by_start_end(
    mock: aioresponses, client: ha.HarvestClient
) -> None:
    mock.post(at("time_entries"), status=201, body=TIME_ENTRY)
    entry = await client.time_entries.create(
        project_id=14308069,
        task_id=8083366,
        spent_date="2017-03-01",
        started_time="1:00pm",
        ended_time="2:30pm",
    )
    req = only(mock)
    assert (req.method, req.path) == ("POST", "time_entries")
    assert req.body == {
        "project_id": 14308069,
        "task_id": 8083366,
        "spent_date": "2017-03-01",
        "started_time": "1:00pm",
        "ended_time": "2:30pm",
    }
    assert entry.ended_time == "2:30pm"


async def test_time_entries_create_with_external_reference(
    mock: aioresponses, client: ha.HarvestClient
) -> None:
    mock.post(at("time_entries"), status=201, body=TIME_ENTRY)
    await client.time_entries.create(
        project_id=14308069,
        task_id=8083366,
        spent_date="2017-03-01",
        hours=1,
        external_reference={
            "id": "8",
            "group_id": 123,
            "account_id": "1",
            "permalink": "https://example.com/8",
        },
    )
    assert only(mock).body == {
        "project_id": 14308069,
        "task_id": 8083366,
        "spent_date": "2017-03-01",
        "hours": 1,
        "external_reference": {
            "id": "8",
            "group_id": "123",
            "account_id": "1",
            "permalink": "https://example.com/8",
        },
    }


async def test_time_entries_create_by_start_end_helper_starts_timer(
    mock: aioresponses, client: ha.HarvestClient
) -> None:
    mock.post(at("time_entries"), status=201, body=RUNNING_ENTRY)
    entry = await client.time_entries.create_by_start_end(
        project_id=14808188,
        task_id=8083366,
        spent_date=dt.date(2017, 3, 21),
        started_time="11:40am",
    )
    assert only(mock).body == {
        "project_id": 14808188,
        "task_id": 8083366,
        "spent_date": "2017-03-21",
        "started_time": "11:40am",
    }
    assert entry.is_running is True
    assert entry.timer_started_at == dt.datetime(2017, 8, 22, 17, 40, 24, tzinfo=dt.UTC)


async def test_time_entries_update_sends_only_given_fields(
    mock: aioresponses, client: ha.HarvestClient
) -> None:
    mock.patch(at("time_entries/636708723"), body=TIME_ENTRY)
    entry = await client.time_entries.update(636708723, hours=Decimal("1.5"), notes=None)
    req = only(mock)
    assert (req.method, req.path, req.query) == ("PATCH", "time_entries/636708723", {})
    assert req.body == {"hours": Decimal("1.5"), "notes": None}
    raw = raw_body(mock)
    assert b'"hours":1.5' in raw
    assert b'"1.5"' not in raw
    assert b'"notes":null' in raw
    assert entry.id == 636708723


async def test_time_entries_delete(mock: aioresponses, client: ha.HarvestClient) -> None:
    mock.delete(at("time_entries/636708723"), body="")
    await client.time_entries.delete(636708723)
    req = only(mock)
    assert (req.method, req.path, req.body) == ("DELETE", "time_entries/636708723", None)


async def test_time_entries_delete_external_reference(
    mock: aioresponses, client: ha.HarvestClient
) -> None:
    mock.delete(at("time_entries/636708723/external_reference"), body="")
    await client.time_entries.delete_external_reference(636708723)
    req = only(mock)
    assert (req.method, req.path, req.body) == (
        "DELETE",
        "time_entries/636708723/external_reference",
        None,
    )


@pytest.mark.parametrize("action", ["stop", "restart"])
async def test_time_entries_stop_and_restart_send_no_body(
    mock: aioresponses, client: ha.HarvestClient, action: str
) -> None:
    mock.patch(at(f"time_entries/662202797/{action}"), body=RUNNING_ENTRY)
    entry = await getattr(client.time_entries, action)(662202797)
    req = only(mock)
    assert (req.method, req.path, req.query, req.body) == (
        "PATCH",
        f"time_entries/662202797/{action}",
        {},
        None,
    )
    assert isinstance(entry, TimeEntry)
    assert entry.id == 662202797


# ====================================================================================
# clients, company
# ====================================================================================


async def test_clients_list(mock: aioresponses, client: ha.HarvestClient) -> None:
    mock.get(at("clients"), body=list_envelope("clients", CLIENT, "clients"))
    [item] = await client.clients.list(is_active=True, updated_since=SINCE, per_page=50).collect()
    req = only(mock)
    assert (req.method, req.path) == ("GET", "clients")
    assert req.query == {"is_active": "true", "updated_since": SINCE_WIRE, "per_page": "50"}
    assert isinstance(item, Client)
    assert item.address == "123 Main St.\r\nAnytown, LA 71223"


async def test_clients_get(mock: aioresponses, client: ha.HarvestClient) -> None:
    mock.get(at("clients/5735776"), body=CLIENT)
    item = await client.clients.get(5735776)
    req = only(mock)
    assert (req.method, req.path, req.body) == ("GET", "clients/5735776", None)
    assert item.currency == "EUR"


async def test_clients_create(mock: aioresponses, client: ha.HarvestClient) -> None:
    mock.post(at("clients"), status=201, body=CLIENT)
    item = await client.clients.create(
        name="123 Industries", currency="EUR", address="123 Main St.\r\nAnytown, LA 71223"
    )
    req = only(mock)
    assert (req.method, req.path) == ("POST", "clients")
    assert req.body == {
        "name": "123 Industries",
        "address": "123 Main St.\r\nAnytown, LA 71223",
        "currency": "EUR",
    }
    assert item.id == 5735776


async def test_clients_update_sends_only_given_fields(
    mock: aioresponses, client: ha.HarvestClient
) -> None:
    mock.patch(at("clients/5735776"), body=CLIENT)
    await client.clients.update(5735776, is_active=False)
    req = only(mock)
    assert (req.method, req.path, req.body) == ("PATCH", "clients/5735776", {"is_active": False})


async def test_clients_delete(mock: aioresponses, client: ha.HarvestClient) -> None:
    mock.delete(at("clients/5735776"), body="")
    await client.clients.delete(5735776)
    req = only(mock)
    assert (req.method, req.path, req.body) == ("DELETE", "clients/5735776", None)


async def test_company_get(mock: aioresponses, client: ha.HarvestClient) -> None:
    mock.get(at("company"), body=COMPANY)
    company = await client.company.get()
    req = only(mock)
    assert (req.method, req.path, req.query, req.body) == ("GET", "company", {}, None)
    assert isinstance(company, Company)
    assert company.weekly_capacity == 126000
    assert company.wants_timestamp_timers is True


async def test_company_update(mock: aioresponses, client: ha.HarvestClient) -> None:
    mock.patch(at("company"), body=COMPANY)
    company = await client.company.update(wants_timestamp_timers=True)
    req = only(mock)
    assert (req.method, req.path, req.body) == (
        "PATCH",
        "company",
        {"wants_timestamp_timers": True},
    )
    assert company.name == "API Examples"


async def test_company_update_without_fields_is_rejected(
    mock: aioresponses, client: ha.HarvestClient
) -> None:
    with pytest.raises(ha.InvalidRequestError):
        await client.company.update()
    assert sent_requests(mock) == []


# ====================================================================================
# projects
# ====================================================================================


async def test_projects_list(mock: aioresponses, client: ha.HarvestClient) -> None:
    mock.get(at("projects"), body=list_envelope("projects", PROJECT, "projects"))
    [project] = await client.projects.list(
        is_active=False, client_id=5735776, updated_since=SINCE, per_page=2000
    ).collect()
    req = only(mock)
    assert (req.method, req.path) == ("GET", "projects")
    assert req.query == {
        "is_active": "false",
        "client_id": "5735776",
        "updated_since": SINCE_WIRE,
        "per_page": "2000",
    }
    assert isinstance(project, Project)
    assert str(project.budget) == "200.0"
    assert project.over_budget_notification_percentage == Decimal("80.0")
    assert project.client is not None
    assert project.client.currency == "EUR"


async def test_projects_get(mock: aioresponses, client: ha.HarvestClient) -> None:
    mock.get(at("projects/14308069"), body=PROJECT)
    project = await client.projects.get(14308069)
    req = only(mock)
    assert (req.method, req.path, req.body) == ("GET", "projects/14308069", None)
    assert project.starts_on == dt.date(2017, 6, 1)
    assert project.hourly_rate == Decimal("100.0")


async def test_projects_create(mock: aioresponses, client: ha.HarvestClient) -> None:
    mock.post(at("projects"), status=201, body=PROJECT)
    project = await client.projects.create(
        client_id=5735776,
        name="Online Store - Phase 1",
        is_billable=True,
        bill_by="Project",
        budget_by="project",
        hourly_rate=Decimal("100.50"),
        budget=200,
        over_budget_notification_percentage="80.0",
        code="OS1",
        starts_on=dt.date(2017, 6, 1),
        ends_on=None,
        notify_when_over_budget=True,
    )
    req = only(mock)
    assert (req.method, req.path) == ("POST", "projects")
    assert req.body == {
        "client_id": 5735776,
        "name": "Online Store - Phase 1",
        "is_billable": True,
        "bill_by": "Project",
        "budget_by": "project",
        "code": "OS1",
        "hourly_rate": Decimal("100.50"),
        "budget": 200,
        "notify_when_over_budget": True,
        "over_budget_notification_percentage": Decimal("80.0"),
        "starts_on": "2017-06-01",
        "ends_on": None,
    }
    raw = raw_body(mock)
    assert b'"hourly_rate":100.50' in raw
    assert b'"over_budget_notification_percentage":80.0' in raw
    assert b'"100.50"' not in raw
    assert isinstance(project, Project)
    assert project.id == 14308069


async def test_projects_update_sends_only_given_fields(
    mock: aioresponses, client: ha.HarvestClient
) -> None:
    mock.patch(at("projects/14308069"), body=PROJECT)
    await client.projects.update(14308069, fee=Decimal("1234.56"), is_fixed_fee=True)
    req = only(mock)
    assert (req.method, req.path) == ("PATCH", "projects/14308069")
    assert req.body == {"is_fixed_fee": True, "fee": Decimal("1234.56")}
    assert b'"fee":1234.56' in raw_body(mock)


async def test_projects_delete(mock: aioresponses, client: ha.HarvestClient) -> None:
    mock.delete(at("projects/14308069"), body="")
    await client.projects.delete(14308069)
    req = only(mock)
    assert (req.method, req.path, req.body) == ("DELETE", "projects/14308069", None)


async def test_projects_user_assignments_list(mock: aioresponses, client: ha.HarvestClient) -> None:
    path = "projects/14308069/user_assignments"
    mock.get(at(path), body=list_envelope("user_assignments", USER_ASSIGNMENT, path))
    [item] = await client.projects.user_assignments(
        14308069, user_id=1782974, is_active=True, updated_since=SINCE, per_page=10
    ).collect()
    req = only(mock)
    assert (req.method, req.path) == ("GET", path)
    assert req.query == {
        "user_id": "1782974",
        "is_active": "true",
        "updated_since": SINCE_WIRE,
        "per_page": "10",
    }
    assert isinstance(item, UserAssignment)
    assert item.hourly_rate == Decimal("75.5")
    assert item.user is not None
    assert item.user.name == "Jim Allen"


async def test_projects_get_user_assignment(mock: aioresponses, client: ha.HarvestClient) -> None:
    mock.get(at("projects/14308069/user_assignments/125068758"), body=USER_ASSIGNMENT)
    item = await client.projects.get_user_assignment(14308069, 125068758)
    req = only(mock)
    assert (req.method, req.path, req.body) == (
        "GET",
        "projects/14308069/user_assignments/125068758",
        None,
    )
    assert item.id == 125068758
    assert str(item.budget) == "120.0"


async def test_projects_create_user_assignment(
    mock: aioresponses, client: ha.HarvestClient
) -> None:
    mock.post(at("projects/14308069/user_assignments"), status=201, body=USER_ASSIGNMENT)
    item = await client.projects.create_user_assignment(
        14308069, user_id=1782974, use_default_rates=False, hourly_rate=Decimal("75.5")
    )
    req = only(mock)
    assert (req.method, req.path) == ("POST", "projects/14308069/user_assignments")
    assert req.body == {
        "user_id": 1782974,
        "use_default_rates": False,
        "hourly_rate": Decimal("75.5"),
    }
    assert b'"hourly_rate":75.5' in raw_body(mock)
    assert isinstance(item, UserAssignment)


async def test_projects_update_user_assignment(
    mock: aioresponses, client: ha.HarvestClient
) -> None:
    mock.patch(at("projects/14308069/user_assignments/125068758"), body=USER_ASSIGNMENT)
    await client.projects.update_user_assignment(14308069, 125068758, budget="120.0")
    req = only(mock)
    assert (req.method, req.path) == ("PATCH", "projects/14308069/user_assignments/125068758")
    assert req.body == {"budget": Decimal("120.0")}
    assert b'"budget":120.0' in raw_body(mock)


async def test_projects_delete_user_assignment(
    mock: aioresponses, client: ha.HarvestClient
) -> None:
    mock.delete(at("projects/14308069/user_assignments/125068758"), body="")
    await client.projects.delete_user_assignment(14308069, 125068758)
    req = only(mock)
    assert (req.method, req.path, req.body) == (
        "DELETE",
        "projects/14308069/user_assignments/125068758",
        None,
    )


async def test_projects_task_assignments_list(mock: aioresponses, client: ha.HarvestClient) -> None:
    path = "projects/14308069/task_assignments"
    mock.get(at(path), body=list_envelope("task_assignments", TASK_ASSIGNMENT, path))
    [item] = await client.projects.task_assignments(
        14308069, is_active=False, updated_since=SINCE, per_page=3
    ).collect()
    req = only(mock)
    assert (req.method, req.path) == ("GET", path)
    assert req.query == {"is_active": "false", "updated_since": SINCE_WIRE, "per_page": "3"}
    assert isinstance(item, TaskAssignment)
    assert item.task is not None
    assert item.task.name == "Business Development"


async def test_projects_get_task_assignment(mock: aioresponses, client: ha.HarvestClient) -> None:
    mock.get(at("projects/14308069/task_assignments/155506339"), body=TASK_ASSIGNMENT)
    item = await client.projects.get_task_assignment(14308069, 155506339)
    req = only(mock)
    assert (req.method, req.path, req.body) == (
        "GET",
        "projects/14308069/task_assignments/155506339",
        None,
    )
    assert item.hourly_rate == Decimal("75.5")


async def test_projects_create_task_assignment(
    mock: aioresponses, client: ha.HarvestClient
) -> None:
    mock.post(at("projects/14308069/task_assignments"), status=201, body=TASK_ASSIGNMENT)
    item = await client.projects.create_task_assignment(
        14308069, task_id=8083800, billable=True, hourly_rate=Decimal("75.5"), budget=None
    )
    req = only(mock)
    assert (req.method, req.path) == ("POST", "projects/14308069/task_assignments")
    assert req.body == {
        "task_id": 8083800,
        "billable": True,
        "hourly_rate": Decimal("75.5"),
        "budget": None,
    }
    assert b'"hourly_rate":75.5' in raw_body(mock)
    assert item.billable is True


async def test_projects_update_task_assignment(
    mock: aioresponses, client: ha.HarvestClient
) -> None:
    mock.patch(at("projects/14308069/task_assignments/155506339"), body=TASK_ASSIGNMENT)
    await client.projects.update_task_assignment(14308069, 155506339, is_active=False)
    req = only(mock)
    assert (req.method, req.path, req.body) == (
        "PATCH",
        "projects/14308069/task_assignments/155506339",
        {"is_active": False},
    )


async def test_projects_delete_task_assignment(
    mock: aioresponses, client: ha.HarvestClient
) -> None:
    mock.delete(at("projects/14308069/task_assignments/155506339"), body="")
    await client.projects.delete_task_assignment(14308069, 155506339)
    req = only(mock)
    assert (req.method, req.path, req.body) == (
        "DELETE",
        "projects/14308069/task_assignments/155506339",
        None,
    )


# ====================================================================================
# tasks
# ====================================================================================


async def test_tasks_list(mock: aioresponses, client: ha.HarvestClient) -> None:
    mock.get(at("tasks"), body=list_envelope("tasks", TASK, "tasks"))
    [task] = await client.tasks.list(is_active=True, updated_since=SINCE, per_page=5).collect()
    req = only(mock)
    assert (req.method, req.path) == ("GET", "tasks")
    assert req.query == {"is_active": "true", "updated_since": SINCE_WIRE, "per_page": "5"}
    assert isinstance(task, Task)
    assert str(task.default_hourly_rate) == "100.0"


async def test_tasks_get(mock: aioresponses, client: ha.HarvestClient) -> None:
    mock.get(at("tasks/8083368"), body=TASK)
    task = await client.tasks.get(8083368)
    req = only(mock)
    assert (req.method, req.path, req.body) == ("GET", "tasks/8083368", None)
    assert task.name == "Project Management"


async def test_tasks_create(mock: aioresponses, client: ha.HarvestClient) -> None:
    mock.post(at("tasks"), status=201, body=TASK)
    task = await client.tasks.create(
        name="Project Management", default_hourly_rate=Decimal("100.0"), is_default=True
    )
    req = only(mock)
    assert (req.method, req.path) == ("POST", "tasks")
    assert req.body == {
        "name": "Project Management",
        "default_hourly_rate": Decimal("100.0"),
        "is_default": True,
    }
    assert b'"default_hourly_rate":100.0' in raw_body(mock)
    assert isinstance(task, Task)


async def test_tasks_update_sends_only_given_fields(
    mock: aioresponses, client: ha.HarvestClient
) -> None:
    mock.patch(at("tasks/8083368"), body=TASK)
    await client.tasks.update(8083368, billable_by_default=False)
    req = only(mock)
    assert (req.method, req.path, req.body) == (
        "PATCH",
        "tasks/8083368",
        {"billable_by_default": False},
    )


async def test_tasks_delete(mock: aioresponses, client: ha.HarvestClient) -> None:
    mock.delete(at("tasks/8083368"), body="")
    await client.tasks.delete(8083368)
    req = only(mock)
    assert (req.method, req.path, req.body) == ("DELETE", "tasks/8083368", None)


# ====================================================================================
# users
# ====================================================================================


async def test_users_me(mock: aioresponses, client: ha.HarvestClient) -> None:
    mock.get(at("users/me"), body=USER)
    user = await client.users.me()
    req = only(mock)
    assert (req.method, req.path, req.query, req.body) == ("GET", "users/me", {}, None)
    assert isinstance(user, User)
    assert user.roles == ["Founder", "CEO"]
    assert user.access_roles == ["administrator"]
    assert str(user.cost_rate) == "75.0"


async def test_users_list(mock: aioresponses, client: ha.HarvestClient) -> None:
    mock.get(at("users"), body=list_envelope("users", USER, "users"))
    [user] = await client.users.list(is_active=True, updated_since=SINCE, per_page=7).collect()
    req = only(mock)
    assert (req.method, req.path) == ("GET", "users")
    assert req.query == {"is_active": "true", "updated_since": SINCE_WIRE, "per_page": "7"}
    assert user.email == "bobpowell@example.com"


async def test_users_get(mock: aioresponses, client: ha.HarvestClient) -> None:
    mock.get(at("users/1782884"), body=USER)
    user = await client.users.get(1782884)
    req = only(mock)
    assert (req.method, req.path, req.body) == ("GET", "users/1782884", None)
    assert user.weekly_capacity == 126000


async def test_users_create(mock: aioresponses, client: ha.HarvestClient) -> None:
    mock.post(at("users"), status=201, body=USER)
    user = await client.users.create(
        first_name="Bob",
        last_name="Powell",
        email="bobpowell@example.com",
        is_contractor=False,
        weekly_capacity=126000,
        default_hourly_rate=Decimal("100.0"),
        cost_rate="75.25",
        roles=("Founder", "CEO"),
        access_roles=["manager", "project_creator", "time_and_expenses_manager"],
    )
    req = only(mock)
    assert (req.method, req.path) == ("POST", "users")
    assert req.body == {
        "first_name": "Bob",
        "last_name": "Powell",
        "email": "bobpowell@example.com",
        "is_contractor": False,
        "weekly_capacity": 126000,
        "default_hourly_rate": Decimal("100.0"),
        "cost_rate": Decimal("75.25"),
        "roles": ["Founder", "CEO"],
        "access_roles": ["manager", "project_creator", "time_and_expenses_manager"],
    }
    raw = raw_body(mock)
    assert b'"cost_rate":75.25' in raw
    assert b'"75.25"' not in raw
    assert isinstance(user, User)


async def test_users_update_sends_only_given_fields(
    mock: aioresponses, client: ha.HarvestClient
) -> None:
    mock.patch(at("users/1782884"), body=USER)
    await client.users.update(
        1782884, access_roles=["administrator"], default_hourly_rate=Decimal("120.5")
    )
    req = only(mock)
    assert (req.method, req.path) == ("PATCH", "users/1782884")
    assert req.body == {"default_hourly_rate": Decimal("120.5"), "access_roles": ["administrator"]}
    assert b'"default_hourly_rate":120.5' in raw_body(mock)


async def test_users_delete(mock: aioresponses, client: ha.HarvestClient) -> None:
    mock.delete(at("users/1782884"), body="")
    await client.users.delete(1782884)
    req = only(mock)
    assert (req.method, req.path, req.body) == ("DELETE", "users/1782884", None)


async def test_users_my_project_assignments(mock: aioresponses, client: ha.HarvestClient) -> None:
    path = "users/me/project_assignments"
    mock.get(at(path), body=list_envelope("project_assignments", PROJECT_ASSIGNMENT, path))
    [item] = await client.users.my_project_assignments(per_page=20).collect()
    req = only(mock)
    assert (req.method, req.path, req.query) == ("GET", path, {"per_page": "20"})
    assert isinstance(item, ProjectAssignment)
    assert item.project is not None
    assert item.project.code == "OS1"
    assert item.task_assignments is not None
    assert item.task_assignments[0].hourly_rate == Decimal("100.0")


async def test_users_project_assignments(mock: aioresponses, client: ha.HarvestClient) -> None:
    path = "users/1782959/project_assignments"
    mock.get(at(path), body=list_envelope("project_assignments", PROJECT_ASSIGNMENT, path))
    [item] = await client.users.project_assignments(
        1782959, updated_since=SINCE, per_page=2000
    ).collect()
    req = only(mock)
    assert (req.method, req.path) == ("GET", path)
    assert req.query == {"updated_since": SINCE_WIRE, "per_page": "2000"}
    assert item.client is not None
    assert item.client.name == "123 Industries"


async def test_users_billable_rates(mock: aioresponses, client: ha.HarvestClient) -> None:
    path = "users/3226125/billable_rates"
    mock.get(at(path), body=list_envelope("billable_rates", BILLABLE_RATE, path))
    [rate] = await client.users.billable_rates(3226125, per_page=100).collect()
    req = only(mock)
    assert (req.method, req.path, req.query) == ("GET", path, {"per_page": "100"})
    assert isinstance(rate, BillableRate)
    assert rate.amount == Decimal("8.25")
    assert rate.end_date == dt.date(2019, 5, 31)


async def test_users_get_billable_rate(mock: aioresponses, client: ha.HarvestClient) -> None:
    mock.get(at("users/3226125/billable_rates/1836493"), body=BILLABLE_RATE)
    rate = await client.users.get_billable_rate(3226125, 1836493)
    req = only(mock)
    assert (req.method, req.path, req.body) == ("GET", "users/3226125/billable_rates/1836493", None)
    assert rate.id == 1836493


async def test_users_create_billable_rate(mock: aioresponses, client: ha.HarvestClient) -> None:
    mock.post(at("users/3226125/billable_rates"), status=201, body=BILLABLE_RATE)
    rate = await client.users.create_billable_rate(
        3226125, amount=Decimal("8.25"), start_date=dt.date(2019, 1, 1)
    )
    req = only(mock)
    assert (req.method, req.path) == ("POST", "users/3226125/billable_rates")
    assert req.body == {"amount": Decimal("8.25"), "start_date": "2019-01-01"}
    raw = raw_body(mock)
    assert b'"amount":8.25' in raw
    assert b'"8.25"' not in raw
    assert isinstance(rate, BillableRate)


async def test_users_cost_rates(mock: aioresponses, client: ha.HarvestClient) -> None:
    path = "users/3226125/cost_rates"
    mock.get(at(path), body=list_envelope("cost_rates", COST_RATE, path))
    [rate] = await client.users.cost_rates(3226125).collect()
    req = only(mock)
    assert (req.method, req.path, req.query) == ("GET", path, {})
    assert isinstance(rate, CostRate)
    assert str(rate.amount) == "13.0"
    assert rate.end_date is None


async def test_users_get_cost_rate(mock: aioresponses, client: ha.HarvestClient) -> None:
    mock.get(at("users/3226125/cost_rates/825305"), body=COST_RATE)
    rate = await client.users.get_cost_rate(3226125, 825305)
    req = only(mock)
    assert (req.method, req.path, req.body) == ("GET", "users/3226125/cost_rates/825305", None)
    assert rate.start_date == dt.date(2020, 4, 5)


async def test_users_create_cost_rate(mock: aioresponses, client: ha.HarvestClient) -> None:
    mock.post(at("users/3226125/cost_rates"), status=201, body=COST_RATE)
    rate = await client.users.create_cost_rate(3226125, amount="13.0")
    req = only(mock)
    assert (req.method, req.path) == ("POST", "users/3226125/cost_rates")
    assert req.body == {"amount": Decimal("13.0")}
    assert b'"amount":13.0' in raw_body(mock)
    assert isinstance(rate, CostRate)


async def test_users_teammates(mock: aioresponses, client: ha.HarvestClient) -> None:
    path = "users/1782959/teammates"
    mock.get(at(path), body=list_envelope("teammates", TEAMMATES, path, 2))
    mates = await client.users.teammates(1782959, per_page=100).collect()
    req = only(mock)
    assert (req.method, req.path, req.query) == ("GET", path, {"per_page": "100"})
    assert all(isinstance(m, Teammate) for m in mates)
    assert [m.id for m in mates] == [3230547, 3230575]


async def test_users_update_teammates(mock: aioresponses, client: ha.HarvestClient) -> None:
    mock.patch(at("users/1782959/teammates"), body=f'{{"teammates": [{TEAMMATES}]}}')
    mates = await client.users.update_teammates(1782959, teammate_ids=[3230547, 3230575])
    req = only(mock)
    assert (req.method, req.path) == ("PATCH", "users/1782959/teammates")
    assert req.body == {"teammate_ids": [3230547, 3230575]}
    assert isinstance(mates, list)
    assert [(m.id, m.last_name) for m in mates] == [(3230547, "Allen"), (3230575, "Brookes")]


async def test_users_update_teammates_bad_response_is_decode_error(
    mock: aioresponses, client: ha.HarvestClient
) -> None:
    mock.patch(at("users/1782959/teammates"), body='{"users": []}')
    with pytest.raises(ha.DecodeError):
        await client.users.update_teammates(1782959, teammate_ids=[])


# ====================================================================================
# bad input: rejected before anything is sent
# ====================================================================================

BAD_IDS = ["1/../x", "1", 0, -3, True, False, 1.0, None, 2**63]

Call = Callable[[ha.HarvestClient, Any], Any]

ID_CALLS: dict[str, Call] = {
    "time_entries.get": lambda c, x: c.time_entries.get(x),
    "time_entries.update": lambda c, x: c.time_entries.update(x, notes="n"),
    "time_entries.delete": lambda c, x: c.time_entries.delete(x),
    "time_entries.stop": lambda c, x: c.time_entries.stop(x),
    "time_entries.restart": lambda c, x: c.time_entries.restart(x),
    "time_entries.delete_external_reference": lambda c, x: c.time_entries.delete_external_reference(
        x
    ),
    "time_entries.list(user_id)": lambda c, x: c.time_entries.list(user_id=x),
    "clients.get": lambda c, x: c.clients.get(x),
    "clients.update": lambda c, x: c.clients.update(x, name="n"),
    "clients.delete": lambda c, x: c.clients.delete(x),
    "projects.get": lambda c, x: c.projects.get(x),
    "projects.update": lambda c, x: c.projects.update(x, name="n"),
    "projects.delete": lambda c, x: c.projects.delete(x),
    "projects.list(client_id)": lambda c, x: c.projects.list(client_id=x),
    "projects.create(client_id)": lambda c, x: c.projects.create(
        client_id=x, name="n", is_billable=True, bill_by="none", budget_by="none"
    ),
    "projects.user_assignments": lambda c, x: c.projects.user_assignments(x),
    "projects.user_assignments(user_id)": lambda c, x: c.projects.user_assignments(1, user_id=x),
    "projects.get_user_assignment(P)": lambda c, x: c.projects.get_user_assignment(x, 1),
    "projects.get_user_assignment(X)": lambda c, x: c.projects.get_user_assignment(1, x),
    "projects.create_user_assignment(P)": lambda c, x: c.projects.create_user_assignment(
        x, user_id=1
    ),
    "projects.create_user_assignment(user_id)": lambda c, x: c.projects.create_user_assignment(
        1, user_id=x
    ),
    "projects.update_user_assignment(X)": lambda c, x: c.projects.update_user_assignment(
        1, x, is_active=True
    ),
    "projects.delete_user_assignment(P)": lambda c, x: c.projects.delete_user_assignment(x, 1),
    "projects.delete_user_assignment(X)": lambda c, x: c.projects.delete_user_assignment(1, x),
    "projects.task_assignments": lambda c, x: c.projects.task_assignments(x),
    "projects.get_task_assignment(X)": lambda c, x: c.projects.get_task_assignment(1, x),
    "projects.create_task_assignment(task_id)": lambda c, x: c.projects.create_task_assignment(
        1, task_id=x
    ),
    "projects.update_task_assignment(P)": lambda c, x: c.projects.update_task_assignment(
        x, 1, billable=True
    ),
    "projects.delete_task_assignment(X)": lambda c, x: c.projects.delete_task_assignment(1, x),
    "tasks.get": lambda c, x: c.tasks.get(x),
    "tasks.update": lambda c, x: c.tasks.update(x, name="n"),
    "tasks.delete": lambda c, x: c.tasks.delete(x),
    "users.get": lambda c, x: c.users.get(x),
    "users.update": lambda c, x: c.users.update(x, is_active=False),
    "users.delete": lambda c, x: c.users.delete(x),
    "users.project_assignments": lambda c, x: c.users.project_assignments(x),
    "users.billable_rates": lambda c, x: c.users.billable_rates(x),
    "users.get_billable_rate(P)": lambda c, x: c.users.get_billable_rate(x, 1),
    "users.get_billable_rate(X)": lambda c, x: c.users.get_billable_rate(1, x),
    "users.create_billable_rate": lambda c, x: c.users.create_billable_rate(x, amount=1),
    "users.cost_rates": lambda c, x: c.users.cost_rates(x),
    "users.get_cost_rate(X)": lambda c, x: c.users.get_cost_rate(1, x),
    "users.create_cost_rate": lambda c, x: c.users.create_cost_rate(x, amount=1),
    "users.teammates": lambda c, x: c.users.teammates(x),
    "users.update_teammates(P)": lambda c, x: c.users.update_teammates(x, teammate_ids=[1]),
    "users.update_teammates(ids)": lambda c, x: c.users.update_teammates(1, teammate_ids=[x]),
}


#: Calls where ``None`` is a legitimate value (no filter, or JSON null), not a bad id.
NONE_ALLOWED = {
    "time_entries.list(user_id)",
    "projects.list(client_id)",
    "projects.create(client_id)",
    "projects.user_assignments(user_id)",
    "projects.create_user_assignment(user_id)",
    "projects.create_task_assignment(task_id)",
}


@pytest.mark.parametrize(
    ("name", "bad"),
    [
        pytest.param(name, bad, id=f"{name}-{bad!r}")
        for name in sorted(ID_CALLS)
        for bad in BAD_IDS
        if not (bad is None and name in NONE_ALLOWED)
    ],
)
async def test_bad_ids_are_rejected_before_sending(
    mock: aioresponses, client: ha.HarvestClient, name: str, bad: Any
) -> None:
    with pytest.raises(ha.InvalidRequestError):
        await run(lambda: ID_CALLS[name](client, bad))
    assert sent_requests(mock) == []


BAD_CALLS: dict[str, Callable[[ha.HarvestClient], Any]] = {
    # updates with nothing to change
    "time_entries.update no fields": lambda c: c.time_entries.update(1),
    "clients.update no fields": lambda c: c.clients.update(1),
    "projects.update no fields": lambda c: c.projects.update(1),
    "update_user_assignment no fields": lambda c: c.projects.update_user_assignment(1, 2),
    "update_task_assignment no fields": lambda c: c.projects.update_task_assignment(1, 2),
    "tasks.update no fields": lambda c: c.tasks.update(1),
    "users.update no fields": lambda c: c.users.update(1),
    # time entries
    "hours with started_time": lambda c: c.time_entries.create(
        project_id=1, task_id=2, spent_date="2024-01-01", hours=1, started_time="8:00am"
    ),
    "hours with ended_time on update": lambda c: c.time_entries.update(
        1, hours="1.5", ended_time="9:00am"
    ),
    "blank started_time": lambda c: c.time_entries.create(
        project_id=1, task_id=2, spent_date="2024-01-01", started_time=" "
    ),
    "naive updated_since": lambda c: c.time_entries.list(
        updated_since=dt.datetime(2024, 1, 1, 12, 0)
    ),
    "naive updated_since string": lambda c: c.time_entries.list(
        updated_since="2024-01-01T12:00:00"
    ),
    "updated_since not a timestamp": lambda c: c.time_entries.list(updated_since="yesterday"),
    "bad from_ date": lambda c: c.time_entries.list(from_="2024-13-01"),
    "to as datetime": lambda c: c.time_entries.list(to=dt.datetime(2024, 1, 1, tzinfo=dt.UTC)),
    "bad spent_date": lambda c: c.time_entries.create(
        project_id=1, task_id=2, spent_date="01/02/2024", hours=1
    ),
    "per_page too large": lambda c: c.time_entries.list(per_page=5000),
    "per_page zero": lambda c: c.time_entries.list(per_page=0),
    "per_page str": lambda c: c.time_entries.list(per_page="10"),
    "approval_status bogus": lambda c: c.time_entries.list(approval_status="bogus"),
    "is_billed not bool": lambda c: c.time_entries.list(is_billed="yes"),
    "hours not a number": lambda c: c.time_entries.create(
        project_id=1, task_id=2, spent_date="2024-01-01", hours="lots"
    ),
    "hours NaN": lambda c: c.time_entries.update(1, hours=Decimal("NaN")),
    "hours bool": lambda c: c.time_entries.update(1, hours=True),
    "external_reference unknown key": lambda c: c.time_entries.update(
        1, external_reference={"id": "1", "oops": "x"}
    ),
    "filter with newline": lambda c: c.time_entries.list(external_reference_id="a\r\nb"),
    # projects
    "bill_by lowercase": lambda c: c.projects.create(
        client_id=1, name="n", is_billable=True, bill_by="project", budget_by="none"
    ),
    "budget_by bogus": lambda c: c.projects.update(1, budget_by="hours"),
    "project budget not a number": lambda c: c.projects.update(1, budget="a lot"),
    "project starts_on bad": lambda c: c.projects.update(1, starts_on="2024-02-30"),
    "projects.list per_page": lambda c: c.projects.list(per_page=2001),
    "projects.list naive updated_since": lambda c: c.projects.list(
        updated_since=dt.datetime(2024, 1, 1)
    ),
    "user_assignments is_active not bool": lambda c: c.projects.user_assignments(1, is_active=1),
    "task_assignments per_page": lambda c: c.projects.task_assignments(1, per_page=5000),
    "task assignment hourly_rate inf": lambda c: c.projects.create_task_assignment(
        1, task_id=2, hourly_rate=float("inf")
    ),
    # tasks
    "tasks.list per_page": lambda c: c.tasks.list(per_page=-1),
    "task is_active not bool": lambda c: c.tasks.update(1, is_active="false"),
    "task default_hourly_rate bad": lambda c: c.tasks.create(name="n", default_hourly_rate="ten"),
    # users
    "roles bare string": lambda c: c.users.update(1, roles="Founder"),
    "access_roles bare string": lambda c: c.users.create(
        first_name="a", last_name="b", email="a@example.com", access_roles="administrator"
    ),
    "roles non-string item": lambda c: c.users.update(1, roles=["ok", 3]),
    "users.list naive updated_since": lambda c: c.users.list(updated_since=dt.datetime(2024, 1, 1)),
    "project_assignments bad updated_since": lambda c: c.users.project_assignments(
        1, updated_since="2024-01-01T25:00:00Z"
    ),
    "billable rate amount bad": lambda c: c.users.create_billable_rate(1, amount="x"),
    "cost rate start_date bad": lambda c: c.users.create_cost_rate(
        1, amount=1, start_date="tomorrow"
    ),
    "teammates per_page": lambda c: c.users.teammates(1, per_page=10_000),
    "teammate_ids not a list": lambda c: c.users.update_teammates(1, teammate_ids="1,2"),
    "teammate_ids str id": lambda c: c.users.update_teammates(1, teammate_ids=["3230547"]),
    "my_project_assignments per_page": lambda c: c.users.my_project_assignments(per_page=0),
}


@pytest.mark.parametrize("name", sorted(BAD_CALLS))
async def test_bad_arguments_are_rejected_before_sending(
    mock: aioresponses, client: ha.HarvestClient, name: str
) -> None:
    with pytest.raises(ha.InvalidRequestError):
        await run(lambda: BAD_CALLS[name](client))
    assert sent_requests(mock) == []


async def test_invalid_request_error_is_a_value_error(client: ha.HarvestClient) -> None:
    with pytest.raises(ValueError, match="positive int"):
        await client.time_entries.get("1/../x")  # type: ignore[arg-type]


async def test_update_with_no_fields_names_the_problem(
    mock: aioresponses, client: ha.HarvestClient
) -> None:
    with pytest.raises(ha.InvalidRequestError, match="at least one field"):
        await client.users.update(1)
    assert sent_requests(mock) == []


@pytest.mark.parametrize(
    "cls",
    [
        TimeEntries,
        Clients,
        Projects,
        Tasks,
        Users,
        CompanyResource,
    ],
)
def test_every_argument_is_documented(cls: type) -> None:
    """IDE help: each keyword argument of a public method is in its docstring's Args."""
    for name, method in inspect.getmembers(cls, inspect.isfunction):
        if name.startswith("_"):
            continue
        params = [
            p
            for p in inspect.signature(method).parameters.values()
            if p.kind is inspect.Parameter.KEYWORD_ONLY
        ]
        if not params:
            continue
        doc = inspect.getdoc(method) or ""
        assert "Args:" in doc, f"{cls.__name__}.{name} has no Args section"
        args = doc.split("Args:", 1)[1]
        for p in params:
            assert re.search(rf"^\s+{p.name}:", args, re.M), (
                f"{cls.__name__}.{name}: {p.name} undocumented"
            )
