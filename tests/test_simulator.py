"""HarvestSimulator: an in-process Harvest API v2 server for tests and benchmarks."""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from multidict import CIMultiDictProxy

import harvest_async as ha
from harvest_async.testing import Faults, HarvestSimulator, SimulatorScale
from harvest_async.testing.pytest_plugin import (  # imported fixtures are collected
    harvest_simulator,
    harvest_simulator_options,
)

from .shared import airbyte_records

UA = "simulator tests (dev@example.com)"
_FIXTURES = (harvest_simulator, harvest_simulator_options)


def headers(sim: HarvestSimulator, token: str | None = None) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {token or sim.access_token}",
        "Harvest-Account-Id": str(sim.account_id),
        "User-Agent": UA,
    }


@pytest.fixture
async def sim() -> AsyncIterator[HarvestSimulator]:
    async with HarvestSimulator(seed=0) as s:
        yield s
    assert s.errors == []


@pytest.fixture
async def http(sim: HarvestSimulator) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(headers=headers(sim)) as session:
        yield session


async def call(
    session: aiohttp.ClientSession, method: str, url: str, **kwargs: Any
) -> tuple[int, Any, CIMultiDictProxy[str]]:
    async with session.request(method, url, **kwargs) as resp:
        text = await resp.text()
        return resp.status, json.loads(text) if text else None, resp.headers


async def walk(session: aiohttp.ClientSession, url: str, key: str) -> list[dict[str, Any]]:
    """Follow links.next to the end; every item of every page."""
    items: list[dict[str, Any]] = []
    next_url: str | None = url
    while next_url:
        status, body, _ = await call(session, "GET", next_url)
        assert status == 200, body
        items.extend(body[key])
        next_url = body["links"]["next"]
    return items


# ----------------------------------------------------------------------------- auth


async def test_auth_checks(sim: HarvestSimulator) -> None:
    url = f"{sim.base_url}/users/me"
    good = headers(sim)
    async with aiohttp.ClientSession() as s:
        status, body, _ = await call(s, "GET", url, headers=good)
        assert status == 200
        assert body["id"] == sim.world.me_id

        no_token = {k: v for k, v in good.items() if k != "Authorization"}
        status, body, _ = await call(s, "GET", url, headers=no_token)
        assert status == 401
        assert body["error"] == "invalid_token"
        assert body["error_description"]

        status, body, _ = await call(
            s, "GET", url, headers={**good, "Authorization": "Bearer nope"}
        )
        assert (status, body["error"]) == (401, "invalid_token")

        no_account = {k: v for k, v in good.items() if k != "Harvest-Account-Id"}
        status, body, _ = await call(s, "GET", url, headers=no_account)
        assert (status, body["error"]) == (401, "invalid_token")

        status, _, _ = await call(s, "GET", url, headers={**good, "Harvest-Account-Id": "1"})
        assert status == 403

    no_agent = {k: v for k, v in good.items() if k != "User-Agent"}
    async with aiohttp.ClientSession(skip_auto_headers=["User-Agent"]) as s:
        status, body, _ = await call(s, "GET", url, headers=no_agent)
    assert status == 400
    assert "User-Agent" in body["message"]
    assert sim.counters.by_status[401] == 3


async def test_unknown_paths_and_ids_are_404(
    sim: HarvestSimulator, http: aiohttp.ClientSession
) -> None:
    for path in ("nope", "clients/1", "clients/abc", "projects/1/user_assignments"):
        status, body, _ = await call(http, "GET", f"{sim.base_url}/{path}")
        assert status == 404, path
        assert body == {"status": 404, "error": "Not Found"}


# ----------------------------------------------------------------------------- pagination


@pytest.mark.parametrize("per_page", ["0", "2001", "-1", "ten"])
async def test_per_page_out_of_range_is_422(
    sim: HarvestSimulator, http: aiohttp.ClientSession, per_page: str
) -> None:
    status, body, _ = await call(
        http, "GET", f"{sim.base_url}/time_entries", params={"per_page": per_page}
    )
    assert status == 422
    assert body["message"]


async def test_cursor_pagination_walks_every_item_once(
    sim: HarvestSimulator, http: aiohttp.ClientSession
) -> None:
    status, first, _ = await call(
        http, "GET", f"{sim.base_url}/time_entries", params={"per_page": "150"}
    )
    assert status == 200
    assert first["per_page"] == 150
    assert first["page"] == 1
    assert first["next_page"] == 2
    assert first["previous_page"] is None
    assert first["total_entries"] == 2000
    assert "cursor=" in first["links"]["next"]
    assert "?page=" not in first["links"]["next"]
    assert "&page=" not in first["links"]["next"]
    items = await walk(http, f"{sim.base_url}/time_entries?per_page=150", "time_entries")
    ids = [e["id"] for e in items]
    assert len(ids) == len(set(ids)) == 2000 == sim.count("time_entries")
    assert ids == sorted(ids, reverse=True)  # newest first, the cursor is the last id


async def test_cursor_walk_is_stable_under_concurrent_inserts_and_deletes(
    sim: HarvestSimulator, http: aiohttp.ClientSession
) -> None:
    before = {e["id"] for e in sim.records("time_entries")}
    entry = sim.records("time_entries", limit=1)[0]
    seen: list[int] = []
    url: str | None = f"{sim.base_url}/time_entries?per_page=400"
    deleted: int | None = None
    while url:
        _, body, _ = await call(http, "GET", url)
        seen.extend(e["id"] for e in body["time_entries"])
        url = body["links"]["next"]
        # write while walking: new entries appear above the cursor, never in later pages
        status, created, _ = await call(
            http,
            "POST",
            f"{sim.base_url}/time_entries",
            json={
                "project_id": entry["project"]["id"],
                "task_id": entry["task"]["id"],
                "user_id": entry["user"]["id"],
                "spent_date": "2024-05-01",
                "hours": 1.5,
            },
        )
        assert status == 201, created
        if deleted is None:
            deleted = min(before)  # still ahead of the cursor: it must not be served
            assert (await call(http, "DELETE", f"{sim.base_url}/time_entries/{deleted}"))[0] == 200
    assert len(seen) == len(set(seen))
    assert set(seen) == before - {deleted}


