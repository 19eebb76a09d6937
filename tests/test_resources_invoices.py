"""Request shapes of invoices (with line items, messages, payments) and invoice item
categories.

Every operation under ``/invoices`` and ``/invoice_item_categories`` in the OpenAPI file
is checked for method, path, query, exact JSON body (decimals as JSON numbers), no body
where there is nothing to send, and the model decoded from the OpenAPI response example
(as JSON text, so decimals stay exact). Bad arguments raise ``InvalidRequestError``
before anything is sent.
"""

from __future__ import annotations

import datetime as dt
import inspect
import json
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from aioresponses import aioresponses

import harvest_async as ha
from harvest_async.models import (
    Invoice,
    InvoiceItemCategory,
    InvoiceMessage,
    InvoiceMessageSubjectAndBody,
    InvoicePayment,
)
from harvest_async.resources._base import OPERATION_ATTR
from harvest_async.resources.invoice_item_categories import InvoiceItemCategories
from harvest_async.resources.invoices import Invoices

from .conftest import BASE, Sent, sent_requests
from .shared import openapi_spec

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


async def run(call: Callable[[], Any]) -> Any:
    """Call ``call`` and await its result when it is a coroutine."""
    result = call()
    if inspect.isawaitable(result):
        return await result
    return result


def example(method: str, path: str) -> str:
    """The OpenAPI response example of an operation, as wire JSON text."""
    responses = openapi_spec()["paths"][path][method.lower()]["responses"]
    for status in (200, 201, "200", "201"):
        if status in responses:
            content = responses[status]["content"]["application/json"]
            return json.dumps(content["example"], default=str)
    raise AssertionError(f"no example for {method} {path}")


# Aware datetime 2024-01-02 05:04:05 +02:00 == 03:04:05 UTC.
SINCE = dt.datetime(2024, 1, 2, 5, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=2)))
SINCE_WIRE = "2024-01-02T03:04:05Z"


@pytest.fixture
def invoices(client: ha.HarvestClient) -> Invoices:
    assert isinstance(client.invoices, Invoices)
    return client.invoices


@pytest.fixture
def categories(client: ha.HarvestClient) -> InvoiceItemCategories:
    assert isinstance(client.invoice_item_categories, InvoiceItemCategories)
    return client.invoice_item_categories


# ====================================================================================
# every operation is marked
# ====================================================================================


def marked_operations(*classes: type[Any]) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for cls in classes:
        for name, member in vars(cls).items():
            if name.startswith("_"):
                continue
            marks = getattr(member, OPERATION_ATTR, ())
            assert marks, f"{cls.__name__}.{name} carries no @operation"
            found.update(marks)
    return found


async def test_every_invoice_operation_is_marked() -> None:
    # async: the looptime plugin leaks an event loop around sync tests.
    spec_ops = {
        (method.upper(), path)
        for path, ops in openapi_spec()["paths"].items()
        if path.startswith(("/invoices", "/invoice_item_categories"))
        for method in ops
        if method in ("get", "post", "patch", "put", "delete")
    }
    assert len(spec_ops) == 17
    assert marked_operations(Invoices, InvoiceItemCategories) == spec_ops


# ====================================================================================
# invoices
# ====================================================================================


async def test_list_every_filter(mock: aioresponses, invoices: Invoices) -> None:
    mock.get(at("invoices"), body=example("GET", "/invoices"))
    items = await invoices.list(
        client_id=5735776,
        project_id=14308069,
        updated_since=SINCE,
        from_=dt.date(2017, 1, 1),
        to="2017-12-31",
        state="open",
        per_page=100,
    ).collect()
    req = only(mock)
    assert (req.method, req.path, req.body) == ("GET", "invoices", None)
    assert req.query == {
        "client_id": "5735776",
        "project_id": "14308069",
        "updated_since": SINCE_WIRE,
        "from": "2017-01-01",
        "to": "2017-12-31",
        "state": "open",
        "per_page": "100",
    }
    assert [i.id for i in items] == [13150403, 13150378]
    first = items[0]
    assert isinstance(first, Invoice)
    assert str(first.amount) == "288.9"
    assert first.tax == Decimal(5)
    assert first.payment_options == ["credit_card"]
    assert first.period_start == dt.date(2017, 3, 1)
    assert first.sent_at == dt.datetime(2017, 8, 23, 22, 25, 59, tzinfo=dt.UTC)
    assert first.line_items is not None
    assert first.line_items[0].project is not None
    assert first.line_items[0].project.code == "OS1"
    assert items[1].estimate is not None
    assert items[1].estimate.id == 1439814
    assert str(items[1].amount) == "10700.0"


