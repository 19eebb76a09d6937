"""Invoices, with their line items, messages and payments.

Harvest docs:
https://help.getharvest.com/api-v2/invoices-api/invoices/invoices/,
https://help.getharvest.com/api-v2/invoices-api/invoices/invoice-messages/,
https://help.getharvest.com/api-v2/invoices-api/invoices/invoice-payments/.

Line items have no endpoints of their own: Harvest creates, changes and deletes them
through the invoice's ``line_items`` array (an item without ``id`` is created, one with
``id`` is changed, one with ``id`` and ``"_destroy": True`` is deleted). Use
``line_items=`` on `Invoices.create` / `Invoices.update`, or the helpers
`Invoices.create_line_items`, `Invoices.update_line_items` and
`Invoices.delete_line_items`. What invoices share with estimates is in ``_documents``.
"""

from __future__ import annotations

import datetime as dt
import typing
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, Literal, Required, TypedDict

from .._errors import InvalidRequestError
from .._pagination import Paginator
from ..models.invoices import (
    Invoice,
    InvoiceMessage,
    InvoiceMessageSubjectAndBody,
    InvoicePayment,
)
from ._base import NOT_GIVEN, NotGiven, PerPage, check_id, operation
from ._documents import (
    Documents,
    LineItemDeletion,
    LineItemShape,
    MessageRecipient,
    nested,
)
from ._params import Field, typed_fields

__all__ = [
    "ExpensesImport",
    "ExpensesSummaryType",
    "InvoiceEventType",
    "InvoiceLineItemChange",
    "InvoiceLineItemParams",
    "InvoiceState",
    "Invoices",
    "LineItemDeletion",
    "LineItemsImport",
    "MessageRecipient",
    "NewInvoiceLineItem",
    "PaymentOption",
    "PaymentTerm",
    "TimeImport",
    "TimeSummaryType",
]

Number = Decimal | int | str | float

#: Invoice states a list can be filtered by.
InvoiceState = Literal["draft", "open", "paid", "closed"]
#: ``event_type`` of an invoice message: mark closed, draft, re-opened or sent.
InvoiceEventType = Literal["close", "draft", "re-open", "send"]
#: When an invoice is due.
PaymentTerm = Literal["upon receipt", "net 15", "net 30", "net 45", "net 60", "custom"]
#: Online payment options (the account must have them configured).
PaymentOption = Literal["ach", "credit_card", "paypal"]
#: How imported time is summarized per line item.
TimeSummaryType = Literal["project", "task", "people", "detailed"]
#: How imported expenses are summarized per line item.
ExpensesSummaryType = Literal["project", "category", "people", "detailed"]


class NewInvoiceLineItem(TypedDict, total=False):
    """A line item to add to an invoice (no ``id``)."""

    kind: Required[str]
    unit_price: Required[Number]
    project_id: int | None
    description: str | None
    quantity: Number
    taxed: bool
    taxed2: bool


class InvoiceLineItemChange(TypedDict, total=False):
    """Changes to an existing line item, named by its ``id``."""

    id: Required[int]
    project_id: int | None
    kind: str
    description: str | None
    quantity: Number
    unit_price: Number
    taxed: bool
    taxed2: bool


#: Any entry of an invoice's ``line_items`` array.
InvoiceLineItemParams = NewInvoiceLineItem | InvoiceLineItemChange | LineItemDeletion


#: Tracked time to import: ``summary_type`` and an optional ``from``/``to`` range (both or
#: neither; neither imports all unbilled time).
TimeImport = TypedDict(
    "TimeImport",
    {
        "summary_type": Required[TimeSummaryType],
        "from": dt.date | str,
        "to": dt.date | str,
    },
    total=False,
)
#: Expenses to import: ``summary_type``, an optional ``from``/``to`` range (both or
#: neither) and ``attach_receipt`` (attach a PDF of the receipts to the invoice).
ExpensesImport = TypedDict(
    "ExpensesImport",
    {
        "summary_type": Required[ExpensesSummaryType],
        "from": dt.date | str,
        "to": dt.date | str,
        "attach_receipt": bool,
    },
    total=False,
)


class LineItemsImport(TypedDict, total=False):
    """``line_items_import``: create an invoice's lines from tracked time and expenses."""

    project_ids: Required[Sequence[int]]
    time: TimeImport
    expenses: ExpensesImport


