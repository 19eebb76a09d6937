"""Estimates, with their line items and messages.

Harvest docs:
https://help.getharvest.com/api-v2/estimates-api/estimates/estimates/,
https://help.getharvest.com/api-v2/estimates-api/estimates/estimate-messages/.

Line items have no endpoints of their own: Harvest creates, changes and deletes them
through the estimate's ``line_items`` array (an item without ``id`` is created, one with
``id`` is changed, one with ``id`` and ``"_destroy": True`` is deleted). Use
``line_items=`` on `Estimates.create` / `Estimates.update`, or the helpers
`Estimates.create_line_items`, `Estimates.update_line_items` and
`Estimates.delete_line_items`.
"""

from __future__ import annotations

import datetime as dt
import typing
from collections.abc import Sequence
from decimal import Decimal
from typing import Literal, Required, TypedDict

from .._pagination import Paginator
from ..models.estimates import Estimate, EstimateMessage
from ._base import NOT_GIVEN, NotGiven, PerPage, operation
from ._documents import Documents, LineItemDeletion, LineItemShape, MessageRecipient

__all__ = [
    "EstimateEventType",
    "EstimateLineItemChange",
    "EstimateLineItemParams",
    "EstimateState",
    "Estimates",
    "LineItemDeletion",
    "MessageRecipient",
    "NewEstimateLineItem",
]

Number = Decimal | int | str | float

#: Estimate states a list can be filtered by.
EstimateState = Literal["draft", "sent", "accepted", "declined"]
#: ``event_type`` of an estimate message: mark accepted, declined, re-opened or sent.
EstimateEventType = Literal["accept", "decline", "re-open", "send"]


class NewEstimateLineItem(TypedDict, total=False):
    """A line item to add to an estimate (no ``id``)."""

    kind: Required[str]
    unit_price: Required[Number]
    description: str | None
    quantity: Number
    taxed: bool
    taxed2: bool


class EstimateLineItemChange(TypedDict, total=False):
    """Changes to an existing estimate line item, named by its ``id``."""

    id: Required[int]
    kind: str
    description: str | None
    quantity: Number
    unit_price: Number
    taxed: bool
    taxed2: bool


#: Any entry of an estimate's ``line_items`` array.
EstimateLineItemParams = NewEstimateLineItem | EstimateLineItemChange | LineItemDeletion


_LINE_ITEMS = LineItemShape.of(NewEstimateLineItem, EstimateLineItemChange)


