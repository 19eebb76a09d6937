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
longer than one year (365 days; a whole leap year is 366 and is refused with
``"Invalid timeframe: must not exceed 1 year"``). Such a timeframe raises
`InvalidRequestError` here, before anything is sent. For longer
spans, `split_timeframe` cuts the span into legal windows, and every dated report
has a ``<report>_by_window`` companion that runs the report window after window and
yields each row with the window it belongs to::

    async for (start, end), row in harvest.reports.time.projects_by_window(
        from_=date(2019, 1, 1), to=date(2024, 6, 30)
    ):
        print(start, end, row.project_name, row.total_hours)

Rows are per window: a project busy in two windows appears once in each.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

from .._errors import InvalidRequestError
from .._pagination import Paginator
from ..models.reports import (
    ExpenseReportResult,
    ProjectBudgetReportResult,
    TimeReportResult,
    UninvoicedReportResult,
)
from ._base import NOT_GIVEN, NotGiven, Resource, _check_date, operation, query

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

#: Longest timeframe Harvest accepts in one report request, in days (both ends counted).
MAX_TIMEFRAME_DAYS = 365

#: An inclusive ``(from, to)`` date range.
Timeframe = tuple[dt.date, dt.date]

_DAY = dt.timedelta(days=1)


def _dates(from_: dt.date | str, to: dt.date | str) -> Timeframe:
    start = _check_date("from_", from_)
    end = _check_date("to", to)
    if end < start:
        raise InvalidRequestError(f"to ({end}) is before from_ ({start})")
    return start, end


def _check_max_days(max_days: int) -> int:
    if isinstance(max_days, bool) or not isinstance(max_days, int) or max_days < 1:
        raise InvalidRequestError(f"max_days must be a positive int, got {max_days!r}")
    return max_days


def _timeframe(from_: dt.date | str, to: dt.date | str, *, call: str) -> Timeframe:
    """The report's dates, checked as Harvest checks them (at most 365 days)."""
    start, end = _dates(from_, to)
    days = (end - start).days + 1
    if days > MAX_TIMEFRAME_DAYS:
        raise InvalidRequestError(
            f"Invalid timeframe: must not exceed 1 year ({call}: {start}..{end} is {days} "
            f"days, Harvest allows {MAX_TIMEFRAME_DAYS}); use split_timeframe() or the "
            "report's *_by_window() method for longer spans"
        )
    return start, end


def split_timeframe(
    from_: dt.date | str, to: dt.date | str, *, max_days: int = MAX_TIMEFRAME_DAYS
) -> list[Timeframe]:
    """Cut a span into consecutive windows a report request accepts.

    The windows are in order, each at most ``max_days`` long (both ends counted), and
    together cover every day from ``from_`` to ``to`` exactly once: each starts the day
    after the previous one ends. Only the last may be shorter.

    Example:
        >>> split_timeframe(date(2023, 1, 1), date(2024, 12, 31))
        [(date(2023, 1, 1), date(2023, 12, 31)), (date(2024, 1, 1), date(2024, 12, 30)),
         (date(2024, 12, 31), date(2024, 12, 31))]

    Args:
        from_: First day of the span (a ``date`` or ``"YYYY-MM-DD"``).
        to: Last day of the span (on or after ``from_``).
        max_days: Longest window in days (default 365, Harvest's limit).

    Returns:
        ``(from, to)`` date pairs, inclusive.

    Raises:
        InvalidRequestError: a date is not a date, ``to`` is before ``from_``, or
            ``max_days`` is not a positive int.
    """
    start, end = _dates(from_, to)
    step = dt.timedelta(days=_check_max_days(max_days) - 1)
    windows: list[Timeframe] = []
    while start <= end:
        # max_days - 1 may overflow past date.max: cap at the span's end first.
        last = end if (end - start) <= step else start + step
        windows.append((start, last))
        if last == end:
            break
        start = last + _DAY
    return windows


