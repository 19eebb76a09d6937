"""Request shapes of expense categories, contacts, roles and the account-wide task and
user assignments.

Each operation is checked for method, path, query, exact JSON body (decimals as JSON
numbers), no body where there is nothing to send, and the model decoded from Harvest's
documented example. Bad arguments raise ``InvalidRequestError`` before anything is sent.
"""

from __future__ import annotations

import datetime as dt
import inspect
from decimal import Decimal
from typing import Any

import pytest
from aioresponses import aioresponses

import harvest_async as ha
from harvest_async.models import Contact, ExpenseCategory, Role, TaskAssignment, UserAssignment
from harvest_async.resources._base import OPERATION_ATTR
from harvest_async.resources.assignments import (
    TaskAssignmentsResource,
    UserAssignmentsResource,
)
from harvest_async.resources.contacts import Contacts
from harvest_async.resources.expense_categories import ExpenseCategories
from harvest_async.resources.expenses import Expenses
from harvest_async.resources.roles import Roles

from .conftest import sent_requests
from .shared import openapi_spec
from .test_resources_expenses import (
    SINCE,
    SINCE_WIRE,
    at,
    example,
    only,
    raw_body,
    run,
)

RESOURCES: dict[str, type[Any]] = {
    "expenses": Expenses,
    "expense_categories": ExpenseCategories,
    "contacts": Contacts,
    "roles": Roles,
    "task_assignments": TaskAssignmentsResource,
    "user_assignments": UserAssignmentsResource,
}


@pytest.fixture
def h(client: ha.HarvestClient) -> ha.HarvestClient:
    """The client under test (conftest's, with max_retries=2)."""
    return client


async def test_client_has_these_resources(client: ha.HarvestClient) -> None:
    for name, cls in RESOURCES.items():
        assert type(getattr(client, name)) is cls, name


# The OpenAPI file has no contact examples: Harvest's own, from its Contacts page.
CONTACT = """{"id": 4706479, "title": "Owner", "first_name": "Jane", "last_name": "Doe",
 "email": "janedoe@example.com", "phone_office": "(203) 697-8885",
 "phone_mobile": "(203) 697-8886", "fax": "(203) 697-8887",
 "created_at": "2017-06-26T21:20:07Z", "updated_at": "2017-06-26T21:27:07Z",
 "client": {"id": 5735776, "name": "123 Industries"}}"""
CONTACT_LIST = (
    f'{{"contacts": [{CONTACT}], "per_page": 2000, "total_pages": 1, "total_entries": 1, '
    '"next_page": null, "previous_page": null, "page": 1, "links": {"first": '
    '"https://api.harvestapp.com/v2/contacts?page=1&per_page=2000", "next": null, '
    '"previous": null, "last": "https://api.harvestapp.com/v2/contacts?page=1&per_page=2000"}}'
)


# ====================================================================================
# operation marks
# ====================================================================================


async def test_every_operation_of_these_paths_is_marked_once() -> None:
    prefixes = ("/expense", "/contacts", "/roles", "/task_assignments", "/user_assignments")
    documented = {
        (method.upper(), path)
        for path, ops in openapi_spec()["paths"].items()
        if path.startswith(prefixes)
        for method in ops
        if method in ("get", "post", "patch", "delete")
    }
    marked: list[tuple[str, str]] = []
    for cls in RESOURCES.values():
        for _, func in inspect.getmembers(cls, inspect.isfunction):
            marked.extend(getattr(func, OPERATION_ATTR, ()))
    assert sorted(marked) == sorted(documented)
    assert len(documented) == 22


# ====================================================================================
# expense categories
# ====================================================================================


async def test_expense_categories_list(mock: aioresponses, h: Any) -> None:
    mock.get(at("expense_categories"), body=example("GET", "/expense_categories"))
    pager = h.expense_categories.list(is_active=False, updated_since=SINCE, per_page=10)
    assert isinstance(pager, ha.Paginator)
    assert sent_requests(mock) == []
    categories = await pager.collect()
    req = only(mock)
    assert (req.method, req.path, req.body) == ("GET", "expense_categories", None)
    assert req.query == {"is_active": "false", "updated_since": SINCE_WIRE, "per_page": "10"}
    assert [c.name for c in categories] == ["Lodging", "Mileage", "Transportation", "Meals"]
    mileage = categories[1]
    assert isinstance(mileage, ExpenseCategory)
    assert mileage.unit_name == "mile"
    assert str(mileage.unit_price) == "0.535"
    assert categories[0].unit_price is None