async def test_page_based_pagination_walks_every_item_once(
    sim: HarvestSimulator, http: aiohttp.ClientSession
) -> None:
    status, body, _ = await call(http, "GET", f"{sim.base_url}/invoices", params={"per_page": "7"})
    assert status == 200
    assert (body["page"], body["total_pages"], body["total_entries"]) == (1, 5, 30)
    assert body["next_page"] == 2
    assert body["previous_page"] is None
    assert body["links"]["next"].endswith("page=2&per_page=7")
    assert body["links"]["last"].endswith("page=5&per_page=7")
    items = await walk(http, f"{sim.base_url}/invoices?per_page=7", "invoices")
    assert len(items) == len({i["id"] for i in items}) == 30
    status, last, _ = await call(
        http, "GET", f"{sim.base_url}/invoices", params={"per_page": "7", "page": "5"}
    )
    assert last["next_page"] is None
    assert last["previous_page"] == 4
    assert len(last["invoices"]) == 2
    assert last["links"]["next"] is None


async def test_any_list_can_be_page_based_and_filters_stay_in_links() -> None:
    async with (
        HarvestSimulator(seed=1, page_based=["*"]) as sim,
        aiohttp.ClientSession(headers=headers(sim)) as http,
    ):
        project = sim.records("projects")[0]["id"]
        url = f"{sim.base_url}/time_entries?per_page=50&project_id={project}"
        _, first, _ = await call(http, "GET", url)
        assert first["page"] == 1
        assert first["total_pages"] is not None
        if first["links"]["next"]:
            assert f"project_id={project}" in first["links"]["next"]
        items = await walk(http, url, "time_entries")
        assert {e["project"]["id"] for e in items} == {project}
        expected = [e for e in sim.records("time_entries") if e["project"]["id"] == project]
        assert [e["id"] for e in items] == [e["id"] for e in expected]
        assert first["total_entries"] == len(expected)


async def test_list_filters(sim: HarvestSimulator, http: aiohttp.ClientSession) -> None:
    base = sim.base_url
    everything = sim.records("time_entries")
    user = everything[0]["user"]["id"]
    items = await walk(
        http, f"{base}/time_entries?user_id={user}&from=2024-03-01&to=2024-03-31", "time_entries"
    )
    expected = [
        e["id"]
        for e in everything
        if e["user"]["id"] == user and "2024-03-01" <= e["spent_date"] <= "2024-03-31"
    ]
    assert [e["id"] for e in items] == expected
    assert expected
    _, body, _ = await call(http, "GET", f"{base}/clients", params={"is_active": "false"})
    assert body["clients"]
    assert all(not c["is_active"] for c in body["clients"])
    status, _, _ = await call(http, "GET", f"{base}/clients", params={"is_active": "maybe"})
    assert status == 422
    since = "2024-12-01T00:00:00Z"
    items = await walk(http, f"{base}/time_entries?updated_since={since}", "time_entries")
    assert [e["id"] for e in items] == [e["id"] for e in everything if e["updated_at"] >= since]


# ----------------------------------------------------------------------------- CRUD


async def test_crud_changes_state_and_moves_updated_at(
    sim: HarvestSimulator, http: aiohttp.ClientSession
) -> None:
    base = sim.base_url
    status, client, _ = await call(
        http, "POST", f"{base}/clients", json={"name": "Sim Co", "currency": "EUR"}
    )
    assert status == 201
    assert client["created_at"] == client["updated_at"]
    assert client["is_active"] is True
    assert client["currency"] == "EUR"
    cid = client["id"]
    status, again, _ = await call(http, "GET", f"{base}/clients/{cid}")
    assert again == client

    status, patched, _ = await call(
        http, "PATCH", f"{base}/clients/{cid}", json={"is_active": False}
    )
    assert status == 200
    assert patched["is_active"] is False
    assert patched["name"] == "Sim Co"
    assert patched["currency"] == "EUR"
    assert patched["updated_at"] > client["updated_at"]
    assert patched["created_at"] == client["created_at"]

    status, body, _ = await call(http, "POST", f"{base}/clients", json={"name": "Sim Co"})
    assert status == 422
    assert "taken" in body["message"]
    status, body, _ = await call(http, "POST", f"{base}/clients", json={})
    assert status == 422
    status, body, _ = await call(http, "PATCH", f"{base}/clients/{cid}", json={"is_active": "yes"})
    assert status == 422

    status, body, _ = await call(http, "DELETE", f"{base}/clients/{cid}")
    assert (status, body) == (200, None)
    assert (await call(http, "GET", f"{base}/clients/{cid}"))[0] == 404
    assert (await call(http, "DELETE", f"{base}/clients/{cid}"))[0] == 404
    assert sim.counters.creates["clients"] == 1
    assert sim.counters.updates["clients"] == 1
    assert sim.counters.deletes["clients"] == 1


async def test_generated_time_entry_update_and_delete(
    sim: HarvestSimulator, http: aiohttp.ClientSession
) -> None:
    base = sim.base_url
    entry = sim.records("time_entries", limit=5)[-1]
    url = f"{base}/time_entries/{entry['id']}"
    status, patched, _ = await call(http, "PATCH", url, json={"notes": "edited", "hours": 2})
    assert status == 200
    assert patched["notes"] == "edited"
    assert patched["hours"] == 2.0
    assert patched["spent_date"] == entry["spent_date"]
    assert patched["updated_at"] > entry["updated_at"]
    _, listed, _ = await call(http, "GET", f"{base}/time_entries", params={"per_page": "5"})
    assert listed["time_entries"][-1] == patched  # the overlay is what lists serve
    assert (await call(http, "DELETE", url))[0] == 200
    assert (await call(http, "GET", url))[0] == 404
    assert sim.count("time_entries") == 1999


