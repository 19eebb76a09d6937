"""Small nested references shared by several models.

Harvest embeds related records as small objects (``{"id": 1, "name": "ABC Corp"}``);
each is a frozen attrs class whose fields are all optional, since Harvest sends
different subsets in different places.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import attrs

__all__ = [
    "ClientRef",
    "IdName",
    "IdRef",
    "InvoiceRef",
    "ProjectAssignmentTaskAssignment",
    "ProjectRef",
    "TaskAssignmentRef",
    "TaskRef",
    "UserAssignmentRef",
    "UserRef",
]


@attrs.frozen(kw_only=True)
class IdName:
    """A reference carrying only ``id`` and ``name`` (e.g. the client of a contact)."""

    id: int
    name: str


@attrs.frozen(kw_only=True)
class ClientRef:
    """The client a record belongs to."""

    id: int
    name: str
    currency: str | None = None


@attrs.frozen(kw_only=True)
class ProjectRef:
    """The project a record belongs to."""

    id: int
    name: str
    code: str | None = None


@attrs.frozen(kw_only=True)
class TaskRef:
    """The task a record belongs to."""

    id: int
    name: str


@attrs.frozen(kw_only=True)
class UserRef:
    """The user a record belongs to."""

    id: int
    name: str


@attrs.frozen(kw_only=True)
class IdRef:
    """A reference carrying only ``id`` (e.g. an invoice's estimate or retainer)."""

    id: int | None = None


@attrs.frozen(kw_only=True)
class InvoiceRef:
    """The invoice a time entry or expense was billed on."""

    id: int
    number: str | None = None


@attrs.frozen(kw_only=True)
class UserAssignmentRef:
    """The user assignment of a time entry or expense (no ``project`` or ``user``)."""

    id: int
    is_project_manager: bool | None = None
    is_active: bool | None = None
    use_default_rates: bool | None = None
    budget: Decimal | None = None
    created_at: dt.datetime
    updated_at: dt.datetime
    hourly_rate: Decimal | None = None


@attrs.frozen(kw_only=True)
class TaskAssignmentRef:
    """The task assignment of a time entry (no ``project`` or ``task``)."""

    id: int
    billable: bool | None = None
    is_active: bool | None = None
    created_at: dt.datetime
    updated_at: dt.datetime
    hourly_rate: Decimal | None = None
    budget: Decimal | None = None


@attrs.frozen(kw_only=True)
class ProjectAssignmentTaskAssignment:
    """A task assignment inside a user's project assignment (its ``task``, no ``project``)."""

    id: int
    billable: bool | None = None
    is_active: bool | None = None
    created_at: dt.datetime
    updated_at: dt.datetime
    hourly_rate: Decimal | None = None
    budget: Decimal | None = None
    task: TaskRef | None = None