async def test_expense_categories_get(mock: aioresponses, h: Any) -> None:
    mock.get(
        at("expense_categories/4197501"),
        body=example("GET", "/expense_categories/{expenseCategoryId}"),
    )
    category = await h.expense_categories.get(4197501)
    req = only(mock)
    assert (req.method, req.path, req.query, req.body) == (
        "GET",
        "expense_categories/4197501",
        {},
        None,
    )
    assert category.name == "Lodging"
    assert category.created_at == dt.datetime(2017, 6, 27, 15, 1, 32, tzinfo=dt.UTC)


async def test_expense_categories_create(mock: aioresponses, h: Any) -> None:
    mock.post(at("expense_categories"), status=201, body=example("POST", "/expense_categories"))
    category = await h.expense_categories.create(name="Other")
    req = only(mock)
    assert (req.method, req.path, req.body) == ("POST", "expense_categories", {"name": "Other"})
    assert category.id == 4197514


async def test_expense_categories_create_unit_based(mock: aioresponses, h: Any) -> None:
    mock.post(at("expense_categories"), status=201, body=example("POST", "/expense_categories"))
    await h.expense_categories.create(
        name="Mileage", unit_name="mile", unit_price=Decimal("0.535"), is_active=True
    )
    assert only(mock).body == {
        "name": "Mileage",
        "unit_name": "mile",
        "unit_price": Decimal("0.535"),
        "is_active": True,
    }
    raw = raw_body(mock)
    assert b'"unit_price":0.535' in raw
    assert b'"0.535"' not in raw


async def test_expense_categories_update(mock: aioresponses, h: Any) -> None:
    mock.patch(
        at("expense_categories/4197514"),
        body=example("PATCH", "/expense_categories/{expenseCategoryId}"),
    )
    category = await h.expense_categories.update(4197514, is_active=False, unit_price=None)
    req = only(mock)
    assert (req.method, req.path, req.body) == (
        "PATCH",
        "expense_categories/4197514",
        {"is_active": False, "unit_price": None},
    )
    assert category.is_active is False


async def test_expense_categories_delete(mock: aioresponses, h: Any) -> None:
    mock.delete(at("expense_categories/4197514"), body="")
    assert await h.expense_categories.delete(4197514) is None
    req = only(mock)
    assert (req.method, req.path, req.body) == ("DELETE", "expense_categories/4197514", None)


# ====================================================================================
# contacts
# ====================================================================================


async def test_contacts_list(mock: aioresponses, h: Any) -> None:
    mock.get(at("contacts"), body=CONTACT_LIST)
    [contact] = await h.contacts.list(client_id=5735776, updated_since=SINCE, per_page=5).collect()
    req = only(mock)
    assert (req.method, req.path, req.body) == ("GET", "contacts", None)
    assert req.query == {"client_id": "5735776", "updated_since": SINCE_WIRE, "per_page": "5"}
    assert isinstance(contact, Contact)
    assert contact.client is not None
    assert contact.client.name == "123 Industries"
    assert contact.fax == "(203) 697-8887"


async def test_contacts_get(mock: aioresponses, h: Any) -> None:
    mock.get(at("contacts/4706479"), body=CONTACT)
    contact = await h.contacts.get(4706479)
    req = only(mock)
    assert (req.method, req.path, req.query, req.body) == ("GET", "contacts/4706479", {}, None)
    assert contact.email == "janedoe@example.com"


async def test_contacts_create(mock: aioresponses, h: Any) -> None:
    mock.post(at("contacts"), status=201, body=CONTACT)
    contact = await h.contacts.create(
        client_id=5735776,
        first_name="Jane",
        title="Owner",
        last_name="Doe",
        email="janedoe@example.com",
        phone_office="(203) 697-8885",
        phone_mobile="(203) 697-8886",
        fax="(203) 697-8887",
    )
    req = only(mock)
    assert (req.method, req.path) == ("POST", "contacts")
    assert req.body == {
        "client_id": 5735776,
        "title": "Owner",
        "first_name": "Jane",
        "last_name": "Doe",
        "email": "janedoe@example.com",
        "phone_office": "(203) 697-8885",
        "phone_mobile": "(203) 697-8886",
        "fax": "(203) 697-8887",
    }
    assert contact.id == 4706479


