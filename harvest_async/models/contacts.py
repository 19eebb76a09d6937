"""Contact records (https://help.getharvest.com/api-v2/clients-api/clients/contacts/)."""

from __future__ import annotations

import datetime as dt

import attrs

from ._common import IdName

__all__ = ["Contact"]


@attrs.frozen(kw_only=True)
class Contact:
    """A contact person at a client."""

    id: int
    client: IdName | None = None
    title: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone_office: str | None = None
    phone_mobile: str | None = None
    fax: str | None = None
    created_at: dt.datetime
    updated_at: dt.datetime
