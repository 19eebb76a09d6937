"""Estimate item categories (https://help.getharvest.com/api-v2/estimates-api/estimates/estimate-item-categories/)."""

from __future__ import annotations

import datetime as dt

from .._pagination import Paginator
from ..models.estimates import EstimateItemCategory
from ._base import NOT_GIVEN, NotGiven, PerPage, Resource, body, check_id, operation, query

__all__ = ["EstimateItemCategories"]


class EstimateItemCategories(Resource):
    """``harvest.estimate_item_categories``: list, get, create, update, delete."""

    @operation("GET", "/estimate_item_categories")
    def list(
        self,
        *,
        updated_since: dt.datetime | str | NotGiven = NOT_GIVEN,
        per_page: PerPage | NotGiven = NOT_GIVEN,
    ) -> Paginator[EstimateItemCategory]:
        """List estimate item categories, most recently created first.

        Args:
            updated_since: Only categories updated since this aware datetime.
            per_page: Records per page, 1..2000.

        Returns:
            A `Paginator` of `EstimateItemCategory`; nothing is sent until
            iterated.
        """
        params = query(updated_since=updated_since, per_page=per_page)
        return self._paginate(
            "estimate_item_categories", "estimate_item_categories", EstimateItemCategory, params
        )

    @operation("GET", "/estimate_item_categories/{estimateItemCategoryId}")
    async def get(self, estimate_item_category_id: int) -> EstimateItemCategory:
        """Retrieve one estimate item category.

        Args:
            estimate_item_category_id: The category.
        """
        cid = check_id(estimate_item_category_id, "estimate_item_category_id")
        return await self._get(EstimateItemCategory, f"estimate_item_categories/{cid}")

    @operation("POST", "/estimate_item_categories")
    async def create(self, *, name: str) -> EstimateItemCategory:
        """Create an estimate item category.

        Args:
            name: The name of the category.
        """
        return await self._create(EstimateItemCategory, "estimate_item_categories", body(name=name))

    @operation("PATCH", "/estimate_item_categories/{estimateItemCategoryId}")
    async def update(
        self, estimate_item_category_id: int, *, name: str | NotGiven = NOT_GIVEN
    ) -> EstimateItemCategory:
        """Change the given fields of an estimate item category (only those are sent).

        Args:
            estimate_item_category_id: The category to change.
            name: The name of the category.
        """
        cid = check_id(estimate_item_category_id, "estimate_item_category_id")
        return await self._update(
            EstimateItemCategory, f"estimate_item_categories/{cid}", body(name=name)
        )

    @operation("DELETE", "/estimate_item_categories/{estimateItemCategoryId}")
    async def delete(self, estimate_item_category_id: int) -> None:
        """Delete an estimate item category (only one not used by any line item).

        Args:
            estimate_item_category_id: The category to delete.
        """
        cid = check_id(estimate_item_category_id, "estimate_item_category_id")
        await self._delete(f"estimate_item_categories/{cid}")