async def test_contacts_create_minimal(mock: aioresponses, h: Any) -> None:
    mock.post(at("contacts"), status=201, body=CONTACT)
    await h.contacts.create(client_id=5735776, first_name="Jane")
    assert only(mock).body == {"client_id": 5735776, "first_name": "Jane"}


async def test_contacts_update(mock: aioresponses, h: Any) -> None:
    mock.patch(at("contacts/4706479"), body=CONTACT)
    await h.contacts.update(4706479, title="CEO", fax=None)
    req = only(mock)
    assert (req.method, req.path, req.body) == (
        "PATCH",
        "contacts/4706479",
        {"title": "CEO", "fax": None},
    )
    assert b'"fax":null' in raw_body(mock)


async def test_contacts_delete(mock: aioresponses, h: Any) -> None:
    mock.delete(at("contacts/4706479"), body="")
    assert await h.contacts.delete(4706479) is None
    req = only(mock)
    assert (req.method, req.path, req.body) == ("DELETE", "contacts/4706479", None)


# ====================================================================================
# roles
# ====================================================================================


async def test_roles_list(mock: aioresponses, h: Any) -> None:
    mock.get(at("roles"), body=example("GET", "/roles"))
    roles = await h.roles.list(per_page=3).collect()
    req = only(mock)
    assert (req.method, req.path, req.query, req.body) == ("GET", "roles", {"per_page": "3"}, None)
    assert [r.name for r in roles] == ["Designer", "Developer", "Sales"]
    assert isinstance(roles[2], Role)
    assert roles[2].user_ids == [2084359, 3122373, 3122374]
    assert roles[0].user_ids == []


async def test_roles_get(mock: aioresponses, h: Any) -> None:
    mock.get(at("roles/617630"), body=example("GET", "/roles/{roleId}"))
    role = await h.roles.get(617630)
    req = only(mock)
    assert (req.method, req.path, req.body) == ("GET", "roles/617630", None)
    assert role.name == "Sales"


async def test_roles_create(mock: aioresponses, h: Any) -> None:
    mock.post(at("roles"), status=201, body=example("POST", "/roles"))
    role = await h.roles.create(name="Marketing", user_ids=(3122374, 3122373, 2084359))
    req = only(mock)
    assert (req.method, req.path) == ("POST", "roles")
    assert req.body == {"name": "Marketing", "user_ids": [3122374, 3122373, 2084359]}
    assert role.id == 617670
    assert role.user_ids == [3122374, 3122373, 2084359]


async def test_roles_update(mock: aioresponses, h: Any) -> None:
    mock.patch(at("roles/618099"), body=example("PATCH", "/roles/{roleId}"))
    role = await h.roles.update(618099, name="HR", user_ids=[2084359])
    req = only(mock)
    assert (req.method, req.path, req.body) == (
        "PATCH",
        "roles/618099",
        {"name": "HR", "user_ids": [2084359]},
    )
    assert role.updated_at == dt.datetime(2020, 4, 16, 17, 0, 57, tzinfo=dt.UTC)


async def test_roles_update_can_empty_the_users(mock: aioresponses, h: Any) -> None:
    mock.patch(at("roles/618099"), body=example("PATCH", "/roles/{roleId}"))
    await h.roles.update(618099, user_ids=[])
    assert only(mock).body == {"user_ids": []}


async def test_roles_delete(mock: aioresponses, h: Any) -> None:
    mock.delete(at("roles/618099"), body="")
    assert await h.roles.delete(618099) is None
    req = only(mock)
    assert (req.method, req.path, req.body) == ("DELETE", "roles/618099", None)


# ====================================================================================
# account-wide assignments (list only)
# ====================================================================================


async def test_task_assignments_list(mock: aioresponses, h: Any) -> None:
    mock.get(at("task_assignments"), body=example("GET", "/task_assignments"))
    pager = h.task_assignments.list(is_active=True, updated_since=SINCE, per_page=2000)
    assert sent_requests(mock) == []
    items = await pager.collect()
    req = only(mock)
    assert (req.method, req.path, req.body) == ("GET", "task_assignments", None)
    assert req.query == {"is_active": "true", "updated_since": SINCE_WIRE, "per_page": "2000"}
    first = items[0]
    assert isinstance(first, TaskAssignment)
    assert first.id == 160726647
    assert first.billable is False
    assert str(first.hourly_rate) == "100.0"
    assert first.task is not None
    assert first.task.name == "Research"
    assert first.project is not None
    assert first.project.code == "TF"