async def test_list_no_filters_and_lazy(mock: aioresponses, invoices: Invoices) -> None:
    mock.get(at("invoices"), body=example("GET", "/invoices"))
    pager = invoices.list()
    assert isinstance(pager, ha.Paginator)
    invoices.messages(1)
    invoices.payments(1)
    assert sent_requests(mock) == []
    await pager.collect()
    assert only(mock).query == {}


async def test_get(mock: aioresponses, invoices: Invoices) -> None:
    mock.get(at("invoices/13150378"), body=example("GET", "/invoices/{invoiceId}"))
    invoice = await invoices.get(13150378)
    req = only(mock)
    assert (req.method, req.path, req.query, req.body) == ("GET", "invoices/13150378", {}, None)
    assert isinstance(invoice, Invoice)
    assert invoice.state == "paid"
    assert invoice.paid_date == dt.date(2017, 2, 21)
    assert str(invoice.due_amount) == "0.0"
    assert invoice.line_items is not None
    assert str(invoice.line_items[0].unit_price) == "100.0"


async def test_create_with_line_items(mock: aioresponses, invoices: Invoices) -> None:
    mock.post(at("invoices"), status=201, body=example("POST", "/invoices"))
    invoice = await invoices.create(
        client_id=5735774,
        subject="ABC Project Quote",
        due_date=dt.date(2017, 7, 27),
        payment_term="custom",
        tax=Decimal("10.50"),
        discount="5",
        purchase_order=None,
        payment_options=["credit_card", "ach"],
        estimate_id=1439814,
        line_items=[
            {
                "kind": "Service",
                "description": "ABC Project",
                "unit_price": Decimal("5000.00"),
                "quantity": "1.5",
                "taxed": True,
                "project_id": 14308069,
            },
            {"kind": "Product", "unit_price": 20},
        ],
    )
    req = only(mock)
    assert (req.method, req.path, req.query) == ("POST", "invoices", {})
    assert req.body == {
        "client_id": 5735774,
        "estimate_id": 1439814,
        "purchase_order": None,
        "tax": Decimal("10.50"),
        "discount": Decimal("5"),
        "subject": "ABC Project Quote",
        "due_date": "2017-07-27",
        "payment_term": "custom",
        "payment_options": ["credit_card", "ach"],
        "line_items": [
            {
                "project_id": 14308069,
                "kind": "Service",
                "description": "ABC Project",
                "quantity": Decimal("1.5"),
                "unit_price": Decimal("5000.00"),
                "taxed": True,
            },
            {"kind": "Product", "unit_price": 20},
        ],
    }
    raw = raw_body(mock)
    assert b'"tax":10.50' in raw
    assert b'"unit_price":5000.00' in raw
    assert b'"quantity":1.5' in raw
    assert b'"5000.00"' not in raw
    assert isinstance(invoice, Invoice)
    assert invoice.id == 13150453
    assert invoice.line_items is not None
    assert invoice.line_items[0].project is None
    assert str(invoice.line_items[0].amount) == "5000.0"


async def test_create_from_tracked_time_and_expenses(
    mock: aioresponses, invoices: Invoices
) -> None:
    mock.post(at("invoices"), status=201, body=example("POST", "/invoices"))
    await invoices.create(
        client_id=5735774,
        line_items_import={
            "project_ids": [14308069, 14808188],
            "time": {"summary_type": "task", "from": dt.date(2017, 3, 1), "to": "2017-03-31"},
            "expenses": {"summary_type": "category", "attach_receipt": True},
        },
    )
    req = only(mock)
    assert (req.method, req.path) == ("POST", "invoices")
    assert req.body == {
        "client_id": 5735774,
        "line_items_import": {
            "project_ids": [14308069, 14808188],
            "time": {"summary_type": "task", "from": "2017-03-01", "to": "2017-03-31"},
            "expenses": {"summary_type": "category", "attach_receipt": True},
        },
    }


