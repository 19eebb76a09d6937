"""Small nested references shared by several models.

Harvest embeds related records as small objects (``{"id": 1, "name": "ABC Corp"}``);
each is a frozen attrs class whose fields are all optional, since Harvest sends
different subsets in different places.
"""

from __future__ import annotations

import attrs

__all__ = ["ClientRef", "IdName", "IdRef", "InvoiceRef", "ProjectRef", "TaskRef", "UserRef"]


@attrs.frozen(kw_only=True)
class IdName:
    """A reference carrying only ``id`` and ``name``."""

    id: int | None = None
    name: str | None = None


@attrs.frozen(kw_only=True)
class ClientRef:
    """The client a record belongs to."""

    id: int | None = None
    name: str | None = None
    currency: str | None = None


@attrs.frozen(kw_only=True)
class ProjectRef:
    """The project a record belongs to."""

    id: int | None = None
    name: str | None = None
    code: str | None = None


@attrs.frozen(kw_only=True)
class TaskRef:
    """The task a record belongs to."""

    id: int | None = None
    name: str | None = None


@attrs.frozen(kw_only=True)
class UserRef:
    """The user a record belongs to."""

    id: int | None = None
    name: str | None = None


@attrs.frozen(kw_only=True)
class IdRef:
    """A reference carrying only ``id`` (e.g. an invoice's estimate or retainer)."""

    id: int | None = None


@attrs.frozen(kw_only=True)
class InvoiceRef:
    """The invoice a time entry or expense was billed on."""

    id: int | None = None
    number: str | None = None