async def test_time_entry_create_timer_stop_restart_external_reference(
    sim: HarvestSimulator, http: aiohttp.ClientSession
) -> None:
    base = sim.base_url
    ua = next(a for a in sim.records("user_assignments") if a["user"]["id"] == sim.world.me_id)
    project = ua["project"]["id"]
    tasks = [t for t in sim.records("task_assignments") if t["project"]["id"] == project]
    body = {
        "project_id": project,
        "task_id": tasks[0]["task"]["id"],
        "spent_date": "2025-01-15",
        "external_reference": {
            "id": "card-1",
            "group_id": "board",
            "permalink": "https://trello.com/c/1",
        },
    }
    status, entry, _ = await call(http, "POST", f"{base}/time_entries", json=body)
    assert status == 201, entry
    assert entry["is_running"] is True
    assert entry["hours"] == 0.0
    assert entry["user"]["id"] == sim.world.me_id
    assert entry["timer_started_at"]
    assert entry["external_reference"]["id"] == "card-1"
    assert entry["external_reference"]["service"] == "trello.com"
    url = f"{base}/time_entries/{entry['id']}"

    sim.advance(90 * 60)
    status, stopped, _ = await call(http, "PATCH", f"{url}/stop")
    assert status == 200
    assert stopped["is_running"] is False
    assert stopped["hours"] == 1.5
    assert stopped["timer_started_at"] is None
    assert (await call(http, "PATCH", f"{url}/stop"))[0] == 422

    status, restarted, _ = await call(http, "PATCH", f"{url}/restart")
    assert restarted["is_running"] is True
    sim.advance(30 * 60)
    _, stopped, _ = await call(http, "PATCH", f"{url}/stop")
    assert stopped["hours"] == 2.0

    status, body, _ = await call(http, "DELETE", f"{url}/external_reference")
    assert (status, body) == (200, None)
    _, entry, _ = await call(http, "GET", url)
    assert entry["external_reference"] is None

    status, body, _ = await call(
        http,
        "POST",
        f"{base}/time_entries",
        json={"project_id": project, "task_id": 1, "spent_date": "2025-01-15", "hours": 1},
    )
    assert status == 422


async def test_expenses_units_receipts_and_rules(
    sim: HarvestSimulator, http: aiohttp.ClientSession
) -> None:
    base = sim.base_url
    categories = {c["name"]: c for c in sim.records("expense_categories")}
    mileage = categories["Mileage"]
    assert mileage["unit_price"] == 0.575
    assert mileage["unit_name"] == "mile"
    project = next(
        a for a in sim.records("user_assignments") if a["user"]["id"] == sim.world.me_id
    )["project"]["id"]
    status, by_units, _ = await call(
        http,
        "POST",
        f"{base}/expenses",
        json={
            "project_id": project,
            "expense_category_id": mileage["id"],
            "spent_date": "2025-01-10",
            "units": 100,
        },
    )
    assert status == 201, by_units
    assert by_units["units"] == 100.0
    assert by_units["total_cost"] == 57.5
    assert by_units["expense_category"]["unit_price"] == 0.575
    status, _, _ = await call(
        http,
        "POST",
        f"{base}/expenses",
        json={
            "project_id": project,
            "expense_category_id": mileage["id"],
            "spent_date": "2025-01-10",
            "total_cost": 10,
        },
    )
    assert status == 422
    status, _, _ = await call(
        http,
        "POST",
        f"{base}/expenses",
        json={
            "project_id": project,
            "expense_category_id": categories["Meals"]["id"],
            "spent_date": "2025-01-10",
            "units": 2,
        },
    )
    assert status == 422

    form = aiohttp.FormData()
    form.add_field("project_id", str(project))
    form.add_field("expense_category_id", str(categories["Meals"]["id"]))
    form.add_field("spent_date", "2025-01-11")
    form.add_field("total_cost", "33.35")
    form.add_field("billable", "false")
    form.add_field("receipt", b"GIF89a-receipt", filename="lunch.gif", content_type="image/gif")
    status, meal, _ = await call(http, "POST", f"{base}/expenses", data=form)
    assert status == 201, meal
    assert meal["total_cost"] == 33.35
    assert meal["billable"] is False
    assert meal["receipt"]["file_name"] == "lunch.gif"
    assert meal["receipt"]["content_type"] == "image/gif"
    assert meal["receipt"]["file_size"] == len(b"GIF89a-receipt")
    status, meal2, _ = await call(
        http, "PATCH", f"{base}/expenses/{meal['id']}", json={"delete_receipt": True}
    )
    assert meal2["receipt"] is None
    assert meal2["updated_at"] > meal["updated_at"]


