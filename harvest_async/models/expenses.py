"""Expenses and expense categories.

Harvest docs:
https://help.getharvest.com/api-v2/expenses-api/expenses/expenses/,
https://help.getharvest.com/api-v2/expenses-api/expenses/expense-categories/.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import attrs

from ._common import ClientRef, InvoiceRef, ProjectRef, UserAssignmentRef, UserRef

__all__ = ["Expense", "ExpenseCategory", "ExpenseCategoryRef", "Receipt"]


@attrs.frozen(kw_only=True)
class ExpenseCategoryRef:
    """The expense category of an expense (``id``, ``name``, ``unit_price``, ``unit_name``)."""

    id: int
    name: str
    unit_price: Decimal | None = None
    unit_name: str | None = None


@attrs.frozen(kw_only=True)
class Receipt:
    """The receipt file attached to an expense."""

    url: str | None = None
    file_name: str | None = None
    file_size: int | None = None
    content_type: str | None = None


@attrs.frozen(kw_only=True)
class Expense:
    """An expense a user recorded on a project."""

    id: int
    client: ClientRef | None = None
    project: ProjectRef | None = None
    expense_category: ExpenseCategoryRef | None = None
    user: UserRef | None = None
    user_assignment: UserAssignmentRef | None = None
    receipt: Receipt | None = None
    invoice: InvoiceRef | None = None
    notes: str | None = None
    units: Decimal | None = None
    total_cost: Decimal | None = None
    billable: bool | None = None
    is_closed: bool | None = None
    is_locked: bool | None = None
    is_billed: bool | None = None
    locked_reason: str | None = None
    spent_date: dt.date | None = None
    created_at: dt.datetime
    updated_at: dt.datetime


@attrs.frozen(kw_only=True)
class ExpenseCategory:
    """An expense category (e.g. Meals; unit-based ones such as Mileage have a unit price)."""

    id: int
    name: str | None = None
    unit_name: str | None = None
    unit_price: Decimal | None = None
    is_active: bool | None = None
    created_at: dt.datetime
    updated_at: dt.datetime