def _by_window(
    windows: Sequence[Timeframe], pagers: Sequence[Paginator[T]]
) -> AsyncIterator[tuple[Timeframe, T]]:
    async def rows() -> AsyncIterator[tuple[Timeframe, T]]:
        for window, pager in zip(windows, pagers, strict=True):
            async for row in pager:
                yield window, row

    return rows()


def _windowed(
    from_: dt.date | str,
    to: dt.date | str,
    max_days: int,
    report: Callable[[dt.date, dt.date], Paginator[T]],
) -> AsyncIterator[tuple[Timeframe, T]]:
    """Build (and so validate) every window's paginator now; send when iterated."""
    if _check_max_days(max_days) > MAX_TIMEFRAME_DAYS:
        raise InvalidRequestError(
            f"max_days must be at most {MAX_TIMEFRAME_DAYS} (Harvest's limit), got {max_days}"
        )
    windows = split_timeframe(from_, to, max_days=max_days)
    return _by_window(windows, [report(start, end) for start, end in windows])


class _DatedReports(Resource):
    def _report(
        self,
        path: str,
        model: type[T],
        *,
        from_: dt.date | str,
        to: dt.date | str,
        per_page: int | NotGiven,
        include_fixed_fee: bool | NotGiven = NOT_GIVEN,
    ) -> Paginator[T]:
        start, end = _timeframe(from_, to, call=path)
        params = query(
            from_=start, to=end, include_fixed_fee=include_fixed_fee, per_page=per_page
        )
        return self._paginate(path, "results", model, params)


