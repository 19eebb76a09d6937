"""Estimate item categories (https://help.getharvest.com/api-v2/estimates-api/estimates/estimate-item-categories/)."""

from __future__ import annotations

from ..models.estimates import EstimateItemCategory
from ._item_categories import ItemCategories

__all__ = ["EstimateItemCategories"]


class EstimateItemCategories(
    ItemCategories[EstimateItemCategory], kind="estimate", model=EstimateItemCategory
):
    """``harvest.estimate_item_categories``: list, get, create, update, delete."""
