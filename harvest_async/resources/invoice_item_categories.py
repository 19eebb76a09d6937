"""Invoice item categories (https://help.getharvest.com/api-v2/invoices-api/invoices/invoice-item-categories/)."""

from __future__ import annotations

import datetime as dt

from .._pagination import Paginator
from ..models.invoices import InvoiceItemCategory
from ._base import NOT_GIVEN, NotGiven, PerPage, Resource, body, check_id, operation, query

__all__ = ["InvoiceItemCategories"]


class InvoiceItemCategories(Resource):
    """``harvest.invoice_item_categories``: list, get, create, update, delete."""

    @operation("GET", "/invoice_item_categories")
    def list(
        self,
        *,
        updated_since: dt.datetime | str | NotGiven = NOT_GIVEN,
        per_page: PerPage | NotGiven = NOT_GIVEN,
    ) -> Paginator[InvoiceItemCategory]:
        """List invoice item categories, most recently created first.

        Args:
            updated_since: Only categories updated since this aware datetime.
            per_page: Records per page, 1..2000.

        Returns:
            A `Paginator` of `InvoiceItemCategory`; nothing is sent until
            iterated.
        """
        params = query(updated_since=updated_since, per_page=per_page)
        return self._paginate(
            "invoice_item_categories", "invoice_item_categories", InvoiceItemCategory, params
        )

    @operation("GET", "/invoice_item_categories/{invoiceItemCategoryId}")
    async def get(self, invoice_item_category_id: int) -> InvoiceItemCategory:
        """Retrieve one invoice item category.

        Args:
            invoice_item_category_id: The category.
        """
        cid = check_id(invoice_item_category_id, "invoice_item_category_id")
        return await self._get(InvoiceItemCategory, f"invoice_item_categories/{cid}")

    @operation("POST", "/invoice_item_categories")
    async def create(self, *, name: str) -> InvoiceItemCategory:
        """Create an invoice item category.

        Args:
            name: The name of the category.
        """
        return await self._create(InvoiceItemCategory, "invoice_item_categories", body(name=name))

    @operation("PATCH", "/invoice_item_categories/{invoiceItemCategoryId}")
    async def update(
        self, invoice_item_category_id: int, *, name: str | NotGiven = NOT_GIVEN
    ) -> InvoiceItemCategory:
        """Change the given fields of an invoice item category (only those are sent).

        Args:
            invoice_item_category_id: The category to change.
            name: The name of the category.
        """
        cid = check_id(invoice_item_category_id, "invoice_item_category_id")
        return await self._update(
            InvoiceItemCategory, f"invoice_item_categories/{cid}", body(name=name)
        )

    @operation("DELETE", "/invoice_item_categories/{invoiceItemCategoryId}")
    async def delete(self, invoice_item_category_id: int) -> None:
        """Delete an invoice item category (only one not used by any line item).

        Args:
            invoice_item_category_id: The category to delete.
        """
        cid = check_id(invoice_item_category_id, "invoice_item_category_id")
        await self._delete(f"invoice_item_categories/{cid}")
