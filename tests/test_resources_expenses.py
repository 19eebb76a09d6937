"""Request shapes of ``harvest.expenses``: JSON bodies, receipt uploads, the units rule.

Every operation of ``/expenses`` is checked for method, path, query and exact body, and
decodes Harvest's documented example. Receipt uploads must be ``multipart/form-data``
(an aiohttp ``FormData`` with a ``receipt`` file part and every other field as text in
Harvest's wire format) whether the receipt is a path, bytes or a binary file object.
The expense examples of the seeds (v1 XML, translated to v2, and v2's own) go through
the library as written.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import inspect
import io
import json
import re
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import attrs
import pytest
from aioresponses import aioresponses

import harvest_async as ha
from harvest_async.models import Expense, Receipt
from harvest_async.resources.expenses import Expenses

from .conftest import BASE, Sent, sent_requests
from .shared import openapi_spec

# A 1x1 GIF, as Harvest's examples attach ``*.gif`` receipts.
GIF = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00"
    b"\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"

SINCE = dt.datetime(2024, 1, 2, 5, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=2)))
SINCE_WIRE = "2024-01-02T03:04:05Z"


# -- helpers -------------------------------------------------------------------------


def example(method: str, path: str) -> str:
    """The documented 200/201 response example of an operation, as wire JSON text."""
    responses = openapi_spec()["paths"][path][method.lower()]["responses"]
    for status in ("200", "201", 200, 201):
        if status in responses:
            content = responses[status]["content"]["application/json"]
            return json.dumps(content["example"], default=str)
    raise KeyError(f"{method} {path}: no example")


def at(path: str) -> re.Pattern[str]:
    """Match the API path with any query string."""
    return re.compile(rf"^{re.escape(BASE)}/{re.escape(path)}(\?.*)?$")


def only(mock: aioresponses) -> Sent:
    """The one request sent."""
    sent = sent_requests(mock)
    assert len(sent) == 1, sent
    return sent[0]


def raw_body(mock: aioresponses) -> bytes:
    """The bytes of the one JSON request body sent."""
    calls = [call for items in mock.requests.values() for call in items]
    assert len(calls) == 1
    data = calls[0].kwargs.get("data")
    assert isinstance(data, bytes)
    return data


@attrs.frozen
class Part:
    """One part of a multipart body, as it goes on the wire."""

    filename: str | None
    content_type: str
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8")


async def multipart(sent: Sent) -> dict[str, Part]:
    """The parts of a multipart request (the body must be an aiohttp FormData)."""
    assert isinstance(sent.body, aiohttp.FormData), type(sent.body)
    assert "Content-Type" not in sent.headers  # aiohttp sets multipart/form-data + boundary
    writer = sent.body()
    assert writer.content_type.startswith("multipart/form-data; boundary=")
    raw = await writer.as_bytes()
    message = email.message_from_bytes(
        b"Content-Type: " + writer.content_type.encode() + b"\r\n\r\n" + raw,
        policy=email.policy.HTTP,
    )
    parts: dict[str, Part] = {}
    for item in message.iter_parts():
        name = item.get_param("name", header="content-disposition")
        assert isinstance(name, str), name
        assert name not in parts, f"duplicate part {name}"
        content = item.get_payload(decode=True)
        assert isinstance(content, bytes)
        parts[name] = Part(item.get_filename(), item.get_content_type(), content)
    return parts


def texts(parts: dict[str, Part]) -> dict[str, str]:
    """The text fields of a multipart body (every part but the receipt)."""
    out = {}
    for name, part in parts.items():
        if name == "receipt":
            continue
        assert part.filename is None, name
        assert part.content_type == "text/plain", name
        out[name] = part.text
    return out


async def run(call: Callable[[], Any]) -> Any:
    """Call ``call``; await a coroutine, or collect a Paginator (either may raise)."""
    result = call()
    if inspect.isawaitable(result):
        return await result
    return await result.collect()


def list_envelope(key: str, items: str, path: str, total: int = 1) -> str:
    first = f"{BASE}/{path}?page=1&per_page=2000"
    return (
        f'{{"{key}": [{items}], "per_page": 2000, "total_pages": 1, '
        f'"total_entries": {total}, "next_page": null, "previous_page": null, "page": 1, '
        f'"links": {{"first": "{first}", "next": null, "previous": null, "last": "{first}"}}}}'
    )


@pytest.fixture
def h(client: ha.HarvestClient) -> ha.HarvestClient:
    """The client under test (conftest's, with max_retries=2)."""
    assert isinstance(client.expenses, Expenses)
    return client


def expense_list() -> str:
    return example("GET", "/expenses")


def expense_example() -> str:
    return example("GET", "/expenses/{expenseId}")


def expense_created() -> str:
    return example("POST", "/expenses")


def expense_updated() -> str:
    return example("PATCH", "/expenses/{expenseId}")


# ====================================================================================
# list, get, delete
# ====================================================================================


async def test_list_every_filter(mock: aioresponses, h: Any) -> None:
    mock.get(at("expenses"), body=expense_list())
    pager = h.expenses.list(
        user_id=1782959,
        client_id=5735774,
        project_id=14307913,
        is_billed=True,
        updated_since=SINCE,
        from_=dt.date(2017, 3, 1),
        to="2017-03-31",
        per_page=100,
    )
    assert isinstance(pager, ha.Paginator)
    assert sent_requests(mock) == []  # nothing until iterated
    expenses = await pager.collect()
    req = only(mock)
    assert (req.method, req.path, req.body) == ("GET", "expenses", None)
    assert req.query == {
        "user_id": "1782959",
        "client_id": "5735774",
        "project_id": "14307913",
        "is_billed": "true",
        "updated_since": SINCE_WIRE,
        "from": "2017-03-01",
        "to": "2017-03-31",
        "per_page": "100",
    }
    first, second = expenses
    assert isinstance(first, Expense)
    assert first.id == 15296442
    assert first.total_cost == Decimal("33.35")
    assert str(first.units) == "1.0"
    assert first.spent_date == dt.date(2017, 3, 3)
    assert first.receipt == Receipt(
        url="https://{ACCOUNT_SUBDOMAIN}.harvestapp.com/expenses/15296442/receipt",
        file_name="lunch_receipt.gif",
        file_size=39410,
        content_type="image/gif",
    )
    assert first.expense_category is not None
    assert first.expense_category.name == "Meals"
    assert first.expense_category.unit_price is None
    assert first.client is not None
    assert first.client.currency == "USD"
    assert first.is_billed is True
    assert first.created_at == dt.datetime(2017, 6, 27, 15, 9, 54, tzinfo=dt.UTC)
    assert second.receipt is None
    assert str(second.total_cost) == "100.0"
    assert second.invoice is None


async def test_list_without_filters_sends_no_query(mock: aioresponses, h: Any) -> None:
    mock.get(at("expenses"), body=list_envelope("expenses", "", "expenses", 0))
    assert await h.expenses.list().collect() == []
    assert only(mock).query == {}


async def test_get(mock: aioresponses, h: Any) -> None:
    mock.get(at("expenses/15296442"), body=expense_example())
    expense = await h.expenses.get(15296442)
    req = only(mock)
    assert (req.method, req.path, req.query, req.body) == ("GET", "expenses/15296442", {}, None)
    assert expense.notes == "Lunch with client"
    assert expense.locked_reason == "Expense is invoiced."
    assert expense.user_assignment is not None
    assert expense.user_assignment.hourly_rate == Decimal("100.0")
    assert expense.invoice is not None
    assert expense.invoice.number == "1001"


async def test_delete_sends_no_body(mock: aioresponses, h: Any) -> None:
    mock.delete(at("expenses/15297032"), body="")
    assert await h.expenses.delete(15297032) is None
    req = only(mock)
    assert (req.method, req.path, req.query, req.body) == ("DELETE", "expenses/15297032", {}, None)


# ====================================================================================
# create / update as JSON; the units-or-total_cost rule
# ====================================================================================


async def test_create_by_total_cost_as_documented(mock: aioresponses, h: Any) -> None:
    """Seed 001's example: ``-d user_id=... -d total_cost=13.59``."""
    mock.post(at("expenses"), status=201, body=expense_created())
    expense = await h.expenses.create(
        user_id=1782959,
        project_id=14308069,
        expense_category_id=4195926,
        spent_date="2017-03-01",
        total_cost=13.59,
    )
    req = only(mock)
    assert (req.method, req.path, req.query) == ("POST", "expenses", {})
    assert req.headers.get("Content-Type") == "application/json"
    assert req.body == {
        "user_id": 1782959,
        "project_id": 14308069,
        "expense_category_id": 4195926,
        "spent_date": "2017-03-01",
        "total_cost": Decimal("13.59"),
    }
    raw = raw_body(mock)
    assert b'"total_cost":13.59' in raw
    assert b'"13.59"' not in raw
    assert isinstance(expense, Expense)
    assert expense.id == 15297032
    assert expense.total_cost == Decimal("13.59")
    assert expense.notes is None
    assert expense.billable is True


async def test_create_every_field(mock: aioresponses, h: Any) -> None:
    mock.post(at("expenses"), status=201, body=expense_created())
    await h.expenses.create(
        project_id=14308069,
        expense_category_id=4195926,
        spent_date=dt.date(2017, 3, 1),
        total_cost=Decimal("13.59"),
        user_id=1782959,
        notes="Dinner",
        billable=False,
    )
    assert only(mock).body == {
        "user_id": 1782959,
        "project_id": 14308069,
        "expense_category_id": 4195926,
        "spent_date": "2017-03-01",
        "total_cost": Decimal("13.59"),
        "notes": "Dinner",
        "billable": False,
    }


async def test_create_by_units_for_a_unit_based_category(mock: aioresponses, h: Any) -> None:
    mock.post(at("expenses"), status=201, body=expense_created())
    await h.expenses.create(
        project_id=14308069,
        expense_category_id=4195930,
        spent_date="2017-03-01",
        units=Decimal("12.5"),
        notes="Drive to client",
    )
    req = only(mock)
    assert req.body == {
        "project_id": 14308069,
        "expense_category_id": 4195930,
        "spent_date": "2017-03-01",
        "units": Decimal("12.5"),
        "notes": "Drive to client",
    }
    assert b'"units":12.5' in raw_body(mock)


@pytest.mark.parametrize(
    "amount",
    [
        pytest.param({}, id="neither"),
        pytest.param({"units": 5, "total_cost": "11.00"}, id="both"),
        pytest.param({"units": None}, id="units-None"),
        pytest.param({"total_cost": None}, id="total_cost-None"),
    ],
)
async def test_create_needs_units_or_total_cost(
    mock: aioresponses, h: Any, amount: dict[str, Any]
) -> None:
    with pytest.raises(ha.InvalidRequestError, match=r"units|total_cost"):
        await h.expenses.create(
            project_id=2, expense_category_id=1, spent_date="2008-02-10", **amount
        )
    assert sent_requests(mock) == []


async def test_create_the_wrong_amount_for_a_category_is_harvests_422(
    mock: aioresponses, h: Any
) -> None:
    message = "Units can't be blank for a unit-based expense category"
    mock.post(at("expenses"), status=422, body=json.dumps({"message": message}))
    with pytest.raises(ha.ValidationError) as info:
        await h.expenses.create(
            project_id=14308069,
            expense_category_id=4195930,
            spent_date="2017-03-01",
            total_cost=10,
        )
    assert info.value.status == 422
    assert info.value.message == message
    assert len(sent_requests(mock)) == 1  # a 422 is never retried


async def test_update_sends_only_given_fields(mock: aioresponses, h: Any) -> None:
    mock.patch(at("expenses/15297032"), body=expense_updated())
    expense = await h.expenses.update(
        15297032, total_cost=Decimal("20.00"), notes=None, billable=True
    )
    req = only(mock)
    assert (req.method, req.path, req.query) == ("PATCH", "expenses/15297032", {})
    assert req.headers.get("Content-Type") == "application/json"
    assert req.body == {"total_cost": Decimal("20.00"), "notes": None, "billable": True}
    raw = raw_body(mock)
    assert b'"total_cost":20.00' in raw
    assert b'"notes":null' in raw
    assert expense.notes == "Dinner"
    assert expense.receipt is not None
    assert expense.receipt.file_name == "dinner_receipt.gif"


async def test_update_every_json_field(mock: aioresponses, h: Any) -> None:
    mock.patch(at("expenses/15297032"), body=expense_updated())
    await h.expenses.update(
        15297032,
        project_id=14308069,
        expense_category_id=4195930,
        spent_date=dt.date(2017, 3, 2),
        units=3,
        notes="Taxi",
        billable=False,
    )
    assert only(mock).body == {
        "project_id": 14308069,
        "expense_category_id": 4195930,
        "spent_date": "2017-03-02",
        "units": 3,
        "notes": "Taxi",
        "billable": False,
    }


async def test_update_delete_receipt(mock: aioresponses, h: Any) -> None:
    mock.patch(at("expenses/15297032"), body=expense_created())
    expense = await h.expenses.update(15297032, delete_receipt=True)
    req = only(mock)
    assert (req.method, req.path) == ("PATCH", "expenses/15297032")
    assert req.body == {"delete_receipt": True}
    assert b'"delete_receipt":true' in raw_body(mock)
    assert expense.receipt is None


# ====================================================================================
# receipts: multipart/form-data
# ====================================================================================


async def test_create_with_receipt_path_is_multipart(
    mock: aioresponses, h: Any, tmp_path: Path
) -> None:
    receipt = tmp_path / "dinner-receipt.gif"
    receipt.write_bytes(GIF)
    mock.post(at("expenses"), status=201, body=expense_updated())
    expense = await h.expenses.create(
        user_id=1782959,
        project_id=14308069,
        expense_category_id=4195926,
        spent_date=dt.date(2017, 3, 1),
        total_cost=Decimal("13.59"),
        notes="Dinner",
        billable=False,
        receipt=receipt,
    )
    req = only(mock)
    assert (req.method, req.path, req.query) == ("POST", "expenses", {})
    parts = await multipart(req)
    assert texts(parts) == {
        "user_id": "1782959",
        "project_id": "14308069",
        "expense_category_id": "4195926",
        "spent_date": "2017-03-01",
        "total_cost": "13.59",
        "notes": "Dinner",
        "billable": "false",
    }
    assert parts["receipt"] == Part("dinner-receipt.gif", "image/gif", GIF)
    assert expense.receipt is not None
    assert expense.receipt.content_type == "image/gif"


async def test_create_with_receipt_str_path_and_units(
    mock: aioresponses, h: Any, tmp_path: Path
) -> None:
    receipt = tmp_path / "odometer.pdf"
    receipt.write_bytes(PDF)
    mock.post(at("expenses"), status=201, body=expense_created())
    await h.expenses.create(
        project_id=2,
        expense_category_id=3,
        spent_date="2008-02-10",
        units=5,
        billable=True,
        receipt=str(receipt),
    )
    parts = await multipart(only(mock))
    assert texts(parts) == {
        "project_id": "2",
        "expense_category_id": "3",
        "spent_date": "2008-02-10",
        "units": "5",
        "billable": "true",
    }
    assert parts["receipt"] == Part("odometer.pdf", "application/pdf", PDF)


@pytest.mark.parametrize(
    ("content", "kwargs", "expected"),
    [
        pytest.param(
            GIF,
            {"receipt_filename": "lunch_receipt.gif"},
            Part("lunch_receipt.gif", "image/gif", GIF),
            id="named-gif",
        ),
        pytest.param(
            PDF,
            {"receipt_filename": "hotel.pdf"},
            Part("hotel.pdf", "application/pdf", PDF),
            id="named-pdf",
        ),
        pytest.param(
            bytearray(GIF), {}, Part("receipt.gif", "image/gif", GIF), id="unnamed-gif-sniffed"
        ),
        pytest.param(
            b"\x00\x01binary",
            {},
            Part("receipt", "application/octet-stream", b"\x00\x01binary"),
            id="unnamed-unknown",
        ),
        pytest.param(
            memoryview(PDF),
            {"receipt_filename": "scan"},
            Part("scan", "application/pdf", PDF),
            id="named-no-extension-sniffed",
        ),
    ],
)
async def test_create_with_receipt_bytes(
    mock: aioresponses, h: Any, content: Any, kwargs: dict[str, Any], expected: Part
) -> None:
    mock.post(at("expenses"), status=201, body=expense_created())
    await h.expenses.create(
        project_id=14308069,
        expense_category_id=4195926,
        spent_date="2017-03-01",
        total_cost="13.59",
        receipt=content,
        **kwargs,
    )
    parts = await multipart(only(mock))
    assert texts(parts) == {
        "project_id": "14308069",
        "expense_category_id": "4195926",
        "spent_date": "2017-03-01",
        "total_cost": "13.59",
    }
    assert parts["receipt"] == expected


async def test_create_with_receipt_file_object(mock: aioresponses, h: Any, tmp_path: Path) -> None:
    path = tmp_path / "taxi.png"
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
    path.write_bytes(png)
    mock.post(at("expenses"), status=201, body=expense_created())
    with path.open("rb") as handle:
        await h.expenses.create(
            project_id=14308069,
            expense_category_id=4195928,
            spent_date="2017-03-01",
            total_cost=Decimal("42"),
            receipt=handle,
        )
    parts = await multipart(only(mock))
    assert texts(parts)["total_cost"] == "42"
    assert parts["receipt"] == Part("taxi.png", "image/png", png)


async def test_create_with_receipt_bytesio_and_filename(mock: aioresponses, h: Any) -> None:
    mock.post(at("expenses"), status=201, body=expense_created())
    await h.expenses.create(
        project_id=14308069,
        expense_category_id=4195926,
        spent_date="2017-03-01",
        total_cost=Decimal("1E+2"),
        receipt=io.BytesIO(GIF),
        receipt_filename="dinner_receipt.gif",
    )
    parts = await multipart(only(mock))
    assert texts(parts)["total_cost"] == "100"  # plain decimal text, no exponent
    assert parts["receipt"] == Part("dinner_receipt.gif", "image/gif", GIF)


async def test_update_with_receipt_as_documented(mock: aioresponses, h: Any) -> None:
    """Harvest's example: ``-X PATCH -F notes="Dinner" -F receipt=@dinner-receipt.gif``."""
    mock.patch(at("expenses/15297032"), body=expense_updated())
    expense = await h.expenses.update(
        15297032,
        notes="Dinner",
        receipt=io.BytesIO(GIF),
        receipt_filename="dinner-receipt.gif",
    )
    req = only(mock)
    assert (req.method, req.path, req.query) == ("PATCH", "expenses/15297032", {})
    parts = await multipart(req)
    assert texts(parts) == {"notes": "Dinner"}
    assert parts["receipt"] == Part("dinner-receipt.gif", "image/gif", GIF)
    assert expense.notes == "Dinner"
    assert expense.updated_at == dt.datetime(2017, 6, 27, 15, 45, 51, tzinfo=dt.UTC)


async def test_update_with_receipt_only(mock: aioresponses, h: Any, tmp_path: Path) -> None:
    path = tmp_path / "receipt.jpg"
    jpeg = b"\xff\xd8\xff\xe0" + b"\x00" * 8
    path.write_bytes(jpeg)
    mock.patch(at("expenses/15297032"), body=expense_updated())
    await h.expenses.update(15297032, receipt=path, notes=None, spent_date="2017-03-02")
    parts = await multipart(only(mock))
    # notes=None clears the notes: an empty form value.
    assert texts(parts) == {"spent_date": "2017-03-02", "notes": ""}
    assert parts["receipt"] == Part("receipt.jpg", "image/jpeg", jpeg)


@pytest.mark.looptime
async def test_multipart_post_is_resent_whole_after_429(mock: aioresponses, h: Any) -> None:
    mock.post(at("expenses"), status=429, headers={"Retry-After": "1"})
    mock.post(at("expenses"), status=201, body=expense_created())
    expense = await h.expenses.create(
        project_id=14308069,
        expense_category_id=4195926,
        spent_date="2017-03-01",
        total_cost="13.59",
        receipt=GIF,
        receipt_filename="r.gif",
    )
    assert expense.id == 15297032
    sent = sent_requests(mock)
    assert [(s.method, s.path) for s in sent] == [("POST", "expenses")] * 2
    for req in sent:
        parts = await multipart(req)
        assert parts["receipt"] == Part("r.gif", "image/gif", GIF)
        assert texts(parts)["total_cost"] == "13.59"


# ====================================================================================
# bad receipts and bad arguments: nothing is sent
# ====================================================================================


async def test_missing_receipt_file_is_rejected_before_sending(
    mock: aioresponses, h: Any, tmp_path: Path
) -> None:
    missing = tmp_path / "no-such-receipt.gif"
    with pytest.raises(ha.InvalidRequestError, match=r"no-such-receipt\.gif"):
        await h.expenses.create(
            project_id=1,
            expense_category_id=2,
            spent_date="2017-03-01",
            total_cost=1,
            receipt=missing,
        )
    with pytest.raises(ha.InvalidRequestError, match="not found"):
        await h.expenses.update(1, receipt=str(missing))
    with pytest.raises(ha.InvalidRequestError):
        await h.expenses.update(1, receipt=tmp_path)  # a directory
    assert sent_requests(mock) == []


BAD_CALLS: dict[str, Any] = {
    "text-mode file": lambda e, p: e.update(1, receipt=io.StringIO("not bytes")),
    "receipt int": lambda e, p: e.update(1, receipt=12345),
    "receipt empty": lambda e, p: e.update(1, receipt=b""),
    "receipt_filename without receipt (create)": lambda e, p: e.create(
        project_id=1,
        expense_category_id=2,
        spent_date="2017-03-01",
        total_cost=1,
        receipt_filename="r.gif",
    ),
    "receipt_filename without receipt (update)": lambda e, p: e.update(
        1, notes="x", receipt_filename="r.gif"
    ),
    "receipt_filename with a path": lambda e, p: e.update(
        1, receipt=GIF, receipt_filename="../../etc/r.gif"
    ),
    "receipt_filename with CRLF": lambda e, p: e.update(
        1, receipt=GIF, receipt_filename="r.gif\r\nX-Evil: 1"
    ),
    "receipt_filename empty": lambda e, p: e.update(1, receipt=GIF, receipt_filename=""),
    "receipt and delete_receipt": lambda e, p: e.update(1, receipt=GIF, delete_receipt=True),
    "receipt and delete_receipt False": lambda e, p: e.update(1, receipt=GIF, delete_receipt=False),
    "update nothing": lambda e, p: e.update(1),
    "update units and total_cost": lambda e, p: e.update(1, units=1, total_cost=2),
    "update total_cost None": lambda e, p: e.update(1, total_cost=None),
    "update total_cost text": lambda e, p: e.update(1, total_cost="eleven"),
    "update delete_receipt not bool": lambda e, p: e.update(1, delete_receipt="true"),
    "create bad date": lambda e, p: e.create(
        project_id=1, expense_category_id=2, spent_date="10 Feb 2008", total_cost=1
    ),
    "create datetime date": lambda e, p: e.create(
        project_id=1,
        expense_category_id=2,
        spent_date=dt.datetime(2008, 2, 10),
        total_cost=1,
    ),
    "create str project_id": lambda e, p: e.create(
        project_id="2", expense_category_id=1, spent_date="2008-02-10", total_cost=1
    ),
    "create billable str": lambda e, p: e.create(
        project_id=2,
        expense_category_id=1,
        spent_date="2008-02-10",
        total_cost=1,
        billable="yes",
    ),
    "create total_cost NaN": lambda e, p: e.create(
        project_id=2,
        expense_category_id=1,
        spent_date="2008-02-10",
        total_cost=Decimal("NaN"),
    ),
    "create with receipt and bad field": lambda e, p: e.create(
        project_id=0,
        expense_category_id=1,
        spent_date="2008-02-10",
        total_cost=1,
        receipt=GIF,
    ),
    "get bad id": lambda e, p: e.get("15296442"),
    "get bool id": lambda e, p: e.get(True),
    "update bad id": lambda e, p: e.update(-1, notes="x"),
    "delete bad id": lambda e, p: e.delete("1/../2"),
    "list per_page too large": lambda e, p: e.list(per_page=2001),
    "list naive updated_since": lambda e, p: e.list(updated_since=dt.datetime(2024, 1, 1)),
    "list bad from": lambda e, p: e.list(from_="yesterday"),
    "list is_billed str": lambda e, p: e.list(is_billed="true"),
}


@pytest.mark.parametrize("name", sorted(BAD_CALLS))
async def test_bad_arguments_are_rejected_before_sending(
    mock: aioresponses, h: Any, name: str, tmp_path: Path
) -> None:
    with pytest.raises(ha.InvalidRequestError):
        await run(lambda: BAD_CALLS[name](h.expenses, tmp_path))
    assert sent_requests(mock) == []


# ====================================================================================
# the seeds' examples, through the library
# ====================================================================================


async def test_seed_v1_standard_and_mileage_expenses_in_v2(mock: aioresponses, h: Any) -> None:
    """Seed 000's two ``POST /expenses`` examples (v1 XML), with v2 field names."""
    mock.post(at("expenses"), status=201, body=expense_created())
    mock.post(at("expenses"), status=201, body=expense_created())
    # <expense> <notes>...</notes> <total-cost type="decimal">11.00</total-cost>
    #   <project_id>2</project_id> <expense_category_id>1</expense_category_id>
    #   <spent_at type="date">Sun, 10 Feb 2008</spent_at> </expense>
    await h.expenses.create(
        notes="Buy Valentine's Day chocolates for Harvest",
        total_cost=Decimal("11.00"),
        project_id=2,
        expense_category_id=1,
        spent_date=dt.date(2008, 2, 10),
    )
    # The mileage one: <units type="integer">5</units>, expense category 3.
    await h.expenses.create(
        notes="Drive to buy Valentine's chocolates",
        units=5,
        project_id=2,
        expense_category_id=3,
        spent_date=dt.date(2008, 2, 10),
    )
    standard, mileage = sent_requests(mock)
    assert (standard.method, standard.path) == ("POST", "expenses")
    assert standard.body == {
        "project_id": 2,
        "expense_category_id": 1,
        "spent_date": "2008-02-10",
        "total_cost": Decimal("11.00"),
        "notes": "Buy Valentine's Day chocolates for Harvest",
    }
    assert str(standard.body["total_cost"]) == "11.00"  # sent as the JSON number 11.00
    assert mileage.body == {
        "project_id": 2,
        "expense_category_id": 3,
        "spent_date": "2008-02-10",
        "units": 5,
        "notes": "Drive to buy Valentine's chocolates",
    }


async def test_seed_v1_updates_in_v2(mock: aioresponses, h: Any) -> None:
    """Seed 000's ``PUT /expenses/#{id}`` examples become PATCHes of the given fields."""
    mock.patch(at("expenses/15297032"), body=expense_updated())
    mock.patch(at("expenses/15297032"), body=expense_updated())
    await h.expenses.update(
        15297032,
        notes="Buy Valentine's Day _dark_ chocolates for Harvest",
        total_cost="20.00",
    )
    await h.expenses.update(
        15297032, notes="Drive _a long way_ to buy Valentine's chocolates", units=25
    )
    standard, mileage = sent_requests(mock)
    assert (standard.method, standard.path) == ("PATCH", "expenses/15297032")
    assert standard.body == {
        "notes": "Buy Valentine's Day _dark_ chocolates for Harvest",
        "total_cost": Decimal("20.00"),
    }
    assert mileage.body == {
        "notes": "Drive _a long way_ to buy Valentine's chocolates",
        "units": 25,
    }


async def test_seed_v2_create_and_responses(mock: aioresponses, h: Any) -> None:
    """Seed 001's create example as a Meals expense, then its mileage counterpart."""
    mock.post(at("expenses"), status=201, body=expense_created())
    mileage_response = (
        expense_created()
        .replace(
            '"name": "Meals", "unit_price": null, "unit_name": null',
            '"name": "Mileage", "unit_price": 0.535, "unit_name": "mile"',
        )
        .replace('"total_cost": 13.59, "units": 1.0', '"total_cost": 6.42, "units": 12.0')
    )
    assert mileage_response != expense_created()
    mock.post(at("expenses"), status=201, body=mileage_response)

    meals = await h.expenses.create(
        user_id=1782959,
        project_id=14308069,
        expense_category_id=4195926,
        spent_date="2017-03-01",
        total_cost="13.59",
    )
    mileage = await h.expenses.create(
        user_id=1782959,
        project_id=14308069,
        expense_category_id=4195930,
        spent_date="2017-03-01",
        units=12,
    )
    first, second = sent_requests(mock)
    assert first.body["total_cost"] == Decimal("13.59")
    assert "units" not in first.body
    assert second.body["units"] == 12
    assert "total_cost" not in second.body
    assert meals.total_cost == Decimal("13.59")
    assert mileage.expense_category is not None
    assert str(mileage.expense_category.unit_price) == "0.535"
    assert mileage.expense_category.unit_name == "mile"
    assert mileage.total_cost == Decimal("6.42")
    assert str(mileage.units) == "12.0"