async def test_create_import_accepts_from_underscore(
    mock: aioresponses, invoices: Invoices
) -> None:
    mock.post(at("invoices"), status=201, body=example("POST", "/invoices"))
    # "from_" is accepted at run time (the library's spelling elsewhere); the TypedDict
    # documents Harvest's "from".
    await invoices.create(
        client_id=1,
        line_items_import={  # type: ignore[arg-type]
            "project_ids": (2,),
            "expenses": {"summary_type": "detailed", "from_": "2017-03-01", "to": "2017-03-01"},
        },
    )
    assert only(mock).body == {
        "client_id": 1,
        "line_items_import": {
            "project_ids": [2],
            "expenses": {"summary_type": "detailed", "from": "2017-03-01", "to": "2017-03-01"},
        },
    }


async def test_update_sends_only_given_fields(mock: aioresponses, invoices: Invoices) -> None:
    mock.patch(at("invoices/13150453"), body=example("PATCH", "/invoices/{invoiceId}"))
    invoice = await invoices.update(
        13150453,
        purchase_order="2345",
        notes=None,
        retainer_id=None,
        line_items=[
            {"kind": "Service", "unit_price": "12.25"},
            {"id": 53341928, "description": "ABC Project, phase 2", "quantity": 2},
            {"id": 53341929, "_destroy": True},
        ],
    )
    req = only(mock)
    assert (req.method, req.path, req.query) == ("PATCH", "invoices/13150453", {})
    assert req.body == {
        "retainer_id": None,
        "purchase_order": "2345",
        "notes": None,
        "line_items": [
            {"kind": "Service", "unit_price": Decimal("12.25")},
            {"id": 53341928, "description": "ABC Project, phase 2", "quantity": 2},
            {"id": 53341929, "_destroy": True},
        ],
    }
    assert b'"unit_price":12.25' in raw_body(mock)
    assert invoice.purchase_order == "2345"


async def test_update_without_fields_is_rejected(mock: aioresponses, invoices: Invoices) -> None:
    with pytest.raises(ha.InvalidRequestError):
        await invoices.update(13150453)
    assert sent_requests(mock) == []


async def test_delete(mock: aioresponses, invoices: Invoices) -> None:
    mock.delete(at("invoices/13150453"), body="")
    await invoices.delete(13150453)
    req = only(mock)
    assert (req.method, req.path, req.body) == ("DELETE", "invoices/13150453", None)


# -- line item helpers ---------------------------------------------------------------


async def test_create_line_items(mock: aioresponses, invoices: Invoices) -> None:
    mock.patch(at("invoices/13150453"), body=example("PATCH", "/invoices/{invoiceId}"))
    invoice = await invoices.create_line_items(
        13150453,
        line_items=[{"kind": "Service", "description": "DEF Project", "unit_price": 5000.0}],
    )
    req = only(mock)
    assert (req.method, req.path) == ("PATCH", "invoices/13150453")
    assert req.body == {
        "line_items": [
            {"kind": "Service", "description": "DEF Project", "unit_price": Decimal("5000.0")}
        ]
    }
    assert b'"unit_price":5000.0' in raw_body(mock)
    assert isinstance(invoice, Invoice)


async def test_update_line_items(mock: aioresponses, invoices: Invoices) -> None:
    mock.patch(at("invoices/13150453"), body=example("PATCH", "/invoices/{invoiceId}"))
    await invoices.update_line_items(
        13150453,
        line_items=[{"id": 53341928, "description": "ABC Project Phase 2", "taxed2": False}],
    )
    req = only(mock)
    assert (req.method, req.path) == ("PATCH", "invoices/13150453")
    assert req.body == {
        "line_items": [{"id": 53341928, "description": "ABC Project Phase 2", "taxed2": False}]
    }


async def test_delete_line_items(mock: aioresponses, invoices: Invoices) -> None:
    mock.patch(at("invoices/13150453"), body=example("PATCH", "/invoices/{invoiceId}"))
    await invoices.delete_line_items(13150453, line_item_ids=[53341928, 53341929])
    req = only(mock)
    assert (req.method, req.path) == ("PATCH", "invoices/13150453")
    assert req.body == {
        "line_items": [{"id": 53341928, "_destroy": True}, {"id": 53341929, "_destroy": True}]
    }
    assert b'"_destroy":true' in raw_body(mock)


# -- messages ------------------------------------------------------------------------