_IMPORT = typed_fields(LineItemsImport)
_TIME_IMPORT = typed_fields(TimeImport)
_EXPENSES_IMPORT = typed_fields(ExpensesImport)


def _import_dates(
    where: str, part: Mapping[str, Any], fields: Mapping[str, Field], out: dict[str, Any]
) -> None:
    if "from" in part and "from_" in part:
        raise InvalidRequestError(f"{where}: give 'from' or 'from_', not both")
    start = part.get("from", part.get("from_", NOT_GIVEN))
    end = part.get("to", NOT_GIVEN)
    if (start is NOT_GIVEN) != (end is NOT_GIVEN):
        raise InvalidRequestError(
            f"{where}: give both 'from' and 'to', or neither (all unbilled items)"
        )
    if start is NOT_GIVEN:
        return
    start_date = nested(where, fields, "from", start)
    end_date = nested(where, fields, "to", end)
    if start_date > end_date:
        raise InvalidRequestError(f"{where}: 'from' ({start_date}) is after 'to' ({end_date})")
    out["from"] = start_date
    out["to"] = end_date


def _import_part(where: str, part: Any, fields: Mapping[str, Field]) -> dict[str, Any]:
    """One of ``time`` / ``expenses``: its keys and their types are its TypedDict's."""
    if not isinstance(part, Mapping):
        raise InvalidRequestError(f"{where} must be a mapping with summary_type")
    unknown = set(part) - set(fields) - {"from_"}
    if unknown:
        raise InvalidRequestError(
            f"{where} has unknown keys {sorted(map(str, unknown))}; allowed: {sorted(fields)}"
        )
    out: dict[str, Any] = {
        "summary_type": nested(where, fields, "summary_type", part.get("summary_type"))
    }
    _import_dates(where, part, fields, out)
    for key in fields.keys() - {"summary_type", "from", "to"}:
        if key in part:
            out[key] = nested(where, fields, key, part[key])
    return out


def _line_items_import(value: Any) -> Any:
    """Check ``line_items_import`` and return it in wire form."""
    if value is NOT_GIVEN:
        return value
    where = "line_items_import"
    unknown = set(value) - set(_IMPORT)
    if unknown:
        raise InvalidRequestError(
            f"{where} has unknown keys {sorted(map(str, unknown))}; allowed: {', '.join(_IMPORT)}"
        )
    project_ids = value.get("project_ids")
    if project_ids is None:
        raise InvalidRequestError(f"{where} requires project_ids")
    out: dict[str, Any] = {"project_ids": nested(where, _IMPORT, "project_ids", project_ids)}
    if not out["project_ids"]:
        raise InvalidRequestError(f"{where}.project_ids must hold at least one project id")
    if value.get("time") is None and value.get("expenses") is None:
        raise InvalidRequestError(f"{where} needs time, expenses or both to import")
    if value.get("time") is not None:
        out["time"] = _import_part(f"{where}.time", value["time"], _TIME_IMPORT)
    if value.get("expenses") is not None:
        out["expenses"] = _import_part(f"{where}.expenses", value["expenses"], _EXPENSES_IMPORT)
    return out


_LINE_ITEMS = LineItemShape.of(NewInvoiceLineItem, InvoiceLineItemChange)


