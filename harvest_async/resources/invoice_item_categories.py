"""Invoice item categories (https://help.getharvest.com/api-v2/invoices-api/invoices/invoice-item-categories/)."""

from __future__ import annotations

from ..models.invoices import InvoiceItemCategory
from ._item_categories import ItemCategories

__all__ = ["InvoiceItemCategories"]


class InvoiceItemCategories(
    ItemCategories[InvoiceItemCategory], kind="invoice", model=InvoiceItemCategory
):
    """``harvest.invoice_item_categories``: list, get, create, update, delete."""