class TimeReports(_DatedReports):
    """``harvest.reports.time``: hours and billable amounts by client, project, task or user.

    Each report needs ``from_`` and ``to`` (at most 365 days apart, both counted); each
    has a ``*_by_window`` companion for longer spans.
    """

    def _time(
        self,
        name: str,
        from_: dt.date | str,
        to: dt.date | str,
        include_fixed_fee: bool | NotGiven,
        per_page: int | NotGiven,
    ) -> Paginator[TimeReportResult]:
        return self._report(
            f"reports/time/{name}", TimeReportResult, from_=from_, to=to,
            include_fixed_fee=include_fixed_fee, per_page=per_page,
        )

    def _time_by_window(
        self,
        name: str,
        from_: dt.date | str,
        to: dt.date | str,
        include_fixed_fee: bool | NotGiven,
        per_page: int | NotGiven,
        max_days: int,
    ) -> AsyncIterator[tuple[Timeframe, TimeReportResult]]:
        return _windowed(
            from_, to, max_days,
            lambda start, end: self._time(name, start, end, include_fixed_fee, per_page),
        )

    @operation("GET", "/reports/time/clients")
    def clients(
        self,
        *,
        from_: dt.date | str,
        to: dt.date | str,
        include_fixed_fee: bool | NotGiven = NOT_GIVEN,
        per_page: int | NotGiven = NOT_GIVEN,
    ) -> Paginator[TimeReportResult]:
        """Hours and billable amounts per client.

        Args:
            from_: Only time entries with a ``spent_date`` on or after this date.
            to: Only time entries with a ``spent_date`` on or before this date
                (at most 365 days after ``from_``, both counted).
            include_fixed_fee: Also compute billable amounts for fixed-fee projects.
            per_page: Rows per page, 1..2000 (Harvest's default 2000).

        Returns:
            A `Paginator` of `TimeReportResult`; nothing is sent until
            iterated.

        Raises:
            InvalidRequestError: a bad date, ``to`` before ``from_``, or a timeframe
                over 365 days.
        """
        return self._time("clients", from_, to, include_fixed_fee, per_page)

    @operation("GET", "/reports/time/projects")
    def projects(
        self,
        *,
        from_: dt.date | str,
        to: dt.date | str,
        include_fixed_fee: bool | NotGiven = NOT_GIVEN,
        per_page: int | NotGiven = NOT_GIVEN,
    ) -> Paginator[TimeReportResult]:
        """Hours and billable amounts per project.

        Args:
            from_: Only time entries with a ``spent_date`` on or after this date.
            to: Only time entries with a ``spent_date`` on or before this date
                (at most 365 days after ``from_``, both counted).
            include_fixed_fee: Also compute billable amounts for fixed-fee projects.
            per_page: Rows per page, 1..2000 (Harvest's default 2000).

        Returns:
            A `Paginator` of `TimeReportResult`; nothing is sent until
            iterated.
        """
        return self._time("projects", from_, to, include_fixed_fee, per_page)

    @operation("GET", "/reports/time/tasks")
    def tasks(
        self,
        *,
        from_: dt.date | str,
        to: dt.date | str,
        include_fixed_fee: bool | NotGiven = NOT_GIVEN,
        per_page: int | NotGiven = NOT_GIVEN,
    ) -> Paginator[TimeReportResult]:
        """Hours and billable amounts per task.

        Args:
            from_: Only time entries with a ``spent_date`` on or after this date.
            to: Only time entries with a ``spent_date`` on or before this date
                (at most 365 days after ``from_``, both counted).
            include_fixed_fee: Also compute billable amounts for fixed-fee projects.
            per_page: Rows per page, 1..2000 (Harvest's default 2000).

        Returns:
            A `Paginator` of `TimeReportResult`; nothing is sent until
            iterated.
        """
        return self._time("tasks", from_, to, include_fixed_fee, per_page)

    @operation("GET", "/reports/time/team")
    def team(
        self,
        *,
        from_: dt.date | str,
        to: dt.date | str,
        include_fixed_fee: bool | NotGiven = NOT_GIVEN,
        per_page: int | NotGiven = NOT_GIVEN,
    ) -> Paginator[TimeReportResult]:
        """Hours and billable amounts per team member (with weekly capacity).

        Args:
            from_: Only time entries with a ``spent_date`` on or after this date.
            to: Only time entries with a ``spent_date`` on or before this date
                (at most 365 days after ``from_``, both counted).
            include_fixed_fee: Also compute billable amounts for fixed-fee projects.
            per_page: Rows per page, 1..2000 (Harvest's default 2000).

        Returns:
            A `Paginator` of `TimeReportResult`; nothing is sent until
            iterated.
        """
        return self._time("team", from_, to, include_fixed_fee, per_page)

    def clients_by_window(
        self,
        *,
        from_: dt.date | str,
        to: dt.date | str,
        include_fixed_fee: bool | NotGiven = NOT_GIVEN,
        per_page: int | NotGiven = NOT_GIVEN,
        max_days: int = MAX_TIMEFRAME_DAYS,
    ) -> AsyncIterator[tuple[Timeframe, TimeReportResult]]:
        """`clients` over a span of any length, one window after another.

        Args:
            from_: First day of the span.
            to: Last day of the span (any distance after ``from_``).
            include_fixed_fee: Also compute billable amounts for fixed-fee projects.
            per_page: Rows per page, 1..2000.
            max_days: Window length in days, 1..365 (see `split_timeframe`).

        Returns:
            An async iterator of ``((window_from, window_to), row)``; nothing is sent
            until iterated, then one report runs per window, in date order.
        """
        return self._time_by_window("clients", from_, to, include_fixed_fee, per_page, max_days)

    def projects_by_window(
        self,
        *,
        from_: dt.date | str,
        to: dt.date | str,
        include_fixed_fee: bool | NotGiven = NOT_GIVEN,
        per_page: int | NotGiven = NOT_GIVEN,
        max_days: int = MAX_TIMEFRAME_DAYS,
    ) -> AsyncIterator[tuple[Timeframe, TimeReportResult]]:
        """`projects` over a span of any length, one window after another.

        Args:
            from_: First day of the span.
            to: Last day of the span (any distance after ``from_``).
            include_fixed_fee: Also compute billable amounts for fixed-fee projects.
            per_page: Rows per page, 1..2000.
            max_days: Window length in days, 1..365 (see `split_timeframe`).

        Returns:
            An async iterator of ``((window_from, window_to), row)``; nothing is sent
            until iterated, then one report runs per window, in date order.
        """
        return self._time_by_window("projects", from_, to, include_fixed_fee, per_page, max_days)

    def tasks_by_window(
        self,
        *,
        from_: dt.date | str,
        to: dt.date | str,
        include_fixed_fee: bool | NotGiven = NOT_GIVEN,
        per_page: int | NotGiven = NOT_GIVEN,
        max_days: int = MAX_TIMEFRAME_DAYS,
    ) -> AsyncIterator[tuple[Timeframe, TimeReportResult]]:
        """`tasks` over a span of any length, one window after another.

        Args:
            from_: First day of the span.
            to: Last day of the span (any distance after ``from_``).
            include_fixed_fee: Also compute billable amounts for fixed-fee projects.
            per_page: Rows per page, 1..2000.
            max_days: Window length in days, 1..365 (see `split_timeframe`).

        Returns:
            An async iterator of ``((window_from, window_to), row)``; nothing is sent
            until iterated, then one report runs per window, in date order.
        """
        return self._time_by_window("tasks", from_, to, include_fixed_fee, per_page, max_days)

    def team_by_window(
        self,
        *,
        from_: dt.date | str,
        to: dt.date | str,
        include_fixed_fee: bool | NotGiven = NOT_GIVEN,
        per_page: int | NotGiven = NOT_GIVEN,
        max_days: int = MAX_TIMEFRAME_DAYS,
    ) -> AsyncIterator[tuple[Timeframe, TimeReportResult]]:
        """`team` over a span of any length, one window after another.

        Args:
            from_: First day of the span.
            to: Last day of the span (any distance after ``from_``).
            include_fixed_fee: Also compute billable amounts for fixed-fee projects.
            per_page: Rows per page, 1..2000.
            max_days: Window length in days, 1..365 (see `split_timeframe`).

        Returns:
            An async iterator of ``((window_from, window_to), row)``; nothing is sent
            until iterated, then one report runs per window, in date order.
        """
        return self._time_by_window("team", from_, to, include_fixed_fee, per_page, max_days)