class Estimates(Documents[Estimate, EstimateMessage]):
    """``harvest.estimates``: list, get, create, update, delete, line items and messages.

    Line items: ``line_items=`` on `create` / `update`,
    `create_line_items`, `update_line_items`, `delete_line_items`.
    Messages: `messages`, `create_message`, `delete_message`, and the
    events `mark_as_sent`, `accept`, `decline`, `reopen`.
    """

    _path = "estimates"
    _model = Estimate
    _message_model = EstimateMessage
    _shape = _LINE_ITEMS
    _events = typing.get_args(EstimateEventType)

    # -- estimates --------------------------------------------------------------------

    @operation("GET", "/estimates")
    def list(
        self,
        *,
        client_id: int | NotGiven = NOT_GIVEN,
        updated_since: dt.datetime | str | NotGiven = NOT_GIVEN,
        from_: dt.date | str | NotGiven = NOT_GIVEN,
        to: dt.date | str | NotGiven = NOT_GIVEN,
        state: EstimateState | NotGiven = NOT_GIVEN,
        per_page: PerPage | NotGiven = NOT_GIVEN,
    ) -> Paginator[Estimate]:
        """List estimates, most recently issued first.

        Args:
            client_id: Only estimates of this client.
            updated_since: Only estimates updated since this aware datetime.
            from_: Only estimates with ``issue_date`` on or after this date.
            to: Only estimates with ``issue_date`` on or before this date.
            state: ``"draft"``, ``"sent"``, ``"accepted"`` or ``"declined"``.
            per_page: Records per page, 1..2000 (Harvest's default 2000).

        Returns:
            A `Paginator` of `Estimate`; nothing is sent until iterated.
        """
        params = self._query()
        return self._paginate("estimates", "estimates", Estimate, params)

    @operation("GET", "/estimates/{estimateId}")
    async def get(self, estimate_id: int) -> Estimate:
        """Retrieve one estimate.

        Args:
            estimate_id: The estimate.
        """
        return await self._get_document(estimate_id)

    @operation("POST", "/estimates")
    async def create(
        self,
        *,
        client_id: int,
        number: str | NotGiven = NOT_GIVEN,
        purchase_order: str | NotGiven | None = NOT_GIVEN,
        tax: Number | NotGiven | None = NOT_GIVEN,
        tax2: Number | NotGiven | None = NOT_GIVEN,
        discount: Number | NotGiven | None = NOT_GIVEN,
        subject: str | NotGiven | None = NOT_GIVEN,
        notes: str | NotGiven | None = NOT_GIVEN,
        currency: str | NotGiven = NOT_GIVEN,
        issue_date: dt.date | str | NotGiven = NOT_GIVEN,
        line_items: Sequence[NewEstimateLineItem] | NotGiven = NOT_GIVEN,
    ) -> Estimate:
        """Create an estimate.

        Args:
            client_id: The client the estimate is for.
            number: Estimate number (default: generated).
            purchase_order: The purchase order number.
            tax: Tax percentage on the subtotal (``10.0`` for 10%).
            tax2: Second tax percentage on the subtotal.
            discount: Percentage subtracted from the subtotal.
            subject: The estimate subject.
            notes: Notes shown on the estimate.
            currency: ISO 4217 currency code (default: the client's currency).
            issue_date: Date issued (default: today).
            line_items: New line items, each with ``kind`` and ``unit_price`` (and
                optionally ``description``, ``quantity``, ``taxed``, ``taxed2``).
        """
        fields = self._body(line_items=_LINE_ITEMS.items(line_items, "new"))
        return await self._create(Estimate, "estimates", fields)

    @operation("PATCH", "/estimates/{estimateId}")
    async def update(
        self,
        estimate_id: int,
        *,
        client_id: int | NotGiven = NOT_GIVEN,
        number: str | NotGiven = NOT_GIVEN,
        purchase_order: str | NotGiven | None = NOT_GIVEN,
        tax: Number | NotGiven | None = NOT_GIVEN,
        tax2: Number | NotGiven | None = NOT_GIVEN,
        discount: Number | NotGiven | None = NOT_GIVEN,
        subject: str | NotGiven | None = NOT_GIVEN,
        notes: str | NotGiven | None = NOT_GIVEN,
        currency: str | NotGiven = NOT_GIVEN,
        issue_date: dt.date | str | NotGiven = NOT_GIVEN,
        line_items: Sequence[EstimateLineItemParams] | NotGiven = NOT_GIVEN,
    ) -> Estimate:
        """Change the given fields of an estimate (only those are sent).

        Args:
            estimate_id: The estimate to change.
            client_id: Move it to this client.
            number: Estimate number.
            purchase_order: The purchase order number.
            tax: Tax percentage on the subtotal.
            tax2: Second tax percentage on the subtotal.
            discount: Percentage subtracted from the subtotal.
            subject: The estimate subject.
            notes: Notes shown on the estimate.
            currency: ISO 4217 currency code.
            issue_date: Date issued.
            line_items: Line item changes: new items (no ``id``; ``kind`` and
                ``unit_price`` required), changes (``id`` and the fields to change) and
                deletions (``{"id": ..., "_destroy": True}``). Items not named stay.
                With a new item the PATCH is not idempotent, so it is retried only where
                it certainly did not reach Harvest (a 429, a connection never made).
        """
        fields = self._body(line_items=_LINE_ITEMS.items(line_items, "any"))
        return await self._patch(estimate_id, fields)

    @operation("DELETE", "/estimates/{estimateId}")
    async def delete(self, estimate_id: int) -> None:
        """Delete an estimate.

        Args:
            estimate_id: The estimate to delete.
        """
        await self._delete_document(estimate_id)

    # -- line items (through PATCH /estimates/{estimateId}) ---------------------------

    @operation("PATCH", "/estimates/{estimateId}")
    async def create_line_items(
        self, estimate_id: int, *, line_items: Sequence[NewEstimateLineItem]
    ) -> Estimate:
        """Add line items to an estimate.

        Sent twice, the items would be added twice: the request is retried only where
        it certainly did not reach Harvest (a 429, a connection never made); after
        any other failure the error is raised.

        Args:
            estimate_id: The estimate.
            line_items: The new items, each with ``kind`` and ``unit_price`` (and
                optionally ``description``, ``quantity``, ``taxed``, ``taxed2``).

        Returns:
            The updated `Estimate`.
        """
        return await self._patch_line_items(estimate_id, line_items, "new")

    @operation("PATCH", "/estimates/{estimateId}")
    async def update_line_items(
        self, estimate_id: int, *, line_items: Sequence[EstimateLineItemChange]
    ) -> Estimate:
        """Change line items of an estimate (only the fields given are sent).

        Args:
            estimate_id: The estimate.
            line_items: One entry per item to change: its ``id`` and the fields to change.

        Returns:
            The updated `Estimate`.
        """
        return await self._patch_line_items(estimate_id, line_items, "change")

    @operation("PATCH", "/estimates/{estimateId}")
    async def delete_line_items(
        self, estimate_id: int, *, line_item_ids: Sequence[int]
    ) -> Estimate:
        """Delete line items of an estimate.

        Args:
            estimate_id: The estimate.
            line_item_ids: The ids of the line items to delete.

        Returns:
            The updated `Estimate`.
        """
        return await self._patch_line_items(estimate_id, line_item_ids, "delete")

    # -- messages ---------------------------------------------------------------------

    @operation("GET", "/estimates/{estimateId}/messages")
    def messages(
        self,
        estimate_id: int,
        *,
        updated_since: dt.datetime | str | NotGiven = NOT_GIVEN,
        per_page: PerPage | NotGiven = NOT_GIVEN,
    ) -> Paginator[EstimateMessage]:
        """List the messages (and events) of one estimate.

        Args:
            estimate_id: The estimate.
            updated_since: Only messages updated since this aware datetime.
            per_page: Records per page, 1..2000.

        Returns:
            A `Paginator` of `EstimateMessage`; nothing is sent until
            iterated.
        """
        return self._messages(estimate_id, updated_since, per_page)

    @operation("POST", "/estimates/{estimateId}/messages")
    async def create_message(
        self,
        estimate_id: int,
        *,
        recipients: Sequence[MessageRecipient] | NotGiven = NOT_GIVEN,
        subject: str | NotGiven | None = NOT_GIVEN,
        body: str | NotGiven | None = NOT_GIVEN,
        send_me_a_copy: bool | NotGiven = NOT_GIVEN,
        event_type: EstimateEventType | NotGiven | None = NOT_GIVEN,
    ) -> EstimateMessage:
        """Send a message about an estimate, or record an event on it.

        Without ``event_type`` an email goes to ``recipients`` (required). With
        ``event_type`` nothing is emailed and only the event is recorded: ``"accept"``,
        ``"decline"``, ``"re-open"`` or ``"send"`` (marks a draft as sent); the message
        fields must then be left out. See also `mark_as_sent`, `accept`,
        `decline` and `reopen`.

        Args:
            estimate_id: The estimate.
            recipients: ``[{"email": ..., "name": ...}]`` (``name`` optional).
            subject: The message subject (default: Harvest's template).
            body: The message body (default: Harvest's template).
            send_me_a_copy: Send a copy to the current user.
            event_type: ``"accept"``, ``"decline"``, ``"re-open"`` or ``"send"``.
        """
        return await self._send_message(
            estimate_id,
            event_type,
            {
                "recipients": recipients,
                "subject": subject,
                "body": body,
                "send_me_a_copy": send_me_a_copy,
            },
            call="estimates.create_message",
        )

    async def _event(self, estimate_id: int, event_type: EstimateEventType) -> EstimateMessage:
        return await self.create_message(estimate_id, event_type=event_type)

    @operation("POST", "/estimates/{estimateId}/messages")
    async def mark_as_sent(self, estimate_id: int) -> EstimateMessage:
        """Mark a draft estimate as sent (no email is sent).

        Args:
            estimate_id: The estimate.
        """
        return await self._event(estimate_id, "send")

    @operation("POST", "/estimates/{estimateId}/messages")
    async def accept(self, estimate_id: int) -> EstimateMessage:
        """Mark an open estimate as accepted.

        Args:
            estimate_id: The estimate.
        """
        return await self._event(estimate_id, "accept")

    @operation("POST", "/estimates/{estimateId}/messages")
    async def decline(self, estimate_id: int) -> EstimateMessage:
        """Mark an open estimate as declined.

        Args:
            estimate_id: The estimate.
        """
        return await self._event(estimate_id, "decline")

    @operation("POST", "/estimates/{estimateId}/messages")
    async def reopen(self, estimate_id: int) -> EstimateMessage:
        """Re-open a closed (accepted or declined) estimate.

        Args:
            estimate_id: The estimate.
        """
        return await self._event(estimate_id, "re-open")

    @operation("DELETE", "/estimates/{estimateId}/messages/{messageId}")
    async def delete_message(self, estimate_id: int, message_id: int) -> None:
        """Delete a message of an estimate.

        Args:
            estimate_id: The estimate.
            message_id: The message to delete.
        """
        await self._delete_message(estimate_id, message_id)
