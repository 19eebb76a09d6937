"""Integration: the real client against the in-process simulator, over loopback.

Every resource is exercised end to end (HTTP, JSON, pagination, retries, errors): list,
get, create, update and delete wherever Harvest has them, and the nested and special
operations. The simulator keeps state, so each write is checked by reading it back,
against the simulator's own records (``sim.records``/``sim.record``) and its counters.

Reports live in ``tests/test_integration_reports.py``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest

import harvest_async as ha
from harvest_async.oauth import HarvestID, OAuthToken
from harvest_async.testing import HarvestSimulator, SimulatorScale

UA = "integration tests (dev@example.com)"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 120
PDF = b"%PDF-1.4\n" + b"x" * 300


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture
async def sim() -> AsyncIterator[HarvestSimulator]:
    """A simulator with windows wide enough that a behaving client never waits."""
    async with HarvestSimulator(
        seed=3, rate_limit=(2000, 0.2), reports_rate_limit=(2000, 0.2)
    ) as s:
        yield s
    assert s.errors == []


@pytest.fixture
async def h(sim: HarvestSimulator) -> AsyncIterator[ha.HarvestClient]:
    """The library's client for ``sim`` (its limiters match the simulator's windows)."""
    async with sim.client(max_retries=2, user_agent=UA) as client:
        yield client
    # A client that behaves never sees a 429 from the windows (injected ones aside).
    assert sim.counters.throttled == sim.counters.faults["throttle"]


def ident(record: Any) -> int:
    """A record's id (models type it ``int | None``)."""
    value: object = record.id
    assert isinstance(value, int)
    return value


def ids(records: list[Any]) -> list[int]:
    return [ident(r) for r in records]


def sim_ids(sim: HarvestSimulator, kind: str) -> list[int]:
    return [r["id"] for r in sim.records(kind)]


def api_requests(sim: HarvestSimulator, path_suffix: str, method: str = "GET") -> list[Any]:
    return [r for r in sim.requests if r.method == method and r.path == f"/v2/{path_suffix}"]


def only_changed(before: Any, after: Any, **changed: Any) -> None:
    """``after`` equals ``before`` with ``changed`` applied and a later ``updated_at``."""
    assert after.updated_at > before.updated_at
    assert after == attrs.evolve(before, updated_at=after.updated_at, **changed)


def my_assignment(sim: HarvestSimulator, *, billable: bool | None = None) -> tuple[int, int]:
    """(project_id, task_id) the token's owner may track time on."""
    me = sim.world.me_id
    projects = {p["id"]: p for p in sim.records("projects")}
    for ua in sim.records("user_assignments"):
        if ua["user"]["id"] != me:
            continue
        pid = ua["project"]["id"]
        for ta in sim.records("task_assignments"):
            if ta["project"]["id"] != pid:
                continue
            if billable is None or (ta["billable"] and projects[pid]["is_billable"]) == billable:
                return pid, ta["task"]["id"]
    raise AssertionError("no assignment for the token's owner")


def unassigned_project(sim: HarvestSimulator) -> int:
    me = sim.world.me_id
    mine = {ua["project"]["id"] for ua in sim.records("user_assignments") if ua["user"]["id"] == me}
    found: int = next(p["id"] for p in sim.records("projects") if p["id"] not in mine)
    return found


def category(sim: HarvestSimulator, *, unit_based: bool) -> dict[str, Any]:
    return next(
        c for c in sim.records("expense_categories") if (c["unit_price"] is not None) == unit_based
    )


# ----------------------------------------------------------------------------- pagination


async def test_cursor_lists_walk_every_record_exactly_once(
    sim: HarvestSimulator, h: ha.HarvestClient
) -> None:
    walked = ids(await h.time_entries.list(per_page=300).collect())
    assert walked == sim_ids(sim, "time_entries")  # newest first, each once
    assert len(walked) == len(set(walked)) == sim.count("time_entries") == 2000
    sent = api_requests(sim, "time_entries")
    assert len(sent) == 7  # ceil(2000 / 300)
    assert "cursor" not in sent[0].params
    assert all("cursor" in r.params and "page" not in r.params for r in sent[1:])
    assert all(r.params["per_page"] == "300" for r in sent)

    expenses = ids(await h.expenses.list(per_page=64).collect())
    assert expenses == sim_ids(sim, "expenses")
    assert len(api_requests(sim, "expenses")) == 4  # ceil(200 / 64)