async def test_user_assignments_list(mock: aioresponses, h: Any) -> None:
    mock.get(at("user_assignments"), body=example("GET", "/user_assignments"))
    items = await h.user_assignments.list(
        user_id=1782959, is_active=False, updated_since="2024-01-02T03:04:05Z", per_page=1
    ).collect()
    req = only(mock)
    assert (req.method, req.path, req.body) == ("GET", "user_assignments", None)
    assert req.query == {
        "user_id": "1782959",
        "is_active": "false",
        "updated_since": SINCE_WIRE,
        "per_page": "1",
    }
    assert len(items) == 6
    first = items[0]
    assert isinstance(first, UserAssignment)
    assert first.is_project_manager is True
    assert first.use_default_rates is False
    assert first.user is not None
    assert first.user.name == "Kim Allen"


@pytest.mark.parametrize("name", ["task_assignments", "user_assignments"])
async def test_account_wide_assignments_are_list_only(h: Any, name: str) -> None:
    resource = getattr(h, name)
    for method in ("get", "create", "update", "delete"):
        assert not hasattr(resource, method)


async def test_assignments_without_filters_send_no_query(mock: aioresponses, h: Any) -> None:
    mock.get(at("task_assignments"), body=example("GET", "/task_assignments"))
    mock.get(at("user_assignments"), body=example("GET", "/user_assignments"))
    await h.task_assignments.list().collect()
    await h.user_assignments.list().collect()
    assert [s.query for s in sent_requests(mock)] == [{}, {}]


# ====================================================================================
# bad arguments: nothing is sent
# ====================================================================================

BAD_CALLS: dict[str, Any] = {
    "categories get str id": lambda h: h.expense_categories.get("4197501"),
    "categories update nothing": lambda h: h.expense_categories.update(4197514),
    "categories update bad id": lambda h: h.expense_categories.update(0, name="x"),
    "categories delete bad id": lambda h: h.expense_categories.delete(None),
    "categories create unit_price text": lambda h: h.expense_categories.create(
        name="Mileage", unit_price="half a dollar"
    ),
    "categories create is_active str": lambda h: h.expense_categories.create(
        name="x", is_active="yes"
    ),
    "categories list per_page 0": lambda h: h.expense_categories.list(per_page=0),
    "categories list is_active str": lambda h: h.expense_categories.list(is_active="true"),
    "contacts get bool id": lambda h: h.contacts.get(True),
    "contacts update nothing": lambda h: h.contacts.update(4706479),
    "contacts delete bad id": lambda h: h.contacts.delete(2**63),
    "contacts create str client_id": lambda h: h.contacts.create(
        client_id="5735776", first_name="Jane"
    ),
    "contacts create NUL": lambda h: h.contacts.create(client_id=1, first_name="Ja\0ne"),
    "contacts list naive since": lambda h: h.contacts.list(updated_since=dt.datetime(2024, 1, 1)),
    "contacts list bad client_id": lambda h: h.contacts.list(client_id=-5),
    "roles get bad id": lambda h: h.roles.get("617630"),
    "roles update nothing": lambda h: h.roles.update(618099),
    "roles delete bad id": lambda h: h.roles.delete(1.5),
    "roles create user_ids str": lambda h: h.roles.create(name="HR", user_ids="2084359"),
    "roles create user_ids of str": lambda h: h.roles.create(name="HR", user_ids=["2084359"]),
    "roles update user_ids of bool": lambda h: h.roles.update(1, user_ids=[True]),
    "roles list per_page too large": lambda h: h.roles.list(per_page=5000),
    "task_assignments per_page": lambda h: h.task_assignments.list(per_page=2001),
    "task_assignments since": lambda h: h.task_assignments.list(updated_since="yesterday"),
    "user_assignments user_id": lambda h: h.user_assignments.list(user_id="1782959"),
    "user_assignments is_active": lambda h: h.user_assignments.list(is_active=1),
}


@pytest.mark.parametrize("name", sorted(BAD_CALLS))
async def test_bad_arguments_are_rejected_before_sending(
    mock: aioresponses, h: Any, name: str
) -> None:
    with pytest.raises(ha.InvalidRequestError):
        await run(lambda: BAD_CALLS[name](h))
    assert sent_requests(mock) == []
