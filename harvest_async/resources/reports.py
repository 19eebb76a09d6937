"""Reports: time, expenses, uninvoiced and project budget.

Harvest docs:
https://help.getharvest.com/api-v2/reports-api/reports/time-reports/,
https://help.getharvest.com/api-v2/reports-api/reports/expense-reports/,
https://help.getharvest.com/api-v2/reports-api/reports/uninvoiced-report/,
https://help.getharvest.com/api-v2/reports-api/reports/project-budget-report/.

Every report is a list of ``results`` and comes back as a `Paginator`. Report
requests have their own rate limit (100 per 15 minutes): the client sends them through
its ``reports_rate_limiter``.

A dated report covers ``from_`` to ``to`` inclusive, and Harvest rejects a timeframe
whose ``to - from`` exceeds 365 days with ``"Invalid timeframe: must not exceed 1
year"``: ``from=20210101&to=20220101`` (366 days, both counted) is answered,
``from=20200101&to=20210101`` (``to - from`` is 366 days over a leap year) is refused.
Such a timeframe raises `InvalidRequestError` here, before anything is sent. The
dates go out as ``YYYYMMDD``, the spelling of Harvest's report docs. For longer
spans, `split_timeframe` cuts the span into legal windows, and `Reports.by_window`
runs any dated report window after window and yields each row with the window it
belongs to::

    async for (start, end), row in harvest.reports.by_window(
        harvest.reports.time.projects, from_=date(2019, 1, 1), to=date(2024, 6, 30)
    ):
        print(start, end, row.project_name, row.total_hours)

Rows are per window: a project busy in two windows appears once in each.
"""

from __future__ import annotations

import datetime as dt
import inspect
import typing
from collections.abc import AsyncIterator, Callable, Sequence
from typing import TYPE_CHECKING, Concatenate, ParamSpec, TypeVar

from .._errors import InvalidRequestError
from .._pagination import Paginator
from ..models.reports import (
    ExpenseReportResult,
    ProjectBudgetReportResult,
    TimeReportResult,
    UninvoicedReportResult,
)
from ._base import NOT_GIVEN, NotGiven, PerPage, Resource, check_date, operation, query, shown

if TYPE_CHECKING:
    from .._requester import Requester

__all__ = [
    "MAX_TIMEFRAME_DAYS",
    "ExpenseReports",
    "Reports",
    "Timeframe",
    "TimeReports",
    "split_timeframe",
]

T = TypeVar("T")

#: Longest timeframe Harvest accepts in one report request, in days with both ends
#: counted: ``to - from`` may be at most 365 days (``20210101..20220101`` is accepted).
MAX_TIMEFRAME_DAYS = 366

#: An inclusive ``(from, to)`` date range.
Timeframe = tuple[dt.date, dt.date]

_DAY = dt.timedelta(days=1)


def _dates(from_: dt.date | str, to: dt.date | str) -> Timeframe:
    start = check_date("from_", from_)
    end = check_date("to", to)
    if end < start:
        raise InvalidRequestError(f"to ({end}) is before from_ ({start})")
    return start, end


def _check_max_days(max_days: int) -> int:
    if isinstance(max_days, bool) or not isinstance(max_days, int) or max_days < 1:
        raise InvalidRequestError(f"max_days must be a positive int, got {shown(max_days)}")
    return max_days


def _timeframe(from_: dt.date | str, to: dt.date | str, *, call: str) -> Timeframe:
    """The report's dates, checked as Harvest checks them: ``to - from <= 365`` days."""
    start, end = _dates(from_, to)
    span = (end - start).days
    if span > MAX_TIMEFRAME_DAYS - 1:
        raise InvalidRequestError(
            f"Invalid timeframe: must not exceed 1 year ({call}: to {end} is {span} days "
            f"after from_ {start}, Harvest allows at most {MAX_TIMEFRAME_DAYS - 1}); use "
            "split_timeframe() or harvest.reports.by_window() for longer spans"
        )
    return start, end


def _report_date(day: dt.date) -> str:
    """A report's ``from``/``to`` as Harvest's report docs write it: ``YYYYMMDD``."""
    return day.isoformat().replace("-", "")