async def test_invoice_messages_payments_and_estimate_events(
    sim: HarvestSimulator, http: aiohttp.ClientSession
) -> None:
    base = sim.base_url
    client = sim.records("clients")[0]["id"]
    status, inv, _ = await call(
        http,
        "POST",
        f"{base}/invoices",
        json={
            "client_id": client,
            "subject": "Work",
            "payment_term": "net 30",
            "issue_date": "2025-01-01",
            "line_items": [
                {"kind": "Service", "description": "Dev", "quantity": 10, "unit_price": 100}
            ],
        },
    )
    assert status == 201, inv
    assert inv["state"] == "draft"
    assert inv["amount"] == 1000.0
    assert inv["due_date"] == "2025-01-31"
    assert len(inv["line_items"]) == 1
    url = f"{base}/invoices/{inv['id']}"

    status, tmpl, _ = await call(http, "GET", f"{url}/messages/new", params={"reminder": "true"})
    assert status == 200
    assert tmpl["invoice_id"] == inv["id"]
    assert tmpl["reminder"] is True

    status, msg, _ = await call(
        http,
        "POST",
        f"{url}/messages",
        json={"recipients": [{"name": "Bo", "email": "bo@example.com"}], "subject": "Hi"},
    )
    assert status == 201
    assert msg["event_type"] is None
    assert msg["subject"] == "Hi"
    _, inv, _ = await call(http, "GET", url)
    assert inv["state"] == "open"
    assert inv["sent_at"]
    assert (await call(http, "POST", f"{url}/messages", json={}))[0] == 422

    status, pay, _ = await call(
        http, "POST", f"{url}/payments", json={"amount": 400, "paid_date": "2025-01-05"}
    )
    assert status == 201
    assert pay["amount"] == 400.0
    _, inv, _ = await call(http, "GET", url)
    assert inv["due_amount"] == 600.0
    assert inv["state"] == "open"
    _, pay2, _ = await call(http, "POST", f"{url}/payments", json={"amount": 600})
    _, inv, _ = await call(http, "GET", url)
    assert inv["state"] == "paid"
    assert inv["due_amount"] == 0.0
    assert inv["paid_date"]
    assert (await call(http, "DELETE", f"{url}/payments/{pay2['id']}"))[0] == 200
    _, inv, _ = await call(http, "GET", url)
    assert inv["state"] == "open"
    assert inv["due_amount"] == 600.0
    payments = await walk(http, f"{url}/payments", "invoice_payments")
    assert [p["id"] for p in payments] == [pay["id"]]

    for event, state in (("close", "closed"), ("re-open", "open"), ("draft", "draft")):
        status, m, _ = await call(http, "POST", f"{url}/messages", json={"event_type": event})
        assert status == 201
        assert m["event_type"] == event
        _, inv, _ = await call(http, "GET", url)
        assert inv["state"] == state
    messages = await walk(http, f"{url}/messages", "invoice_messages")
    assert len(messages) == 4
    assert (await call(http, "DELETE", f"{url}/messages/{msg['id']}"))[0] == 200

    status, line_patch, _ = await call(
        http,
        "PATCH",
        url,
        json={
            "line_items": [
                {"id": inv["line_items"][0]["id"], "_destroy": True},
                {"kind": "Product", "unit_price": 50, "quantity": 2},
            ]
        },
    )
    assert [li["amount"] for li in line_patch["line_items"]] == [100.0]

    status, est, _ = await call(
        http,
        "POST",
        f"{base}/estimates",
        json={"client_id": client, "line_items": [{"kind": "Service", "unit_price": 500}]},
    )
    assert status == 201
    assert est["state"] == "draft"
    assert est["amount"] == 500.0
    eurl = f"{base}/estimates/{est['id']}"
    events: list[tuple[str | None, str]] = [
        (None, "sent"),
        ("accept", "accepted"),
        ("re-open", "sent"),
        ("decline", "declined"),
    ]
    for est_event, state in events:
        message: dict[str, Any] = (
            {"event_type": est_event}
            if est_event
            else {"recipients": [{"email": "buyer@example.com"}]}
        )
        assert (await call(http, "POST", f"{eurl}/messages", json=message))[0] == 201
        _, est, _ = await call(http, "GET", eurl)
        assert est["state"] == state
    assert est["declined_at"]
    assert est["accepted_at"] is None
    assert sim.counters.creates["invoice_payments"] == 2
    assert sim.counters.deletes["invoice_payments"] == 1


async def test_users_teammates_rates_roles_company_assignments(
    sim: HarvestSimulator, http: aiohttp.ClientSession
) -> None:
    base = sim.base_url
    status, user, _ = await call(
        http,
        "POST",
        f"{base}/users",
        json={
            "first_name": "New",
            "last_name": "Person",
            "email": "new@example.com",
            "roles": ["Designer", "Brand New Role"],
        },
    )
    assert status == 201
    assert set(user["roles"]) == {"Designer", "Brand New Role"}
    uid = user["id"]
    roles = {r["name"]: r for r in sim.records("roles")}
    assert uid in roles["Brand New Role"]["user_ids"]

    me = sim.world.me_id
    status, body, _ = await call(
        http, "PATCH", f"{base}/users/{me}/teammates", json={"teammate_ids": [uid]}
    )
    assert status == 200
    assert [t["id"] for t in body["teammates"]] == [uid]
    mates = await walk(http, f"{base}/users/{me}/teammates", "teammates")
    assert mates == [
        {"id": uid, "first_name": "New", "last_name": "Person", "email": "new@example.com"}
    ]

    status, rate, _ = await call(
        http, "POST", f"{base}/users/{uid}/billable_rates", json={"amount": 180}
    )
    assert status == 201
    assert rate["amount"] == 180.0
    assert rate["start_date"] is None
    _, fetched, _ = await call(http, "GET", f"{base}/users/{uid}/billable_rates/{rate['id']}")
    assert fetched == rate
    _, user, _ = await call(http, "GET", f"{base}/users/{uid}")
    assert user["default_hourly_rate"] == 180.0
    status, cost, _ = await call(
        http,
        "POST",
        f"{base}/users/{uid}/cost_rates",
        json={"amount": 70, "start_date": "2025-01-01"},
    )
    assert status == 201
    assert cost["start_date"] == "2025-01-01"

    project = sim.records("projects")[0]["id"]
    status, ua, _ = await call(
        http,
        "POST",
        f"{base}/projects/{project}/user_assignments",
        json={"user_id": uid, "is_project_manager": True},
    )
    assert status == 201
    assert ua["hourly_rate"] == 180.0
    assert ua["user"]["id"] == uid
    assert (
        await call(
            http, "POST", f"{base}/projects/{project}/user_assignments", json={"user_id": uid}
        )
    )[0] == 422
    pas = await walk(http, f"{base}/users/{uid}/project_assignments", "project_assignments")
    assert [p["project"]["id"] for p in pas] == [project]
    assert pas[0]["task_assignments"]
    assert "task" in pas[0]["task_assignments"][0]
    assert (await call(http, "DELETE", f"{base}/projects/{project}/user_assignments/{ua['id']}"))[
        0
    ] == 200
    assert (await call(http, "DELETE", f"{base}/users/{uid}"))[0] == 200
    assert (await call(http, "GET", f"{base}/users/{uid}"))[0] == 404
    # a user with time entries cannot be deleted; Harvest says archive instead
    busy = sim.records("time_entries", limit=1)[0]["user"]["id"]
    assert (await call(http, "DELETE", f"{base}/users/{busy}"))[0] == 422

    status, company, _ = await call(
        http, "PATCH", f"{base}/company", json={"wants_timestamp_timers": True}
    )
    assert status == 200
    assert company["wants_timestamp_timers"] is True