class Invoices(Documents[Invoice, InvoiceMessage]):
    """``harvest.invoices``: list, get, create, update, delete, and per-invoice collections.

    Line items: ``line_items=`` on `create` / `update`,
    `create_line_items`, `update_line_items`, `delete_line_items`.
    Messages: `messages`, `create_message`, `delete_message`,
    `message_template`, and the events `mark_as_sent`,
    `mark_as_closed`, `mark_as_reopened`, `mark_as_draft`.
    Payments: `payments`, `create_payment`, `delete_payment`.
    """

    _path = "invoices"
    _model = Invoice
    _message_model = InvoiceMessage
    _shape = _LINE_ITEMS
    _events = typing.get_args(InvoiceEventType)

    # -- invoices ---------------------------------------------------------------------

    @operation("GET", "/invoices")
    def list(
        self,
        *,
        client_id: int | NotGiven = NOT_GIVEN,
        project_id: int | NotGiven = NOT_GIVEN,
        updated_since: dt.datetime | str | NotGiven = NOT_GIVEN,
        from_: dt.date | str | NotGiven = NOT_GIVEN,
        to: dt.date | str | NotGiven = NOT_GIVEN,
        state: InvoiceState | NotGiven = NOT_GIVEN,
        per_page: PerPage | NotGiven = NOT_GIVEN,
    ) -> Paginator[Invoice]:
        """List invoices, most recently issued first.

        Args:
            client_id: Only invoices of this client.
            project_id: Only invoices of this project.
            updated_since: Only invoices updated since this aware datetime.
            from_: Only invoices with ``issue_date`` on or after this date.
            to: Only invoices with ``issue_date`` on or before this date.
            state: ``"draft"``, ``"open"``, ``"paid"`` or ``"closed"``.
            per_page: Records per page, 1..2000 (Harvest's default 2000).

        Returns:
            A `Paginator` of `Invoice`; nothing is sent until iterated.
        """
        params = self._query()
        return self._paginate("invoices", "invoices", Invoice, params)

    @operation("GET", "/invoices/{invoiceId}")
    async def get(self, invoice_id: int) -> Invoice:
        """Retrieve one invoice.

        Args:
            invoice_id: The invoice.
        """
        return await self._get_document(invoice_id)

    @operation("POST", "/invoices")
    async def create(
        self,
        *,
        client_id: int,
        retainer_id: int | NotGiven = NOT_GIVEN,
        estimate_id: int | NotGiven = NOT_GIVEN,
        number: str | NotGiven = NOT_GIVEN,
        purchase_order: str | NotGiven | None = NOT_GIVEN,
        tax: Number | NotGiven | None = NOT_GIVEN,
        tax2: Number | NotGiven | None = NOT_GIVEN,
        discount: Number | NotGiven | None = NOT_GIVEN,
        subject: str | NotGiven | None = NOT_GIVEN,
        notes: str | NotGiven | None = NOT_GIVEN,
        currency: str | NotGiven = NOT_GIVEN,
        issue_date: dt.date | str | NotGiven = NOT_GIVEN,
        due_date: dt.date | str | NotGiven = NOT_GIVEN,
        payment_term: PaymentTerm | NotGiven = NOT_GIVEN,
        payment_options: Sequence[PaymentOption] | NotGiven = NOT_GIVEN,
        line_items: Sequence[NewInvoiceLineItem] | NotGiven = NOT_GIVEN,
        line_items_import: LineItemsImport | NotGiven = NOT_GIVEN,
    ) -> Invoice:
        """Create an invoice, from free-form line items or from tracked time and expenses.

        Args:
            client_id: The client the invoice is for.
            retainer_id: The retainer to add funds to with this invoice.
            estimate_id: The estimate this invoice is based on.
            number: Invoice number (default: generated).
            purchase_order: The purchase order number.
            tax: Tax percentage on the subtotal (``10.0`` for 10%).
            tax2: Second tax percentage on the subtotal.
            discount: Percentage subtracted from the subtotal.
            subject: The invoice subject.
            notes: Notes shown on the invoice.
            currency: ISO 4217 currency code (default: the client's currency).
            issue_date: Date issued (default: today).
            due_date: Date due; used only with ``payment_term="custom"``, otherwise
                Harvest computes it from ``issue_date`` and ``payment_term``.
            payment_term: ``"upon receipt"``, ``"net 15"``, ``"net 30"``, ``"net 45"``,
                ``"net 60"`` or ``"custom"`` (default).
            payment_options: Any of ``"ach"``, ``"credit_card"``, ``"paypal"``.
            line_items: New line items, each with ``kind`` and ``unit_price`` (and
                optionally ``project_id``, ``description``, ``quantity``, ``taxed``,
                ``taxed2``).
            line_items_import: Lines from tracked time and expenses:
                ``{"project_ids": [...], "time": {"summary_type": "project" | "task" |
                "people" | "detailed", "from": date, "to": date}, "expenses":
                {"summary_type": "project" | "category" | "people" | "detailed",
                "from": date, "to": date, "attach_receipt": bool}}``; ``time`` and
                ``expenses`` are each optional (at least one), ``from``/``to`` both or
                neither (neither: everything unbilled).
        """
        fields = self._body(
            line_items=_LINE_ITEMS.items(line_items, "new"),
            line_items_import=_line_items_import(line_items_import),
        )
        return await self._create(Invoice, "invoices", fields)

    @operation("PATCH", "/invoices/{invoiceId}")
    async def update(
        self,
        invoice_id: int,
        *,
        client_id: int | NotGiven = NOT_GIVEN,
        retainer_id: int | NotGiven | None = NOT_GIVEN,
        estimate_id: int | NotGiven | None = NOT_GIVEN,
        number: str | NotGiven = NOT_GIVEN,
        purchase_order: str | NotGiven | None = NOT_GIVEN,
        tax: Number | NotGiven | None = NOT_GIVEN,
        tax2: Number | NotGiven | None = NOT_GIVEN,
        discount: Number | NotGiven | None = NOT_GIVEN,
        subject: str | NotGiven | None = NOT_GIVEN,
        notes: str | NotGiven | None = NOT_GIVEN,
        currency: str | NotGiven = NOT_GIVEN,
        issue_date: dt.date | str | NotGiven = NOT_GIVEN,
        due_date: dt.date | str | NotGiven = NOT_GIVEN,
        payment_term: PaymentTerm | NotGiven = NOT_GIVEN,
        payment_options: Sequence[PaymentOption] | NotGiven = NOT_GIVEN,
        line_items: Sequence[InvoiceLineItemParams] | NotGiven = NOT_GIVEN,
    ) -> Invoice:
        """Change the given fields of an invoice (only those are sent).

        Args:
            invoice_id: The invoice to change.
            client_id: Move it to this client.
            retainer_id: The retainer associated with it.
            estimate_id: The estimate associated with it.
            number: Invoice number.
            purchase_order: The purchase order number.
            tax: Tax percentage on the subtotal.
            tax2: Second tax percentage on the subtotal.
            discount: Percentage subtracted from the subtotal.
            subject: The invoice subject.
            notes: Notes shown on the invoice.
            currency: ISO 4217 currency code.
            issue_date: Date issued.
            due_date: Date due.
            payment_term: ``"upon receipt"``, ``"net 15"``, ``"net 30"``, ``"net 45"``,
                ``"net 60"`` or ``"custom"``.
            payment_options: Any of ``"ach"``, ``"credit_card"``, ``"paypal"``.
            line_items: Line item changes: new items (no ``id``; ``kind`` and
                ``unit_price`` required), changes (``id`` and the fields to change) and
                deletions (``{"id": ..., "_destroy": True}``). Items not named stay.
                With a new item the PATCH is not idempotent, so it is retried only where
                it certainly did not reach Harvest (a 429, a connection never made).
        """
        fields = self._body(line_items=_LINE_ITEMS.items(line_items, "any"))
        return await self._patch(invoice_id, fields)

    @operation("DELETE", "/invoices/{invoiceId}")
    async def delete(self, invoice_id: int) -> None:
        """Delete an invoice.

        Args:
            invoice_id: The invoice to delete.
        """
        await self._delete_document(invoice_id)

    # -- line items (through PATCH /invoices/{invoiceId}) -----------------------------

    @operation("PATCH", "/invoices/{invoiceId}")
    async def create_line_items(
        self, invoice_id: int, *, line_items: Sequence[NewInvoiceLineItem]
    ) -> Invoice:
        """Add line items to an invoice.

        Sent twice, the items would be added twice: the request is retried only where
        it certainly did not reach Harvest (a 429, a connection never made); after
        any other failure the error is raised.

        Args:
            invoice_id: The invoice.
            line_items: The new items, each with ``kind`` and ``unit_price`` (and
                optionally ``project_id``, ``description``, ``quantity``, ``taxed``,
                ``taxed2``).

        Returns:
            The updated `Invoice`.
        """
        return await self._patch_line_items(invoice_id, line_items, "new")

    @operation("PATCH", "/invoices/{invoiceId}")
    async def update_line_items(
        self, invoice_id: int, *, line_items: Sequence[InvoiceLineItemChange]
    ) -> Invoice:
        """Change line items of an invoice (only the fields given are sent).

        Args:
            invoice_id: The invoice.
            line_items: One entry per item to change: its ``id`` and the fields to change.

        Returns:
            The updated `Invoice`.
        """
        return await self._patch_line_items(invoice_id, line_items, "change")

    @operation("PATCH", "/invoices/{invoiceId}")
    async def delete_line_items(self, invoice_id: int, *, line_item_ids: Sequence[int]) -> Invoice:
        """Delete line items of an invoice.

        Args:
            invoice_id: The invoice.
            line_item_ids: The ids of the line items to delete.

        Returns:
            The updated `Invoice`.
        """
        return await self._patch_line_items(invoice_id, line_item_ids, "delete")

    # -- messages ---------------------------------------------------------------------

    @operation("GET", "/invoices/{invoiceId}/messages")
    def messages(
        self,
        invoice_id: int,
        *,
        updated_since: dt.datetime | str | NotGiven = NOT_GIVEN,
        per_page: PerPage | NotGiven = NOT_GIVEN,
    ) -> Paginator[InvoiceMessage]:
        """List the messages (and events) of one invoice.

        Args:
            invoice_id: The invoice.
            updated_since: Only messages updated since this aware datetime.
            per_page: Records per page, 1..2000.

        Returns:
            A `Paginator` of `InvoiceMessage`; nothing is sent until iterated.
        """
        return self._messages(invoice_id, updated_since, per_page)

    @operation("POST", "/invoices/{invoiceId}/messages")
    async def create_message(
        self,
        invoice_id: int,
        *,
        recipients: Sequence[MessageRecipient] | NotGiven = NOT_GIVEN,
        subject: str | NotGiven | None = NOT_GIVEN,
        body: str | NotGiven | None = NOT_GIVEN,
        include_link_to_client_invoice: bool | NotGiven = NOT_GIVEN,
        attach_pdf: bool | NotGiven = NOT_GIVEN,
        send_me_a_copy: bool | NotGiven = NOT_GIVEN,
        thank_you: bool | NotGiven = NOT_GIVEN,
        event_type: InvoiceEventType | NotGiven | None = NOT_GIVEN,
    ) -> InvoiceMessage:
        """Send a message about an invoice, or record an event on it.

        Without ``event_type`` an email goes to ``recipients`` (required). With
        ``event_type`` nothing is emailed and only the event is recorded: ``"close"``,
        ``"draft"``, ``"re-open"`` or ``"send"`` (marks a draft as sent); the message
        fields must then be left out. See also `mark_as_sent` and friends.

        Args:
            invoice_id: The invoice.
            recipients: ``[{"email": ..., "name": ...}]`` (``name`` optional).
            subject: The message subject (default: Harvest's template).
            body: The message body (default: Harvest's template).
            include_link_to_client_invoice: Deprecated by Harvest (``False`` clears the
                invoice's payment options; ``True`` is ignored).
            attach_pdf: Attach a PDF of the invoice.
            send_me_a_copy: Send a copy to the current user.
            thank_you: Send a thank-you message.
            event_type: ``"close"``, ``"draft"``, ``"re-open"`` or ``"send"``.
        """
        return await self._send_message(
            invoice_id,
            event_type,
            {
                "recipients": recipients,
                "subject": subject,
                "body": body,
                "include_link_to_client_invoice": include_link_to_client_invoice,
                "attach_pdf": attach_pdf,
                "send_me_a_copy": send_me_a_copy,
                "thank_you": thank_you,
            },
            call="invoices.create_message",
        )

    async def _event(self, invoice_id: int, event_type: InvoiceEventType) -> InvoiceMessage:
        return await self.create_message(invoice_id, event_type=event_type)

    @operation("POST", "/invoices/{invoiceId}/messages")
    async def mark_as_sent(self, invoice_id: int) -> InvoiceMessage:
        """Mark a draft invoice as sent (no email is sent).

        Args:
            invoice_id: The invoice.
        """
        return await self._event(invoice_id, "send")

    @operation("POST", "/invoices/{invoiceId}/messages")
    async def mark_as_closed(self, invoice_id: int) -> InvoiceMessage:
        """Mark an open invoice as closed.

        Args:
            invoice_id: The invoice.
        """
        return await self._event(invoice_id, "close")

    @operation("POST", "/invoices/{invoiceId}/messages")
    async def mark_as_reopened(self, invoice_id: int) -> InvoiceMessage:
        """Re-open a closed invoice.

        Args:
            invoice_id: The invoice.
        """
        return await self._event(invoice_id, "re-open")

    @operation("POST", "/invoices/{invoiceId}/messages")
    async def mark_as_draft(self, invoice_id: int) -> InvoiceMessage:
        """Mark an open invoice as a draft.

        Args:
            invoice_id: The invoice.
        """
        return await self._event(invoice_id, "draft")

    @operation("DELETE", "/invoices/{invoiceId}/messages/{messageId}")
    async def delete_message(self, invoice_id: int, message_id: int) -> None:
        """Delete a message of an invoice.

        Args:
            invoice_id: The invoice.
            message_id: The message to delete.
        """
        await self._delete_message(invoice_id, message_id)

    @operation("GET", "/invoices/{invoiceId}/messages/new")
    async def message_template(
        self,
        invoice_id: int,
        *,
        thank_you: bool | NotGiven = NOT_GIVEN,
        reminder: bool | NotGiven = NOT_GIVEN,
    ) -> InvoiceMessageSubjectAndBody:
        """The subject and body Harvest proposes for a new message about an invoice.

        Args:
            invoice_id: The invoice.
            thank_you: The thank-you message template.
            reminder: The payment reminder template.
        """
        iid = check_id(invoice_id, "invoice_id")
        if thank_you is True and reminder is True:
            raise InvalidRequestError("give thank_you=True or reminder=True, not both")
        params = self._query()
        return await self._get(InvoiceMessageSubjectAndBody, f"invoices/{iid}/messages/new", params)

    # -- payments ---------------------------------------------------------------------

    @operation("GET", "/invoices/{invoiceId}/payments")
    def payments(
        self,
        invoice_id: int,
        *,
        updated_since: dt.datetime | str | NotGiven = NOT_GIVEN,
        per_page: PerPage | NotGiven = NOT_GIVEN,
    ) -> Paginator[InvoicePayment]:
        """List the payments recorded against one invoice.

        Args:
            invoice_id: The invoice.
            updated_since: Only payments updated since this aware datetime.
            per_page: Records per page, 1..2000.

        Returns:
            A `Paginator` of `InvoicePayment`; nothing is sent until iterated.
        """
        iid = check_id(invoice_id, "invoice_id")
        params = self._query()
        return self._paginate(
            f"invoices/{iid}/payments", "invoice_payments", InvoicePayment, params
        )

    @operation("POST", "/invoices/{invoiceId}/payments")
    async def create_payment(
        self,
        invoice_id: int,
        *,
        amount: Number,
        paid_at: dt.datetime | str | NotGiven = NOT_GIVEN,
        paid_date: dt.date | str | NotGiven = NOT_GIVEN,
        notes: str | NotGiven | None = NOT_GIVEN,
        send_thank_you: bool | NotGiven = NOT_GIVEN,
    ) -> InvoicePayment:
        """Record a payment against an invoice.

        Args:
            invoice_id: The invoice.
            amount: The amount paid.
            paid_at: When it was paid (aware datetime); not with ``paid_date``.
            paid_date: The date it was paid; not with ``paid_at``.
            notes: Notes on the payment.
            send_thank_you: Email a thank-you if this payment settles the invoice
                (Harvest's default ``True``, when enabled for the account).
        """
        iid = check_id(invoice_id, "invoice_id")
        if paid_at is not NOT_GIVEN and paid_date is not NOT_GIVEN:
            raise InvalidRequestError(
                "invoices.create_payment: give paid_at or paid_date, not both"
            )
        fields = self._body()
        return await self._create(InvoicePayment, f"invoices/{iid}/payments", fields)

    @operation("DELETE", "/invoices/{invoiceId}/payments/{paymentId}")
    async def delete_payment(self, invoice_id: int, payment_id: int) -> None:
        """Delete a payment recorded against an invoice.

        Args:
            invoice_id: The invoice.
            payment_id: The payment to delete.
        """
        iid = check_id(invoice_id, "invoice_id")
        pid = check_id(payment_id, "payment_id")
        await self._delete(f"invoices/{iid}/payments/{pid}")
