"""Estimates, their line items, messages and item categories.

Harvest docs:
https://help.getharvest.com/api-v2/estimates-api/estimates/estimates/,
https://help.getharvest.com/api-v2/estimates-api/estimates/estimate-messages/,
https://help.getharvest.com/api-v2/estimates-api/estimates/estimate-item-categories/.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import attrs

from ._common import IdName, UserRef

__all__ = [
    "Estimate",
    "EstimateItemCategory",
    "EstimateLineItem",
    "EstimateMessage",
    "EstimateMessageRecipient",
]


@attrs.frozen(kw_only=True)
class EstimateLineItem:
    """One line of an estimate."""

    id: int | None = None
    kind: str | None = None
    description: str | None = None
    quantity: Decimal | None = None
    unit_price: Decimal | None = None
    amount: Decimal | None = None
    taxed: bool | None = None
    taxed2: bool | None = None


@attrs.frozen(kw_only=True)
class Estimate:
    """An estimate (quote) for a client."""

    id: int
    client: IdName | None = None
    line_items: list[EstimateLineItem] | None = None
    creator: UserRef | None = None
    client_key: str | None = None
    number: str | None = None
    purchase_order: str | None = None
    amount: Decimal | None = None
    tax: Decimal | None = None
    tax_amount: Decimal | None = None
    tax2: Decimal | None = None
    tax2_amount: Decimal | None = None
    discount: Decimal | None = None
    discount_amount: Decimal | None = None
    subject: str | None = None
    notes: str | None = None
    currency: str | None = None
    state: str | None = None
    issue_date: dt.date | None = None
    sent_at: dt.datetime | None = None
    accepted_at: dt.datetime | None = None
    declined_at: dt.datetime | None = None
    created_at: dt.datetime
    updated_at: dt.datetime


@attrs.frozen(kw_only=True)
class EstimateMessageRecipient:
    """A recipient of an estimate message."""

    name: str | None = None
    email: str | None = None


@attrs.frozen(kw_only=True)
class EstimateMessage:
    """A message sent about an estimate, or an event (send, accept, decline, re-open) on it."""

    id: int
    sent_by: str | None = None
    sent_by_email: str | None = None
    sent_from: str | None = None
    sent_from_email: str | None = None
    recipients: list[EstimateMessageRecipient] | None = None
    subject: str | None = None
    body: str | None = None
    send_me_a_copy: bool | None = None
    event_type: str | None = None
    created_at: dt.datetime
    updated_at: dt.datetime


@attrs.frozen(kw_only=True)
class EstimateItemCategory:
    """A category for estimate line items (e.g. Service, Product)."""

    id: int
    name: str | None = None
    created_at: dt.datetime
    updated_at: dt.datetime