async def test_deleting_a_project_deletes_its_time_entries(
    sim: HarvestSimulator, http: aiohttp.ClientSession
) -> None:
    project = sim.records("time_entries", limit=1)[0]["project"]["id"]
    mine = [e for e in sim.records("time_entries") if e["project"]["id"] == project]
    assert (await call(http, "DELETE", f"{sim.base_url}/projects/{project}"))[0] == 200
    items = await walk(http, f"{sim.base_url}/time_entries", "time_entries")
    assert len(items) == 2000 - len(mine)
    assert project not in {e["project"]["id"] for e in items}
    assert (await call(http, "GET", f"{sim.base_url}/time_entries/{mine[0]['id']}"))[0] == 404


# ----------------------------------------------------------------------------- rate limits


async def test_rate_limit_429_with_retry_after_in_a_scaled_window() -> None:
    async with (
        HarvestSimulator(seed=0, rate_limit=(3, 2.5)) as sim,
        aiohttp.ClientSession(headers=headers(sim)) as http,
    ):
        url = f"{sim.base_url}/company"
        statuses = [(await call(http, "GET", url))[0] for _ in range(3)]
        assert statuses == [200, 200, 200]
        status, body, hdrs = await call(http, "GET", url)
        assert status == 429
        assert body["message"] == "This request has been throttled."
        wait = float(hdrs["Retry-After"])
        assert 0 < wait <= 2.5
        assert body["retry_after"] == wait
        assert hdrs["Retry-After"] == str(body["retry_after"])  # ms precision float
        # reports have their own window
        status, _, _ = await call(http, "GET", f"{sim.base_url}/reports/project_budget")
        assert status == 200
        assert sim.counters.throttled == 1
        assert sim.counters.by_status[429] == 1
        sim.reset_rate_limits()
        assert (await call(http, "GET", url))[0] == 200


async def test_retry_after_is_whole_seconds_for_harvest_windows() -> None:
    async with (
        HarvestSimulator(seed=0, reports_rate_limit=(1, 900.0)) as sim,
        aiohttp.ClientSession(headers=headers(sim)) as http,
    ):
        url = f"{sim.base_url}/reports/project_budget"
        assert (await call(http, "GET", url))[0] == 200
        status, body, hdrs = await call(http, "GET", url)
        assert status == 429
        assert hdrs["Retry-After"].isdigit()
        assert 890 <= int(hdrs["Retry-After"]) <= 900
        assert body["retry_after"] == int(hdrs["Retry-After"])


async def test_client_limiter_from_sim_client_never_triggers_429() -> None:
    async with HarvestSimulator(seed=0, rate_limit=(4, 0.05)) as sim, sim.client() as h:
        for _ in range(12):
            assert (await h.users.me()).id == sim.world.me_id
        assert sim.counters.throttled == 0
        assert sim.counters.by_status[200] == 12


# ----------------------------------------------------------------------------- faults


async def test_server_errors_resets_truncation_and_storms() -> None:
    async with HarvestSimulator(seed=0) as sim, aiohttp.ClientSession(headers=headers(sim)) as http:
        url = f"{sim.base_url}/company"
        sim.faults.inject("server_error", "reset", "truncate", "throttle")
        status, _, _ = await call(http, "GET", url)
        assert status in (500, 502, 503)
        # POST: aiohttp would silently re-send a GET once after a dropped connection
        with pytest.raises(aiohttp.ClientConnectionError):
            await call(http, "POST", f"{sim.base_url}/tasks", json={"name": "Never"})
        assert not any(t["name"] == "Never" for t in sim.records("tasks"))
        with pytest.raises(aiohttp.ClientPayloadError):
            await call(http, "GET", url)
        status, body, hdrs = await call(http, "GET", url)
        assert status == 429
        assert body["message"] == "This request has been throttled."
        assert "Retry-After" in hdrs
        assert (await call(http, "GET", url))[0] == 200

        sim.faults.storm(30)
        for _ in range(3):
            status, _, hdrs = await call(http, "GET", url)
            assert status == 429
            assert 29 <= int(hdrs["Retry-After"]) <= 30
        sim.faults.clear()
        assert (await call(http, "GET", url))[0] == 200

        sim.faults.server_error_rate = 1.0
        sim.faults.server_error_statuses = (503,)
        assert (await call(http, "GET", url))[0] == 503
        sim.faults.server_error_rate = 0.0
        with pytest.raises(ValueError, match="server_error_rate"):
            sim.faults.server_error_rate = 2.0

        records = list(sim.requests)
        assert [r.fault for r in records[:4]] == ["server_error", "reset", "truncate", "throttle"]
        assert records[1].status is None
        assert records[2].status == 200
        assert sim.counters.faults["reset"] == 1
        assert sim.counters.faults["throttle"] == 4


async def test_reset_after_processing_keeps_the_write() -> None:
    async with HarvestSimulator(seed=0) as sim, aiohttp.ClientSession(headers=headers(sim)) as http:
        sim.faults.reset_after_processing = True
        sim.faults.inject("reset")
        with pytest.raises(aiohttp.ClientConnectionError):
            await call(http, "POST", f"{sim.base_url}/tasks", json={"name": "Lost reply"})
        assert any(t["name"] == "Lost reply" for t in sim.records("tasks"))


async def test_latency_is_added_and_recorded() -> None:
    async with (
        HarvestSimulator(seed=0, latency=(0.03, 0.0)) as sim,
        aiohttp.ClientSession(headers=headers(sim)) as http,
    ):
        await call(http, "GET", f"{sim.base_url}/company")
        record = sim.requests[-1]
        assert record.ended - record.started >= 0.03
        assert (record.method, record.path, record.status) == ("GET", "/v2/company", 200)


