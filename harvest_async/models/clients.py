"""Client records (https://help.getharvest.com/api-v2/clients-api/clients/clients/)."""

from __future__ import annotations

import datetime as dt

import attrs

__all__ = ["Client"]


@attrs.frozen(kw_only=True)
class Client:
    """A client: a person or organization you bill for projects."""

    id: int
    name: str | None = None
    is_active: bool | None = None
    address: str | None = None
    statement_key: str | None = None
    currency: str | None = None
    created_at: dt.datetime
    updated_at: dt.datetime
