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
`Invoices.delete_line_items`. The shape checks here are shared with estimates.
"""

from __future__ import annotations

import builtins
import datetime as dt
from collections.abc import Collection, Mapping, Sequence
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
from ._base import NOT_GIVEN, NotGiven, Resource, check_id, operation, query, shown
from ._base import body as make_body

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

_STATES = ("draft", "open", "paid", "closed")
_EVENT_TYPES = ("close", "draft", "re-open", "send")
_PAYMENT_TERMS = ("upon receipt", "net 15", "net 30", "net 45", "net 60", "custom")
_PAYMENT_OPTIONS = ("ach", "credit_card", "paypal")
_TIME_SUMMARY_TYPES = ("project", "task", "people", "detailed")
_EXPENSES_SUMMARY_TYPES = ("project", "category", "people", "detailed")


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


class LineItemDeletion(TypedDict):
    """Deletes the line item ``id``: ``{"id": 53341928, "_destroy": True}``."""

    id: int
    _destroy: Literal[True]


#: Any entry of an invoice's ``line_items`` array.
InvoiceLineItemParams = NewInvoiceLineItem | InvoiceLineItemChange | LineItemDeletion


class MessageRecipient(TypedDict, total=False):
    """A recipient of an invoice or estimate message."""

    email: Required[str]
    name: str


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


# -- shared checks (also used by estimates) ------------------------------------------


def _check_choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    """Reject a value outside ``choices`` (``NOT_GIVEN`` and ``None`` pass)."""
    if value is NOT_GIVEN or value is None:
        return
    if value not in choices:
        raise InvalidRequestError(
            f"{name} must be one of {', '.join(repr(c) for c in choices)}; got {shown(value)}"
        )


def _field(where: str, name: str, value: Any) -> Any:
    """Validate one nested field by its Harvest name, naming where it sits on error."""
    try:
        return make_body(**{name: value})[name]
    except InvalidRequestError as exc:
        raise InvalidRequestError(f"{where}: {exc}") from None


def _sequence(name: str, value: Any) -> Sequence[Any]:
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, (builtins.list, tuple)):
        raise InvalidRequestError(f"{name} must be a list, got {shown(value)}")
    return value


_LineItemMode = Literal["new", "change", "delete", "any"]


def _line_item(
    where: str, item: Any, fields: Collection[str], mode: _LineItemMode
) -> dict[str, Any]:
    """Check one ``line_items`` entry and return it in wire form."""
    if not isinstance(item, Mapping):
        raise InvalidRequestError(f"{where} must be a mapping, got {shown(item)}")
    keys = set(item)
    if not all(isinstance(k, str) for k in keys):
        raise InvalidRequestError(f"{where} has a non-string key")
    unknown = keys - set(fields) - {"id", "_destroy"}
    if unknown:
        raise InvalidRequestError(
            f"{where} has unknown keys {sorted(unknown)}; allowed: "
            f"{sorted({'id', '_destroy', *fields})}"
        )
    if "_destroy" in item:
        if item["_destroy"] is not True:
            raise InvalidRequestError(
                f"{where}: _destroy must be True, got {shown(item['_destroy'])}"
            )
        if mode not in ("delete", "any"):
            raise InvalidRequestError(
                f"{where}: cannot delete a line item here (no '_destroy' allowed)"
            )
        if keys != {"id", "_destroy"}:
            raise InvalidRequestError(
                f"{where}: a deletion is exactly {{'id': ..., '_destroy': True}}"
            )
        return {"id": check_id(item["id"], f"{where}.id"), "_destroy": True}
    if mode == "delete":
        raise InvalidRequestError(f"{where}: a deletion needs '_destroy': True")
    out: dict[str, Any] = {}
    if "id" in item:
        if mode == "new":
            raise InvalidRequestError(
                f"{where}: a new line item has no 'id' (use update_line_items to change one)"
            )
        out["id"] = check_id(item["id"], f"{where}.id")
        if len(keys) == 1:
            raise InvalidRequestError(f"{where}: gives no field to change")
    else:
        if mode == "change":
            raise InvalidRequestError(f"{where}: a change needs the line item's 'id'")
        missing = [k for k in ("kind", "unit_price") if item.get(k) is None]
        if missing:
            raise InvalidRequestError(f"{where}: a new line item requires {', '.join(missing)}")
    for key in fields:
        if key not in item:
            continue
        value = item[key]
        if key == "kind" and (not isinstance(value, str) or not value.strip()):
            raise InvalidRequestError(
                f"{where}: kind must be the name of an item category, got {shown(value)}"
            )
        if key in ("quantity", "unit_price", "taxed", "taxed2") and value is None:
            raise InvalidRequestError(f"{where}: {key} must not be None")
        if key == "description" and value is not None and not isinstance(value, str):
            raise InvalidRequestError(f"{where}: description must be a string, got {shown(value)}")
        out[key] = _field(where, key, value)
    return out


def _line_items(
    value: Any, fields: Collection[str], mode: _LineItemMode, name: str = "line_items"
) -> Any:
    """Check a ``line_items`` array (``NOT_GIVEN`` passes) and return it in wire form."""
    if value is NOT_GIVEN:
        return value
    items = _sequence(name, value)
    if not items:
        raise InvalidRequestError(f"{name} must hold at least one line item")
    return [_line_item(f"{name}[{i}]", item, fields, mode) for i, item in enumerate(items)]


def _adds_rows(fields: Mapping[str, Any]) -> bool:
    """Whether a PATCH body creates line items (an entry without ``id``).

    Such a PATCH is not idempotent: sent twice, it adds the items twice. It goes with
    ``replay_safe=False`` (re-sent only where it certainly did not reach Harvest); one
    that only changes or deletes items by ``id`` may be re-sent.
    """
    items = fields.get("line_items", NOT_GIVEN)
    if not isinstance(items, builtins.list):
        return False
    return any(isinstance(item, Mapping) and "id" not in item for item in items)


def _deletions(line_item_ids: Any) -> builtins.list[dict[str, Any]]:
    ids = _sequence("line_item_ids", line_item_ids)
    if not ids:
        raise InvalidRequestError("line_item_ids must hold at least one id")
    return [
        {"id": check_id(item, f"line_item_ids[{i}]"), "_destroy": True}
        for i, item in enumerate(ids)
    ]


def _recipients(value: Any) -> Any:
    """Check ``recipients``: a non-empty list of ``{"email", "name"?}``."""
    if value is NOT_GIVEN:
        return value
    items = _sequence("recipients", value)
    if not items:
        raise InvalidRequestError("recipients must hold at least one recipient")
    out = []
    for i, item in enumerate(items):
        where = f"recipients[{i}]"
        if not isinstance(item, Mapping):
            raise InvalidRequestError(f"{where} must be a mapping with email (and name)")
        unknown = set(item) - {"email", "name"}
        if unknown:
            raise InvalidRequestError(
                f"{where} has unknown keys {sorted(map(str, unknown))}; allowed: email, name"
            )
        email = item.get("email")
        if (
            not isinstance(email, str)
            or "@" not in email.strip("@")
            or len(email) > 254
            or any(c.isspace() or ord(c) < 32 for c in email)
        ):
            raise InvalidRequestError(
                f"{where}: email must be an email address, got {shown(email)}"
            )
        recipient: dict[str, Any] = {}
        if "name" in item:
            name = item["name"]
            if name is not None and not isinstance(name, str):
                raise InvalidRequestError(f"{where}: name must be a string, got {shown(name)}")
            recipient["name"] = _field(where, "name", name)
        recipient["email"] = email
        out.append(recipient)
    return out


def _message_fields(
    event_type: Any, choices: tuple[str, ...], message: dict[str, Any], *, call: str
) -> dict[str, Any]:
    """The body of a message: an event (``event_type`` alone) or a message to send."""
    _check_choice("event_type", event_type, choices)
    if event_type is NOT_GIVEN or event_type is None:
        if message.get("recipients", NOT_GIVEN) is NOT_GIVEN:
            raise InvalidRequestError(
                f"{call}: sending a message requires recipients "
                f"(or give event_type={' / '.join(repr(c) for c in choices)})"
            )
        return make_body(event_type=event_type, **message)
    given = sorted(k for k, v in message.items() if v is not NOT_GIVEN)
    if given:
        raise InvalidRequestError(
            f"{call}: event_type={event_type!r} only records an event and sends no email; "
            f"leave out {', '.join(given)}"
        )
    return make_body(event_type=event_type)


def _import_dates(where: str, part: Mapping[str, Any], out: dict[str, Any]) -> None:
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
    start_date = _field(where, "from", start)
    end_date = _field(where, "to", end)
    if start_date > end_date:
        raise InvalidRequestError(f"{where}: 'from' ({start_date}) is after 'to' ({end_date})")
    out["from"] = start_date
    out["to"] = end_date


def _import_part(
    where: str, part: Any, choices: tuple[str, ...], extra: tuple[str, ...]
) -> dict[str, Any]:
    if not isinstance(part, Mapping):
        raise InvalidRequestError(f"{where} must be a mapping with summary_type")
    allowed = {"summary_type", "from", "from_", "to", *extra}
    unknown = set(part) - allowed
    if unknown:
        raise InvalidRequestError(
            f"{where} has unknown keys {sorted(map(str, unknown))}; "
            f"allowed: {sorted(allowed - {'from_'})}"
        )
    summary = part.get("summary_type")
    if summary not in choices:
        raise InvalidRequestError(
            f"{where}.summary_type must be one of {', '.join(repr(c) for c in choices)}; "
            f"got {shown(summary)}"
        )
    out: dict[str, Any] = {"summary_type": summary}
    _import_dates(where, part, out)
    for key in extra:
        if key in part:
            out[key] = _field(where, key, part[key])
    return out


def _line_items_import(value: Any) -> Any:
    """Check ``line_items_import`` and return it in wire form."""
    if value is NOT_GIVEN:
        return value
    where = "line_items_import"
    if not isinstance(value, Mapping):
        raise InvalidRequestError(f"{where} must be a mapping with project_ids, time, expenses")
    unknown = set(value) - {"project_ids", "time", "expenses"}
    if unknown:
        raise InvalidRequestError(
            f"{where} has unknown keys {sorted(map(str, unknown))}; "
            "allowed: project_ids, time, expenses"
        )
    project_ids = value.get("project_ids")
    if project_ids is None:
        raise InvalidRequestError(f"{where} requires project_ids")
    out: dict[str, Any] = {"project_ids": _field(where, "project_ids", project_ids)}
    if not out["project_ids"]:
        raise InvalidRequestError(f"{where}.project_ids must hold at least one project id")
    if value.get("time") is None and value.get("expenses") is None:
        raise InvalidRequestError(f"{where} needs time, expenses or both to import")
    if value.get("time") is not None:
        out["time"] = _import_part(f"{where}.time", value["time"], _TIME_SUMMARY_TYPES, ())
    if value.get("expenses") is not None:
        out["expenses"] = _import_part(
            f"{where}.expenses",
            value["expenses"],
            _EXPENSES_SUMMARY_TYPES,
            ("attach_receipt",),
        )
    return out


def _payment_options(value: Any) -> Any:
    if value is NOT_GIVEN or value is None:
        return value
    options = _sequence("payment_options", value)
    for option in options:
        if option not in _PAYMENT_OPTIONS:
            raise InvalidRequestError(
                "payment_options items must be 'ach', 'credit_card' or 'paypal'; "
                f"got {shown(option)}"
            )
    return builtins.list(options)


_INVOICE_LINE_ITEM_FIELDS = (
    "project_id",
    "kind",
    "description",
    "quantity",
    "unit_price",
    "taxed",
    "taxed2",
)


class Invoices(Resource):
    """``harvest.invoices``: list, get, create, update, delete, and per-invoice collections.

    Line items: ``line_items=`` on `create` / `update`,
    `create_line_items`, `update_line_items`, `delete_line_items`.
    Messages: `messages`, `create_message`, `delete_message`,
    `message_template`, and the events `mark_as_sent`,
    `mark_as_closed`, `mark_as_reopened`, `mark_as_draft`.
    Payments: `payments`, `create_payment`, `delete_payment`.
    """

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
        per_page: int | NotGiven = NOT_GIVEN,
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
        _check_choice("state", state, _STATES)
        params = query(
            client_id=client_id,
            project_id=project_id,
            updated_since=updated_since,
            from_=from_,
            to=to,
            state=state,
            per_page=per_page,
        )
        return self._paginate("invoices", "invoices", Invoice, params)

    @operation("GET", "/invoices/{invoiceId}")
    async def get(self, invoice_id: int) -> Invoice:
        """Retrieve one invoice.

        Args:
            invoice_id: The invoice.
        """
        return await self._get(Invoice, f"invoices/{check_id(invoice_id, 'invoice_id')}")

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
        _check_choice("payment_term", payment_term, _PAYMENT_TERMS)
        fields = make_body(
            client_id=client_id,
            retainer_id=retainer_id,
            estimate_id=estimate_id,
            number=number,
            purchase_order=purchase_order,
            tax=tax,
            tax2=tax2,
            discount=discount,
            subject=subject,
            notes=notes,
            currency=currency,
            issue_date=issue_date,
            due_date=due_date,
            payment_term=payment_term,
            payment_options=_payment_options(payment_options),
            line_items=_line_items(line_items, _INVOICE_LINE_ITEM_FIELDS, "new"),
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
        iid = check_id(invoice_id, "invoice_id")
        _check_choice("payment_term", payment_term, _PAYMENT_TERMS)
        fields = make_body(
            client_id=client_id,
            retainer_id=retainer_id,
            estimate_id=estimate_id,
            number=number,
            purchase_order=purchase_order,
            tax=tax,
            tax2=tax2,
            discount=discount,
            subject=subject,
            notes=notes,
            currency=currency,
            issue_date=issue_date,
            due_date=due_date,
            payment_term=payment_term,
            payment_options=_payment_options(payment_options),
            line_items=_line_items(line_items, _INVOICE_LINE_ITEM_FIELDS, "any"),
        )
        return await self._update(
            Invoice, f"invoices/{iid}", fields, replay_safe=not _adds_rows(fields)
        )

    @operation("DELETE", "/invoices/{invoiceId}")
    async def delete(self, invoice_id: int) -> None:
        """Delete an invoice.

        Args:
            invoice_id: The invoice to delete.
        """
        await self._delete(f"invoices/{check_id(invoice_id, 'invoice_id')}")

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
        iid = check_id(invoice_id, "invoice_id")
        items = _line_items(line_items, _INVOICE_LINE_ITEM_FIELDS, "new")
        # Adds rows: never re-sent once it may have reached Harvest.
        return await self._update(
            Invoice, f"invoices/{iid}", {"line_items": items}, replay_safe=False
        )

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
        iid = check_id(invoice_id, "invoice_id")
        items = _line_items(line_items, _INVOICE_LINE_ITEM_FIELDS, "change")
        return await self._update(Invoice, f"invoices/{iid}", {"line_items": items})

    @operation("PATCH", "/invoices/{invoiceId}")
    async def delete_line_items(self, invoice_id: int, *, line_item_ids: Sequence[int]) -> Invoice:
        """Delete line items of an invoice.

        Args:
            invoice_id: The invoice.
            line_item_ids: The ids of the line items to delete.

        Returns:
            The updated `Invoice`.
        """
        iid = check_id(invoice_id, "invoice_id")
        items = _deletions(line_item_ids)
        return await self._update(Invoice, f"invoices/{iid}", {"line_items": items})

    # -- messages ---------------------------------------------------------------------

    @operation("GET", "/invoices/{invoiceId}/messages")
    def messages(
        self,
        invoice_id: int,
        *,
        updated_since: dt.datetime | str | NotGiven = NOT_GIVEN,
        per_page: int | NotGiven = NOT_GIVEN,
    ) -> Paginator[InvoiceMessage]:
        """List the messages (and events) of one invoice.

        Args:
            invoice_id: The invoice.
            updated_since: Only messages updated since this aware datetime.
            per_page: Records per page, 1..2000.

        Returns:
            A `Paginator` of `InvoiceMessage`; nothing is sent until iterated.
        """
        iid = check_id(invoice_id, "invoice_id")
        params = query(updated_since=updated_since, per_page=per_page)
        return self._paginate(
            f"invoices/{iid}/messages", "invoice_messages", InvoiceMessage, params
        )

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
        iid = check_id(invoice_id, "invoice_id")
        fields = _message_fields(
            event_type,
            _EVENT_TYPES,
            {
                "recipients": _recipients(recipients),
                "subject": subject,
                "body": body,
                "include_link_to_client_invoice": include_link_to_client_invoice,
                "attach_pdf": attach_pdf,
                "send_me_a_copy": send_me_a_copy,
                "thank_you": thank_you,
            },
            call="invoices.create_message",
        )
        return await self._create(InvoiceMessage, f"invoices/{iid}/messages", fields)

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
        iid = check_id(invoice_id, "invoice_id")
        mid = check_id(message_id, "message_id")
        await self._delete(f"invoices/{iid}/messages/{mid}")

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
        for name, value in (("thank_you", thank_you), ("reminder", reminder)):
            if value is not NOT_GIVEN and not isinstance(value, bool):
                raise InvalidRequestError(f"{name} must be True or False, got {shown(value)}")
        if thank_you is True and reminder is True:
            raise InvalidRequestError("give thank_you=True or reminder=True, not both")
        params = query(thank_you=thank_you, reminder=reminder)
        return await self._get(InvoiceMessageSubjectAndBody, f"invoices/{iid}/messages/new", params)

    # -- payments ---------------------------------------------------------------------

    @operation("GET", "/invoices/{invoiceId}/payments")
    def payments(
        self,
        invoice_id: int,
        *,
        updated_since: dt.datetime | str | NotGiven = NOT_GIVEN,
        per_page: int | NotGiven = NOT_GIVEN,
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
        params = query(updated_since=updated_since, per_page=per_page)
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
        if amount is None:
            raise InvalidRequestError("invoices.create_payment requires amount")
        fields = make_body(
            amount=amount,
            paid_at=paid_at,
            paid_date=paid_date,
            notes=notes,
            send_thank_you=send_thank_you,
        )
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
