"""Item categories, one class for the two kinds Harvest has.

Harvest docs:
https://help.getharvest.com/api-v2/invoices-api/invoices/invoice-item-categories/,
https://help.getharvest.com/api-v2/estimates-api/estimates/estimate-item-categories/.

Invoice and estimate item categories are the same resource under two paths. A subclass
names its kind and model (``class InvoiceItemCategories(ItemCategories[...],
kind="invoice", model=InvoiceItemCategory)``) and gets the five methods below with
that kind in their paths, ``@operation`` marks and docstrings, and the model in their
annotations (so ``typing.get_type_hints`` of its methods names the concrete model).
"""

from __future__ import annotations

import datetime as dt
import inspect
import types
import typing
from typing import Any, Generic, TypeVar

from .._pagination import Paginator
from ._base import (
    NOT_GIVEN,
    OPERATION_ATTR,
    NotGiven,
    PerPage,
    Resource,
    check_id,
    operation,
)

__all__ = ["ItemCategories"]

CategoryT = TypeVar("CategoryT")


def _concrete(hint: Any, model: type) -> Any:
    if hint is CategoryT:
        return model
    if CategoryT in getattr(hint, "__parameters__", ()):
        return hint[model]
    return hint


def _for_kind(func: Any, owner: type, kind: str, model: type) -> Any:
    """A copy of ``func`` for one kind: its annotations, marks and docstring filled in."""
    camel = kind + "ItemCategory"
    copy = types.FunctionType(
        func.__code__, func.__globals__, func.__name__, func.__defaults__, func.__closure__
    )
    copy.__kwdefaults__ = func.__kwdefaults__
    copy.__qualname__ = f"{owner.__qualname__}.{func.__name__}"
    copy.__module__ = owner.__module__
    hints = typing.get_type_hints(func, include_extras=True)
    copy.__annotations__ = {name: _concrete(hint, model) for name, hint in hints.items()}
    copy.__doc__ = (func.__doc__ or "").replace("{kind}", kind)
    marks = getattr(func, OPERATION_ATTR, ())
    fill = {"{kind}": kind, "{Kind}": camel}
    setattr(
        copy,
        OPERATION_ATTR,
        tuple((method, _fill(path, fill)) for method, path in marks),
    )
    return copy


def _fill(text: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        text = text.replace(key, value)
    return text


class ItemCategories(Resource, Generic[CategoryT]):
    """Item categories of one kind (``harvest.<kind>_item_categories``): CRUD."""

    _kind: str
    _model: type[CategoryT]

    def __init_subclass__(cls, *, kind: str = "", model: type | None = None, **kwargs: Any):
        if model is not None:
            cls._kind = kind
            cls._model = model
            for name, member in vars(ItemCategories).items():
                if not name.startswith("_") and inspect.isfunction(member):
                    setattr(cls, name, _for_kind(inspect.unwrap(member), cls, kind, model))
        super().__init_subclass__(**kwargs)

    @property
    def _path(self) -> str:
        return f"{self._kind}_item_categories"

    @operation("GET", "/{kind}_item_categories")
    def list(
        self,
        *,
        updated_since: dt.datetime | str | NotGiven = NOT_GIVEN,
        per_page: PerPage | NotGiven = NOT_GIVEN,
    ) -> Paginator[CategoryT]:
        """List {kind} item categories, most recently created first.

        Args:
            updated_since: Only categories updated since this aware datetime.
            per_page: Records per page, 1..2000.

        Returns:
            A `Paginator` of categories; nothing is sent until iterated.
        """
        params = self._query()
        return self._paginate(self._path, self._path, self._model, params)

    @operation("GET", "/{kind}_item_categories/{{Kind}Id}")
    async def get(self, category_id: int) -> CategoryT:
        """Retrieve one {kind} item category.

        Args:
            category_id: The category.
        """
        cid = check_id(category_id, "category_id")
        return await self._get(self._model, f"{self._path}/{cid}")

    @operation("POST", "/{kind}_item_categories")
    async def create(self, *, name: str) -> CategoryT:
        """Create an {kind} item category.

        Args:
            name: The name of the category.
        """
        return await self._create(self._model, self._path, self._body())

    @operation("PATCH", "/{kind}_item_categories/{{Kind}Id}")
    async def update(self, category_id: int, *, name: str | NotGiven = NOT_GIVEN) -> CategoryT:
        """Change the given fields of an {kind} item category (only those are sent).

        Args:
            category_id: The category to change.
            name: The name of the category.
        """
        cid = check_id(category_id, "category_id")
        return await self._update(self._model, f"{self._path}/{cid}", self._body())

    @operation("DELETE", "/{kind}_item_categories/{{Kind}Id}")
    async def delete(self, category_id: int) -> None:
        """Delete an {kind} item category (only one not used by any line item).

        Args:
            category_id: The category to delete.
        """
        await self._delete(f"{self._path}/{check_id(category_id, 'category_id')}")