async def test_messages(mock: aioresponses, invoices: Invoices) -> None:
    path = "invoices/13150403/messages"
    mock.get(at(path), body=example("GET", "/invoices/{invoiceId}/messages"))
    items = await invoices.messages(13150403, updated_since=SINCE, per_page=5).collect()
    req = only(mock)
    assert (req.method, req.path, req.body) == ("GET", path, None)
    assert req.query == {"updated_since": SINCE_WIRE, "per_page": "5"}
    assert len(items) >= 2
    message = items[0]
    assert isinstance(message, InvoiceMessage)
    assert message.id == 27835209
    assert message.attach_pdf is True
    assert message.recipients is not None
    assert message.recipients[0].email == "richardroe@example.com"
    assert message.created_at == dt.datetime(2017, 8, 23, 22, 15, 6, tzinfo=dt.UTC)


async def test_create_message_sends_email(mock: aioresponses, invoices: Invoices) -> None:
    path = "invoices/13150403/messages"
    mock.post(at(path), status=201, body=example("POST", "/invoices/{invoiceId}/messages"))
    message = await invoices.create_message(
        13150403,
        recipients=[
            {"name": "Richard Roe", "email": "richardroe@example.com"},
            {"email": "bobpowell@example.com"},
        ],
        subject="Invoice #1001",
        body="The invoice is attached below.",
        attach_pdf=True,
        send_me_a_copy=True,
        thank_you=False,
        include_link_to_client_invoice=False,
    )
    req = only(mock)
    assert (req.method, req.path, req.query) == ("POST", path, {})
    assert req.body == {
        "recipients": [
            {"name": "Richard Roe", "email": "richardroe@example.com"},
            {"email": "bobpowell@example.com"},
        ],
        "subject": "Invoice #1001",
        "body": "The invoice is attached below.",
        "include_link_to_client_invoice": False,
        "attach_pdf": True,
        "send_me_a_copy": True,
        "thank_you": False,
    }
    assert isinstance(message, InvoiceMessage)
    assert message.id == 27835324
    assert message.event_type is None
    assert message.body == "The invoice is attached below."


@pytest.mark.parametrize("event", ["close", "draft", "re-open", "send"])
async def test_create_message_event(mock: aioresponses, invoices: Invoices, event: str) -> None:
    path = "invoices/13150403/messages"
    mock.post(at(path), status=201, body=example("POST", "/invoices/{invoiceId}/messages"))
    await invoices.create_message(13150403, event_type=event)  # type: ignore[arg-type]
    req = only(mock)
    assert (req.method, req.path, req.body) == ("POST", path, {"event_type": event})


@pytest.mark.parametrize(
    ("method", "event"),
    [
        ("mark_as_sent", "send"),
        ("mark_as_closed", "close"),
        ("mark_as_reopened", "re-open"),
        ("mark_as_draft", "draft"),
    ],
)
async def test_mark_as(mock: aioresponses, invoices: Invoices, method: str, event: str) -> None:
    path = "invoices/13150403/messages"
    mock.post(at(path), status=201, body=example("POST", "/invoices/{invoiceId}/messages"))
    message = await getattr(invoices, method)(13150403)
    req = only(mock)
    assert (req.method, req.path, req.body) == ("POST", path, {"event_type": event})
    assert isinstance(message, InvoiceMessage)


async def test_create_message_is_not_resent(mock: aioresponses, invoices: Invoices) -> None:
    path = "invoices/13150403/messages"
    mock.post(at(path), status=502, body="bad gateway")
    mock.post(at(path), status=201, body=example("POST", "/invoices/{invoiceId}/messages"))
    with pytest.raises(ha.ServerError):
        await invoices.mark_as_sent(13150403)
    assert len(sent_requests(mock)) == 1


async def test_delete_message(mock: aioresponses, invoices: Invoices) -> None:
    mock.delete(at("invoices/13150403/messages/27835324"), body="")
    await invoices.delete_message(13150403, 27835324)
    req = only(mock)
    assert (req.method, req.path, req.body) == (
        "DELETE",
        "invoices/13150403/messages/27835324",
        None,
    )


async def test_message_template(mock: aioresponses, invoices: Invoices) -> None:
    path = "invoices/13150403/messages/new"
    mock.get(at(path), body=example("GET", "/invoices/{invoiceId}/messages/new"))
    template = await invoices.message_template(13150403, reminder=True, thank_you=False)
    req = only(mock)
    assert (req.method, req.path, req.body) == ("GET", path, None)
    assert req.query == {"thank_you": "false", "reminder": "true"}
    assert isinstance(template, InvoiceMessageSubjectAndBody)
    assert template.invoice_id == 13150403
    assert template.subject == "Past due invoice reminder: #1002 from API Examples"
    assert template.reminder is False


