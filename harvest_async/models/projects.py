"""Projects and their user and task assignments.

Harvest docs:
https://help.getharvest.com/api-v2/projects-api/projects/projects/,
https://help.getharvest.com/api-v2/projects-api/projects/user-assignments/,
https://help.getharvest.com/api-v2/projects-api/projects/task-assignments/.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import attrs

from ._common import ClientRef, ProjectRef, TaskRef, UserRef

__all__ = ["Project", "TaskAssignment", "UserAssignment"]


@attrs.frozen(kw_only=True)
class Project:
    """A project: work done for a client, with its billing and budget settings."""

    id: int
    client: ClientRef | None = None
    name: str | None = None
    code: str | None = None
    is_active: bool | None = None
    is_billable: bool | None = None
    is_fixed_fee: bool | None = None
    bill_by: str | None = None
    hourly_rate: Decimal | None = None
    budget: Decimal | None = None
    budget_by: str | None = None
    budget_is_monthly: bool | None = None
    notify_when_over_budget: bool | None = None
    over_budget_notification_percentage: Decimal | None = None
    over_budget_notification_date: dt.date | None = None
    show_budget_to_all: bool | None = None
    cost_budget: Decimal | None = None
    cost_budget_include_expenses: bool | None = None
    fee: Decimal | None = None
    notes: str | None = None
    starts_on: dt.date | None = None
    ends_on: dt.date | None = None
    created_at: dt.datetime
    updated_at: dt.datetime


@attrs.frozen(kw_only=True)
class UserAssignment:
    """A user's assignment to a project (project-nested and account-wide lists)."""

    id: int
    project: ProjectRef | None = None
    user: UserRef | None = None
    is_active: bool | None = None
    is_project_manager: bool | None = None
    use_default_rates: bool | None = None
    hourly_rate: Decimal | None = None
    budget: Decimal | None = None
    created_at: dt.datetime
    updated_at: dt.datetime


@attrs.frozen(kw_only=True)
class TaskAssignment:
    """A task's assignment to a project (project-nested and account-wide lists)."""

    id: int
    project: ProjectRef | None = None
    task: TaskRef | None = None
    is_active: bool | None = None
    billable: bool | None = None
    hourly_rate: Decimal | None = None
    budget: Decimal | None = None
    created_at: dt.datetime
    updated_at: dt.datetime
