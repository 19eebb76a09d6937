"""Report result rows.

Harvest docs:
https://help.getharvest.com/api-v2/reports-api/reports/time-reports/,
https://help.getharvest.com/api-v2/reports-api/reports/expense-reports/,
https://help.getharvest.com/api-v2/reports-api/reports/uninvoiced-report/,
https://help.getharvest.com/api-v2/reports-api/reports/project-budget-report/.
"""

from __future__ import annotations

from decimal import Decimal

import attrs

__all__ = [
    "ExpenseReportResult",
    "ProjectBudgetReportResult",
    "TimeReportResult",
    "UninvoicedReportResult",
]


@attrs.frozen(kw_only=True)
class TimeReportResult:
    """One row of a time report (by client, project, task or team member)."""

    client_id: int | None = None
    client_name: str | None = None
    project_id: int | None = None
    project_name: str | None = None
    task_id: int | None = None
    task_name: str | None = None
    user_id: int | None = None
    user_name: str | None = None
    weekly_capacity: int | None = None
    avatar_url: str | None = None
    is_contractor: bool | None = None
    total_hours: Decimal | None = None
    billable_hours: Decimal | None = None
    currency: str | None = None
    billable_amount: Decimal | None = None


@attrs.frozen(kw_only=True)
class ExpenseReportResult:
    """One row of an expense report (by client, project, category or team member)."""

    client_id: int | None = None
    client_name: str | None = None
    project_id: int | None = None
    project_name: str | None = None
    expense_category_id: int | None = None
    expense_category_name: str | None = None
    user_id: int | None = None
    user_name: str | None = None
    is_contractor: bool | None = None
    total_amount: Decimal | None = None
    billable_amount: Decimal | None = None
    currency: str | None = None


@attrs.frozen(kw_only=True)
class UninvoicedReportResult:
    """One row of the uninvoiced report: a project's hours and expenses not yet invoiced."""

    client_id: int | None = None
    client_name: str | None = None
    project_id: int | None = None
    project_name: str | None = None
    currency: str | None = None
    total_hours: Decimal | None = None
    uninvoiced_hours: Decimal | None = None
    uninvoiced_expenses: Decimal | None = None
    uninvoiced_amount: Decimal | None = None


@attrs.frozen(kw_only=True)
class ProjectBudgetReportResult:
    """One row of the project budget report: a project's budget, spent and remaining."""

    client_id: int | None = None
    client_name: str | None = None
    project_id: int | None = None
    project_name: str | None = None
    budget_is_monthly: bool | None = None
    budget_by: str | None = None
    is_active: bool | None = None
    budget: Decimal | None = None
    budget_spent: Decimal | None = None
    budget_remaining: Decimal | None = None