async def test_message_template_no_query(mock: aioresponses, invoices: Invoices) -> None:
    path = "invoices/13150403/messages/new"
    mock.get(at(path), body=example("GET", "/invoices/{invoiceId}/messages/new"))
    await invoices.message_template(13150403)
    assert only(mock).query == {}


# -- payments ------------------------------------------------------------------------


async def test_payments(mock: aioresponses, invoices: Invoices) -> None:
    path = "invoices/13150378/payments"
    mock.get(at(path), body=example("GET", "/invoices/{invoiceId}/payments"))
    [payment] = await invoices.payments(13150378, updated_since=SINCE, per_page=20).collect()
    req = only(mock)
    assert (req.method, req.path, req.body) == ("GET", path, None)
    assert req.query == {"updated_since": SINCE_WIRE, "per_page": "20"}
    assert isinstance(payment, InvoicePayment)
    assert payment.amount == Decimal(10700)
    assert payment.paid_date == dt.date(2017, 2, 21)
    assert payment.payment_gateway is not None
    assert payment.payment_gateway.name == "Linkpoint International"


async def test_create_payment_paid_at(mock: aioresponses, invoices: Invoices) -> None:
    path = "invoices/13150378/payments"
    mock.post(at(path), status=201, body=example("POST", "/invoices/{invoiceId}/payments"))
    payment = await invoices.create_payment(
        13150378,
        amount=Decimal("1575.86"),
        paid_at=dt.datetime(2017, 7, 24, 13, 32, 18, tzinfo=dt.UTC),
        notes="Paid by phone",
        send_thank_you=False,
    )
    req = only(mock)
    assert (req.method, req.path, req.query) == ("POST", path, {})
    assert req.body == {
        "amount": Decimal("1575.86"),
        "paid_at": "2017-07-24T13:32:18Z",
        "notes": "Paid by phone",
        "send_thank_you": False,
    }
    raw = raw_body(mock)
    assert b'"amount":1575.86' in raw
    assert b'"1575.86"' not in raw
    assert isinstance(payment, InvoicePayment)
    assert str(payment.amount) == "1575.86"
    assert payment.paid_at == dt.datetime(2017, 7, 24, 13, 32, 18, tzinfo=dt.UTC)
    assert payment.payment_gateway is not None
    assert payment.payment_gateway.id is None


async def test_create_payment_paid_date(mock: aioresponses, invoices: Invoices) -> None:
    path = "invoices/13150378/payments"
    mock.post(at(path), status=201, body=example("POST", "/invoices/{invoiceId}/payments"))
    await invoices.create_payment(13150378, amount="10", paid_date=dt.date(2017, 7, 24))
    assert only(mock).body == {"amount": Decimal("10"), "paid_date": "2017-07-24"}


async def test_delete_payment(mock: aioresponses, invoices: Invoices) -> None:
    mock.delete(at("invoices/13150378/payments/10336386"), body="")
    await invoices.delete_payment(13150378, 10336386)
    req = only(mock)
    assert (req.method, req.path, req.body) == (
        "DELETE",
        "invoices/13150378/payments/10336386",
        None,
    )


# -- validation ----------------------------------------------------------------------

NAIVE = dt.datetime(2017, 7, 24, 13, 32, 18)
GOOD_IMPORT_TIME = {"summary_type": "project"}