async def test_small_lists_walk_every_record_exactly_once(
    sim: HarvestSimulator, h: ha.HarvestClient
) -> None:
    for name in (
        "clients",
        "contacts",
        "projects",
        "tasks",
        "users",
        "roles",
        "expense_categories",
        "invoice_item_categories",
        "estimate_item_categories",
        "user_assignments",
        "task_assignments",
    ):
        paginator = getattr(h, name).list(per_page=3)
        assert ids(await paginator.collect()) == sim_ids(sim, name), name
        assert len(api_requests(sim, name)) == -(-sim.count(name) // 3), name


async def test_page_based_lists_walk_every_record_exactly_once(
    sim: HarvestSimulator, h: ha.HarvestClient
) -> None:
    invoices = ids(await h.invoices.list(per_page=7).collect())
    assert invoices == sim_ids(sim, "invoices")
    assert len(invoices) == len(set(invoices)) == 30
    sent = api_requests(sim, "invoices")
    assert sent[0].params.get("page") is None
    assert sorted(r.params.get("page", "1") for r in sent) == ["1", "2", "3", "4", "5"]
    assert all("cursor" not in r.params and r.params["per_page"] == "7" for r in sent)

    pages = [p async for p in h.estimates.list(per_page=4).pages()]
    assert [p.page for p in pages] == [1, 2, 3]
    assert [p.total_pages for p in pages] == [3, 3, 3]
    assert [p.total_entries for p in pages] == [10, 10, 10]
    assert [ident(e) for p in pages for e in p.items] == sim_ids(sim, "estimates")


LISTS = (
    "time_entries",
    "expenses",
    "clients",
    "contacts",
    "projects",
    "tasks",
    "users",
    "roles",
    "expense_categories",
    "invoice_item_categories",
    "estimate_item_categories",
    "user_assignments",
    "task_assignments",
    "invoices",
    "estimates",
)


async def test_every_list_walks_page_based_too() -> None:
    async with (
        HarvestSimulator(seed=3, rate_limit=(2000, 0.2), page_based=["*"]) as sim,
        sim.client(user_agent=UA) as h,
    ):
        for name in LISTS:
            per_page = 97 if name in ("time_entries", "expenses") else 7
            got = ids(await getattr(h, name).list(per_page=per_page).collect())
            assert got == sim_ids(sim, name), name
            sent = api_requests(sim, name)
            assert len(sent) == -(-sim.count(name) // per_page), name
            assert all("cursor" not in r.params for r in sent), name
        me = sim.world.me_id
        unbilled = await h.time_entries.list(user_id=me, is_billed=False, per_page=13).collect()
        assert ids(unbilled) == [
            e["id"]
            for e in sim.records("time_entries")
            if e["user"]["id"] == me and not e["is_billed"]
        ]
        billed = await h.expenses.list(is_billed=True, per_page=5).collect()
        assert ids(billed) == [x["id"] for x in sim.records("expenses") if x["is_billed"]]
    assert sim.errors == []


async def test_filters_keep_following_pages(sim: HarvestSimulator, h: ha.HarvestClient) -> None:
    me = sim.world.me_id
    mine = await h.time_entries.list(
        user_id=me, from_=dt.date(2024, 6, 1), to="2024-09-30", per_page=10
    ).collect()
    expected = [
        e["id"]
        for e in sim.records("time_entries")
        if e["user"]["id"] == me and "2024-06-01" <= e["spent_date"] <= "2024-09-30"
    ]
    assert len(expected) > 10
    assert ids(mine) == expected
    assert all(r.params["user_id"] == str(me) for r in api_requests(sim, "time_entries"))

    open_invoices = await h.invoices.list(state="open", per_page=2).collect()
    assert ids(open_invoices) == [i["id"] for i in sim.records("invoices") if i["state"] == "open"]
    assert {i.state for i in open_invoices} == {"open"}

    client_id = sim.records("clients")[0]["id"]
    projects = await h.projects.list(client_id=client_id, per_page=1).collect()
    assert ids(projects) == [
        p["id"] for p in sim.records("projects") if p["client"]["id"] == client_id
    ]


async def test_updated_since_lists_only_records_changed_since(
    sim: HarvestSimulator, h: ha.HarvestClient
) -> None:
    sim.advance(86400)  # past every seeded timestamp
    since = sim.now()
    first, second = sim_ids(sim, "clients")[:2]
    await h.clients.update(first, address="1 New Street")
    await h.tasks.update(sim_ids(sim, "tasks")[0], is_active=False)
    created = await h.clients.create(name="Brand new client")
    changed = await h.clients.list(updated_since=since).collect()
    assert sorted(ids(changed)) == sorted([first, ident(created)])
    assert second not in ids(changed)


# ----------------------------------------------------------------------------- errors


async def test_wrong_token_is_authentication_error_and_not_retried(
    sim: HarvestSimulator,
) -> None:
    async with sim.client(access_token="not-a-token", max_retries=3, user_agent=UA) as bad:
        with pytest.raises(ha.AuthenticationError) as info:
            await bad.users.me()
    assert info.value.status == 401
    assert sim.counters.by_status[401] == 1  # no retry of a 401


async def test_wrong_account_is_permission_denied(sim: HarvestSimulator) -> None:
    async with sim.client(account_id=sim.account_id + 1, user_agent=UA) as other:
        with pytest.raises(ha.PermissionDeniedError) as info:
            await other.company.get()
    assert info.value.status == 403


async def test_unknown_ids_are_not_found(h: ha.HarvestClient) -> None:
    missing = 999_999_999
    for get in (
        h.clients.get,
        h.contacts.get,
        h.projects.get,
        h.tasks.get,
        h.users.get,
        h.roles.get,
        h.time_entries.get,
        h.expenses.get,
        h.expense_categories.get,
        h.invoices.get,
        h.estimates.get,
        h.invoice_item_categories.get,
        h.estimate_item_categories.get,
    ):
        with pytest.raises(ha.NotFoundError) as info:
            await get(missing)
        assert info.value.status == 404
    with pytest.raises(ha.NotFoundError):
        await h.projects.update(missing, name="x")
    with pytest.raises(ha.NotFoundError):
        await h.invoices.payments(missing).collect()


async def test_validation_errors_from_the_simulator_map_to_validation_error(
    sim: HarvestSimulator, h: ha.HarvestClient
) -> None:
    taken = sim.records("clients")[0]["name"]
    with pytest.raises(ha.ValidationError) as info:
        await h.clients.create(name=taken)
    assert info.value.status == 422
    assert "taken" in info.value.message
    assert sim.count("clients") == 8  # nothing was created

    with pytest.raises(ha.ValidationError, match="not assigned"):
        await h.time_entries.create(
            project_id=unassigned_project(sim),
            task_id=sim_ids(sim, "tasks")[0],
            spent_date="2025-01-14",
            hours=1,
        )
    with pytest.raises(ha.ValidationError, match="Units"):
        await h.expenses.create(
            project_id=my_assignment(sim)[0],
            expense_category_id=category(sim, unit_based=True)["id"],
            spent_date="2025-01-14",
            total_cost=10,
        )
    with pytest.raises(ha.ValidationError, match="User 1 not found"):
        await h.roles.create(name="Ghosts", user_ids=[1])
    with pytest.raises(ha.ValidationError):
        await h.contacts.create(client_id=999_999_999, first_name="Nobody")
    # A client with projects cannot be deleted (archive it instead).
    busy = next(p["client"]["id"] for p in sim.records("projects"))
    with pytest.raises(ha.ValidationError):
        await h.clients.delete(busy)
    assert sim.record("clients", busy) is not None


async def test_deleting_yourself_is_permission_denied(
    sim: HarvestSimulator, h: ha.HarvestClient
) -> None:
    with pytest.raises(ha.PermissionDeniedError):
        await h.users.delete(sim.world.me_id)


# ----------------------------------------------------------------------------- rate limits


async def test_a_429_under_a_tiny_window_is_retried_and_succeeds() -> None:
    async with (
        HarvestSimulator(seed=1, rate_limit=(5, 0.5)) as sim,
        sim.client(rate_limiter=ha.TokenBucket(100, 15.0), max_retries=8, user_agent=UA) as h,
    ):
        names = await asyncio.gather(*(h.company.get() for _ in range(12)))
        assert {c.name for c in names} == {"Simulated Agency"}
        assert sim.counters.throttled > 0  # the client's limiter let too many through
        assert sim.counters.by_status[200] == 12
        assert sim.counters.by_status[429] == sim.counters.throttled
        throttled = [r for r in sim.requests if r.status == 429]
        retried = [
            r
            for r in sim.requests
            if r.status == 200 and r.started > min(t.started for t in throttled)
        ]
        assert retried
    assert sim.errors == []


async def test_sim_client_limiters_never_see_a_429() -> None:
    async with HarvestSimulator(seed=1, rate_limit=(5, 0.2)) as sim, sim.client(user_agent=UA) as h:
        await asyncio.gather(*(h.company.get() for _ in range(12)))
        assert sim.counters.throttled == 0
        assert sim.counters.by_status[200] == 12


# ----------------------------------------------------------------------------- faults


async def test_a_delete_whose_answer_was_lost_is_retried_and_succeeds(
    sim: HarvestSimulator, h: ha.HarvestClient
) -> None:
    created = await h.clients.create(name="Short-lived")
    sim.faults.reset_after_processing = True
    sim.faults.inject("reset")
    await h.clients.delete(ident(created))  # the retry's 404 means "already deleted"
    assert [(r.method, r.status, r.fault) for r in list(sim.requests)[-2:]] == [
        ("DELETE", None, "reset"),
        ("DELETE", 404, None),
    ]
    assert sim.record("clients", ident(created)) is None


async def test_a_post_whose_answer_was_lost_is_not_sent_twice(
    sim: HarvestSimulator, h: ha.HarvestClient
) -> None:
    sim.faults.reset_after_processing = True
    sim.faults.inject("reset")
    with pytest.raises(ha.TransportError):
        await h.clients.create(name="Maybe created")
    assert [c["name"] for c in sim.records("clients")].count("Maybe created") == 1
    assert len(api_requests(sim, "clients", "POST")) == 1

    pid, tid = my_assignment(sim)
    timer = await h.time_entries.create(project_id=pid, task_id=tid, spent_date="2025-01-15")
    sim.faults.inject("reset")
    with pytest.raises(ha.TransportError):  # a timer action is never re-sent
        await h.time_entries.stop(ident(timer))
    assert len(api_requests(sim, f"time_entries/{ident(timer)}/stop", "PATCH")) == 1
    assert (await h.time_entries.get(ident(timer))).is_running is False


async def test_gets_are_retried_through_server_errors_throttles_and_truncation(
    sim: HarvestSimulator, h: ha.HarvestClient
) -> None:
    sim.faults.inject("server_error")
    company = await h.company.get()
    assert company.name == sim.world.company["name"]
    sim.faults.inject("truncate")
    assert await h.company.get() == company
    sim.faults.inject("throttle")
    created = await h.clients.create(name="After a 429")  # a 429 was not processed
    assert sim.count("clients") == 9
    assert [r.fault for r in sim.requests] == [
        "server_error",
        None,
        "truncate",
        None,
        "throttle",
        None,
    ]
    assert sim.record("clients", ident(created)) is not None
    sim.faults.inject("server_error")
    with pytest.raises(ha.ServerError):  # a POST is not re-sent after a 5xx
        await h.clients.create(name="Refused")
    assert sim.count("clients") == 9


async def test_a_cursor_walk_is_stable_while_records_change_underneath(
    sim: HarvestSimulator, h: ha.HarvestClient
) -> None:
    existing = sim_ids(sim, "time_entries")
    pid, tid = my_assignment(sim)
    seen: list[int] = []
    deleted: list[int] = []
    created: list[int] = []
    async for page in h.time_entries.list(per_page=250).pages():
        seen.extend(ids(page.items))
        new = await h.time_entries.create(
            project_id=pid, task_id=tid, spent_date="2025-01-14", hours=1
        )
        created.append(ident(new))
        ahead = len(seen) + 300  # beyond any page already fetched ahead
        if ahead < len(existing):
            await h.time_entries.delete(existing[ahead])
            deleted.append(existing[ahead])
    assert len(seen) == len(set(seen))  # nothing served twice
    # Every record that existed throughout was served, in order; the new ones (ids
    # above the cursor) and those deleted well ahead of the walk were not.
    assert seen == [i for i in existing if i not in deleted]
    assert not set(created) & set(seen)
    assert len(deleted) == 6


# ----------------------------------------------------------------------------- company, me


async def test_company_get_and_update(sim: HarvestSimulator, h: ha.HarvestClient) -> None:
    before = await h.company.get()
    assert before.name == sim.world.company["name"]
    assert before.weekly_capacity == sim.world.company["weekly_capacity"]
    after = await h.company.update(weekly_capacity=100_800, wants_timestamp_timers=True)
    assert after.weekly_capacity == 100_800
    assert after.wants_timestamp_timers is True
    assert after == attrs.evolve(before, weekly_capacity=100_800, wants_timestamp_timers=True)
    assert await h.company.get() == after
    assert sim.counters.updates["company"] == 1


async def test_me_and_my_project_assignments(sim: HarvestSimulator, h: ha.HarvestClient) -> None:
    me = await h.users.me()
    assert ident(me) == sim.world.me_id
    assert await h.users.get(ident(me)) == me
    assert me.email == sim.world.me()["email"]
    mine = await h.users.my_project_assignments(per_page=2).collect()
    expected = [ua for ua in sim.records("user_assignments") if ua["user"]["id"] == ident(me)]
    assert ids(mine) == [ua["id"] for ua in expected]
    for assignment, raw in zip(mine, expected, strict=True):
        assert assignment.project is not None
        assert assignment.project.id == raw["project"]["id"]
        tasks = {
            ta["id"]
            for ta in sim.records("task_assignments")
            if ta["project"]["id"] == raw["project"]["id"]
        }
        assert {ident(t) for t in assignment.task_assignments or []} == tasks


# ----------------------------------------------------------------------------- clients, contacts


async def test_clients_crud(sim: HarvestSimulator, h: ha.HarvestClient) -> None:
    created = await h.clients.create(
        name="Zeta Widgets Ltd",
        address="4120 Freidrich Ln.\nAustin TX",
        currency="EUR",
        is_active=True,
    )
    cid = ident(created)
    assert (created.name, created.address, created.currency, created.is_active) == (
        "Zeta Widgets Ltd",
        "4120 Freidrich Ln.\nAustin TX",
        "EUR",
        True,
    )
    assert created.created_at == created.updated_at
    assert await h.clients.get(cid) == created
    assert sim.record("clients", cid) is not None
    assert sim_ids(sim, "clients")[0] == cid  # newest first

    updated = await h.clients.update(cid, is_active=False)
    only_changed(created, updated, is_active=False)
    assert await h.clients.get(cid) == updated

    await h.clients.delete(cid)
    with pytest.raises(ha.NotFoundError):
        await h.clients.get(cid)
    assert sim.record("clients", cid) is None
    assert (
        sim.counters.creates["clients"],
        sim.counters.updates["clients"],
        sim.counters.deletes["clients"],
    ) == (1, 1, 1)


async def test_contacts_crud(sim: HarvestSimulator, h: ha.HarvestClient) -> None:
    client_id = sim_ids(sim, "clients")[1]
    listed = await h.contacts.list(client_id=client_id).collect()
    assert ids(listed) == [
        c["id"] for c in sim.records("contacts") if c["client"]["id"] == client_id
    ]

    created = await h.contacts.create(
        client_id=client_id,
        first_name="Ada",
        last_name="Lovelace",
        title="CTO",
        email="ada@example.com",
        phone_office="+1 555 0100",
    )
    kid = ident(created)
    assert created.client is not None
    assert created.client.id == client_id
    assert (
        created.first_name,
        created.last_name,
        created.title,
        created.email,
        created.phone_office,
    ) == ("Ada", "Lovelace", "CTO", "ada@example.com", "+1 555 0100")
    assert await h.contacts.get(kid) == created

    updated = await h.contacts.update(kid, title=None, phone_mobile="+1 555 0199")
    only_changed(created, updated, title=None, phone_mobile="+1 555 0199")
    assert kid in ids(await h.contacts.list(client_id=client_id).collect())

    await h.contacts.delete(kid)
    with pytest.raises(ha.NotFoundError):
        await h.contacts.get(kid)


# ----------------------------------------------------------------------------- projects


async def test_projects_crud_with_exact_decimals(
    sim: HarvestSimulator, h: ha.HarvestClient
) -> None:
    client_id = sim_ids(sim, "clients")[0]
    created = await h.projects.create(
        client_id=client_id,
        name="Moonshot",
        is_billable=True,
        bill_by="Project",
        budget_by="project",
        code="MS-1",
        hourly_rate=Decimal("123.45"),
        budget=Decimal("40.5"),
        over_budget_notification_percentage=Decimal("75.5"),
        notes="first",
        starts_on=dt.date(2025, 2, 1),
        ends_on="2025-12-31",
    )
    pid = ident(created)
    assert created.hourly_rate == Decimal("123.45")
    assert created.budget == Decimal("40.5")
    assert created.over_budget_notification_percentage == Decimal("75.5")
    assert (created.name, created.code, created.bill_by, created.budget_by, created.notes) == (
        "Moonshot",
        "MS-1",
        "Project",
        "project",
        "first",
    )
    assert (created.starts_on, created.ends_on) == (dt.date(2025, 2, 1), dt.date(2025, 12, 31))
    assert created.client is not None
    assert created.client.id == client_id
    assert await h.projects.get(pid) == created

    # A new project gets the default tasks.
    defaults = {t["id"] for t in sim.records("tasks") if t["is_default"] and t["is_active"]}
    assigned = await h.projects.task_assignments(pid).collect()
    assert {ident(a.task) for a in assigned} == defaults

    updated = await h.projects.update(pid, notes="second", fee=Decimal("1000.01"))
    only_changed(created, updated, notes="second", fee=Decimal("1000.01"))

    await h.projects.delete(pid)
    with pytest.raises(ha.NotFoundError):
        await h.projects.get(pid)
    with pytest.raises(ha.NotFoundError):
        await h.projects.task_assignments(pid).collect()


async def test_deleting_a_project_deletes_its_time_entries(
    sim: HarvestSimulator, h: ha.HarvestClient
) -> None:
    pid, tid = my_assignment(sim)
    entry = await h.time_entries.create(
        project_id=pid, task_id=tid, spent_date="2025-01-14", hours=2
    )
    await h.projects.delete(pid)
    with pytest.raises(ha.NotFoundError):
        await h.time_entries.get(ident(entry))
    assert not await h.time_entries.list(project_id=pid).collect()


async def test_project_user_assignments_crud(sim: HarvestSimulator, h: ha.HarvestClient) -> None:
    project = await h.projects.create(
        client_id=sim_ids(sim, "clients")[0],
        name="Staffing",
        is_billable=True,
        bill_by="People",
        budget_by="person",
    )
    pid = ident(project)
    user = await h.users.create(first_name="Grace", last_name="Hopper", email="grace@example.com")
    uid = ident(user)
    created = await h.projects.create_user_assignment(
        pid,
        user_id=uid,
        is_project_manager=True,
        use_default_rates=False,
        hourly_rate=Decimal("155.55"),
        budget=Decimal("12.25"),
    )
    aid = ident(created)
    assert created.hourly_rate == Decimal("155.55")
    assert created.budget == Decimal("12.25")
    assert (created.is_project_manager, created.use_default_rates, created.is_active) == (
        True,
        False,
        True,
    )
    assert ident(created.user) == uid
    assert ident(created.project) == pid
    assert await h.projects.get_user_assignment(pid, aid) == created
    listed = await h.projects.user_assignments(pid, user_id=uid).collect()
    assert ids(listed) == [aid]

    with pytest.raises(ha.ValidationError, match="already"):
        await h.projects.create_user_assignment(pid, user_id=uid)

    updated = await h.projects.update_user_assignment(pid, aid, is_project_manager=False)
    only_changed(created, updated, is_project_manager=False)
    assert aid in ids(await h.user_assignments.list(user_id=uid).collect())

    await h.projects.delete_user_assignment(pid, aid)
    with pytest.raises(ha.NotFoundError):
        await h.projects.get_user_assignment(pid, aid)
    other = next(p for p in sim_ids(sim, "projects") if p != pid)
    seeded = next(
        ua["id"] for ua in sim.records("user_assignments") if ua["project"]["id"] == other
    )
    with pytest.raises(ha.NotFoundError):  # an assignment of another project
        await h.projects.get_user_assignment(pid, seeded)


async def test_project_task_assignments_crud(sim: HarvestSimulator, h: ha.HarvestClient) -> None:
    pid, _ = my_assignment(sim)
    task = await h.tasks.create(name="Zeta research", default_hourly_rate=Decimal("80"))
    tid = ident(task)
    created = await h.projects.create_task_assignment(
        pid, task_id=tid, billable=True, hourly_rate=Decimal("99.95"), budget=Decimal("7.5")
    )
    aid = ident(created)
    assert (created.billable, created.is_active) == (True, True)
    assert created.hourly_rate == Decimal("99.95")
    assert created.budget == Decimal("7.5")
    assert ident(created.task) == tid
    assert await h.projects.get_task_assignment(pid, aid) == created
    listed = await h.projects.task_assignments(pid, per_page=2).collect()
    assert ids(listed) == [
        ta["id"] for ta in sim.records("task_assignments") if ta["project"]["id"] == pid
    ]
    assert aid in ids(listed)

    updated = await h.projects.update_task_assignment(pid, aid, hourly_rate=None, is_active=False)
    only_changed(created, updated, hourly_rate=None, is_active=False)
    inactive = await h.task_assignments.list(is_active=False).collect()
    assert aid in ids(inactive)
    assert all(a.is_active is False for a in inactive)

    await h.projects.delete_task_assignment(pid, aid)
    with pytest.raises(ha.NotFoundError):
        await h.projects.get_task_assignment(pid, aid)


async def test_account_wide_assignments(sim: HarvestSimulator, h: ha.HarvestClient) -> None:
    me = sim.world.me_id
    mine = await h.user_assignments.list(user_id=me, per_page=3).collect()
    assert ids(mine) == [
        ua["id"] for ua in sim.records("user_assignments") if ua["user"]["id"] == me
    ]
    every = await h.task_assignments.list(per_page=25).collect()
    assert ids(every) == sim_ids(sim, "task_assignments")


# ----------------------------------------------------------------------------- tasks


async def test_tasks_crud(sim: HarvestSimulator, h: ha.HarvestClient) -> None:
    created = await h.tasks.create(
        name="Pairing",
        billable_by_default=False,
        default_hourly_rate=Decimal("87.5"),
        is_default=False,
    )
    tid = ident(created)
    assert created.default_hourly_rate == Decimal("87.5")
    assert (created.name, created.billable_by_default, created.is_default, created.is_active) == (
        "Pairing",
        False,
        False,
        True,
    )
    assert await h.tasks.get(tid) == created
    updated = await h.tasks.update(tid, name="Mob programming")
    only_changed(created, updated, name="Mob programming")
    assert tid in ids(await h.tasks.list(is_active=True).collect())
    await h.tasks.delete(tid)
    with pytest.raises(ha.NotFoundError):
        await h.tasks.get(tid)

    used = next(e["task"]["id"] for e in sim.records("time_entries", limit=1))
    with pytest.raises(ha.ValidationError, match="time entries"):
        await h.tasks.delete(used)


# ----------------------------------------------------------------------------- users


async def test_users_crud(sim: HarvestSimulator, h: ha.HarvestClient) -> None:
    created = await h.users.create(
        first_name="Alan",
        last_name="Turing",
        email="alan@example.com",
        timezone="London",
        is_contractor=True,
        weekly_capacity=72_000,
        default_hourly_rate=Decimal("210.5"),
        cost_rate=Decimal("99.99"),
        roles=["Research"],
        access_roles=["manager"],
    )
    uid = ident(created)
    assert (
        created.first_name,
        created.last_name,
        created.email,
        created.timezone,
        created.is_contractor,
        created.weekly_capacity,
    ) == ("Alan", "Turing", "alan@example.com", "London", True, 72_000)
    assert created.default_hourly_rate == Decimal("210.5")
    assert created.cost_rate == Decimal("99.99")
    assert created.roles == ["Research"]
    assert created.access_roles == ["manager"]
    assert await h.users.get(uid) == created
    assert uid in ids(await h.users.list(per_page=4).collect())
    role = next(r for r in await h.roles.list().collect() if r.name == "Research")
    assert role.user_ids == [uid]  # roles kept in sync with the user's

    updated = await h.users.update(uid, last_name="M. Turing")
    only_changed(created, updated, last_name="M. Turing")

    with pytest.raises(ha.ValidationError, match="Email"):
        await h.users.create(first_name="A", last_name="B", email="ALAN@example.com")

    await h.users.delete(uid)
    with pytest.raises(ha.NotFoundError):
        await h.users.get(uid)

    busy = next(
        e["user"]["id"] for e in sim.records("time_entries") if e["user"]["id"] != sim.world.me_id
    )
    with pytest.raises(ha.ValidationError, match="time entries"):
        await h.users.delete(busy)
    assert sim.record("users", busy) is not None


async def test_user_billable_and_cost_rates(sim: HarvestSimulator, h: ha.HarvestClient) -> None:
    user = await h.users.create(first_name="Rate", last_name="Payer", email="rate@example.com")
    uid = ident(user)
    assert await h.users.billable_rates(uid).collect() == []

    first = await h.users.create_billable_rate(uid, amount=Decimal("100.25"))
    assert first.amount == Decimal("100.25")
    assert (first.start_date, first.end_date) == (None, None)
    assert await h.users.get_billable_rate(uid, ident(first)) == first
    assert (await h.users.get(uid)).default_hourly_rate == Decimal("100.25")

    second = await h.users.create_billable_rate(
        uid, amount=Decimal("120.5"), start_date=dt.date(2025, 1, 1)
    )
    rates = await h.users.billable_rates(uid, per_page=1).collect()
    assert sorted(ids(rates)) == sorted([ident(first), ident(second)])
    ended = await h.users.get_billable_rate(uid, ident(first))
    assert ended.end_date == dt.date(2024, 12, 31)  # the old rate ends the day before
    assert (await h.users.get(uid)).default_hourly_rate == Decimal("120.5")

    cost = await h.users.create_cost_rate(uid, amount=Decimal("55.55"))
    assert cost.amount == Decimal("55.55")
    assert await h.users.get_cost_rate(uid, ident(cost)) == cost
    assert ids(await h.users.cost_rates(uid).collect()) == [ident(cost)]
    assert (await h.users.get(uid)).cost_rate == Decimal("55.55")

    seeded = sim.records("billable_rates")[-1]["id"]
    with pytest.raises(ha.NotFoundError):  # a rate of another user
        await h.users.get_billable_rate(uid, seeded)


async def test_teammates_and_project_assignments(
    sim: HarvestSimulator, h: ha.HarvestClient
) -> None:
    users = sim_ids(sim, "users")
    uid, mates = users[0], sorted(users[1:4])
    new = await h.users.update_teammates(uid, teammate_ids=mates)
    assert sorted(ident(t) for t in new) == mates
    listed = await h.users.teammates(uid, per_page=2).collect()
    assert sorted(ids(listed)) == mates
    emails = {u["id"]: u["email"] for u in sim.records("users")}
    assert {ident(t): t.email for t in listed} == {m: emails[m] for m in mates}
    with pytest.raises(ha.ValidationError):
        await h.users.update_teammates(uid, teammate_ids=[999_999_999])

    other = next(u for u in users if u != sim.world.me_id)
    assignments = await h.users.project_assignments(other, per_page=1).collect()
    assert ids(assignments) == [
        ua["id"] for ua in sim.records("user_assignments") if ua["user"]["id"] == other
    ]


# ----------------------------------------------------------------------------- roles


async def test_roles_crud(sim: HarvestSimulator, h: ha.HarvestClient) -> None:
    users = sim_ids(sim, "users")
    created = await h.roles.create(name="Reviewers", user_ids=[users[2], users[1]])
    rid = ident(created)
    assert created.name == "Reviewers"
    assert created.user_ids == sorted([users[1], users[2]])
    assert await h.roles.get(rid) == created
    assert ids(await h.roles.list(per_page=2).collect()) == sim_ids(sim, "roles")
    updated = await h.roles.update(rid, user_ids=[users[3]])
    only_changed(created, updated, user_ids=[users[3]])
    member = await h.users.get(users[3])
    assert member.roles is not None
    assert "Reviewers" in member.roles
    await h.roles.delete(rid)
    with pytest.raises(ha.NotFoundError):
        await h.roles.get(rid)


# ----------------------------------------------------------------------------- time entries


async def test_time_entries_crud(sim: HarvestSimulator, h: ha.HarvestClient) -> None:
    pid, tid = my_assignment(sim, billable=True)
    created = await h.time_entries.create(
        project_id=pid,
        task_id=tid,
        spent_date=dt.date(2025, 1, 14),
        hours=Decimal("1.75"),
        notes="standup",
    )
    eid = ident(created)
    assert created.hours == Decimal("1.75")
    assert created.rounded_hours == Decimal("1.75")
    assert created.spent_date == dt.date(2025, 1, 14)
    assert created.notes == "standup"
    assert (created.is_running, created.billable) == (False, True)
    assert created.billable_rate is not None
    assert ident(created.project) == pid
    assert ident(created.task) == tid
    assert ident(created.user) == sim.world.me_id
    assert await h.time_entries.get(eid) == created
    assert sim_ids(sim, "time_entries")[0] == eid
    assert sim.count("time_entries") == 2001

    updated = await h.time_entries.update(eid, notes="standup and planning")
    only_changed(created, updated, notes="standup and planning")
    longer = await h.time_entries.update(eid, hours=Decimal("2.1"))
    assert (longer.hours, longer.rounded_hours) == (Decimal("2.1"), Decimal("2.25"))
    assert longer.notes == "standup and planning"

    by_project = await h.time_entries.list(
        project_id=pid, from_="2025-01-14", to="2025-01-14"
    ).collect()
    assert eid in ids(by_project)

    await h.time_entries.delete(eid)
    with pytest.raises(ha.NotFoundError):
        await h.time_entries.get(eid)
    assert sim.count("time_entries") == 2000

    generated = sim_ids(sim, "time_entries")[5]  # a seeded (lazily generated) entry
    before = await h.time_entries.get(generated)
    changed = await h.time_entries.update(generated, notes="edited")
    only_changed(before, changed, notes="edited")
    await h.time_entries.delete(generated)
    with pytest.raises(ha.NotFoundError):
        await h.time_entries.get(generated)


async def test_time_entry_by_start_and_end_time(sim: HarvestSimulator, h: ha.HarvestClient) -> None:
    pid, tid = my_assignment(sim)
    entry = await h.time_entries.create_by_start_end(
        project_id=pid,
        task_id=tid,
        spent_date="2025-01-13",
        started_time="9:00am",
        ended_time="10:30am",
    )
    assert entry.hours == Decimal("1.5")
    assert (entry.started_time, entry.ended_time) == ("9:00am", "10:30am")
    moved = await h.time_entries.update(ident(entry), ended_time="11:15am")
    assert moved.hours == Decimal("2.25")
    assert moved.started_time == "9:00am"


async def test_timer_stop_restart(sim: HarvestSimulator, h: ha.HarvestClient) -> None:
    pid, tid = my_assignment(sim)
    timer = await h.time_entries.create_by_duration(
        project_id=pid, task_id=tid, spent_date="2025-01-15"
    )
    eid = ident(timer)
    assert timer.is_running is True
    assert timer.hours == Decimal("0")
    assert timer.timer_started_at is not None
    running = await h.time_entries.list(is_running=True).collect()
    assert ids(running) == [eid]

    sim.advance(1800)
    stopped = await h.time_entries.stop(eid)
    assert stopped.is_running is False
    assert stopped.hours == Decimal("0.5")
    assert stopped.timer_started_at is None
    assert not await h.time_entries.list(is_running=True).collect()
    with pytest.raises(ha.ValidationError, match="not running"):
        await h.time_entries.stop(eid)

    restarted = await h.time_entries.restart(eid)
    assert restarted.is_running is True
    assert restarted.updated_at is not None
    assert stopped.updated_at is not None
    assert restarted.updated_at > stopped.updated_at
    sim.advance(900)
    again = await h.time_entries.stop(eid)
    assert again.hours == Decimal("0.75")

    # Starting a second timer stops the first one.
    first = await h.time_entries.restart(eid)
    assert first.is_running is True
    second = await h.time_entries.create(project_id=pid, task_id=tid, spent_date="2025-01-15")
    assert second.is_running is True
    assert (await h.time_entries.get(eid)).is_running is False
    # Both actions were sent once each (never re-sent).
    assert len(api_requests(sim, f"time_entries/{eid}/stop", "PATCH")) == 3
    assert len(api_requests(sim, f"time_entries/{eid}/restart", "PATCH")) == 2


async def test_time_entry_external_reference(sim: HarvestSimulator, h: ha.HarvestClient) -> None:
    pid, tid = my_assignment(sim)
    reference = {
        "id": "TCK-42",
        "group_id": 7,
        "account_id": "acme",
        "permalink": "https://tracker.example.com/TCK-42",
    }
    entry = await h.time_entries.create(
        project_id=pid,
        task_id=tid,
        spent_date="2025-01-10",
        hours=Decimal("0.25"),
        external_reference=reference,
    )
    eid = ident(entry)
    ref = entry.external_reference
    assert ref is not None
    assert (ref.id, ref.group_id, ref.account_id, ref.permalink) == (
        "TCK-42",
        "7",
        "acme",
        "https://tracker.example.com/TCK-42",
    )
    assert ref.service == "tracker.example.com"
    found = await h.time_entries.list(external_reference_id="TCK-42").collect()
    assert ids(found) == [eid]

    await h.time_entries.delete_external_reference(eid)
    after = await h.time_entries.get(eid)
    assert after.external_reference is None
    assert after.updated_at is not None
    assert entry.updated_at is not None
    assert after.updated_at > entry.updated_at
    assert after == attrs.evolve(entry, external_reference=None, updated_at=after.updated_at)
    assert not await h.time_entries.list(external_reference_id="TCK-42").collect()


# ----------------------------------------------------------------------------- expenses


async def test_expenses_crud_by_total_cost_and_units(
    sim: HarvestSimulator, h: ha.HarvestClient
) -> None:
    pid, _ = my_assignment(sim)
    meals = category(sim, unit_based=False)
    mileage = category(sim, unit_based=True)
    assert mileage["unit_price"] == 0.575

    created = await h.expenses.create(
        project_id=pid,
        expense_category_id=meals["id"],
        spent_date="2025-01-14",
        total_cost=Decimal("42.42"),
        notes="team lunch",
        billable=False,
    )
    xid = ident(created)
    assert created.total_cost == Decimal("42.42")
    assert (created.notes, created.billable, created.receipt) == ("team lunch", False, None)
    assert ident(created.expense_category) == meals["id"]
    assert await h.expenses.get(xid) == created

    updated = await h.expenses.update(xid, notes="client lunch")
    only_changed(created, updated, notes="client lunch")
    cheaper = await h.expenses.update(xid, total_cost=Decimal("40.01"))
    assert cheaper.total_cost == Decimal("40.01")

    trip = await h.expenses.create(
        project_id=pid,
        expense_category_id=mileage["id"],
        spent_date=dt.date(2025, 1, 13),
        units=Decimal("120"),
    )
    assert trip.units == Decimal("120")
    assert trip.total_cost == Decimal("69")  # 120 miles x 0.575
    assert trip.expense_category is not None
    assert trip.expense_category.unit_price == Decimal("0.575")
    longer = await h.expenses.update(ident(trip), units=Decimal("200"))
    assert longer.total_cost == Decimal("115")

    listed = await h.expenses.list(project_id=pid, from_="2025-01-13").collect()
    assert {xid, ident(trip)} <= set(ids(listed))

    await h.expenses.delete(xid)
    with pytest.raises(ha.NotFoundError):
        await h.expenses.get(xid)


async def test_expense_receipt_upload_and_delete_receipt(
    sim: HarvestSimulator, h: ha.HarvestClient, tmp_path: Path
) -> None:
    pid, _ = my_assignment(sim)
    mileage = category(sim, unit_based=True)
    created = await h.expenses.create(
        project_id=pid,
        expense_category_id=mileage["id"],
        spent_date="2025-01-12",
        units=Decimal("10.4"),
        notes="to the airport",
        billable=True,
        receipt=PNG,
        receipt_filename="odometer.png",
    )
    xid = ident(created)
    # Multipart: every field arrives as text and keeps its exact value.
    assert created.units == Decimal("10.4")
    assert created.total_cost == Decimal("5.98")  # 10.4 x 0.575 = 5.98
    assert (created.notes, created.billable) == ("to the airport", True)
    assert created.receipt is not None
    assert (created.receipt.file_name, created.receipt.file_size, created.receipt.content_type) == (
        "odometer.png",
        len(PNG),
        "image/png",
    )
    assert await h.expenses.get(xid) == created

    path = tmp_path / "hotel-invoice.pdf"
    path.write_bytes(PDF)
    replaced = await h.expenses.update(xid, receipt=path, notes=None)
    assert replaced.receipt is not None
    assert (
        replaced.receipt.file_name,
        replaced.receipt.file_size,
        replaced.receipt.content_type,
    ) == ("hotel-invoice.pdf", len(PDF), "application/pdf")
    assert replaced.notes in (None, "")  # a multipart empty value clears the notes
    assert replaced.units == Decimal("10.4")

    cleared = await h.expenses.update(xid, delete_receipt=True)
    assert cleared.receipt is None
    only_changed(replaced, cleared, receipt=None)
    assert (await h.expenses.get(xid)).receipt is None
    posts = [r for r in sim.requests if r.path == "/v2/expenses" and r.method == "POST"]
    assert [r.status for r in posts] == [201]


async def test_expense_receipt_from_a_file_object(
    sim: HarvestSimulator, h: ha.HarvestClient
) -> None:
    pid, _ = my_assignment(sim)
    meals = category(sim, unit_based=False)
    created = await h.expenses.create(
        project_id=pid,
        expense_category_id=meals["id"],
        spent_date="2025-01-11",
        total_cost=Decimal("19.99"),
        receipt=io.BytesIO(PDF),
    )
    assert created.total_cost == Decimal("19.99")
    assert created.receipt is not None
    assert (created.receipt.file_name, created.receipt.content_type) == (
        "receipt.pdf",
        "application/pdf",
    )


async def test_expense_categories_crud(sim: HarvestSimulator, h: ha.HarvestClient) -> None:
    created = await h.expense_categories.create(
        name="Bike share", unit_name="ride", unit_price=Decimal("3.255")
    )
    cid = ident(created)
    assert created.unit_price == Decimal("3.255")
    assert (created.name, created.unit_name, created.is_active) == ("Bike share", "ride", True)
    assert await h.expense_categories.get(cid) == created
    updated = await h.expense_categories.update(cid, is_active=False)
    only_changed(created, updated, is_active=False)
    archived = await h.expense_categories.list(is_active=False).collect()
    assert ids(archived) == [cid]
    with pytest.raises(ha.ValidationError, match="taken"):
        await h.expense_categories.create(name="Bike share")
    await h.expense_categories.delete(cid)
    with pytest.raises(ha.NotFoundError):
        await h.expense_categories.get(cid)
    with pytest.raises(ha.ValidationError, match="expenses"):
        await h.expense_categories.delete(category(sim, unit_based=True)["id"])


@pytest.mark.parametrize("name", ["invoice_item_categories", "estimate_item_categories"])
async def test_item_categories_crud(sim: HarvestSimulator, h: ha.HarvestClient, name: str) -> None:
    resource = getattr(h, name)
    created = await resource.create(name="Consulting")
    cid = ident(created)
    assert created.name == "Consulting"
    assert await resource.get(cid) == created
    assert ids(await resource.list(per_page=1).collect()) == sim_ids(sim, name)
    updated = await resource.update(cid, name="Advisory")
    only_changed(created, updated, name="Advisory")
    with pytest.raises(ha.ValidationError):
        await resource.create(name="Advisory")
    await resource.delete(cid)
    with pytest.raises(ha.NotFoundError):
        await resource.get(cid)
    assert sim.counters.deletes[name] == 1


# ----------------------------------------------------------------------------- invoices


async def test_invoices_crud_with_line_items(sim: HarvestSimulator, h: ha.HarvestClient) -> None:
    client_id = sim_ids(sim, "clients")[0]
    pid = next(p["id"] for p in sim.records("projects") if p["client"]["id"] == client_id)
    created = await h.invoices.create(
        client_id=client_id,
        subject="January",
        notes="Thanks!",
        tax=Decimal("10"),
        discount=Decimal("2.5"),
        issue_date=dt.date(2025, 1, 15),
        payment_term="net 30",
        purchase_order="PO-7",
        line_items=[
            {
                "kind": "Service",
                "description": "Design",
                "quantity": Decimal("3"),
                "unit_price": Decimal("99.99"),
                "taxed": True,
                "project_id": pid,
            },
            {"kind": "Product", "description": "Licence", "unit_price": Decimal("50.05")},
        ],
    )
    iid = ident(created)
    assert created.state == "draft"
    assert (created.subject, created.notes, created.purchase_order, created.payment_term) == (
        "January",
        "Thanks!",
        "PO-7",
        "net 30",
    )
    assert (created.issue_date, created.due_date) == (dt.date(2025, 1, 15), dt.date(2025, 2, 14))
    lines = created.line_items or []
    assert [(li.kind, li.quantity, li.unit_price, li.amount, li.taxed) for li in lines] == [
        ("Service", Decimal("3"), Decimal("99.99"), Decimal("299.97"), True),
        ("Product", Decimal("1"), Decimal("50.05"), Decimal("50.05"), False),
    ]
    assert lines[0].project is not None
    assert lines[0].project.id == pid
    assert created.tax == Decimal("10")
    assert created.tax_amount == Decimal("30")  # 10% of the taxed 299.97
    assert created.discount_amount == Decimal("8.75")  # 2.5% of 350.02 = 8.7505
    assert created.amount == Decimal("371.27")  # 350.02 + 30 - 8.75
    assert created.due_amount == created.amount
    assert await h.invoices.get(iid) == created
    assert sim_ids(sim, "invoices")[0] == iid

    updated = await h.invoices.update(iid, subject="January (revised)")
    only_changed(created, updated, subject="January (revised)")

    grown = await h.invoices.create_line_items(
        iid,
        line_items=[{"kind": "Service", "quantity": Decimal("0.5"), "unit_price": Decimal("200")}],
    )
    assert len(grown.line_items or []) == 3
    assert (grown.line_items or [])[-1].amount == Decimal("100")
    first_line = ident(lines[0])
    changed = await h.invoices.update_line_items(
        iid, line_items=[{"id": first_line, "quantity": Decimal("4")}]
    )
    assert (changed.line_items or [])[0].amount == Decimal("399.96")
    second_line = ident(lines[1])
    fewer = await h.invoices.delete_line_items(iid, line_item_ids=[second_line])
    assert second_line not in ids(fewer.line_items or [])
    assert len(fewer.line_items or []) == 2

    by_project = await h.invoices.list(project_id=pid, per_page=3).collect()
    assert iid in ids(by_project)

    await h.invoices.delete(iid)
    with pytest.raises(ha.NotFoundError):
        await h.invoices.get(iid)
    assert iid not in sim_ids(sim, "invoices")


async def test_invoice_messages_events_and_template(
    sim: HarvestSimulator, h: ha.HarvestClient
) -> None:
    client_id = sim_ids(sim, "clients")[0]
    invoice = await h.invoices.create(
        client_id=client_id,
        number="X-100",
        line_items=[{"kind": "Service", "unit_price": Decimal("250")}],
    )
    iid = ident(invoice)
    assert await h.invoices.messages(iid).collect() == []

    template = await h.invoices.message_template(iid)
    assert template.invoice_id == iid
    assert template.subject is not None
    assert "X-100" in template.subject
    assert (template.thank_you, template.reminder) == (False, False)
    thanks = await h.invoices.message_template(iid, thank_you=True)
    assert thanks.thank_you is True
    assert thanks.subject is not None
    assert "thank you" in thanks.subject

    sent = await h.invoices.create_message(
        iid,
        recipients=[{"name": "Bob", "email": "bob@example.com"}],
        subject="Your invoice",
        body="Please pay",
        attach_pdf=True,
        send_me_a_copy=False,
    )
    assert (sent.subject, sent.body, sent.attach_pdf, sent.event_type) == (
        "Your invoice",
        "Please pay",
        True,
        None,
    )
    assert [(r.name, r.email) for r in sent.recipients or []] == [("Bob", "bob@example.com")]
    assert (await h.invoices.get(iid)).state == "open"

    closed = await h.invoices.mark_as_closed(iid)
    assert closed.event_type == "close"
    assert (await h.invoices.get(iid)).state == "closed"
    reopened = await h.invoices.mark_as_reopened(iid)
    assert reopened.event_type == "re-open"
    assert (await h.invoices.get(iid)).state == "open"
    draft = await h.invoices.mark_as_draft(iid)
    assert draft.event_type == "draft"
    assert (await h.invoices.get(iid)).state == "draft"
    marked = await h.invoices.mark_as_sent(iid)
    assert marked.event_type == "send"
    assert (await h.invoices.get(iid)).state == "open"

    messages = await h.invoices.messages(iid, per_page=2).collect()
    assert ids(messages) == sorted(
        [ident(m) for m in (sent, closed, reopened, draft, marked)], reverse=True
    )
    await h.invoices.delete_message(iid, ident(sent))
    assert ident(sent) not in ids(await h.invoices.messages(iid).collect())
    with pytest.raises(ha.NotFoundError):
        await h.invoices.delete_message(iid, ident(sent))

    sent_before = sim.counters.requests
    with pytest.raises(ha.InvalidRequestError):  # refused before anything is sent
        await h.invoices.create_message(iid, recipients=[{"email": ""}])
    assert sim.counters.requests == sent_before


async def test_invoice_payments(sim: HarvestSimulator, h: ha.HarvestClient) -> None:
    invoice = await h.invoices.create(
        client_id=sim_ids(sim, "clients")[0],
        line_items=[{"kind": "Service", "unit_price": Decimal("100.10")}],
    )
    iid = ident(invoice)
    await h.invoices.mark_as_sent(iid)

    part = await h.invoices.create_payment(
        iid, amount=Decimal("40.05"), paid_date=dt.date(2025, 1, 10), notes="deposit"
    )
    assert part.amount == Decimal("40.05")
    assert part.paid_date == dt.date(2025, 1, 10)
    assert part.notes == "deposit"
    after_part = await h.invoices.get(iid)
    assert (after_part.state, after_part.due_amount) == ("open", Decimal("60.05"))

    paid_at = dt.datetime(2025, 1, 14, 16, 30, tzinfo=dt.UTC)
    rest = await h.invoices.create_payment(iid, amount=Decimal("60.05"), paid_at=paid_at)
    assert rest.paid_at == paid_at
    paid = await h.invoices.get(iid)
    assert (paid.state, paid.due_amount, paid.paid_at) == ("paid", Decimal("0"), paid_at)

    payments = await h.invoices.payments(iid, per_page=1).collect()
    assert ids(payments) == [ident(rest), ident(part)]
    await h.invoices.delete_payment(iid, ident(rest))
    reopened = await h.invoices.get(iid)
    assert (reopened.state, reopened.due_amount) == ("open", Decimal("60.05"))
    assert ids(await h.invoices.payments(iid).collect()) == [ident(part)]

    with pytest.raises(ha.ValidationError, match="greater than 0"):
        await h.invoices.create_payment(iid, amount=0)


# ----------------------------------------------------------------------------- estimates


async def test_estimates_crud_with_line_items(sim: HarvestSimulator, h: ha.HarvestClient) -> None:
    client_id = sim_ids(sim, "clients")[2]
    created = await h.estimates.create(
        client_id=client_id,
        subject="Phase 2",
        tax2=Decimal("5"),
        currency="EUR",
        issue_date="2025-01-15",
        line_items=[
            {
                "kind": "Service",
                "description": "Build",
                "quantity": Decimal("12"),
                "unit_price": Decimal("125.5"),
                "taxed2": True,
            }
        ],
    )
    eid = ident(created)
    assert (created.state, created.subject, created.currency) == ("draft", "Phase 2", "EUR")
    lines = created.line_items or []
    assert [(li.quantity, li.unit_price, li.amount, li.taxed2) for li in lines] == [
        (Decimal("12"), Decimal("125.5"), Decimal("1506"), True)
    ]
    assert created.tax2_amount == Decimal("75.3")
    assert created.amount == Decimal("1581.3")
    assert await h.estimates.get(eid) == created

    updated = await h.estimates.update(eid, notes="valid 30 days")
    only_changed(created, updated, notes="valid 30 days")
    more = await h.estimates.create_line_items(
        eid, line_items=[{"kind": "Service", "unit_price": Decimal("0.99")}]
    )
    assert [li.amount for li in more.line_items or []] == [Decimal("1506"), Decimal("0.99")]
    changed = await h.estimates.update_line_items(
        eid, line_items=[{"id": ident(lines[0]), "unit_price": Decimal("100")}]
    )
    assert (changed.line_items or [])[0].amount == Decimal("1200")
    fewer = await h.estimates.delete_line_items(eid, line_item_ids=[ident(lines[0])])
    assert [li.amount for li in fewer.line_items or []] == [Decimal("0.99")]

    assert eid in ids(await h.estimates.list(client_id=client_id, state="draft").collect())
    await h.estimates.delete(eid)
    with pytest.raises(ha.NotFoundError):
        await h.estimates.get(eid)


async def test_estimate_messages_and_events(sim: HarvestSimulator, h: ha.HarvestClient) -> None:
    estimate = await h.estimates.create(
        client_id=sim_ids(sim, "clients")[0],
        line_items=[{"kind": "Service", "unit_price": Decimal("10")}],
    )
    eid = ident(estimate)
    sent = await h.estimates.create_message(
        eid,
        recipients=[{"email": "buyer@example.com"}],
        subject="Our offer",
        body="See PDF",
        send_me_a_copy=True,
    )
    assert (sent.subject, sent.body, sent.send_me_a_copy, sent.event_type) == (
        "Our offer",
        "See PDF",
        True,
        None,
    )
    now = await h.estimates.get(eid)
    assert now.state == "sent"
    assert now.sent_at is not None

    accepted = await h.estimates.accept(eid)
    assert accepted.event_type == "accept"
    now = await h.estimates.get(eid)
    assert (now.state, now.declined_at) == ("accepted", None)
    assert now.accepted_at is not None

    reopened = await h.estimates.reopen(eid)
    assert reopened.event_type == "re-open"
    assert (await h.estimates.get(eid)).state == "sent"
    declined = await h.estimates.decline(eid)
    assert declined.event_type == "decline"
    now = await h.estimates.get(eid)
    assert (now.state, now.accepted_at) == ("declined", None)

    other = await h.estimates.create(client_id=sim_ids(sim, "clients")[0])
    marked = await h.estimates.mark_as_sent(ident(other))
    assert marked.event_type == "send"
    assert (await h.estimates.get(ident(other))).state == "sent"

    messages = await h.estimates.messages(eid, per_page=1).collect()
    assert ids(messages) == [ident(m) for m in (declined, reopened, accepted, sent)]
    await h.estimates.delete_message(eid, ident(accepted))
    assert ids(await h.estimates.messages(eid).collect()) == [
        ident(m) for m in (declined, reopened, sent)
    ]

    sent_before = sim.counters.requests
    with pytest.raises(ha.InvalidRequestError):  # refused before anything is sent
        await h.estimates.create_message(eid, recipients=[])
    assert sim.counters.requests == sent_before


# ----------------------------------------------------------------------------- OAuth


async def test_harvest_id_exchange_refresh_and_accounts() -> None:
    async with (
        HarvestSimulator(seed=4) as sim,
        HarvestID(base_url=sim.id_base_url, user_agent=UA) as harvest_id,
    ):
        token = await harvest_id.exchange_code(
            sim.issue_authorization_code(), client_id=sim.client_id, client_secret=sim.client_secret
        )
        assert token.token_type == "bearer"
        assert token.expires_in == 14 * 86400
        assert token.access_token
        assert token.refresh_token

        accounts = await harvest_id.accounts(token.access_token)
        assert accounts.user is not None
        assert accounts.user.id == sim.world.me_id
        assert [(a.id, a.product) for a in accounts.accounts or []] == [(sim.account_id, "harvest")]

        fresh = await harvest_id.refresh(
            token.refresh_token, client_id=sim.client_id, client_secret=sim.client_secret
        )
        assert fresh.access_token
        assert fresh.access_token != token.access_token
        assert fresh.refresh_token
        assert fresh.refresh_token != token.refresh_token

        with pytest.raises(ha.BadRequestError):  # refresh tokens rotate
            await harvest_id.refresh(
                token.refresh_token, client_id=sim.client_id, client_secret=sim.client_secret
            )
        with pytest.raises(ha.AuthenticationError):
            await harvest_id.refresh(
                fresh.refresh_token, client_id=sim.client_id, client_secret="wrong"
            )
        code = sim.issue_authorization_code()
        await harvest_id.exchange_code(
            code, client_id=sim.client_id, client_secret=sim.client_secret
        )
        with pytest.raises(ha.BadRequestError):  # a code is single use
            await harvest_id.exchange_code(
                code, client_id=sim.client_id, client_secret=sim.client_secret
            )
        with pytest.raises(ha.AuthenticationError):
            await harvest_id.accounts("not-a-token")

        async with sim.client(access_token=fresh.access_token, user_agent=UA) as h:
            assert ident(await h.users.me()) == sim.world.me_id
    assert sim.errors == []


async def test_authorize_redirect_code_works_end_to_end() -> None:
    import aiohttp
    from yarl import URL

    async with (
        HarvestSimulator(seed=4) as sim,
        HarvestID(base_url=sim.id_base_url, user_agent=UA) as harvest_id,
        aiohttp.ClientSession() as browser,
    ):
        url = harvest_id.authorization_url(
            sim.client_id, redirect_uri="https://app.example.com/callback", state="csrf-1"
        )
        async with browser.get(url, allow_redirects=False) as answer:
            assert answer.status == 302
            back = URL(answer.headers["Location"])
        assert (back.host, back.path, back.query["state"]) == (
            "app.example.com",
            "/callback",
            "csrf-1",
        )
        token = await harvest_id.exchange_code(
            back.query["code"],
            client_id=sim.client_id,
            client_secret=sim.client_secret,
            redirect_uri="https://app.example.com/callback",
        )
        assert token.access_token
        async with sim.client(access_token=token.access_token, user_agent=UA) as h:
            assert (await h.company.get()).name == sim.world.company["name"]
    assert sim.errors == []


async def test_from_oauth_refreshes_after_a_401_and_retries_once() -> None:
    async with (
        HarvestSimulator(seed=5, token_lifetime=3600) as sim,
        HarvestID(base_url=sim.id_base_url, user_agent=UA) as harvest_id,
    ):
        token = await harvest_id.exchange_code(
            sim.issue_authorization_code(), client_id=sim.client_id, client_secret=sim.client_secret
        )
        stored: list[OAuthToken] = []
        session = harvest_id.session(
            token,
            client_id=sim.client_id,
            client_secret=sim.client_secret,
            on_refresh=stored.append,
        )
        first_token = session.access_token
        async with ha.HarvestClient.from_oauth(
            session,
            account_id=sim.account_id,
            base_url=sim.base_url,
            user_agent=UA,
            rate_limiter=sim.new_rate_limiter(),
            reports_rate_limiter=sim.new_reports_rate_limiter(),
        ) as h:
            assert ident(await h.users.me()) == sim.world.me_id
            # The simulator's clock moves past the token's lifetime; the session's (the
            # wall clock) does not know, so the API answers 401 and the client refreshes.
            sim.advance(3601)
            sim.counters.reset()
            me = await h.users.me()
            assert ident(me) == sim.world.me_id
            assert session.access_token != first_token
            assert len(stored) == 1
            assert [(r.method, r.path, r.status) for r in list(sim.requests)[-3:]] == [
                ("GET", "/v2/users/me", 401),
                ("POST", "/api/v2/oauth2/token", 200),
                ("GET", "/v2/users/me", 200),
            ]
            # A POST is re-sent once too (a 401 was not processed).
            sim.advance(3601)
            created = await h.clients.create(name="After expiry")
            assert sim.record("clients", ident(created)) is not None
            assert sim.counters.creates["clients"] == 1
            assert len(stored) == 2
            # A revoked refresh token: the refresh fails and the 401's cause surfaces.
            sim.revoke_token(session.refresh_token)
            sim.advance(3601)
            with pytest.raises(ha.BadRequestError):
                await h.company.get()
    assert sim.errors == []


async def test_from_oauth_concurrent_401s_share_one_refresh() -> None:
    async with (
        HarvestSimulator(seed=5, token_lifetime=3600) as sim,
        HarvestID(base_url=sim.id_base_url, user_agent=UA) as harvest_id,
    ):
        token = await harvest_id.exchange_code(
            sim.issue_authorization_code(), client_id=sim.client_id, client_secret=sim.client_secret
        )
        session = harvest_id.session(
            token, client_id=sim.client_id, client_secret=sim.client_secret
        )
        async with ha.HarvestClient.from_oauth(
            session,
            account_id=sim.account_id,
            base_url=sim.base_url,
            user_agent=UA,
        ) as h:
            sim.advance(3601)
            sim.counters.reset()
            results = await asyncio.gather(*(h.company.get() for _ in range(6)))
        assert {c.name for c in results} == {sim.world.company["name"]}
        refreshes = [
            r for r in sim.requests if r.path == "/api/v2/oauth2/token" and r.status == 200
        ]
        assert len(refreshes) == 2  # the exchange, then one refresh for six 401s
        assert sim.counters.by_status[401] == 6
        assert sim.counters.by_status[200] == 7  # six retries and the refresh
    assert sim.errors == []


async def test_from_oauth_refreshes_before_expiry_on_the_simulated_clock() -> None:
    async with (
        HarvestSimulator(seed=6, token_lifetime=3600) as sim,
        HarvestID(base_url=sim.id_base_url, user_agent=UA) as harvest_id,
    ):
        token = await harvest_id.exchange_code(
            sim.issue_authorization_code(), client_id=sim.client_id, client_secret=sim.client_secret
        )
        session = harvest_id.session(
            token, client_id=sim.client_id, client_secret=sim.client_secret, clock=sim.now
        )
        async with ha.HarvestClient.from_oauth(
            session,
            account_id=sim.account_id,
            base_url=sim.base_url,
            user_agent=UA,
        ) as h:
            await h.company.get()
            sim.advance(3600 - 30)  # within the session's leeway (60 s) of expiry
            await asyncio.gather(h.company.get(), h.users.me(), h.clients.list().collect())
        assert sim.counters.by_status[401] == 0  # refreshed ahead: never rejected
        refreshes = [r for r in sim.requests if r.path == "/api/v2/oauth2/token"]
        assert len(refreshes) == 2  # the exchange, then one refresh for three callers
        assert session.expires_at is not None
        assert session.expires_at > sim.now()
    assert sim.errors == []


async def test_sim_client_accepts_a_token_provider() -> None:
    async with (
        HarvestSimulator(seed=7) as sim,
        HarvestID(base_url=sim.id_base_url, user_agent=UA) as harvest_id,
    ):
        token = await harvest_id.exchange_code(
            sim.issue_authorization_code(), client_id=sim.client_id, client_secret=sim.client_secret
        )
        session = harvest_id.session(
            token, client_id=sim.client_id, client_secret=sim.client_secret
        )
        async with sim.client(token_provider=session, user_agent=UA) as h:
            assert ident(await h.users.me()) == sim.world.me_id


# ----------------------------------------------------------------------------- scale


async def test_a_small_scale_simulator_serves_empty_and_tiny_lists() -> None:
    scale = SimulatorScale(
        users=1,
        clients=1,
        contacts_per_client=0,
        projects=1,
        tasks=1,
        tasks_per_project=1,
        users_per_project=1,
        roles=0,
        time_entries=0,
        expenses=0,
        invoices=0,
        estimates=0,
    )
    async with HarvestSimulator(seed=0, scale=scale) as sim, sim.client(user_agent=UA) as h:
        assert await h.time_entries.list().collect() == []
        assert await h.invoices.list().collect() == []
        assert await h.roles.list().collect() == []
        assert ids(await h.projects.list().collect()) == sim_ids(sim, "projects")
    assert sim.errors == []
