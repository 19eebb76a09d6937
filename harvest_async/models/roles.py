"""Role records (https://help.getharvest.com/api-v2/roles-api/roles/roles/)."""

from __future__ import annotations

import datetime as dt

import attrs

__all__ = ["Role"]


@attrs.frozen(kw_only=True)
class Role:
    """A role: a named group of users."""

    id: int
    name: str | None = None
    user_ids: list[int] | None = None
    created_at: dt.datetime
    updated_at: dt.datetime
