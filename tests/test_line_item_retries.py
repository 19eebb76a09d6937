"""A PATCH that adds invoice or estimate line items is never sent twice (CONTRACT, "Retries").

Line items have no endpoints of their own: an entry of ``line_items`` without ``id`` is
created by the PATCH, so re-sending it after a lost answer adds the item again (one
100.00 line becomes two). Such a PATCH is retried only where it certainly did not reach
Harvest (a 429, a connection never made); a PATCH that only changes or deletes items by
``id`` is idempotent and is retried like any other.

The first tests run against the simulator, which processes the PATCH and then drops
the connection (``faults.reset_after_processing``); the others against aioresponses on
a virtual clock.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from aiohttp.client_reqrep import ConnectionKey
from aioresponses import aioresponses

import harvest_async as ha
from harvest_async.testing import HarvestSimulator

from .conftest import ACCOUNT, BASE, TOKEN, sent_requests
from .records import complete

UA = "line item retry tests (dev@example.com)"
HUNDRED: Any = {"kind": "Service", "description": "Extra hour", "unit_price": Decimal("100")}

# -------------------------------------------------------------------- against the simulator


@pytest.fixture
async def sim() -> AsyncIterator[HarvestSimulator]:
    async with HarvestSimulator(seed=5, rate_limit=(2000, 0.2)) as s:
        yield s
    assert s.errors == []


@pytest.fixture
async def h(sim: HarvestSimulator) -> AsyncIterator[ha.HarvestClient]:
    async with sim.client(max_retries=3, user_agent=UA) as client:
        yield client


def patches(sim: HarvestSimulator, path: str) -> list[Any]:
    return [r for r in sim.requests if r.method == "PATCH" and r.path == f"/v2/{path}"]


def lost_answer(sim: HarvestSimulator) -> None:
    """The next request is processed, then its connection drops without an answer."""
    sim.faults.reset_after_processing = True
    sim.faults.inject("reset")


async def new_invoice(sim: HarvestSimulator, h: ha.HarvestClient) -> tuple[int, int]:
    """A draft invoice of one 8800.00 line (no tax, no discount): (invoice id, line id)."""
    invoice = await h.invoices.create(
        client_id=sim.records("clients")[0]["id"],
        subject="Retry test",
        line_items=[{"kind": "Service", "unit_price": Decimal("8800")}],
    )
    assert invoice.id is not None
    assert invoice.line_items
    assert invoice.amount == Decimal("8800")
    line = invoice.line_items[0].id
    assert line is not None
    return invoice.id, line


async def new_estimate(sim: HarvestSimulator, h: ha.HarvestClient) -> tuple[int, int]:
    """A draft estimate of one 8800.00 line: (estimate id, line id)."""
    estimate = await h.estimates.create(
        client_id=sim.records("clients")[0]["id"],
        subject="Retry test",
        line_items=[{"kind": "Service", "unit_price": Decimal("8800")}],
    )
    assert estimate.id is not None
    assert estimate.line_items
    assert estimate.amount == Decimal("8800")
    line = estimate.line_items[0].id
    assert line is not None
    return estimate.id, line


AddCall = Callable[[ha.HarvestClient, int, int], Awaitable[Any]]

# (name, add one 100.00 line to the record ``rid`` whose first line is ``line``)
INVOICE_ADDS: list[tuple[str, AddCall]] = [
    (
        "create_line_items",
        lambda h, rid, line: h.invoices.create_line_items(rid, line_items=[HUNDRED]),
    ),
    ("update", lambda h, rid, line: h.invoices.update(rid, line_items=[HUNDRED])),
    (
        "update-mixed",  # a new item next to a change: still adds a row
        lambda h, rid, line: h.invoices.update(
            rid, notes="n", line_items=[{"id": line, "description": "Main"}, HUNDRED]
        ),
    ),
]
ESTIMATE_ADDS: list[tuple[str, AddCall]] = [
    (
        "create_line_items",
        lambda h, rid, line: h.estimates.create_line_items(rid, line_items=[HUNDRED]),
    ),
    ("update", lambda h, rid, line: h.estimates.update(rid, line_items=[HUNDRED])),
    (
        "update-mixed",
        lambda h, rid, line: h.estimates.update(
            rid, notes="n", line_items=[{"id": line, "description": "Main"}, HUNDRED]
        ),
    ),
]


@pytest.mark.parametrize(("name", "add"), INVOICE_ADDS, ids=[n for n, _ in INVOICE_ADDS])
async def test_invoice_line_added_once_when_the_answer_is_lost(
    sim: HarvestSimulator, h: ha.HarvestClient, name: str, add: AddCall
) -> None:
    iid, line = await new_invoice(sim, h)
    lost_answer(sim)
    with pytest.raises(ha.TransportError):
        await add(h, iid, line)
    assert len(patches(sim, f"invoices/{iid}")) == 1  # not re-sent
    after = await h.invoices.get(iid)
    assert len(after.line_items or []) == 2  # exactly one new line
    assert after.amount == Decimal("8900")  # +100.00, not +200.00


@pytest.mark.parametrize(("name", "add"), ESTIMATE_ADDS, ids=[n for n, _ in ESTIMATE_ADDS])
async def test_estimate_line_added_once_when_the_answer_is_lost(
    sim: HarvestSimulator, h: ha.HarvestClient, name: str, add: AddCall
) -> None:
    eid, line = await new_estimate(sim, h)
    lost_answer(sim)
    with pytest.raises(ha.TransportError):
        await add(h, eid, line)
    assert len(patches(sim, f"estimates/{eid}")) == 1
    after = await h.estimates.get(eid)
    assert len(after.line_items or []) == 2
    assert after.amount == Decimal("8900")


async def test_invoice_changes_by_id_are_retried_after_a_lost_answer(
    sim: HarvestSimulator, h: ha.HarvestClient
) -> None:
    iid, line = await new_invoice(sim, h)
    lost_answer(sim)
    changed = await h.invoices.update_line_items(
        iid, line_items=[{"id": line, "unit_price": Decimal("9000")}]
    )
    assert [r.status for r in patches(sim, f"invoices/{iid}")] == [None, 200]
    assert changed.amount == Decimal("9000")
    assert len(changed.line_items or []) == 1

    lost_answer(sim)
    updated = await h.invoices.update(
        iid, subject="Renamed", line_items=[{"id": line, "quantity": 2}]
    )
    assert [r.status for r in patches(sim, f"invoices/{iid}")][2:] == [None, 200]
    assert (updated.subject, updated.amount) == ("Renamed", Decimal("18000"))


async def test_estimate_changes_by_id_are_retried_after_a_lost_answer(
    sim: HarvestSimulator, h: ha.HarvestClient
) -> None:
    eid, line = await new_estimate(sim, h)
    lost_answer(sim)
    changed = await h.estimates.update(eid, line_items=[{"id": line, "quantity": 2}])
    assert [r.status for r in patches(sim, f"estimates/{eid}")] == [None, 200]
    assert changed.amount == Decimal("17600")
    lost_answer(sim)
    renamed = await h.estimates.update(eid, subject="Renamed")
    assert [r.status for r in patches(sim, f"estimates/{eid}")][2:] == [None, 200]
    assert renamed.subject == "Renamed"


# ---------------------------------------------------------------------- against aioresponses

INVOICE = complete(
    ha.models.Invoice,
    '{"id": 9, "amount": 8900.0, "line_items": [{"id": 1}, {"id": 2}]}',
)
URL_INVOICE = f"{BASE}/invoices/9"
URL_ESTIMATE = f"{BASE}/estimates/9"

MockCall = Callable[[ha.HarvestClient], Awaitable[Any]]

# (name, URL, a call that adds a row)
ADDING: list[tuple[str, str, MockCall]] = [
    (
        "invoices.create_line_items",
        URL_INVOICE,
        lambda c: c.invoices.create_line_items(9, line_items=[HUNDRED]),
    ),
    ("invoices.update", URL_INVOICE, lambda c: c.invoices.update(9, line_items=[HUNDRED])),
    (
        "estimates.create_line_items",
        URL_ESTIMATE,
        lambda c: c.estimates.create_line_items(9, line_items=[HUNDRED]),
    ),
    ("estimates.update", URL_ESTIMATE, lambda c: c.estimates.update(9, line_items=[HUNDRED])),
]
ADDING_IDS = [n for n, _, _ in ADDING]

# (name, URL, a call that only changes or deletes rows by id, or sends no line items)
BY_ID: list[tuple[str, str, MockCall]] = [
    (
        "invoices.update_line_items",
        URL_INVOICE,
        lambda c: c.invoices.update_line_items(9, line_items=[{"id": 1, "quantity": 2}]),
    ),
    (
        "invoices.delete_line_items",
        URL_INVOICE,
        lambda c: c.invoices.delete_line_items(9, line_item_ids=[2]),
    ),
    (
        "invoices.update-ids",
        URL_INVOICE,
        lambda c: c.invoices.update(
            9, line_items=[{"id": 1, "quantity": 2}, {"id": 2, "_destroy": True}]
        ),
    ),
    ("invoices.update-plain", URL_INVOICE, lambda c: c.invoices.update(9, notes="x")),
    (
        "estimates.update_line_items",
        URL_ESTIMATE,
        lambda c: c.estimates.update_line_items(9, line_items=[{"id": 1, "quantity": 2}]),
    ),
    (
        "estimates.delete_line_items",
        URL_ESTIMATE,
        lambda c: c.estimates.delete_line_items(9, line_item_ids=[2]),
    ),
    (
        "estimates.update-ids",
        URL_ESTIMATE,
        lambda c: c.estimates.update(9, line_items=[{"id": 1, "description": "d"}]),
    ),
]
BY_ID_IDS = [n for n, _, _ in BY_ID]


@pytest.fixture
async def rclient() -> AsyncIterator[ha.HarvestClient]:
    async with ha.HarvestClient(
        access_token=TOKEN, account_id=ACCOUNT, user_agent=UA, max_retries=3
    ) as c:
        yield c


def connect_error() -> aiohttp.ClientConnectorError:
    key = ConnectionKey("api.harvestapp.com", 443, True, True, None, None, None)
    return aiohttp.ClientConnectorError(key, OSError(111, "Connection refused"))


@pytest.mark.looptime
@pytest.mark.parametrize(("name", "url", "call"), ADDING, ids=ADDING_IDS)
@pytest.mark.parametrize(
    "failure",
    [
        {"exception": aiohttp.ServerDisconnectedError()},
        {"exception": aiohttp.ClientOSError(104, "Connection reset by peer")},
        {"exception": TimeoutError()},
        {"status": 502, "body": "bad gateway"},
    ],
    ids=["disconnected", "reset", "timeout", "502"],
)
async def test_adding_rows_is_not_resent_once_it_may_have_arrived(
    rclient: ha.HarvestClient,
    mock: aioresponses,
    name: str,
    url: str,
    call: MockCall,
    failure: dict[str, Any],
) -> None:
    mock.patch(url, **failure)
    mock.patch(url, body=INVOICE)
    expected = ha.ServerError if "status" in failure else ha.TransportError
    with pytest.raises(expected):
        await call(rclient)
    assert len(sent_requests(mock)) == 1


@pytest.mark.looptime
@pytest.mark.parametrize(("name", "url", "call"), ADDING, ids=ADDING_IDS)
@pytest.mark.parametrize(
    "failure",
    [
        {"status": 429, "headers": {"Retry-After": "1"}},
        {"exception": connect_error()},
    ],
    ids=["429", "connection-refused"],
)
async def test_adding_rows_is_retried_where_it_certainly_did_not_arrive(
    rclient: ha.HarvestClient,
    mock: aioresponses,
    name: str,
    url: str,
    call: MockCall,
    failure: dict[str, Any],
) -> None:
    mock.patch(url, **failure)
    mock.patch(url, body=INVOICE)
    await call(rclient)
    first, second = sent_requests(mock)
    assert first.body == second.body
    assert {"kind": "Service", "description": "Extra hour", "unit_price": 100} in (
        first.body["line_items"]
    )


@pytest.mark.looptime
@pytest.mark.parametrize(("name", "url", "call"), BY_ID, ids=BY_ID_IDS)
async def test_changes_by_id_are_retried_after_a_reset(
    rclient: ha.HarvestClient, mock: aioresponses, name: str, url: str, call: MockCall
) -> None:
    mock.patch(url, exception=aiohttp.ServerDisconnectedError())
    mock.patch(url, status=503)
    mock.patch(url, body=INVOICE)
    await call(rclient)
    sent = sent_requests(mock)
    assert len(sent) == 3
    assert all("id" in item for item in sent[0].body.get("line_items", []))
