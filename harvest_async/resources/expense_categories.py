"""Expense categories (https://help.getharvest.com/api-v2/expenses-api/expenses/expense-categories/)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from .._pagination import Paginator
from ..models.expenses import ExpenseCategory
from ._base import NOT_GIVEN, NotGiven, PerPage, Resource, check_id, operation

__all__ = ["ExpenseCategories"]

Number = Decimal | int | str | float


class ExpenseCategories(Resource):
    """``harvest.expense_categories``: list, get, create, update, delete."""

    @operation("GET", "/expense_categories")
    def list(
        self,
        *,
        is_active: bool | NotGiven = NOT_GIVEN,
        updated_since: dt.datetime | str | NotGiven = NOT_GIVEN,
        per_page: PerPage | NotGiven = NOT_GIVEN,
    ) -> Paginator[ExpenseCategory]:
        """List expense categories, most recently created first.

        Args:
            is_active: Only active (``True``) or archived (``False``) categories.
            updated_since: Only categories updated since this aware datetime.
            per_page: Records per page, 1..2000.

        Returns:
            A `Paginator` of `ExpenseCategory`; nothing is sent until iterated.
        """
        params = self._query()
        return self._paginate("expense_categories", "expense_categories", ExpenseCategory, params)

    @operation("GET", "/expense_categories/{expenseCategoryId}")
    async def get(self, expense_category_id: int) -> ExpenseCategory:
        """Retrieve one expense category.

        Args:
            expense_category_id: The category to retrieve.
        """
        cid = check_id(expense_category_id, "expense_category_id")
        return await self._get(ExpenseCategory, f"expense_categories/{cid}")

    @operation("POST", "/expense_categories")
    async def create(
        self,
        *,
        name: str,
        unit_name: str | NotGiven | None = NOT_GIVEN,
        unit_price: Number | NotGiven | None = NOT_GIVEN,
        is_active: bool | NotGiven = NOT_GIVEN,
    ) -> ExpenseCategory:
        """Create an expense category (give ``unit_name`` and ``unit_price`` for a
        unit-based one such as mileage).

        Args:
            name: The name of the category.
            unit_name: The unit's name, e.g. ``"mile"`` (unit-based categories).
            unit_price: The price of one unit (unit-based categories).
            is_active: Whether the category is active (Harvest's default ``True``).
        """
        fields = self._body()
        return await self._create(ExpenseCategory, "expense_categories", fields)

    @operation("PATCH", "/expense_categories/{expenseCategoryId}")
    async def update(
        self,
        expense_category_id: int,
        *,
        name: str | NotGiven = NOT_GIVEN,
        unit_name: str | NotGiven | None = NOT_GIVEN,
        unit_price: Number | NotGiven | None = NOT_GIVEN,
        is_active: bool | NotGiven = NOT_GIVEN,
    ) -> ExpenseCategory:
        """Change the given fields of an expense category (only those are sent).

        Args:
            expense_category_id: The category to change.
            name: The name of the category.
            unit_name: The unit's name (``None`` clears it).
            unit_price: The price of one unit (``None`` clears it).
            is_active: Whether the category is active or archived.
        """
        cid = check_id(expense_category_id, "expense_category_id")
        fields = self._body()
        return await self._update(ExpenseCategory, f"expense_categories/{cid}", fields)

    @operation("DELETE", "/expense_categories/{expenseCategoryId}")
    async def delete(self, expense_category_id: int) -> None:
        """Delete an expense category.

        Args:
            expense_category_id: The category to delete.
        """
        cid = check_id(expense_category_id, "expense_category_id")
        await self._delete(f"expense_categories/{cid}")
