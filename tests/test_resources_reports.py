"""Reports: request shapes, Harvest's examples decoded, the one-year rule, the reports
rate limiter, :func:`split_timeframe` and ``Reports.by_window``.

Every ``/reports/...`` operation is checked for method, path, query (``from``/``to`` as
``YYYYMMDD``, as Harvest's report docs and every recording write them; booleans as
``true``/``false``), no body, and the rows decoded from the OpenAPI example (passed as
JSON text so decimals stay exact). Bad arguments raise ``InvalidRequestError`` with
nothing sent. The timeframe rule is Harvest's: ``to - from`` at most 365 days.
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
from hypothesis import given
from hypothesis import strategies as st

import harvest_async as ha
from harvest_async._pagination import Paginator
from harvest_async.models import (
    ExpenseReportResult,
    ProjectBudgetReportResult,
    TimeReportResult,
    UninvoicedReportResult,
)
from harvest_async.resources._base import OPERATION_ATTR
from harvest_async.resources.reports import (
    MAX_TIMEFRAME_DAYS,
    ExpenseReports,
    Reports,
    TimeReports,
    split_timeframe,
)

from .conftest import ACCOUNT, BASE, TOKEN, Sent, sent_requests
from .shared import openapi_spec

FROM = dt.date(2017, 1, 1)
TO = dt.date(2017, 12, 31)


def at(path: str) -> re.Pattern[str]:
    """Match the API path with any query string."""
    return re.compile(rf"^{re.escape(BASE)}/{re.escape(path)}(\?.*)?$")


def example(path: str) -> str:
    """The OpenAPI response example of ``GET path`` as wire JSON text."""
    content = openapi_spec()["paths"][path]["get"]["responses"][200]["content"]["application/json"]
    return json.dumps(content["example"])


def envelope(rows: list[str], *, next_url: str | None = None) -> str:
    """A results page (page-based fields left out; links.next as given)."""
    nxt = json.dumps(next_url)
    return f'{{"results": [{", ".join(rows)}], "links": {{"next": {nxt}}}}}'


@pytest.fixture
def reports(client: ha.HarvestClient) -> Reports:
    assert isinstance(client.reports, Reports)
    return client.reports


def assert_rows_match(rows: list[Any], text: str) -> None:
    """Each decoded row equals its JSON object, field by field, decimals exactly."""
    raw = json.loads(text, parse_float=Decimal)["results"]
    assert len(rows) == len(raw)
    for row, data in zip(rows, raw, strict=True):
        fields = attrs.fields_dict(type(row))
        for key, value in data.items():
            assert key in fields, key
            got = getattr(row, key)
            if (
                isinstance(value, (int, Decimal))
                and not isinstance(value, bool)
                and (isinstance(got, Decimal))
            ):
                assert str(got) == str(value), (key, got, value)
            else:
                assert got == value, (key, got, value)
                assert type(got) is type(value), (key, got)


# (call, OpenAPI path, model, takes include_fixed_fee)
DATED: list[tuple[Callable[..., Paginator[Any]], str, type[Any], bool]] = [
    (lambda r, **k: r.time.clients(**k), "/reports/time/clients", TimeReportResult, True),
    (lambda r, **k: r.time.projects(**k), "/reports/time/projects", TimeReportResult, True),
    (lambda r, **k: r.time.tasks(**k), "/reports/time/tasks", TimeReportResult, True),
    (lambda r, **k: r.time.team(**k), "/reports/time/team", TimeReportResult, True),
    (
        lambda r, **k: r.expenses.clients(**k),
        "/reports/expenses/clients",
        ExpenseReportResult,
        False,
    ),
    (
        lambda r, **k: r.expenses.projects(**k),
        "/reports/expenses/projects",
        ExpenseReportResult,
        False,
    ),
    (
        lambda r, **k: r.expenses.categories(**k),
        "/reports/expenses/categories",
        ExpenseReportResult,
        False,
    ),
    (lambda r, **k: r.expenses.team(**k), "/reports/expenses/team", ExpenseReportResult, False),
    (lambda r, **k: r.uninvoiced(**k), "/reports/uninvoiced", UninvoicedReportResult, True),
]
DATED_IDS = [path for _, path, _, _ in DATED]

# (the report method of a Reports, OpenAPI path), for Reports.by_window
WINDOWED: list[tuple[Callable[[Reports], Callable[..., Paginator[Any]]], str]] = [
    (lambda r: r.time.clients, "/reports/time/clients"),
    (lambda r: r.time.projects, "/reports/time/projects"),
    (lambda r: r.time.tasks, "/reports/time/tasks"),
    (lambda r: r.time.team, "/reports/time/team"),
    (lambda r: r.expenses.clients, "/reports/expenses/clients"),
    (lambda r: r.expenses.projects, "/reports/expenses/projects"),
    (lambda r: r.expenses.categories, "/reports/expenses/categories"),
    (lambda r: r.expenses.team, "/reports/expenses/team"),
    (lambda r: r.uninvoiced, "/reports/uninvoiced"),
]
WINDOWED_IDS = [path for _, path in WINDOWED]


# -- the operations -----------------------------------------------------------------


@pytest.mark.parametrize(("call", "path", "model", "fixed_fee"), DATED, ids=DATED_IDS)
async def test_dated_report_request_and_example(
    mock: aioresponses,
    reports: Reports,
    call: Callable[..., Paginator[Any]],
    path: str,
    model: type[Any],
    fixed_fee: bool,
) -> None:
    text = example(path)
    mock.get(at(path.lstrip("/")), body=text)
    rows = await call(reports, from_=FROM, to=TO, per_page=100).collect()
    (sent,) = sent_requests(mock)
    assert sent.method == "GET"
    assert sent.path == path.lstrip("/")
    assert sent.query == {"from": "20170101", "to": "20171231", "per_page": "100"}
    assert sent.body is None
    assert all(type(row) is model for row in rows)
    assert rows
    assert_rows_match(rows, text)


def test_every_report_operation_is_marked() -> None:
    spec_ops = {("GET", p) for p in openapi_spec()["paths"] if p.startswith("/reports")}
    marked: set[tuple[str, str]] = set()
    for cls in (Reports, TimeReports, ExpenseReports):
        for member in vars(cls).values():
            marked.update(getattr(member, OPERATION_ATTR, ()))
    assert marked == spec_ops
    assert len(spec_ops) == 10


def test_reports_surface() -> None:
    names = {n for n in vars(Reports) if not n.startswith("_")}
    assert names == {"uninvoiced", "by_window", "project_budget"}
    time_names = {n for n in vars(TimeReports) if not n.startswith("_")}
    assert time_names == {"clients", "projects", "tasks", "team"}
    expense_names = {n for n in vars(ExpenseReports) if not n.startswith("_")}
    assert expense_names == {"clients", "projects", "categories", "team"}


@pytest.mark.parametrize(
    ("call", "path"),
    [(c, p) for c, p, _, ff in DATED if ff],
    ids=[p for _, p, _, ff in DATED if ff],
)
async def test_include_fixed_fee_is_a_query_boolean(
    mock: aioresponses, reports: Reports, call: Callable[..., Paginator[Any]], path: str
) -> None:
    mock.get(at(path.lstrip("/")), body=envelope([]))
    mock.get(at(path.lstrip("/")), body=envelope([]))
    await call(reports, from_="2017-01-01", to="2017-01-31", include_fixed_fee=True).collect()
    await call(reports, from_=FROM, to=FROM, include_fixed_fee=False).collect()
    first, second = sent_requests(mock)
    assert first.query == {"from": "20170101", "to": "20170131", "include_fixed_fee": "true"}
    assert second.query == {"from": "20170101", "to": "20170101", "include_fixed_fee": "false"}


@pytest.mark.parametrize(
    ("call", "path"),
    [(c, p) for c, p, _, ff in DATED if not ff],
    ids=[p for _, p, _, ff in DATED if not ff],
)
def test_expense_reports_take_no_include_fixed_fee(
    reports: Reports, call: Callable[..., Paginator[Any]], path: str
) -> None:
    with pytest.raises(TypeError):
        call(reports, from_=FROM, to=TO, include_fixed_fee=True)


async def test_project_budget_request_and_example(mock: aioresponses, reports: Reports) -> None:
    text = example("/reports/project_budget")
    mock.get(at("reports/project_budget"), body=text)
    mock.get(at("reports/project_budget"), body=text)
    rows = await reports.project_budget(is_active=True, per_page=2000).collect()
    await reports.project_budget().collect()
    first, second = sent_requests(mock)
    assert (first.method, first.path, first.body) == ("GET", "reports/project_budget", None)
    assert first.query == {"is_active": "true", "per_page": "2000"}
    assert second.query == {}
    assert all(type(row) is ProjectBudgetReportResult for row in rows)
    assert_rows_match(rows, text)
    assert rows[0].budget_remaining == Decimal("196")


async def test_example_spot_values(mock: aioresponses, reports: Reports) -> None:
    mock.get(at("reports/expenses/categories"), body=example("/reports/expenses/categories"))
    rows = await reports.expenses.categories(from_=FROM, to=TO).collect()
    assert rows[2].total_amount == Decimal("33.35")
    assert str(rows[2].total_amount) == "33.35"
    assert rows[2].expense_category_name == "Meals"
    mock.get(at("reports/time/team"), body=example("/reports/time/team"))
    team = await reports.time.team(from_=FROM, to=TO).collect()
    assert team[0].weekly_capacity == 126000
    assert team[0].is_contractor is False
    assert str(team[0].total_hours) == "0.5"


async def test_report_sends_nothing_until_iterated(mock: aioresponses, reports: Reports) -> None:
    mock.get(at("reports/time/clients"), body=envelope([]))
    pager = reports.time.clients(from_=FROM, to=TO)
    assert sent_requests(mock) == []
    assert await pager.collect() == []
    assert len(sent_requests(mock)) == 1


async def test_report_follows_links_next(mock: aioresponses, reports: Reports) -> None:
    next_url = f"{BASE}/reports/time/projects?cursor=abc&from=20170101&to=20171231"
    mock.get(at("reports/time/projects"), body=envelope(['{"project_id": 1}'], next_url=next_url))
    mock.get(next_url, body=envelope(['{"project_id": 2}']))
    rows = await reports.time.projects(from_=FROM, to=TO).collect()
    assert [r.project_id for r in rows] == [1, 2]
    first, second = sent_requests(mock)
    assert first.query == {"from": "20170101", "to": "20171231"}
    assert "page" not in second.query
    assert second.query["cursor"] == "abc"


# -- the reports rate limiter -------------------------------------------------------


class CountingLimiter:
    """A limiter that admits everything and counts acquisitions and releases."""

    def __init__(self) -> None:
        self.acquired = 0
        self.released = 0

    async def acquire(self) -> object:
        self.acquired += 1
        return object()

    async def release(self, handle: object) -> None:
        self.released += 1

    async def pause(self, seconds: float) -> None:
        pass


async def test_reports_go_through_the_reports_limiter(mock: aioresponses) -> None:
    general, reporting = CountingLimiter(), CountingLimiter()
    async with ha.HarvestClient(
        access_token=TOKEN,
        account_id=ACCOUNT,
        user_agent="tests (dev@example.com)",
        rate_limiter=general,
        reports_rate_limiter=reporting,
    ) as client:
        next_url = f"{BASE}/reports/project_budget?page=2"
        mock.get(
            at("reports/project_budget"), body=envelope(['{"project_id": 1}'], next_url=next_url)
        )
        mock.get(next_url, body=envelope(['{"project_id": 2}']))
        mock.get(at("reports/time/team"), body=envelope([]))
        mock.get(at("reports/expenses/team"), body=envelope([]))
        mock.get(at("reports/uninvoiced"), body=envelope([]))
        await client.reports.project_budget().collect()
        await client.reports.time.team(from_=FROM, to=TO).collect()
        await client.reports.expenses.team(from_=FROM, to=TO).collect()
        await client.reports.uninvoiced(from_=FROM, to=TO).collect()
        assert (reporting.acquired, reporting.released) == (5, 5)
        assert general.acquired == 0
        mock.get(at("company"), body='{"name": "ACME"}')
        await client.company.get()
        assert general.acquired == 1
        assert reporting.acquired == 5


# -- the one-year rule: to - from <= 365 days -------------------------------------------


@pytest.mark.parametrize(("call", "path", "model", "ff"), DATED, ids=DATED_IDS)
@pytest.mark.parametrize(
    ("from_", "to"),
    [
        (dt.date(2020, 1, 1), dt.date(2021, 1, 1)),  # 366 days apart: Harvest's recorded 400
        (dt.date(2023, 1, 1), dt.date(2024, 1, 2)),  # 366 days apart
        (dt.date(2023, 2, 28), dt.date(2024, 2, 29)),  # 366 days apart over Feb 29
        (dt.date(2015, 1, 1), dt.date(2024, 12, 31)),
    ],
)
def test_timeframe_over_365_days_apart_is_rejected(
    mock: aioresponses,
    reports: Reports,
    call: Callable[..., Paginator[Any]],
    path: str,
    model: type[Any],
    ff: bool,
    from_: dt.date,
    to: dt.date,
) -> None:
    with pytest.raises(ha.InvalidRequestError, match="Invalid timeframe: must not exceed 1 year"):
        call(reports, from_=from_, to=to)
    assert sent_requests(mock) == []


@pytest.mark.parametrize(
    ("from_", "to", "low", "high"),
    [
        (dt.date(2021, 1, 1), dt.date(2022, 1, 1), "20210101", "20220101"),  # recorded 200
        (dt.date(2020, 1, 2), dt.date(2021, 1, 1), "20200102", "20210101"),  # recorded 200
        (dt.date(2024, 1, 1), dt.date(2024, 12, 31), "20240101", "20241231"),  # a leap year
        (dt.date(2023, 1, 1), dt.date(2024, 1, 1), "20230101", "20240101"),
        (dt.date(2023, 3, 1), dt.date(2024, 2, 29), "20230301", "20240229"),
        (dt.date(2024, 5, 5), dt.date(2024, 5, 5), "20240505", "20240505"),  # one day
        (dt.date(9, 1, 2), dt.date(9, 1, 3), "00090102", "00090103"),  # four-digit years
    ],
)
async def test_timeframe_up_to_365_days_apart_is_sent_as_yyyymmdd(
    mock: aioresponses, reports: Reports, from_: dt.date, to: dt.date, low: str, high: str
) -> None:
    mock.get(at("reports/time/clients"), body=envelope([]))
    await reports.time.clients(from_=from_, to=to).collect()
    (sent,) = sent_requests(mock)
    assert sent.query == {"from": low, "to": high}
    assert sent.url.raw_query_string == f"from={low}&to={high}"


@pytest.mark.parametrize(("call", "path", "model", "ff"), DATED, ids=DATED_IDS)
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"from_": dt.date(2024, 2, 1), "to": dt.date(2024, 1, 31)}, "before"),
        ({"from_": dt.datetime(2024, 1, 1, tzinfo=dt.UTC), "to": TO}, "not a datetime"),
        ({"from_": "2024-13-01", "to": TO}, "YYYY-MM-DD"),
        ({"from_": 20240101, "to": TO}, "YYYY-MM-DD"),
        ({"from_": FROM, "to": TO, "per_page": 0}, "per_page"),
        ({"from_": FROM, "to": TO, "per_page": 2001}, "per_page"),
    ],
)
def test_bad_arguments_are_rejected(
    mock: aioresponses,
    reports: Reports,
    call: Callable[..., Paginator[Any]],
    path: str,
    model: type[Any],
    ff: bool,
    kwargs: dict[str, Any],
    match: str,
) -> None:
    with pytest.raises(ha.InvalidRequestError, match=match):
        call(reports, **kwargs)
    assert sent_requests(mock) == []


@pytest.mark.parametrize(("call", "path", "model", "ff"), DATED, ids=DATED_IDS)
def test_from_and_to_are_required(
    reports: Reports, call: Callable[..., Paginator[Any]], path: str, model: type[Any], ff: bool
) -> None:
    with pytest.raises(TypeError):
        call(reports, from_=FROM)
    with pytest.raises(TypeError):
        call(reports, to=TO)


def test_project_budget_bad_arguments(mock: aioresponses, reports: Reports) -> None:
    with pytest.raises(ha.InvalidRequestError, match="is_active"):
        reports.project_budget(is_active="yes")  # type: ignore[arg-type]
    with pytest.raises(ha.InvalidRequestError, match="per_page"):
        reports.project_budget(per_page=True)
    assert sent_requests(mock) == []


# -- split_timeframe --------------------------------------------------------------------


def test_split_timeframe_examples() -> None:
    d = dt.date
    assert MAX_TIMEFRAME_DAYS == 366  # both ends counted: to - from is 365 days
    assert split_timeframe(d(2024, 1, 1), d(2024, 12, 31)) == [(d(2024, 1, 1), d(2024, 12, 31))]
    assert split_timeframe(d(2021, 1, 1), d(2022, 1, 1)) == [(d(2021, 1, 1), d(2022, 1, 1))]
    assert split_timeframe(d(2020, 1, 1), d(2021, 1, 1)) == [
        (d(2020, 1, 1), d(2020, 12, 31)),
        (d(2021, 1, 1), d(2021, 1, 1)),
    ]
    assert split_timeframe(d(2022, 1, 1), d(2024, 12, 31)) == [
        (d(2022, 1, 1), d(2023, 1, 1)),
        (d(2023, 1, 2), d(2024, 1, 2)),
        (d(2024, 1, 3), d(2024, 12, 31)),
    ]
    assert split_timeframe(d(2023, 1, 1), d(2023, 12, 31)) == [(d(2023, 1, 1), d(2023, 12, 31))]
    assert split_timeframe("2024-05-05", "2024-05-05") == [(d(2024, 5, 5), d(2024, 5, 5))]
    assert split_timeframe(d(2024, 1, 1), d(2024, 1, 10), max_days=3) == [
        (d(2024, 1, 1), d(2024, 1, 3)),
        (d(2024, 1, 4), d(2024, 1, 6)),
        (d(2024, 1, 7), d(2024, 1, 9)),
        (d(2024, 1, 10), d(2024, 1, 10)),
    ]
    assert split_timeframe(d(2024, 1, 1), d(2024, 1, 3), max_days=1) == [
        (d(2024, 1, 1), d(2024, 1, 1)),
        (d(2024, 1, 2), d(2024, 1, 2)),
        (d(2024, 1, 3), d(2024, 1, 3)),
    ]
    # The ends of the calendar do not overflow.
    assert split_timeframe(dt.date.max, dt.date.max) == [(dt.date.max, dt.date.max)]
    assert split_timeframe(dt.date.min, dt.date.min, max_days=10**9) == [(dt.date.min, dt.date.min)]
    last = split_timeframe(d(9999, 1, 1), dt.date.max)[-1]
    assert last[1] == dt.date.max


def test_split_timeframe_is_exported() -> None:
    import harvest_async.resources.reports as module

    assert "split_timeframe" in module.__all__


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        ((dt.date(2024, 2, 1), dt.date(2024, 1, 31)), {}, "before"),
        ((dt.date(2024, 1, 1), dt.date(2024, 1, 31)), {"max_days": 0}, "max_days"),
        ((dt.date(2024, 1, 1), dt.date(2024, 1, 31)), {"max_days": True}, "max_days"),
        ((dt.date(2024, 1, 1), dt.date(2024, 1, 31)), {"max_days": 1.5}, "max_days"),
        (("2024/01/01", dt.date(2024, 1, 31)), {}, "YYYY-MM-DD"),
        ((dt.datetime(2024, 1, 1), dt.date(2024, 1, 31)), {}, "datetime"),
    ],
)
def test_split_timeframe_rejects(args: Any, kwargs: Any, match: str) -> None:
    with pytest.raises(ha.InvalidRequestError, match=match):
        split_timeframe(*args, **kwargs)


dates = st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2060, 12, 31))


@given(a=dates, b=dates, max_days=st.one_of(st.integers(1, 400), st.just(366)))
def test_split_timeframe_properties(a: dt.date, b: dt.date, max_days: int) -> None:
    start, end = min(a, b), max(a, b)
    windows = split_timeframe(start, end, max_days=max_days)
    days = (end - start).days + 1
    assert len(windows) == -(-days // max_days)  # as few windows as possible
    assert windows[0][0] == start
    assert windows[-1][1] == end
    covered = 0
    for i, (lo, hi) in enumerate(windows):
        assert lo <= hi
        length = (hi - lo).days + 1
        assert length <= max_days
        if i < len(windows) - 1:
            assert length == max_days  # only the last is short
            assert windows[i + 1][0] == hi + dt.timedelta(days=1)  # in order, no gap/overlap
        covered += length
    assert covered == days  # every day exactly once


@given(a=dates, b=dates)
def test_split_timeframe_windows_are_legal_reports(a: dt.date, b: dt.date) -> None:
    windows = split_timeframe(min(a, b), max(a, b))
    for lo, hi in windows:
        assert (hi - lo).days <= 365  # Harvest's rule
        assert (hi - lo).days == 365 or (lo, hi) == windows[-1]  # as long as allowed


# -- Reports.by_window --------------------------------------------------------------


@pytest.mark.parametrize(("report", "path"), WINDOWED, ids=WINDOWED_IDS)
async def test_by_window_runs_one_report_per_window(
    mock: aioresponses,
    reports: Reports,
    report: Callable[[Reports], Callable[..., Paginator[Any]]],
    path: str,
) -> None:
    span = (dt.date(2022, 6, 1), dt.date(2025, 1, 2))
    windows = split_timeframe(*span)
    assert len(windows) == 3
    for i in range(len(windows)):
        mock.get(
            at(path.lstrip("/")),
            body=envelope([f'{{"client_id": {i + 1}}}', f'{{"client_id": {i + 11}}}']),
        )
    stream = reports.by_window(report(reports), from_=span[0], to=span[1], per_page=500)
    assert sent_requests(mock) == []  # nothing sent until iterated
    got = [(window, row.client_id) async for window, row in stream]
    assert got == [
        (windows[0], 1),
        (windows[0], 11),
        (windows[1], 2),
        (windows[1], 12),
        (windows[2], 3),
        (windows[2], 13),
    ]
    sent: list[Sent] = sent_requests(mock)
    assert [(s.query["from"], s.query["to"]) for s in sent] == [
        (lo.strftime("%Y%m%d"), hi.strftime("%Y%m%d")) for lo, hi in windows
    ]
    assert all(s.query["per_page"] == "500" and s.path == path.lstrip("/") for s in sent)


async def test_by_window_with_smaller_windows(mock: aioresponses, reports: Reports) -> None:
    for _ in range(4):
        mock.get(at("reports/time/team"), body=envelope(['{"user_id": 7}']))
    rows = [
        item
        async for item in reports.by_window(
            reports.time.team,
            from_="2024-01-01",
            to="2024-01-31",
            max_days=8,
            include_fixed_fee=True,
        )
    ]
    assert [w for w, _ in rows] == split_timeframe("2024-01-01", "2024-01-31", max_days=8)
    assert all(type(row) is TimeReportResult for _, row in rows)
    assert all(s.query["include_fixed_fee"] == "true" for s in sent_requests(mock))


async def test_by_window_of_one_legal_window(mock: aioresponses, reports: Reports) -> None:
    mock.get(at("reports/uninvoiced"), body=envelope(['{"project_id": 3}']))
    rows = [item async for item in reports.by_window(reports.uninvoiced, from_=FROM, to=TO)]
    assert rows == [((FROM, TO), UninvoicedReportResult(project_id=3))]


async def test_by_window_rows_are_per_window_not_summed(
    mock: aioresponses, reports: Reports
) -> None:
    for hours in ("1.5", "2.25"):
        mock.get(
            at("reports/time/projects"),
            body=envelope([f'{{"project_id": 9, "total_hours": {hours}}}']),
        )
    rows = [
        (window, row.project_id, str(row.total_hours))
        async for window, row in reports.by_window(
            reports.time.projects, from_="2024-01-01", to="2024-01-04", max_days=2
        )
    ]
    assert rows == [
        ((dt.date(2024, 1, 1), dt.date(2024, 1, 2)), 9, "1.5"),
        ((dt.date(2024, 1, 3), dt.date(2024, 1, 4)), 9, "2.25"),
    ]


@pytest.mark.parametrize(("report", "path"), WINDOWED, ids=WINDOWED_IDS)
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"from_": dt.date(2024, 2, 1), "to": dt.date(2024, 1, 31)}, "before"),
        ({"from_": FROM, "to": TO, "max_days": 367}, "max_days"),
        ({"from_": FROM, "to": TO, "max_days": 0}, "max_days"),
        ({"from_": FROM, "to": TO, "max_days": True}, "max_days"),
        ({"from_": FROM, "to": TO, "per_page": 5000}, "per_page"),
        ({"from_": "nope", "to": TO}, "YYYY-MM-DD"),
        ({"from_": FROM, "to": dt.datetime(2017, 12, 31, tzinfo=dt.UTC)}, "datetime"),
    ],
)
def test_by_window_rejects_bad_arguments_at_once(
    mock: aioresponses,
    reports: Reports,
    report: Callable[[Reports], Callable[..., Paginator[Any]]],
    path: str,
    kwargs: dict[str, Any],
    match: str,
) -> None:
    with pytest.raises(ha.InvalidRequestError, match=match):
        reports.by_window(report(reports), **kwargs)
    assert sent_requests(mock) == []


def test_by_window_passes_filters_to_the_report_at_once(
    mock: aioresponses, reports: Reports
) -> None:
    with pytest.raises(TypeError):  # expense reports take no include_fixed_fee
        reports.by_window(reports.expenses.team, from_=FROM, to=TO, include_fixed_fee=True)
    with pytest.raises(TypeError):
        reports.by_window(reports.time.team, from_=FROM, to=TO, is_active=True)
    assert sent_requests(mock) == []


async def test_by_window_takes_only_dated_reports_of_this_client(
    mock: aioresponses, reports: Reports
) -> None:
    async with ha.HarvestClient(
        access_token=TOKEN, account_id=ACCOUNT, user_agent="tests (dev@example.com)"
    ) as other:
        not_dated: list[Any] = [
            reports.project_budget,
            reports.by_window,
            other.reports.time.projects,  # another client's
            TimeReports.projects,  # not bound
            lambda **k: reports.time.projects(**k),
            reports.time._by,
            None,
        ]
        for report in not_dated:
            with pytest.raises(ha.InvalidRequestError, match="dated report method"):
                reports.by_window(report, from_=FROM, to=TO)
    assert sent_requests(mock) == []


def test_repr() -> None:
    assert repr(Reports.__new__(Reports)) == "<Reports>"