# Receivers typed Any: these calls break the signatures on purpose.
BAD_CALLS: dict[str, Callable[[Any], Any]] = {
    "get bad id": lambda r: r.get(0),
    "get str id": lambda r: r.get("1/../2"),
    "get bool id": lambda r: r.get(True),
    "delete bad id": lambda r: r.delete(-1),
    "list bad state": lambda r: r.list(state="sent"),
    "list naive since": lambda r: r.list(updated_since=NAIVE),
    "list per_page 0": lambda r: r.list(per_page=0),
    "list per_page big": lambda r: r.list(per_page=2001),
    "list datetime from": lambda r: r.list(from_=NAIVE),
    "create bad payment_term": lambda r: r.create(client_id=1, payment_term="net 90"),
    "create bad payment option": lambda r: r.create(client_id=1, payment_options=["bitcoin"]),
    "create payment options str": lambda r: r.create(client_id=1, payment_options="ach"),
    "create bad client": lambda r: r.create(client_id="x"),
    "create bad tax": lambda r: r.create(client_id=1, tax="ten"),
    "create nan discount": lambda r: r.create(client_id=1, discount=float("nan")),
    "line items not a list": lambda r: r.create(
        client_id=1, line_items={"kind": "Service", "unit_price": 1}
    ),
    "line items empty": lambda r: r.create(client_id=1, line_items=[]),
    "line item not a mapping": lambda r: r.create(client_id=1, line_items=["Service"]),
    "line item without kind": lambda r: r.create(client_id=1, line_items=[{"unit_price": 1}]),
    "line item without unit_price": lambda r: r.create(
        client_id=1, line_items=[{"kind": "Service"}]
    ),
    "line item blank kind": lambda r: r.create(
        client_id=1, line_items=[{"kind": " ", "unit_price": 1}]
    ),
    "line item bad unit_price": lambda r: r.create(
        client_id=1, line_items=[{"kind": "Service", "unit_price": "cheap"}]
    ),
    "line item bool quantity": lambda r: r.create(
        client_id=1, line_items=[{"kind": "Service", "unit_price": 1, "quantity": True}]
    ),
    "line item None quantity": lambda r: r.create(
        client_id=1,
        line_items=[{"kind": "Service", "unit_price": 1, "quantity": None}],
    ),
    "line item bad taxed": lambda r: r.create(
        client_id=1,
        line_items=[{"kind": "Service", "unit_price": 1, "taxed": "yes"}],
    ),
    "line item unknown key": lambda r: r.create(
        client_id=1,
        line_items=[{"kind": "Service", "unit_price": 1, "amount": 5}],
    ),
    "line item bad project": lambda r: r.create(
        client_id=1, line_items=[{"kind": "Service", "unit_price": 1, "project_id": 0}]
    ),
    "new line item with id": lambda r: r.create(
        client_id=1,
        line_items=[{"id": 5, "kind": "Service", "unit_price": 1}],
    ),
    "destroy on create": lambda r: r.create(client_id=1, line_items=[{"id": 5, "_destroy": True}]),
    "destroy False": lambda r: r.update(1, line_items=[{"id": 5, "_destroy": False}]),
    "destroy without id": lambda r: r.update(1, line_items=[{"_destroy": True}]),
    "destroy with fields": lambda r: r.update(
        1, line_items=[{"id": 5, "_destroy": True, "kind": "x"}]
    ),
    "change with nothing": lambda r: r.update(1, line_items=[{"id": 5}]),
    "change bad id": lambda r: r.update(1, line_items=[{"id": None, "kind": "x"}]),
    "update_line_items without id": lambda r: r.update_line_items(
        1, line_items=[{"kind": "Service"}]
    ),
    "create_line_items with id": lambda r: r.create_line_items(
        1, line_items=[{"id": 3, "kind": "Service", "unit_price": 1}]
    ),
    "create_line_items empty": lambda r: r.create_line_items(1, line_items=[]),
    "delete_line_items empty": lambda r: r.delete_line_items(1, line_item_ids=[]),
    "delete_line_items bad id": lambda r: r.delete_line_items(1, line_item_ids=[1, "2"]),
    "delete_line_items bare id": lambda r: r.delete_line_items(1, line_item_ids=5),
    "line item bad invoice id": lambda r: r.update_line_items(
        0, line_items=[{"id": 1, "kind": "x"}]
    ),
    "import not a mapping": lambda r: r.create(client_id=1, line_items_import=[1]),
    "import without project_ids": lambda r: r.create(
        client_id=1, line_items_import={"time": GOOD_IMPORT_TIME}
    ),
    "import empty project_ids": lambda r: r.create(
        client_id=1, line_items_import={"project_ids": [], "time": GOOD_IMPORT_TIME}
    ),
    "import bad project id": lambda r: r.create(
        client_id=1, line_items_import={"project_ids": ["1"], "time": GOOD_IMPORT_TIME}
    ),
    "import nothing to import": lambda r: r.create(
        client_id=1, line_items_import={"project_ids": [1]}
    ),
    "import unknown key": lambda r: r.create(
        client_id=1,
        line_items_import={"project_ids": [1], "time": GOOD_IMPORT_TIME, "fees": {}},
    ),
    "import bad time summary": lambda r: r.create(
        client_id=1,
        line_items_import={"project_ids": [1], "time": {"summary_type": "category"}},
    ),
    "import bad expenses summary": lambda r: r.create(
        client_id=1,
        line_items_import={"project_ids": [1], "expenses": {"summary_type": "task"}},
    ),
    "import missing summary": lambda r: r.create(
        client_id=1, line_items_import={"project_ids": [1], "time": {"from": "2017-01-01"}}
    ),
    "import from without to": lambda r: r.create(
        client_id=1,
        line_items_import={
            "project_ids": [1],
            "time": {"summary_type": "task", "from": "2017-01-01"},
        },
    ),
    "import to without from": lambda r: r.create(
        client_id=1,
        line_items_import={
            "project_ids": [1],
            "expenses": {"summary_type": "people", "to": "2017-01-01"},
        },
    ),
    "import from after to": lambda r: r.create(
        client_id=1,
        line_items_import={
            "project_ids": [1],
            "time": {"summary_type": "task", "from": "2017-02-01", "to": "2017-01-01"},
        },
    ),
    "import bad date": lambda r: r.create(
        client_id=1,
        line_items_import={
            "project_ids": [1],
            "time": {"summary_type": "task", "from": "yesterday", "to": "2017-01-01"},
        },
    ),
    "import from and from_": lambda r: r.create(
        client_id=1,
        line_items_import={
            "project_ids": [1],
            "time": {
                "summary_type": "task",
                "from": "2017-01-01",
                "from_": "2017-01-01",
                "to": "2017-01-02",
            },
        },
    ),
    "import attach_receipt on time": lambda r: r.create(
        client_id=1,
        line_items_import={
            "project_ids": [1],
            "time": {"summary_type": "task", "attach_receipt": True},
        },
    ),
    "import attach_receipt not bool": lambda r: r.create(
        client_id=1,
        line_items_import={
            "project_ids": [1],
            "expenses": {"summary_type": "detailed", "attach_receipt": "yes"},
        },
    ),
    "message without recipients": lambda r: r.create_message(1, subject="Hi"),
    "message empty recipients": lambda r: r.create_message(1, recipients=[]),
    "message recipients a mapping": lambda r: r.create_message(
        1, recipients={"email": "a@example.com"}
    ),
    "message recipient without email": lambda r: r.create_message(
        1, recipients=[{"name": "Richard Roe"}]
    ),
    "message recipient bad email": lambda r: r.create_message(
        1, recipients=[{"email": "richard roe"}]
    ),
    "message recipient header injection": lambda r: r.create_message(
        1, recipients=[{"email": "a@example.com\r\nBcc: x@example.com"}]
    ),
    "message recipient unknown key": lambda r: r.create_message(
        1, recipients=[{"email": "a@example.com", "cc": True}]
    ),
    "message recipient bad name": lambda r: r.create_message(
        1, recipients=[{"email": "a@example.com", "name": 5}]
    ),
    "message bad attach_pdf": lambda r: r.create_message(
        1, recipients=[{"email": "a@example.com"}], attach_pdf="yes"
    ),
    "message bad event": lambda r: r.create_message(1, event_type="accept"),
    "message event with recipients": lambda r: r.create_message(
        1, event_type="send", recipients=[{"email": "a@example.com"}]
    ),
    "message event with subject": lambda r: r.create_message(
        1, event_type="close", subject="Closed"
    ),
    "message bad id": lambda r: r.create_message(0, event_type="close"),
    "mark bad id": lambda r: r.mark_as_sent("1"),
    "messages bad id": lambda r: r.messages(0),
    "messages naive since": lambda r: r.messages(1, updated_since=NAIVE),
    "delete message bad id": lambda r: r.delete_message(1, 0),
    "template both": lambda r: r.message_template(1, thank_you=True, reminder=True),
    "template not bool": lambda r: r.message_template(1, reminder="yes"),
    "template bad id": lambda r: r.message_template(-5),
    "payments bad id": lambda r: r.payments(0),
    "payments per_page": lambda r: r.payments(1, per_page=-1),
    "payment paid_at and paid_date": lambda r: r.create_payment(
        1, amount=1, paid_at=dt.datetime(2017, 1, 1, tzinfo=dt.UTC), paid_date="2017-01-01"
    ),
    "payment naive paid_at": lambda r: r.create_payment(1, amount=1, paid_at=NAIVE),
    "payment datetime paid_date": lambda r: r.create_payment(
        1, amount=1, paid_date=dt.datetime(2017, 1, 1, tzinfo=dt.UTC)
    ),
    "payment bad amount": lambda r: r.create_payment(1, amount="lots"),
    "payment None amount": lambda r: r.create_payment(1, amount=None),
    "payment bad send_thank_you": lambda r: r.create_payment(1, amount=1, send_thank_you=1),
    "delete payment bad id": lambda r: r.delete_payment(0, 1),
}