def split_timeframe(
    from_: dt.date | str, to: dt.date | str, *, max_days: int = MAX_TIMEFRAME_DAYS
) -> list[Timeframe]:
    """Cut a span into consecutive windows a report request accepts.

    The windows are in order, each at most ``max_days`` long (both ends counted), and
    together cover every day from ``from_`` to ``to`` exactly once: each starts the day
    after the previous one ends. Only the last may be shorter. By default a window is
    366 days (``to - from`` is 365 days, the most Harvest accepts).

    Example:
        >>> split_timeframe(date(2022, 1, 1), date(2024, 12, 31))
        [(date(2022, 1, 1), date(2023, 1, 1)), (date(2023, 1, 2), date(2024, 1, 2)),
         (date(2024, 1, 3), date(2024, 12, 31))]

    Args:
        from_: First day of the span (a ``date`` or ``"YYYY-MM-DD"``).
        to: Last day of the span (on or after ``from_``).
        max_days: Longest window in days, both ends counted (default 366, Harvest's
            limit).

    Returns:
        ``(from, to)`` date pairs, inclusive.

    Raises:
        InvalidRequestError: a date is not a date, ``to`` is before ``from_``, or
            ``max_days`` is not a positive int.
    """
    start, end = _dates(from_, to)
    # A window longer than the whole calendar is the whole calendar (no timedelta overflow).
    days = min(_check_max_days(max_days), (dt.date.max - dt.date.min).days + 1)
    step = dt.timedelta(days=days - 1)
    windows: list[Timeframe] = []
    while start <= end:
        # max_days - 1 may overflow past date.max: cap at the span's end first.
        last = end if (end - start) <= step else start + step
        windows.append((start, last))
        if last == end:
            break
        start = last + _DAY
    return windows


def _window_rows(
    windows: Sequence[Timeframe], pagers: Sequence[Paginator[T]]
) -> AsyncIterator[tuple[Timeframe, T]]:
    async def rows() -> AsyncIterator[tuple[Timeframe, T]]:
        for window, pager in zip(windows, pagers, strict=True):
            async for row in pager:
                yield window, row

    return rows()


P = ParamSpec("P")
R = TypeVar("R")
S = TypeVar("S")


def _group(
    report: Callable[Concatenate[S, str, P], R], group: str, summary: str
) -> Callable[Concatenate[S, P], R]:
    """``report`` with its group set: the method ``harvest.reports.<kind>.<group>``.

    The method's signature, annotations and ``Args:`` are ``report``'s but for its
    ``group`` parameter; its ``@operation`` mark is ``GET /reports/<kind>/<group>``.
    """
    kind = report.__qualname__.split(".")[0].removesuffix("Reports").lower()
    kind = "expenses" if kind == "expense" else kind

    def call(self: S, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return report(self, group, *args, **kwargs)

    signature = inspect.signature(report)
    call.__name__ = group
    call.__qualname__ = f"{report.__qualname__.split('.')[0]}.{group}"
    call.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[p for p in signature.parameters.values() if p.name != "group"]
    )
    hints = typing.get_type_hints(report, include_extras=True)
    call.__annotations__ = {k: v for k, v in hints.items() if k != "group"}
    shared = (report.__doc__ or "").split("\n\n", 1)[1]
    call.__doc__ = f"{summary}\n\n{shared}"
    return operation("GET", f"/reports/{kind}/{group}")(call)


class _DatedReports(Resource):
    def _report(
        self,
        path: str,
        model: type[T],
        *,
        from_: dt.date | str,
        to: dt.date | str,
        per_page: PerPage | NotGiven,
        include_fixed_fee: bool | NotGiven = NOT_GIVEN,
    ) -> Paginator[T]:
        start, end = _timeframe(from_, to, call=path)
        params = [("from", _report_date(start)), ("to", _report_date(end))]
        params += query(include_fixed_fee=include_fixed_fee, per_page=per_page)
        return self._paginate(path, "results", model, params)