async def test_random_faults_are_deterministic_per_seed() -> None:
    async def statuses(seed: int) -> list[int]:
        async with (
            HarvestSimulator(seed=seed, server_error_rate=0.5) as sim,
            aiohttp.ClientSession(headers=headers(sim)) as http,
        ):
            return [(await call(http, "GET", f"{sim.base_url}/company"))[0] for _ in range(16)]

    first = await statuses(3)
    assert first == await statuses(3)
    assert 200 in first
    assert any(s >= 500 for s in first)
    with pytest.raises(ValueError, match="not both"):
        HarvestSimulator(faults=Faults(), reset_rate=0.1)


async def test_client_retries_through_an_injected_fault() -> None:
    async with HarvestSimulator(seed=0) as sim, sim.client(max_retries=2) as h:
        sim.faults.inject("server_error")
        company = await h.company.get()
        assert company.name == "Simulated Agency"
        assert [r.fault for r in sim.requests] == ["server_error", None]


# ----------------------------------------------------------------------------- OAuth


async def test_oauth_code_exchange_refresh_expiry_and_accounts() -> None:
    async with (
        HarvestSimulator(seed=0, token_lifetime=3600) as sim,
        aiohttp.ClientSession(headers={"User-Agent": UA}) as http,
    ):
        token_url = f"{sim.id_base_url}/api/v2/oauth2/token"
        code = sim.issue_authorization_code()
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "client_id": sim.client_id,
            "client_secret": sim.client_secret,
        }
        status, token, _ = await call(http, "POST", token_url, data=form)
        assert status == 200, token
        assert token["token_type"] == "bearer"
        assert token["expires_in"] == 3600
        assert token["access_token"]
        assert token["refresh_token"]
        status, body, _ = await call(http, "POST", token_url, data=form)  # single use
        assert (status, body["error"]) == (400, "invalid_grant")

        api = f"{sim.base_url}/users/me"
        status, _, _ = await call(http, "GET", api, headers=headers(sim, token["access_token"]))
        assert status == 200

        refresh = {
            "grant_type": "refresh_token",
            "refresh_token": token["refresh_token"],
            "client_id": sim.client_id,
            "client_secret": sim.client_secret,
        }
        status, fresh, _ = await call(http, "POST", token_url, json=refresh)  # JSON body
        assert status == 200
        assert fresh["access_token"] != token["access_token"]
        assert (await call(http, "POST", token_url, json=refresh))[0] == 400  # rotated
        bad_client = {**refresh, "refresh_token": fresh["refresh_token"], "client_secret": "wrong"}
        status, body, _ = await call(http, "POST", token_url, json=bad_client)
        assert (status, body["error"]) == (401, "invalid_client")

        sim.advance(3601)
        status, body, _ = await call(http, "GET", api, headers=headers(sim, fresh["access_token"]))
        assert (status, body["error"]) == (401, "invalid_token")
        status, _, _ = await call(http, "GET", api, headers=headers(sim))
        assert status == 200  # the personal token does not expire

        status, accounts, _ = await call(
            http,
            "GET",
            f"{sim.id_base_url}/api/v2/accounts",
            headers={"Authorization": f"Bearer {sim.access_token}"},
        )
        assert status == 200
        assert accounts["user"]["id"] == sim.world.me_id
        assert accounts["accounts"] == [
            {
                "id": sim.account_id,
                "name": "Simulated Agency",
                "product": "harvest",
                "google_sign_in_required": False,
            }
        ]


async def test_oauth_through_the_library() -> None:
    from harvest_async.oauth import HarvestID

    async with HarvestSimulator(seed=0) as sim, HarvestID(base_url=sim.id_base_url) as hid:
        token = await hid.exchange_code(
            sim.issue_authorization_code(), client_id=sim.client_id, client_secret=sim.client_secret
        )
        accounts = await hid.accounts(token.access_token or "")
        assert accounts.accounts is not None
        assert [a.id for a in accounts.accounts] == [sim.account_id]
        refreshed = await hid.refresh(
            token.refresh_token or "", client_id=sim.client_id, client_secret=sim.client_secret
        )
        async with sim.client(access_token=refreshed.access_token) as h:
            assert (await h.users.me()).id == sim.world.me_id


# ----------------------------------------------------------------------------- reports


async def test_reports_are_computed_from_the_data(
    sim: HarvestSimulator, http: aiohttp.ClientSession
) -> None:
    base = sim.base_url
    window = {"from": "20240101", "to": "20241230"}
    entries = await walk(http, f"{base}/time_entries?from=2024-01-01&to=2024-12-30", "time_entries")
    hours: dict[int, int] = defaultdict(int)
    billable: dict[int, int] = defaultdict(int)
    for e in entries:
        hours[e["project"]["id"]] += round(e["hours"] * 100)
        if e["billable"]:
            billable[e["project"]["id"]] += round(e["hours"] * 100)
    status, report, _ = await call(http, "GET", f"{base}/reports/time/projects", params=window)
    assert status == 200
    assert report["page"] == 1
    assert report["total_pages"] == 1
    got = {r["project_id"]: r for r in report["results"]}
    assert {p: round(r["total_hours"] * 100) for p, r in got.items()} == dict(hours)
    assert {p: round(r["billable_hours"] * 100) for p, r in got.items() if r["billable_hours"]} == {
        p: h for p, h in billable.items() if h
    }

    expenses = await walk(http, f"{base}/expenses?from=2024-01-01&to=2024-12-30", "expenses")
    cost: dict[int, int] = defaultdict(int)
    for x in expenses:
        cost[x["expense_category"]["id"]] += round(x["total_cost"] * 100)
    _, report, _ = await call(http, "GET", f"{base}/reports/expenses/categories", params=window)
    per_cat: dict[int, int] = defaultdict(int)
    for r in report["results"]:
        per_cat[r["expense_category_id"]] += round(r["total_amount"] * 100)
    assert dict(per_cat) == dict(cost)

    # a write shows up in the next report
    some = entries[0]
    await call(http, "PATCH", f"{base}/time_entries/{some['id']}", json={"hours": 100})
    _, report, _ = await call(http, "GET", f"{base}/reports/time/projects", params=window)
    after = {r["project_id"]: r for r in report["results"]}
    pid = some["project"]["id"]
    assert round(after[pid]["total_hours"] * 100) == hours[pid] + 10000 - round(some["hours"] * 100)

    for path in (
        "time/clients",
        "time/tasks",
        "time/team",
        "expenses/clients",
        "expenses/projects",
        "expenses/team",
        "uninvoiced",
    ):
        status, report, _ = await call(http, "GET", f"{base}/reports/{path}", params=window)
        assert status == 200, path
        assert report["results"], path
    _, budget, _ = await call(
        http, "GET", f"{base}/reports/project_budget", params={"is_active": "true"}
    )
    assert budget["results"]
    for row in budget["results"]:
        assert row["is_active"] is True
        assert row["budget_remaining"] == round(row["budget"] - row["budget_spent"], 2)


