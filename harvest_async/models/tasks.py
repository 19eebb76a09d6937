"""Task records (https://help.getharvest.com/api-v2/tasks-api/tasks/tasks/)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import attrs

__all__ = ["Task"]


@attrs.frozen(kw_only=True)
class Task:
    """A task: a kind of work that time is tracked against."""

    id: int
    name: str | None = None
    billable_by_default: bool | None = None
    default_hourly_rate: Decimal | None = None
    is_default: bool | None = None
    is_active: bool | None = None
    created_at: dt.datetime
    updated_at: dt.datetime