@pytest.mark.parametrize("name", sorted(BAD_CALLS))
async def test_bad_arguments_send_nothing(
    mock: aioresponses, invoices: Invoices, name: str
) -> None:
    with pytest.raises(ha.InvalidRequestError):
        await run(lambda: BAD_CALLS[name](invoices))
    assert sent_requests(mock) == []


# ====================================================================================
# invoice item categories
# ====================================================================================


async def test_categories_list(mock: aioresponses, categories: InvoiceItemCategories) -> None:
    mock.get(at("invoice_item_categories"), body=example("GET", "/invoice_item_categories"))
    items = await categories.list(updated_since=SINCE, per_page=2000).collect()
    req = only(mock)
    assert (req.method, req.path, req.body) == ("GET", "invoice_item_categories", None)
    assert req.query == {"updated_since": SINCE_WIRE, "per_page": "2000"}
    assert [c.name for c in items] == ["Product", "Service"]
    assert isinstance(items[0], InvoiceItemCategory)
    assert items[0].use_as_expense is True
    assert items[1].use_as_service is True


async def test_categories_get(mock: aioresponses, categories: InvoiceItemCategories) -> None:
    mock.get(
        at("invoice_item_categories/1466293"),
        body=example("GET", "/invoice_item_categories/{invoiceItemCategoryId}"),
    )
    item = await categories.get(1466293)
    req = only(mock)
    assert (req.method, req.path, req.body) == ("GET", "invoice_item_categories/1466293", None)
    assert item.name == "Product"
    assert item.created_at == dt.datetime(2017, 6, 26, 20, 41, tzinfo=dt.UTC)