@pytest.mark.parametrize(
    ("start", "end", "status"),
    [
        ("20200101", "20210101", 400),  # to - from is 366 days (Harvest's recorded 400)
        ("20240101", "20241231", 200),  # a whole leap year: to - from is 365 days
        ("20230101", "20231231", 200),  # 365 days
        ("2024-01-01", "2024-12-30", 200),
        ("20240201", "20240101", 422),
    ],
)
async def test_report_timeframe_rule(
    sim: HarvestSimulator, http: aiohttp.ClientSession, start: str, end: str, status: int
) -> None:
    got, body, _ = await call(
        http, "GET", f"{sim.base_url}/reports/time/clients", params={"from": start, "to": end}
    )
    assert got == status
    if status == 400:
        assert body == {"message": "Invalid timeframe: must not exceed 1 year"}
    assert (await call(http, "GET", f"{sim.base_url}/reports/uninvoiced"))[0] == 422


# ----------------------------------------------------------------------------- data


async def test_same_seed_same_data_different_seed_different_data() -> None:
    paths = [
        "users",
        "clients",
        "projects",
        "time_entries?per_page=300",
        "expenses?per_page=100",
        "invoices",
        "reports/time/team?from=20240101&to=20241230",
    ]

    async def snapshot(seed: int) -> list[Any]:
        async with (
            HarvestSimulator(seed=seed) as sim,
            aiohttp.ClientSession(headers=headers(sim)) as http,
        ):
            out = []
            for path in paths:
                _, body, _ = await call(http, "GET", f"{sim.base_url}/{path}")
                body.pop("links")
                out.append(body)
            return [sim.account_id, sim.access_token, out]

    assert await snapshot(5) == await snapshot(5)
    assert await snapshot(5) != await snapshot(6)


async def test_json_shapes_decimals_dates_and_timestamps(
    sim: HarvestSimulator, http: aiohttp.ClientSession
) -> None:
    async with http.get(f"{sim.base_url}/time_entries", params={"per_page": "50"}) as resp:
        raw = await resp.text()
    body = json.loads(raw, parse_float=Decimal)
    entry = body["time_entries"][0]
    assert set(entry) >= {
        "id",
        "spent_date",
        "user",
        "client",
        "project",
        "task",
        "user_assignment",
        "task_assignment",
        "hours",
        "hours_without_timer",
        "rounded_hours",
        "notes",
        "is_locked",
        "locked_reason",
        "is_closed",
        "is_billed",
        "timer_started_at",
        "started_time",
        "ended_time",
        "is_running",
        "invoice",
        "external_reference",
        "billable",
        "budgeted",
        "billable_rate",
        "cost_rate",
        "created_at",
        "updated_at",
        "approval_status",
        "is_explicitly_locked",
    }
    assert isinstance(entry["hours"], Decimal)
    dt.date.fromisoformat(entry["spent_date"])
    assert entry["created_at"].endswith("Z")
    dt.datetime.fromisoformat(entry["created_at"])
    assert '"cost_rate":' in raw
    assert ".0," in raw
    assert json.loads(raw) == json.loads(json.dumps(json.loads(raw)))
    # the fast JSON path and the object path agree
    for e in body["time_entries"][:10]:
        _, single, _ = await call(http, "GET", f"{sim.base_url}/time_entries/{e['id']}")
        assert single == json.loads(json.dumps(e, default=float))


REPORT_WINDOW = "from=20240101&to=20241230"
#: Airbyte stream -> simulator path ({inv}, {est}, {me} filled in).
AIRBYTE_STREAMS = {
    "clients": "clients",
    "contacts": "contacts",
    "company": "company",
    "invoices": "invoices",
    "invoice_item_categories": "invoice_item_categories",
    "estimates": "estimates",
    "estimate_item_categories": "estimate_item_categories",
    "expenses": "expenses",
    "expense_categories": "expense_categories",
    "tasks": "tasks",
    "time_entries": "time_entries",
    "user_assignments": "user_assignments",
    "task_assignments": "task_assignments",
    "projects": "projects",
    "roles": "roles",
    "users": "users",
    "invoice_messages": "invoices/{inv}/messages",
    "invoice_payments": "invoices/{inv}/payments",
    "estimate_messages": "estimates/{est}/messages",
    "billable_rates": "users/{me}/billable_rates",
    "cost_rates": "users/{me}/cost_rates",
    "project_assignments": "users/me/project_assignments",
    "time_clients": f"reports/time/clients?{REPORT_WINDOW}",
    "time_projects": f"reports/time/projects?{REPORT_WINDOW}",
    "time_tasks": f"reports/time/tasks?{REPORT_WINDOW}",
    "time_team": f"reports/time/team?{REPORT_WINDOW}",
    "expenses_clients": f"reports/expenses/clients?{REPORT_WINDOW}",
    "expenses_projects": f"reports/expenses/projects?{REPORT_WINDOW}",
    "expenses_categories": f"reports/expenses/categories?{REPORT_WINDOW}",
    "expenses_team": f"reports/expenses/team?{REPORT_WINDOW}",
    "uninvoiced": f"reports/uninvoiced?{REPORT_WINDOW}",
    "project_budget": "reports/project_budget",
}


