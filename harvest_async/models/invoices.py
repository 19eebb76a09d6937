"""Invoices, their line items, messages, payments and item categories.

Harvest docs:
https://help.getharvest.com/api-v2/invoices-api/invoices/invoices/,
https://help.getharvest.com/api-v2/invoices-api/invoices/invoice-messages/,
https://help.getharvest.com/api-v2/invoices-api/invoices/invoice-payments/,
https://help.getharvest.com/api-v2/invoices-api/invoices/invoice-item-categories/.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import attrs

from ._common import IdName, IdRef, ProjectRef, UserRef

__all__ = [
    "Invoice",
    "InvoiceItemCategory",
    "InvoiceLineItem",
    "InvoiceMessage",
    "InvoiceMessageRecipient",
    "InvoiceMessageSubjectAndBody",
    "InvoicePayment",
    "PaymentGateway",
]


@attrs.frozen(kw_only=True)
class InvoiceLineItem:
    """One line of an invoice."""

    id: int | None = None
    project: ProjectRef | None = None
    kind: str | None = None
    description: str | None = None
    quantity: Decimal | None = None
    unit_price: Decimal | None = None
    amount: Decimal | None = None
    taxed: bool | None = None
    taxed2: bool | None = None


@attrs.frozen(kw_only=True)
class Invoice:
    """An invoice sent (or to be sent) to a client."""

    id: int
    client: IdName | None = None
    line_items: list[InvoiceLineItem] | None = None
    estimate: IdRef | None = None
    retainer: IdRef | None = None
    creator: UserRef | None = None
    client_key: str | None = None
    number: str | None = None
    purchase_order: str | None = None
    amount: Decimal | None = None
    due_amount: Decimal | None = None
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
    period_start: dt.date | None = None
    period_end: dt.date | None = None
    issue_date: dt.date | None = None
    due_date: dt.date | None = None
    payment_term: str | None = None
    payment_options: list[str] | None = None
    sent_at: dt.datetime | None = None
    paid_at: dt.datetime | None = None
    paid_date: dt.date | None = None
    closed_at: dt.datetime | None = None
    recurring_invoice_id: int | None = None
    created_at: dt.datetime
    updated_at: dt.datetime


@attrs.frozen(kw_only=True)
class InvoiceMessageRecipient:
    """A recipient of an invoice message."""

    name: str | None = None
    email: str | None = None


@attrs.frozen(kw_only=True)
class InvoiceMessage:
    """A message sent about an invoice, or an event (send, close, re-open, draft) on it."""

    id: int
    sent_by: str | None = None
    sent_by_email: str | None = None
    sent_from: str | None = None
    sent_from_email: str | None = None
    recipients: list[InvoiceMessageRecipient] | None = None
    subject: str | None = None
    body: str | None = None
    include_link_to_client_invoice: bool | None = None
    attach_pdf: bool | None = None
    send_me_a_copy: bool | None = None
    thank_you: bool | None = None
    event_type: str | None = None
    reminder: bool | None = None
    send_reminder_on: dt.date | None = None
    created_at: dt.datetime
    updated_at: dt.datetime


@attrs.frozen(kw_only=True)
class InvoiceMessageSubjectAndBody:
    """The subject and body Harvest proposes for a new invoice message."""

    invoice_id: int | None = None
    subject: str | None = None
    body: str | None = None
    reminder: bool | None = None
    thank_you: bool | None = None


@attrs.frozen(kw_only=True)
class PaymentGateway:
    """The payment gateway an invoice payment went through."""

    id: int | None = None
    name: str | None = None


@attrs.frozen(kw_only=True)
class InvoicePayment:
    """A payment recorded against an invoice."""

    id: int
    amount: Decimal | None = None
    paid_at: dt.datetime | None = None
    paid_date: dt.date | None = None
    recorded_by: str | None = None
    recorded_by_email: str | None = None
    notes: str | None = None
    transaction_id: str | None = None
    payment_gateway: PaymentGateway | None = None
    created_at: dt.datetime
    updated_at: dt.datetime


@attrs.frozen(kw_only=True)
class InvoiceItemCategory:
    """A category for invoice line items (e.g. Service, Product)."""

    id: int
    name: str | None = None
    use_as_service: bool | None = None
    use_as_expense: bool | None = None
    created_at: dt.datetime
    updated_at: dt.datetime