async def test_categories_create(mock: aioresponses, categories: InvoiceItemCategories) -> None:
    mock.post(
        at("invoice_item_categories"),
        status=201,
        body=example("POST", "/invoice_item_categories"),
    )
    item = await categories.create(name="Hosting")
    req = only(mock)
    assert (req.method, req.path, req.body) == (
        "POST",
        "invoice_item_categories",
        {"name": "Hosting"},
    )
    assert isinstance(item, InvoiceItemCategory)
    assert item.id == 1467098


async def test_categories_update(mock: aioresponses, categories: InvoiceItemCategories) -> None:
    mock.patch(
        at("invoice_item_categories/1467098"),
        body=example("PATCH", "/invoice_item_categories/{invoiceItemCategoryId}"),
    )
    item = await categories.update(1467098, name="Expense")
    req = only(mock)
    assert (req.method, req.path, req.body) == (
        "PATCH",
        "invoice_item_categories/1467098",
        {"name": "Expense"},
    )
    assert item.name == "Expense"


async def test_categories_delete(mock: aioresponses, categories: InvoiceItemCategories) -> None:
    mock.delete(at("invoice_item_categories/1467098"), body="")
    await categories.delete(1467098)
    req = only(mock)
    assert (req.method, req.path, req.body) == ("DELETE", "invoice_item_categories/1467098", None)


BAD_CATEGORY_CALLS: dict[str, Callable[[Any], Any]] = {
    "update nothing": lambda r: r.update(1),
    "update bad id": lambda r: r.update(0, name="x"),
    "get bad id": lambda r: r.get("1"),
    "delete bad id": lambda r: r.delete(0),
    "create NUL": lambda r: r.create(name="a\0b"),
    "list naive": lambda r: r.list(updated_since=NAIVE),
}


@pytest.mark.parametrize("name", sorted(BAD_CATEGORY_CALLS))
async def test_categories_bad_arguments_send_nothing(
    mock: aioresponses, categories: InvoiceItemCategories, name: str
) -> None:
    with pytest.raises(ha.InvalidRequestError):
        await run(lambda: BAD_CATEGORY_CALLS[name](categories))
    assert sent_requests(mock) == []