async def test_records_have_every_field_of_real_harvest_records(
    sim: HarvestSimulator, http: aiohttp.ClientSession
) -> None:
    real: dict[str, dict[str, Any]] = {}
    for line in airbyte_records():
        record = json.loads(line)
        real.setdefault(record["stream"], record["data"])
    assert set(real) == set(AIRBYTE_STREAMS)
    inv = next(i for i in sim.records("invoices") if i["state"] == "paid")["id"]
    est = next(e for e in sim.records("estimates") if e["state"] != "draft")["id"]
    for stream, template in AIRBYTE_STREAMS.items():
        url = f"{sim.base_url}/{template.format(inv=inv, est=est, me=sim.world.me_id)}"
        status, body, _ = await call(http, "GET", url)
        assert status == 200, stream
        if stream == "company":
            ours = body
        else:
            key = next(k for k, v in body.items() if isinstance(v, list))
            assert body[key], stream
            ours = body[key][0]
        theirs = real[stream]
        # parent_id, from and to were added by the connector that captured the records
        assert set(theirs) - {"parent_id", "from", "to"} <= set(ours), stream
        for field, value in theirs.items():
            if isinstance(value, dict) and isinstance(ours.get(field), dict):
                assert set(value) <= set(ours[field]), (stream, field)
            if isinstance(value, list) and value and isinstance(value[0], dict) and ours[field]:
                assert set(value[0]) <= set(ours[field][0]), (stream, field)


async def test_every_list_decodes_through_the_client() -> None:
    async with HarvestSimulator(seed=2, rate_limit=(1000, 1.0)) as sim, sim.client() as h:
        me = await h.users.me()
        assert me.id == sim.world.me_id
        assert me.default_hourly_rate is not None
        counts = {}
        for name in (
            "time_entries",
            "projects",
            "clients",
            "contacts",
            "tasks",
            "users",
            "roles",
            "expenses",
            "expense_categories",
            "invoices",
            "invoice_item_categories",
            "estimates",
            "estimate_item_categories",
            "task_assignments",
            "user_assignments",
        ):
            counts[name] = len(await getattr(h, name).list().collect())
            assert counts[name] == sim.count(name), name
        invoice = await h.invoices.get(sim.records("invoices")[0]["id"])
        assert invoice.line_items is not None
        expense = next(
            x
            for x in await h.expenses.list().collect()
            if x.expense_category and x.expense_category.unit_price
        )
        assert expense.units is not None
        assert isinstance(expense.total_cost, Decimal)
        if hasattr(h, "reports"):  # wired by the client's resources
            rows = await h.reports.time.team(
                from_=dt.date(2024, 1, 1), to=dt.date(2024, 12, 30)
            ).collect()
            assert rows
            assert all(r.total_hours is not None for r in rows)
        created = await h.clients.create(name="Via client")
        updated = await h.clients.update(created.id or 0, is_active=False)
        assert updated.updated_at is not None
        assert created.updated_at is not None
        assert updated.updated_at > created.updated_at
        await h.clients.delete(created.id or 0)
        with pytest.raises(ha.NotFoundError):
            await h.clients.get(created.id or 0)
    assert sim.errors == []


# ----------------------------------------------------------------------------- scale


async def test_a_million_entries_answer_page_one_without_materializing() -> None:
    scale = SimulatorScale(time_entries=1_000_000)
    async with (
        HarvestSimulator(seed=0, scale=scale) as sim,
        aiohttp.ClientSession(headers=headers(sim)) as http,
    ):
        assert sim.materialized == 0
        status, body, _ = await call(http, "GET", f"{sim.base_url}/time_entries")
        assert status == 200
        assert len(body["time_entries"]) == 2000
        assert body["total_entries"] == 1_000_000
        assert sim.materialized == 2000
        status, body, _ = await call(http, "GET", body["links"]["next"])
        assert len(body["time_entries"]) == 2000
        assert sim.materialized == 4000
        # a date window only builds that window's entries
        day = "2024-06-01"
        items = await walk(http, f"{sim.base_url}/time_entries?from={day}&to={day}", "time_entries")
        assert items
        assert {e["spent_date"] for e in items} == {day}
        assert sim.materialized < 4000 + 2 * len(items) + 10
        assert sim.world.time_entries.overrides == {}


async def test_scale_knobs_and_int_multiplier() -> None:
    small = HarvestSimulator(
        scale=SimulatorScale(
            clients=2, projects=3, time_entries=10, expenses=0, invoices=0, estimates=0
        )
    )
    assert small.count("clients") == 2
    assert small.count("time_entries") == 10
    assert small.count("expenses") == 0
    doubled = HarvestSimulator(scale=2)
    assert doubled.count("projects") == 40
    assert doubled.count("time_entries") == 4000
    with pytest.raises(ValueError, match="users"):
        SimulatorScale(users=0)


# ----------------------------------------------------------------------------- log, fixture


async def test_request_log_is_bounded_and_counters_count() -> None:
    async with (
        HarvestSimulator(seed=0, max_log=5) as sim,
        aiohttp.ClientSession(headers=headers(sim)) as http,
    ):
        for _ in range(8):
            await call(http, "GET", f"{sim.base_url}/company", params={"x": "1"})
        assert len(sim.requests) == 5
        record = sim.requests[-1]
        assert record.query == "x=1"
        assert record.params == {"x": "1"}
        assert record.started <= record.ended
        assert sim.counters.requests == 8
        sim.counters.reset()
        assert sim.counters.requests == 0


async def test_fixture_yields_a_started_simulator(
    harvest_simulator: HarvestSimulator,
) -> None:
    assert harvest_simulator.started
    assert harvest_simulator.base_url.startswith("http://127.0.0.1:")
    async with harvest_simulator.client() as h:
        assert (await h.users.me()).id == harvest_simulator.world.me_id