class ExpenseReports(_DatedReports):
    """``harvest.reports.expenses``: expense totals by client, project, category or user.

    Each report needs ``from_`` and ``to`` (at most 365 days apart, both counted); each
    has a ``*_by_window`` companion for longer spans.
    """

    def _expenses(
        self, name: str, from_: dt.date | str, to: dt.date | str, per_page: int | NotGiven
    ) -> Paginator[ExpenseReportResult]:
        return self._report(
            f"reports/expenses/{name}", ExpenseReportResult, from_=from_, to=to,
            per_page=per_page,
        )

    def _expenses_by_window(
        self,
        name: str,
        from_: dt.date | str,
        to: dt.date | str,
        per_page: int | NotGiven,
        max_days: int,
    ) -> AsyncIterator[tuple[Timeframe, ExpenseReportResult]]:
        return _windowed(
            from_, to, max_days, lambda start, end: self._expenses(name, start, end, per_page)
        )

    @operation("GET", "/reports/expenses/clients")
    def clients(
        self,
        *,
        from_: dt.date | str,
        to: dt.date | str,
        per_page: int | NotGiven = NOT_GIVEN,
    ) -> Paginator[ExpenseReportResult]:
        """Expense totals per client.

        Args:
            from_: Only expenses with a ``spent_date`` on or after this date.
            to: Only expenses with a ``spent_date`` on or before this date (at most
                365 days after ``from_``, both counted).
            per_page: Rows per page, 1..2000 (Harvest's default 2000).

        Returns:
            A `Paginator` of `ExpenseReportResult`; nothing is sent until
            iterated.

        Raises:
            InvalidRequestError: a bad date, ``to`` before ``from_``, or a timeframe
                over 365 days.
        """
        return self._expenses("clients", from_, to, per_page)

    @operation("GET", "/reports/expenses/projects")
    def projects(
        self,
        *,
        from_: dt.date | str,
        to: dt.date | str,
        per_page: int | NotGiven = NOT_GIVEN,
    ) -> Paginator[ExpenseReportResult]:
        """Expense totals per project.

        Args:
            from_: Only expenses with a ``spent_date`` on or after this date.
            to: Only expenses with a ``spent_date`` on or before this date (at most
                365 days after ``from_``, both counted).
            per_page: Rows per page, 1..2000 (Harvest's default 2000).

        Returns:
            A `Paginator` of `ExpenseReportResult`; nothing is sent until
            iterated.
        """
        return self._expenses("projects", from_, to, per_page)

    @operation("GET", "/reports/expenses/categories")
    def categories(
        self,
        *,
        from_: dt.date | str,
        to: dt.date | str,
        per_page: int | NotGiven = NOT_GIVEN,
    ) -> Paginator[ExpenseReportResult]:
        """Expense totals per expense category.

        Args:
            from_: Only expenses with a ``spent_date`` on or after this date.
            to: Only expenses with a ``spent_date`` on or before this date (at most
                365 days after ``from_``, both counted).
            per_page: Rows per page, 1..2000 (Harvest's default 2000).

        Returns:
            A `Paginator` of `ExpenseReportResult`; nothing is sent until
            iterated.
        """
        return self._expenses("categories", from_, to, per_page)

    @operation("GET", "/reports/expenses/team")
    def team(
        self,
        *,
        from_: dt.date | str,
        to: dt.date | str,
        per_page: int | NotGiven = NOT_GIVEN,
    ) -> Paginator[ExpenseReportResult]:
        """Expense totals per team member.

        Args:
            from_: Only expenses with a ``spent_date`` on or after this date.
            to: Only expenses with a ``spent_date`` on or before this date (at most
                365 days after ``from_``, both counted).
            per_page: Rows per page, 1..2000 (Harvest's default 2000).

        Returns:
            A `Paginator` of `ExpenseReportResult`; nothing is sent until
            iterated.
        """
        return self._expenses("team", from_, to, per_page)

    def clients_by_window(
        self,
        *,
        from_: dt.date | str,
        to: dt.date | str,
        per_page: int | NotGiven = NOT_GIVEN,
        max_days: int = MAX_TIMEFRAME_DAYS,
    ) -> AsyncIterator[tuple[Timeframe, ExpenseReportResult]]:
        """`clients` over a span of any length, one window after another.

        Args:
            from_: First day of the span.
            to: Last day of the span (any distance after ``from_``).
            per_page: Rows per page, 1..2000.
            max_days: Window length in days, 1..365 (see `split_timeframe`).

        Returns:
            An async iterator of ``((window_from, window_to), row)``; nothing is sent
            until iterated, then one report runs per window, in date order.
        """
        return self._expenses_by_window("clients", from_, to, per_page, max_days)

    def projects_by_window(
        self,
        *,
        from_: dt.date | str,
        to: dt.date | str,
        per_page: int | NotGiven = NOT_GIVEN,
        max_days: int = MAX_TIMEFRAME_DAYS,
    ) -> AsyncIterator[tuple[Timeframe, ExpenseReportResult]]:
        """`projects` over a span of any length, one window after another.

        Args:
            from_: First day of the span.
            to: Last day of the span (any distance after ``from_``).
            per_page: Rows per page, 1..2000.
            max_days: Window length in days, 1..365 (see `split_timeframe`).

        Returns:
            An async iterator of ``((window_from, window_to), row)``; nothing is sent
            until iterated, then one report runs per window, in date order.
        """
        return self._expenses_by_window("projects", from_, to, per_page, max_days)

    def categories_by_window(
        self,
        *,
        from_: dt.date | str,
        to: dt.date | str,
        per_page: int | NotGiven = NOT_GIVEN,
        max_days: int = MAX_TIMEFRAME_DAYS,
    ) -> AsyncIterator[tuple[Timeframe, ExpenseReportResult]]:
        """`categories` over a span of any length, one window after another.

        Args:
            from_: First day of the span.
            to: Last day of the span (any distance after ``from_``).
            per_page: Rows per page, 1..2000.
            max_days: Window length in days, 1..365 (see `split_timeframe`).

        Returns:
            An async iterator of ``((window_from, window_to), row)``; nothing is sent
            until iterated, then one report runs per window, in date order.
        """
        return self._expenses_by_window("categories", from_, to, per_page, max_days)

    def team_by_window(
        self,
        *,
        from_: dt.date | str,
        to: dt.date | str,
        per_page: int | NotGiven = NOT_GIVEN,
        max_days: int = MAX_TIMEFRAME_DAYS,
    ) -> AsyncIterator[tuple[Timeframe, ExpenseReportResult]]:
        """`team` over a span of any length, one window after another.

        Args:
            from_: First day of the span.
            to: Last day of the span (any distance after ``from_``).
            per_page: Rows per page, 1..2000.
            max_days: Window length in days, 1..365 (see `split_timeframe`).

        Returns:
            An async iterator of ``((window_from, window_to), row)``; nothing is sent
            until iterated, then one report runs per window, in date order.
        """
        return self._expenses_by_window("team", from_, to, per_page, max_days)


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
        per_page: int | NotGiven = NOT_GIVEN,
    ) -> Paginator[UninvoicedReportResult]:
        """Hours, expenses and amounts not yet invoiced, per project.

        Args:
            from_: Only time entries and expenses with a ``spent_date`` on or after this
                date.
            to: Only time entries and expenses with a ``spent_date`` on or before this
                date (at most 365 days after ``from_``, both counted).
            include_fixed_fee: Include fixed-fee projects (their uninvoiced fee shows in
                ``uninvoiced_amount``).
            per_page: Rows per page, 1..2000 (Harvest's default 2000).

        Returns:
            A `Paginator` of `UninvoicedReportResult`; nothing is sent
            until iterated.

        Raises:
            InvalidRequestError: a bad date, ``to`` before ``from_``, or a timeframe
                over 365 days.
        """
        return self._report(
            "reports/uninvoiced", UninvoicedReportResult, from_=from_, to=to,
            include_fixed_fee=include_fixed_fee, per_page=per_page,
        )

    def uninvoiced_by_window(
        self,
        *,
        from_: dt.date | str,
        to: dt.date | str,
        include_fixed_fee: bool | NotGiven = NOT_GIVEN,
        per_page: int | NotGiven = NOT_GIVEN,
        max_days: int = MAX_TIMEFRAME_DAYS,
    ) -> AsyncIterator[tuple[Timeframe, UninvoicedReportResult]]:
        """`uninvoiced` over a span of any length, one window after another.

        Args:
            from_: First day of the span.
            to: Last day of the span (any distance after ``from_``).
            include_fixed_fee: Include fixed-fee projects.
            per_page: Rows per page, 1..2000.
            max_days: Window length in days, 1..365 (see `split_timeframe`).

        Returns:
            An async iterator of ``((window_from, window_to), row)``; nothing is sent
            until iterated, then one report runs per window, in date order.
        """
        return _windowed(
            from_, to, max_days,
            lambda start, end: self.uninvoiced(
                from_=start, to=end, include_fixed_fee=include_fixed_fee, per_page=per_page
            ),
        )

    @operation("GET", "/reports/project_budget")
    def project_budget(
        self,
        *,
        is_active: bool | NotGiven = NOT_GIVEN,
        per_page: int | NotGiven = NOT_GIVEN,
    ) -> Paginator[ProjectBudgetReportResult]:
        """Budget, spent and remaining per project (projects with a budget).

        Args:
            is_active: Only active (``True``) or only archived (``False``) projects.
            per_page: Rows per page, 1..2000 (Harvest's default 2000).

        Returns:
            A `Paginator` of `ProjectBudgetReportResult`; nothing is sent
            until iterated.
        """
        params = query(is_active=is_active, per_page=per_page)
        return self._paginate(
            "reports/project_budget", "results", ProjectBudgetReportResult, params
        )