class TimeReports(_DatedReports):
    """``harvest.reports.time``: hours and billable amounts by client, project, task or user.

    Each report needs ``from_`` and ``to`` (``to`` at most 365 days after ``from_``); for
    longer spans, pass it to `Reports.by_window`.
    """

    def _by(
        self,
        group: str,
        *,
        from_: dt.date | str,
        to: dt.date | str,
        include_fixed_fee: bool | NotGiven = NOT_GIVEN,
        per_page: PerPage | NotGiven = NOT_GIVEN,
    ) -> Paginator[TimeReportResult]:
        """Hours and billable amounts per ``group`` (``/reports/time/<group>``).

        Args:
            from_: Only time entries with a ``spent_date`` on or after this date.
            to: Only time entries with a ``spent_date`` on or before this date
                (at most 365 days after ``from_``).
            include_fixed_fee: Also compute billable amounts for fixed-fee projects.
            per_page: Rows per page, 1..2000 (Harvest's default 2000).

        Returns:
            A `Paginator` of `TimeReportResult`; nothing is sent until
            iterated.

        Raises:
            InvalidRequestError: a bad date, ``to`` before ``from_``, or ``to`` more
                than 365 days after ``from_``.
        """
        return self._report(
            f"reports/time/{group}",
            TimeReportResult,
            from_=from_,
            to=to,
            include_fixed_fee=include_fixed_fee,
            per_page=per_page,
        )

    clients = _group(_by, "clients", "Hours and billable amounts per client.")
    projects = _group(_by, "projects", "Hours and billable amounts per project.")
    tasks = _group(_by, "tasks", "Hours and billable amounts per task.")
    team = _group(_by, "team", "Hours and billable amounts per team member (with weekly capacity).")


class ExpenseReports(_DatedReports):
    """``harvest.reports.expenses``: expense totals by client, project, category or user.

    Each report needs ``from_`` and ``to`` (``to`` at most 365 days after ``from_``); for
    longer spans, pass it to `Reports.by_window`.
    """

    def _by(
        self,
        group: str,
        *,
        from_: dt.date | str,
        to: dt.date | str,
        per_page: PerPage | NotGiven = NOT_GIVEN,
    ) -> Paginator[ExpenseReportResult]:
        """Expense totals per ``group`` (``/reports/expenses/<group>``).

        Args:
            from_: Only expenses with a ``spent_date`` on or after this date.
            to: Only expenses with a ``spent_date`` on or before this date (at most
                365 days after ``from_``).
            per_page: Rows per page, 1..2000 (Harvest's default 2000).

        Returns:
            A `Paginator` of `ExpenseReportResult`; nothing is sent until
            iterated.

        Raises:
            InvalidRequestError: a bad date, ``to`` before ``from_``, or ``to`` more
                than 365 days after ``from_``.
        """
        return self._report(
            f"reports/expenses/{group}",
            ExpenseReportResult,
            from_=from_,
            to=to,
            per_page=per_page,
        )

    clients = _group(_by, "clients", "Expense totals per client.")
    projects = _group(_by, "projects", "Expense totals per project.")
    categories = _group(_by, "categories", "Expense totals per expense category.")
    team = _group(_by, "team", "Expense totals per team member.")


