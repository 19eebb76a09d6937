"""Time entries (https://help.getharvest.com/api-v2/timesheets-api/timesheets/time-entries/)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import attrs

from ._common import (
    ClientRef,
    InvoiceRef,
    ProjectRef,
    TaskAssignmentRef,
    TaskRef,
    UserAssignmentRef,
    UserRef,
)

__all__ = ["ExternalReference", "InvoiceRef", "TimeEntry"]


@attrs.frozen(kw_only=True)
class ExternalReference:
    """The item in another service (e.g. a Trello card) a time entry is linked to."""

    id: str | None = None
    group_id: str | None = None
    account_id: str | None = None
    permalink: str | None = None
    service: str | None = None
    service_icon_url: str | None = None


@attrs.frozen(kw_only=True)
class TimeEntry:
    """A time entry: hours a user tracked on a project's task on one day."""

    id: int
    spent_date: dt.date
    user: UserRef
    user_assignment: UserAssignmentRef | None = None
    client: ClientRef
    project: ProjectRef
    task: TaskRef
    task_assignment: TaskAssignmentRef | None = None
    external_reference: ExternalReference | None = None
    invoice: InvoiceRef | None = None
    hours: Decimal
    hours_without_timer: Decimal | None = None
    rounded_hours: Decimal | None = None
    notes: str | None = None
    is_locked: bool
    locked_reason: str | None = None
    approval_status: str | None = None
    is_explicitly_locked: bool | None = None
    is_closed: bool
    is_billed: bool
    timer_started_at: dt.datetime | None = None
    started_time: str | None = None
    ended_time: str | None = None
    is_running: bool
    billable: bool
    budgeted: bool
    billable_rate: Decimal | None = None
    cost_rate: Decimal | None = None
    created_at: dt.datetime
    updated_at: dt.datetime
