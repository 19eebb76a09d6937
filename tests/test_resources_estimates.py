"""Request shapes of estimates (with line items and messages) and estimate item categories.

Every operation under ``/estimates`` and ``/estimate_item_categories`` in the OpenAPI
file is checked for method, path, query, exact JSON body (decimals as JSON numbers), no
body where there is nothing to send, and the model decoded from the OpenAPI response
example (as JSON text, so decimals stay exact). Bad arguments raise
``InvalidRequestError`` before anything is sent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from aioresponses import aioresponses

import harvest_async as ha
from harvest_async.models import Estimate, EstimateItemCategory, EstimateMessage
from harvest_async.resources.estimate_item_categories import EstimateItemCategories
from harvest_async.resources.estimates import Estimates

from .conftest import sent_requests
from .shared import openapi_spec
from .test_resources_invoices import (
    NAIVE,
    SINCE,
    SINCE_WIRE,
    at,
    example,
    marked_operations,
    only,
    raw_body,
    run,
)


@pytest.fixture
def estimates(client: ha.HarvestClient) -> Estimates:
    assert isinstance(client.estimates, Estimates)
    return client.estimates


@pytest.fixture
def categories(client: ha.HarvestClient) -> EstimateItemCategories:
    assert isinstance(client.estimate_item_categories, EstimateItemCategories)
    return client.estimate_item_categories


# async: the looptime plugin leaks an event loop around sync tests.
async def test_every_estimate_operation_is_marked() -> None:
    spec_ops = {
        (method.upper(), path)
        for path, ops in openapi_spec()["paths"].items()
        if path.startswith(("/estimates", "/estimate_item_categories"))
        for method in ops
        if method in ("get", "post", "patch", "put", "delete")
    }
    assert len(spec_ops) == 13
    assert marked_operations(Estimates, EstimateItemCategories) == spec_ops


# ====================================================================================
# estimates
# ====================================================================================


async def test_list_every_filter(mock: aioresponses, estimates: Estimates) -> None:
    mock.get(at("estimates"), body=example("GET", "/estimates"))
    items = await estimates.list(
        client_id=5735776,
        updated_since=SINCE,
        from_=dt.date(2017, 1, 1),
        to="2017-06-30",
        state="accepted",
        per_page=7,
    ).collect()
    req = only(mock)
    assert (req.method, req.path, req.body) == ("GET", "estimates", None)
    assert req.query == {
        "client_id": "5735776",
        "updated_since": SINCE_WIRE,
        "from": "2017-01-01",
        "to": "2017-06-30",
        "state": "accepted",
        "per_page": "7",
    }
    assert [e.id for e in items] == [1439818, 1439814]
    first = items[0]
    assert isinstance(first, Estimate)
    assert str(first.amount) == "9630.0"
    assert first.issue_date == dt.date(2017, 6, 1)
    assert first.creator is not None
    assert first.creator.name == "Bob Powell"
    assert first.line_items is not None
    assert first.line_items[0].quantity == Decimal(100)
    assert items[1].accepted_at == dt.datetime(2017, 6, 27, 16, 10, 32, tzinfo=dt.UTC)


async def test_list_no_filters_and_lazy(mock: aioresponses, estimates: Estimates) -> None:
    mock.get(at("estimates"), body=example("GET", "/estimates"))
    pager = estimates.list()
    assert isinstance(pager, ha.Paginator)
    estimates.messages(1)
    assert sent_requests(mock) == []
    await pager.collect()
    assert only(mock).query == {}


async def test_get(mock: aioresponses, estimates: Estimates) -> None:
    mock.get(at("estimates/1439818"), body=example("GET", "/estimates/{estimateId}"))
    estimate = await estimates.get(1439818)
    req = only(mock)
    assert (req.method, req.path, req.query, req.body) == ("GET", "estimates/1439818", {}, None)
    assert isinstance(estimate, Estimate)
    assert estimate.state == "sent"
    assert str(estimate.tax2) == "2.0"
    assert estimate.line_items is not None
    assert str(estimate.line_items[0].amount) == "10000.0"


async def test_create(mock: aioresponses, estimates: Estimates) -> None:
    mock.post(at("estimates"), status=201, body=example("POST", "/estimates"))
    estimate = await estimates.create(
        client_id=5735774,
        subject="Project Quote",
        issue_date="2017-06-27",
        tax2=Decimal("2.5"),
        notes=None,
        currency="USD",
        line_items=[
            {
                "kind": "Service",
                "description": "Project Description",
                "unit_price": Decimal("5000.0"),
                "quantity": 1,
                "taxed2": True,
            }
        ],
    )
    req = only(mock)
    assert (req.method, req.path, req.query) == ("POST", "estimates", {})
    assert req.body == {
        "client_id": 5735774,
        "tax2": Decimal("2.5"),
        "subject": "Project Quote",
        "notes": None,
        "currency": "USD",
        "issue_date": "2017-06-27",
        "line_items": [
            {
                "kind": "Service",
                "description": "Project Description",
                "quantity": 1,
                "unit_price": Decimal("5000.0"),
                "taxed2": True,
            }
        ],
    }
    raw = raw_body(mock)
    assert b'"unit_price":5000.0' in raw
    assert b'"tax2":2.5' in raw
    assert isinstance(estimate, Estimate)
    assert estimate.id == 1439827
    assert estimate.state == "draft"


async def test_update_sends_only_given_fields(mock: aioresponses, estimates: Estimates) -> None:
    mock.patch(at("estimates/1439827"), body=example("PATCH", "/estimates/{estimateId}"))
    estimate = await estimates.update(
        1439827,
        purchase_order="2345",
        discount=None,
        line_items=[
            {"kind": "Product", "unit_price": "9.99", "quantity": "3"},
            {"id": 53339199, "unit_price": 4500},
            {"id": 53339200, "_destroy": True},
        ],
    )
    req = only(mock)
    assert (req.method, req.path, req.query) == ("PATCH", "estimates/1439827", {})
    assert req.body == {
        "purchase_order": "2345",
        "discount": None,
        "line_items": [
            {"kind": "Product", "quantity": Decimal("3"), "unit_price": Decimal("9.99")},
            {"id": 53339199, "unit_price": 4500},
            {"id": 53339200, "_destroy": True},
        ],
    }
    assert b'"unit_price":9.99' in raw_body(mock)
    assert estimate.purchase_order == "2345"


async def test_update_without_fields_is_rejected(mock: aioresponses, estimates: Estimates) -> None:
    with pytest.raises(ha.InvalidRequestError):
        await estimates.update(1439827)
    assert sent_requests(mock) == []


async def test_delete(mock: aioresponses, estimates: Estimates) -> None:
    mock.delete(at("estimates/1439827"), body="")
    await estimates.delete(1439827)
    req = only(mock)
    assert (req.method, req.path, req.body) == ("DELETE", "estimates/1439827", None)


# -- line item helpers ---------------------------------------------------------------


async def test_create_line_items(mock: aioresponses, estimates: Estimates) -> None:
    mock.patch(at("estimates/1439827"), body=example("PATCH", "/estimates/{estimateId}"))
    estimate = await estimates.create_line_items(
        1439827, line_items=[{"kind": "Service", "unit_price": "42.50", "taxed": False}]
    )
    req = only(mock)
    assert (req.method, req.path) == ("PATCH", "estimates/1439827")
    assert req.body == {
        "line_items": [{"kind": "Service", "unit_price": Decimal("42.50"), "taxed": False}]
    }
    assert b'"unit_price":42.50' in raw_body(mock)
    assert isinstance(estimate, Estimate)


async def test_update_line_items(mock: aioresponses, estimates: Estimates) -> None:
    mock.patch(at("estimates/1439827"), body=example("PATCH", "/estimates/{estimateId}"))
    await estimates.update_line_items(
        1439827, line_items=[{"id": 53339199, "description": None, "kind": "Product"}]
    )
    assert only(mock).body == {
        "line_items": [{"id": 53339199, "kind": "Product", "description": None}]
    }


async def test_delete_line_items(mock: aioresponses, estimates: Estimates) -> None:
    mock.patch(at("estimates/1439827"), body=example("PATCH", "/estimates/{estimateId}"))
    await estimates.delete_line_items(1439827, line_item_ids=(53339199,))
    req = only(mock)
    assert (req.method, req.path) == ("PATCH", "estimates/1439827")
    assert req.body == {"line_items": [{"id": 53339199, "_destroy": True}]}


# -- messages ------------------------------------------------------------------------


async def test_messages(mock: aioresponses, estimates: Estimates) -> None:
    path = "estimates/1439818/messages"
    mock.get(at(path), body=example("GET", "/estimates/{estimateId}/messages"))
    [message] = await estimates.messages(1439818, updated_since=SINCE, per_page=1).collect()
    req = only(mock)
    assert (req.method, req.path, req.body) == ("GET", path, None)
    assert req.query == {"updated_since": SINCE_WIRE, "per_page": "1"}
    assert isinstance(message, EstimateMessage)
    assert message.id == 2666236
    assert message.send_me_a_copy is True
    assert message.recipients is not None
    assert [r.name for r in message.recipients] == ["Richard Roe", "Bob Powell"]
    assert message.body is not None
    assert message.body.startswith("-----")


async def test_create_message_sends_email(mock: aioresponses, estimates: Estimates) -> None:
    path = "estimates/1439818/messages"
    mock.post(at(path), status=201, body=example("POST", "/estimates/{estimateId}/messages"))
    message = await estimates.create_message(
        1439818,
        recipients=[{"name": "Richard Roe", "email": "richardroe@example.com"}],
        subject="Estimate #1001",
        body="Here is our estimate.",
        send_me_a_copy=True,
    )
    req = only(mock)
    assert (req.method, req.path, req.query) == ("POST", path, {})
    assert req.body == {
        "recipients": [{"name": "Richard Roe", "email": "richardroe@example.com"}],
        "subject": "Estimate #1001",
        "body": "Here is our estimate.",
        "send_me_a_copy": True,
    }
    assert isinstance(message, EstimateMessage)
    assert message.id == 2666240
    assert message.created_at == dt.datetime(2017, 8, 25, 21, 27, 52, tzinfo=dt.UTC)


@pytest.mark.parametrize("event", ["accept", "decline", "re-open", "send"])
async def test_create_message_event(mock: aioresponses, estimates: Estimates, event: Any) -> None:
    path = "estimates/1439818/messages"
    mock.post(at(path), status=201, body=example("POST", "/estimates/{estimateId}/messages"))
    await estimates.create_message(1439818, event_type=event)
    req = only(mock)
    assert (req.method, req.path, req.body) == ("POST", path, {"event_type": event})


@pytest.mark.parametrize(
    ("method", "event"),
    [("mark_as_sent", "send"), ("accept", "accept"), ("decline", "decline"), ("reopen", "re-open")],
)
async def test_events(mock: aioresponses, estimates: Estimates, method: str, event: str) -> None:
    path = "estimates/1439818/messages"
    mock.post(at(path), status=201, body=example("POST", "/estimates/{estimateId}/messages"))
    message = await getattr(estimates, method)(1439818)
    req = only(mock)
    assert (req.method, req.path, req.body) == ("POST", path, {"event_type": event})
    assert isinstance(message, EstimateMessage)


async def test_delete_message(mock: aioresponses, estimates: Estimates) -> None:
    mock.delete(at("estimates/1439818/messages/2666240"), body="")
    await estimates.delete_message(1439818, 2666240)
    req = only(mock)
    assert (req.method, req.path, req.body) == (
        "DELETE",
        "estimates/1439818/messages/2666240",
        None,
    )


# -- validation ----------------------------------------------------------------------

# Receivers typed Any: these calls break the signatures on purpose.
BAD_CALLS: dict[str, Callable[[Any], Any]] = {
    "get bad id": lambda r: r.get(0),
    "get str id": lambda r: r.get("1439818"),
    "delete bad id": lambda r: r.delete(None),
    "list bad state": lambda r: r.list(state="open"),
    "list project filter": lambda r: r.list(project_id=1),
    "list naive since": lambda r: r.list(updated_since=NAIVE),
    "list per_page": lambda r: r.list(per_page=5000),
    "create bad client": lambda r: r.create(client_id=0),
    "create bad issue_date": lambda r: r.create(client_id=1, issue_date="27/06/2017"),
    "create bad tax": lambda r: r.create(client_id=1, tax=float("inf")),
    "create with import": lambda r: r.create(client_id=1, line_items_import={}),
    "line item project_id": lambda r: r.create(
        client_id=1, line_items=[{"kind": "Service", "unit_price": 1, "project_id": 5}]
    ),
    "line item without unit_price": lambda r: r.create(
        client_id=1, line_items=[{"kind": "Service"}]
    ),
    "line item bad quantity": lambda r: r.create(
        client_id=1, line_items=[{"kind": "Service", "unit_price": 1, "quantity": "many"}]
    ),
    "line items empty": lambda r: r.update(1, line_items=[]),
    "line items str": lambda r: r.update(1, line_items="Service"),
    "destroy in create_line_items": lambda r: r.create_line_items(
        1, line_items=[{"id": 1, "_destroy": True}]
    ),
    "change without id": lambda r: r.update_line_items(1, line_items=[{"kind": "x"}]),
    "change with nothing": lambda r: r.update_line_items(1, line_items=[{"id": 1}]),
    "destroy not True": lambda r: r.update(1, line_items=[{"id": 1, "_destroy": "yes"}]),
    "delete_line_items bad id": lambda r: r.delete_line_items(1, line_item_ids=[0]),
    "delete_line_items bad estimate": lambda r: r.delete_line_items(0, line_item_ids=[1]),
    "message without recipients": lambda r: r.create_message(1, body="Hi"),
    "message bad recipient": lambda r: r.create_message(1, recipients=[{"email": "@"}]),
    "message recipient str": lambda r: r.create_message(1, recipients=["a@example.com"]),
    "message attach_pdf": lambda r: r.create_message(
        1, recipients=[{"email": "a@example.com"}], attach_pdf=True
    ),
    "message invoice event": lambda r: r.create_message(1, event_type="close"),
    "message event with copy": lambda r: r.create_message(
        1, event_type="accept", send_me_a_copy=True
    ),
    "message bad send_me_a_copy": lambda r: r.create_message(
        1, recipients=[{"email": "a@example.com"}], send_me_a_copy="no"
    ),
    "accept bad id": lambda r: r.accept(0),
    "messages bad id": lambda r: r.messages(-1),
    "messages per_page": lambda r: r.messages(1, per_page=0),
    "delete message bad id": lambda r: r.delete_message(1, "2"),
}


@pytest.mark.parametrize("name", sorted(BAD_CALLS))
async def test_bad_arguments_send_nothing(
    mock: aioresponses, estimates: Estimates, name: str
) -> None:
    with pytest.raises((ha.InvalidRequestError, TypeError)) as info:
        await run(lambda: BAD_CALLS[name](estimates))
    # Unknown keyword arguments are Python's TypeError; everything else is ours.
    if info.type is TypeError:
        assert name in ("list project filter", "create with import", "message attach_pdf")
    assert sent_requests(mock) == []


# ====================================================================================
# estimate item categories
# ====================================================================================


async def test_categories_list(mock: aioresponses, categories: EstimateItemCategories) -> None:
    mock.get(at("estimate_item_categories"), body=example("GET", "/estimate_item_categories"))
    items = await categories.list(updated_since=SINCE, per_page=2).collect()
    req = only(mock)
    assert (req.method, req.path, req.body) == ("GET", "estimate_item_categories", None)
    assert req.query == {"updated_since": SINCE_WIRE, "per_page": "2"}
    assert [c.id for c in items] == [1378704, 1378703]
    assert isinstance(items[0], EstimateItemCategory)


async def test_categories_get(mock: aioresponses, categories: EstimateItemCategories) -> None:
    mock.get(
        at("estimate_item_categories/1378704"),
        body=example("GET", "/estimate_item_categories/{estimateItemCategoryId}"),
    )
    item = await categories.get(1378704)
    req = only(mock)
    assert (req.method, req.path, req.body) == ("GET", "estimate_item_categories/1378704", None)
    assert item.name == "Product"
    assert item.updated_at == dt.datetime(2017, 6, 26, 20, 41, tzinfo=dt.UTC)


async def test_categories_create(mock: aioresponses, categories: EstimateItemCategories) -> None:
    mock.post(
        at("estimate_item_categories"),
        status=201,
        body=example("POST", "/estimate_item_categories"),
    )
    item = await categories.create(name="Hosting")
    req = only(mock)
    assert (req.method, req.path, req.body) == (
        "POST",
        "estimate_item_categories",
        {"name": "Hosting"},
    )
    assert isinstance(item, EstimateItemCategory)
    assert item.id == 1379244


async def test_categories_update(mock: aioresponses, categories: EstimateItemCategories) -> None:
    mock.patch(
        at("estimate_item_categories/1379244"),
        body=example("PATCH", "/estimate_item_categories/{estimateItemCategoryId}"),
    )
    item = await categories.update(1379244, name="Transportation")
    req = only(mock)
    assert (req.method, req.path, req.body) == (
        "PATCH",
        "estimate_item_categories/1379244",
        {"name": "Transportation"},
    )
    assert item.name == "Transportation"


async def test_categories_delete(mock: aioresponses, categories: EstimateItemCategories) -> None:
    mock.delete(at("estimate_item_categories/1379244"), body="")
    await categories.delete(1379244)
    req = only(mock)
    assert (req.method, req.path, req.body) == ("DELETE", "estimate_item_categories/1379244", None)


BAD_CATEGORY_CALLS: dict[str, Callable[[Any], Any]] = {
    "update nothing": lambda r: r.update(1),
    "update bad id": lambda r: r.update(True, name="x"),
    "get bad id": lambda r: r.get(2**63),
    "delete bad id": lambda r: r.delete(0),
    "create long name": lambda r: r.create(name="x" * 70000),
    "list per_page": lambda r: r.list(per_page=0),
}


@pytest.mark.parametrize("name", sorted(BAD_CATEGORY_CALLS))
async def test_categories_bad_arguments_send_nothing(
    mock: aioresponses, categories: EstimateItemCategories, name: str
) -> None:
    with pytest.raises(ha.InvalidRequestError):
        await run(lambda: BAD_CATEGORY_CALLS[name](categories))
    assert sent_requests(mock) == []