class Reports(_DatedReports):
    """``harvest.reports``: `time` and `expenses` reports, `uninvoiced`
    and `project_budget` (Harvest has no other report operations).

    Attributes:
        time: Time reports (`TimeReports`).
        expenses: Expense reports (`ExpenseReports`).
    """

    def __init__(self, requester: Requester) -> None:
        super().__init__(requester)
        self.time = TimeReports(requester)
        self.expenses = ExpenseReports(requester)

    @operation("GET", "/reports/uninvoiced")
    def uninvoiced(
        self,
        *,
        from_: dt.date | str,
        to: dt.date | str,
        include_fixed_fee: bool | NotGiven = NOT_GIVEN,
        per_page: PerPage | NotGiven = NOT_GIVEN,
    ) -> Paginator[UninvoicedReportResult]:
        """Hours, expenses and amounts not yet invoiced, per project.

        Args:
            from_: Only time entries and expenses with a ``spent_date`` on or after this
                date.
            to: Only time entries and expenses with a ``spent_date`` on or before this
                date (at most 365 days after ``from_``).
            include_fixed_fee: Include fixed-fee projects (their uninvoiced fee shows in
                ``uninvoiced_amount``).
            per_page: Rows per page, 1..2000 (Harvest's default 2000).

        Returns:
            A `Paginator` of `UninvoicedReportResult`; nothing is sent
            until iterated.

        Raises:
            InvalidRequestError: a bad date, ``to`` before ``from_``, or ``to`` more
                than 365 days after ``from_``.
        """
        return self._report(
            "reports/uninvoiced",
            UninvoicedReportResult,
            from_=from_,
            to=to,
            include_fixed_fee=include_fixed_fee,
            per_page=per_page,
        )

    def by_window(
        self,
        report: Callable[..., Paginator[T]],
        *,
        from_: dt.date | str,
        to: dt.date | str,
        max_days: int = MAX_TIMEFRAME_DAYS,
        **filters: object,
    ) -> AsyncIterator[tuple[Timeframe, T]]:
        """Run a dated report over a span of any length, one window after another.

        The span is cut by `split_timeframe`; ``report`` runs once per window, in date
        order, and each row comes with its window. Rows are per window, not summed: a
        project busy in two windows appears once in each.

        Example:
            >>> async for (start, end), row in harvest.reports.by_window(
            ...     harvest.reports.expenses.team, from_=date(2020, 1, 1),
            ...     to=date(2024, 12, 31), per_page=500,
            ... ):
            ...     print(start, end, row.user_name, row.total_amount)

        Args:
            report: A dated report method of this client: ``harvest.reports.time.clients``,
                ``.projects``, ``.tasks``, ``.team``, ``harvest.reports.expenses.clients``,
                ``.projects``, ``.categories``, ``.team`` or ``harvest.reports.uninvoiced``.
            from_: First day of the span.
            to: Last day of the span (any distance after ``from_``).
            max_days: Window length in days, both ends counted, 1..366 (see
                `split_timeframe`).
            **filters: The report's other arguments (``include_fixed_fee``,
                ``per_page``), the same for every window.

        Returns:
            An async iterator of ``((window_from, window_to), row)``, rows typed as the
            report's; nothing is sent until iterated, then one report runs per window.

        Raises:
            InvalidRequestError: ``report`` is not a dated report method of this client,
                a bad date, ``to`` before ``from_``, a bad ``max_days``, or a bad filter
                value (raised at once, before anything is sent; a filter the report does
                not take is a ``TypeError``, also at once).
        """
        owner = getattr(report, "__self__", None)
        func = getattr(report, "__func__", None)
        if not (
            any(func is dated for dated in _DATED_REPORTS)
            and any(owner is mine for mine in (self, self.time, self.expenses))
        ):
            raise InvalidRequestError(
                "report must be a dated report method of this client (such as "
                f"harvest.reports.time.projects), got {shown(report)}"
            )
        if _check_max_days(max_days) > MAX_TIMEFRAME_DAYS:
            raise InvalidRequestError(
                f"max_days must be at most {MAX_TIMEFRAME_DAYS} (Harvest's limit), "
                f"got {shown(max_days)}"
            )
        windows = split_timeframe(from_, to, max_days=max_days)
        # Build (and so validate) every window's paginator now; send when iterated.
        return _window_rows(
            windows, [report(from_=start, to=end, **filters) for start, end in windows]
        )

    @operation("GET", "/reports/project_budget")
    def project_budget(
        self,
        *,
        is_active: bool | NotGiven = NOT_GIVEN,
        per_page: PerPage | NotGiven = NOT_GIVEN,
    ) -> Paginator[ProjectBudgetReportResult]:
        """Budget, spent and remaining per project (projects with a budget).

        Args:
            is_active: Only active (``True``) or only archived (``False``) projects.
            per_page: Rows per page, 1..2000 (Harvest's default 2000).

        Returns:
            A `Paginator` of `ProjectBudgetReportResult`; nothing is sent
            until iterated.
        """
        params = self._query()
        return self._paginate(
            "reports/project_budget", "results", ProjectBudgetReportResult, params
        )


#: The report methods `Reports.by_window` accepts: those taking ``from_`` and ``to``.
_DATED_REPORTS: tuple[Callable[..., object], ...] = (
    TimeReports.clients,
    TimeReports.projects,
    TimeReports.tasks,
    TimeReports.team,
    ExpenseReports.clients,
    ExpenseReports.projects,
    ExpenseReports.categories,
    ExpenseReports.team,
    Reports.uninvoiced,
)
