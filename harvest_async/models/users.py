"""Users and their project assignments, rates and teammates.

Harvest docs:
https://help.getharvest.com/api-v2/users-api/users/users/,
https://help.getharvest.com/api-v2/users-api/users/project-assignments/,
https://help.getharvest.com/api-v2/users-api/users/billable-rates/,
https://help.getharvest.com/api-v2/users-api/users/cost-rates/,
https://help.getharvest.com/api-v2/users-api/users/teammates/.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import attrs

from ._common import ClientRef, ProjectAssignmentTaskAssignment

__all__ = [
    "BillableRate",
    "CostRate",
    "ProjectAssignment",
    "ProjectAssignmentProject",
    "Teammate",
    "User",
]


@attrs.frozen(kw_only=True)
class User:
    """A user (person) of the Harvest account."""

    id: int
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    telephone: str | None = None
    timezone: str | None = None
    has_access_to_all_future_projects: bool | None = None
    is_contractor: bool | None = None
    is_active: bool | None = None
    weekly_capacity: int | None = None
    default_hourly_rate: Decimal | None = None
    cost_rate: Decimal | None = None
    roles: list[str] | None = None
    access_roles: list[str] | None = None
    permissions_claims: list[str] | None = None
    calendar_integration_enabled: bool | None = None
    calendar_integration_source: str | None = None
    can_create_projects: bool | None = None
    avatar_url: str | None = None
    created_at: dt.datetime
    updated_at: dt.datetime
    # Older records carry these four permission flags (None where absent; current
    # records express permissions through access_roles).
    is_admin: bool | None = None
    is_project_manager: bool | None = None
    can_see_rates: bool | None = None
    can_create_invoices: bool | None = None


@attrs.frozen(kw_only=True)
class ProjectAssignmentProject:
    """The project of a project assignment (``id``, ``name``, ``code``, ``is_billable``)."""

    id: int
    name: str
    code: str | None = None
    is_billable: bool | None = None


@attrs.frozen(kw_only=True)
class ProjectAssignment:
    """A project a user is assigned to, with the task assignments of that project."""

    id: int
    is_active: bool | None = None
    is_project_manager: bool | None = None
    use_default_rates: bool | None = None
    hourly_rate: Decimal | None = None
    budget: Decimal | None = None
    created_at: dt.datetime
    updated_at: dt.datetime
    project: ProjectAssignmentProject | None = None
    client: ClientRef | None = None
    task_assignments: list[ProjectAssignmentTaskAssignment] | None = None


@attrs.frozen(kw_only=True)
class BillableRate:
    """A user's billable rate over a span of dates."""

    id: int
    amount: Decimal | None = None
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    created_at: dt.datetime
    updated_at: dt.datetime


@attrs.frozen(kw_only=True)
class CostRate:
    """A user's cost rate over a span of dates."""

    id: int
    amount: Decimal | None = None
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    created_at: dt.datetime
    updated_at: dt.datetime


@attrs.frozen(kw_only=True)
class Teammate:
    """A user whose timesheets a manager can see."""

    id: int | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
