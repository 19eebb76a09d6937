"""Expenses (https://help.getharvest.com/api-v2/expenses-api/expenses/expenses/).

An expense is recorded either by ``total_cost`` (most categories) or by ``units`` (a
unit-based category such as mileage, where Harvest computes the total from the
category's ``unit_price``). Which of the two a category needs is Harvest's call: the
wrong one comes back as a 422 (`ValidationError`).

Bodies are JSON, except when a receipt is attached: Harvest then needs
``multipart/form-data``, with every other field as a text form field and the file in a
part named ``receipt``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import mimetypes
import os
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from .._errors import InvalidRequestError
from .._http import FormFile, Request
from .._pagination import Paginator
from ..models.expenses import Expense
from ._base import (
    NOT_GIVEN,
    NotGiven,
    PerPage,
    Resource,
    Shards,
    check_id,
    operation,
    query,
    shown,
)

__all__ = ["Expenses", "ReadableBinary", "ReceiptSource"]

Number = Decimal | int | str | float


@runtime_checkable
class ReadableBinary(Protocol):
    """A file object opened in binary mode (``open(path, "rb")``, ``io.BytesIO``)."""

    def read(self, size: int = -1, /) -> bytes:
        """Read up to ``size`` bytes (all of them by default)."""
        ...


#: What ``receipt=`` accepts: a path, the file's bytes, or a binary file object.
ReceiptSource = str | os.PathLike[str] | bytes | bytearray | memoryview | ReadableBinary

#: Filename sent for receipt bytes given without ``receipt_filename``.
DEFAULT_RECEIPT_NAME = "receipt"

# Magic numbers of the usual receipt formats, to name unnamed receipt bytes.
_SIGNATURES: tuple[tuple[bytes, str, str], ...] = (
    (b"%PDF-", ".pdf", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", ".png", "image/png"),
    (b"\xff\xd8\xff", ".jpg", "image/jpeg"),
    (b"GIF87a", ".gif", "image/gif"),
    (b"GIF89a", ".gif", "image/gif"),
)


def _check_filename(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidRequestError(f"receipt_filename must be a non-empty str, got {shown(name)}")
    if any(c in name for c in '\r\n\0"\\/'):
        raise InvalidRequestError(
            "receipt_filename must be a bare file name (no path separators, quotes, "
            f"CR, LF or NUL), got {name!r}"
        )
    return name


def _sniff(content: bytes) -> tuple[str, str] | None:
    """(extension, content type) of well-known receipt formats, from their first bytes."""
    for magic, extension, content_type in _SIGNATURES:
        if content.startswith(magic):
            return extension, content_type
    return None


def _content_type(filename: str, content: bytes) -> str:
    guessed, _ = mimetypes.guess_type(filename, strict=False)
    if guessed:
        return guessed
    sniffed = _sniff(content)
    return sniffed[1] if sniffed else "application/octet-stream"


def _default_name(content: bytes, hint: str | None) -> str:
    if hint:
        return hint
    sniffed = _sniff(content)
    return DEFAULT_RECEIPT_NAME + (sniffed[0] if sniffed else "")


def _read_path(path: Path) -> bytes:
    if not path.is_file():
        raise InvalidRequestError(f"receipt file not found (or not a file): {str(path)!r}")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InvalidRequestError(
            f"cannot read receipt file {str(path)!r}: {exc.strerror or exc}"
        ) from None


async def _load_receipt(receipt: Any, filename: str | NotGiven) -> FormFile:
    """Read a receipt given as a path, bytes or binary file object into a form part."""
    name = NOT_GIVEN if filename is NOT_GIVEN else _check_filename(filename)
    hint: str | None = None
    if isinstance(receipt, (bytes, bytearray, memoryview)):
        content = bytes(receipt)
    elif isinstance(receipt, (str, os.PathLike)):
        raw = os.fspath(receipt)
        if isinstance(raw, bytes):
            raw = os.fsdecode(raw)
        if not raw or "\0" in raw:
            raise InvalidRequestError(f"receipt is not a usable file path: {raw!r}")
        path = Path(raw)
        content = await asyncio.to_thread(_read_path, path)
        hint = path.name
    elif callable(getattr(receipt, "read", None)):
        try:
            data = receipt.read()
        except OSError as exc:
            raise InvalidRequestError(f"cannot read the receipt file object: {exc}") from None
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise InvalidRequestError(
                "the receipt file object must be opened in binary mode ('rb'); "
                f"its read() returned {type(data).__name__}"
            )
        content = bytes(data)
        file_name = getattr(receipt, "name", None)
        if isinstance(file_name, str) and file_name:
            hint = os.path.basename(file_name) or None
    else:
        raise InvalidRequestError(
            "receipt must be a path (str or os.PathLike), bytes, or a binary file object; "
            f"got {type(receipt).__name__}"
        )
    if not content:
        raise InvalidRequestError("receipt is empty")
    final_name = name if isinstance(name, str) else _default_name(content, hint)
    return FormFile(
        content=content, filename=final_name, content_type=_content_type(final_name, content)
    )


def _form_text(name: str, value: Any) -> str:
    """One validated field as multipart text, in Harvest's wire formats."""
    if value is None:
        return ""  # only notes may be None: an empty value clears them
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (int, str)):
        return str(value)
    raise InvalidRequestError(f"{name}: cannot send a {type(value).__name__} as a form field")


def _form(fields: Mapping[str, Any], receipt: FormFile) -> dict[str, str | FormFile]:
    form: dict[str, str | FormFile] = {k: _form_text(k, v) for k, v in fields.items()}
    form["receipt"] = receipt
    return form


def _check_amount(units: Any, total_cost: Any, *, call: str, required: bool) -> None:
    given = [n for n, v in (("units", units), ("total_cost", total_cost)) if v is not NOT_GIVEN]
    if len(given) == 2:
        raise InvalidRequestError(
            f"{call}: give units (unit-based categories such as mileage) or total_cost "
            "(every other category), not both"
        )
    if required and not given:
        raise InvalidRequestError(
            f"{call} requires units (unit-based categories such as mileage) or "
            "total_cost (every other category)"
        )


class Expenses(Resource):
    """``harvest.expenses``: list, get, create, update, delete (with receipt uploads)."""

    @operation("GET", "/expenses")
    def list(
        self,
        *,
        user_id: int | NotGiven = NOT_GIVEN,
        client_id: int | NotGiven = NOT_GIVEN,
        project_id: int | NotGiven = NOT_GIVEN,
        is_billed: bool | NotGiven = NOT_GIVEN,
        updated_since: dt.datetime | str | NotGiven = NOT_GIVEN,
        from_: dt.date | str | NotGiven = NOT_GIVEN,
        to: dt.date | str | NotGiven = NOT_GIVEN,
        per_page: PerPage | NotGiven = NOT_GIVEN,
        shards: Shards | NotGiven = NOT_GIVEN,
    ) -> Paginator[Expense]:
        """List expenses, most recent ``spent_date`` first.

        For a bulk sync, ``shards=N`` (with ``from_`` and ``to``) cuts the span into N
        contiguous ``spent_date`` ranges walked concurrently: every expense comes exactly
        once, pages as they arrive (``.with_options(ordered=True)`` for the unsharded
        order).

        Args:
            user_id: Only expenses of this user.
            client_id: Only expenses of this client.
            project_id: Only expenses of this project.
            is_billed: Only invoiced (``True``) or uninvoiced (``False``) expenses.
            updated_since: Only expenses updated since this aware datetime.
            from_: Only expenses with ``spent_date`` on or after this date.
            to: Only expenses with ``spent_date`` on or before this date.
            per_page: Records per page, 1..2000.
            shards: Split ``from_``..``to`` into this many date ranges (1..100) fetched
                concurrently; needs both ``from_`` and ``to``.

        Returns:
            A `Paginator` of `Expense`; nothing is sent until iterated.
        """
        filters = self._arguments("shards")
        if shards is not NOT_GIVEN:
            return self._paginate_sharded(
                "expenses", "expenses", Expense, filters, shards=shards, call="expenses.list"
            )
        return self._paginate("expenses", "expenses", Expense, query(**filters))

    @operation("GET", "/expenses/{expenseId}")
    async def get(self, expense_id: int) -> Expense:
        """Retrieve one expense.

        Args:
            expense_id: The expense to retrieve.
        """
        return await self._get(Expense, f"expenses/{check_id(expense_id, 'expense_id')}")

    @operation("POST", "/expenses")
    async def create(
        self,
        *,
        project_id: int,
        expense_category_id: int,
        spent_date: dt.date | str,
        units: Number | NotGiven = NOT_GIVEN,
        total_cost: Number | NotGiven = NOT_GIVEN,
        user_id: int | NotGiven = NOT_GIVEN,
        notes: str | NotGiven | None = NOT_GIVEN,
        billable: bool | NotGiven = NOT_GIVEN,
        receipt: ReceiptSource | NotGiven = NOT_GIVEN,
        receipt_filename: str | NotGiven = NOT_GIVEN,
    ) -> Expense:
        """Create an expense, by ``total_cost`` or, for a unit-based category, ``units``.

        With a ``receipt`` the request is ``multipart/form-data``; otherwise JSON.

        Args:
            project_id: The project the expense is for.
            expense_category_id: Its expense category.
            spent_date: The date the expense occurred.
            units: Quantity of units (unit-based categories such as mileage); Harvest
                computes the total from the category's unit price.
            total_cost: The total amount (every other category).
            user_id: The user (default: the authenticated user).
            notes: Notes describing the expense.
            billable: Whether it is billable (Harvest's default ``True``).
            receipt: A receipt to attach: a file path, the file's bytes, or a binary
                file object.
            receipt_filename: The receipt's file name (default: the path's or file
                object's name, else ``receipt`` plus an extension guessed from the bytes).

        Raises:
            InvalidRequestError: neither or both of ``units`` and ``total_cost``, a
                receipt file that does not exist, or any other bad argument (nothing
                is sent).
        """
        _check_amount(units, total_cost, call="expenses.create", required=True)
        fields = self._body("receipt", "receipt_filename")
        if receipt is NOT_GIVEN:
            if receipt_filename is not NOT_GIVEN:
                raise InvalidRequestError("receipt_filename is given without a receipt")
            return await self._create(Expense, "expenses", fields)
        part = await _load_receipt(receipt, receipt_filename)
        return await self._record(Expense, Request("POST", "expenses", form=_form(fields, part)))

    @operation("PATCH", "/expenses/{expenseId}")
    async def update(
        self,
        expense_id: int,
        *,
        project_id: int | NotGiven = NOT_GIVEN,
        expense_category_id: int | NotGiven = NOT_GIVEN,
        spent_date: dt.date | str | NotGiven = NOT_GIVEN,
        units: Number | NotGiven = NOT_GIVEN,
        total_cost: Number | NotGiven = NOT_GIVEN,
        notes: str | NotGiven | None = NOT_GIVEN,
        billable: bool | NotGiven = NOT_GIVEN,
        receipt: ReceiptSource | NotGiven = NOT_GIVEN,
        receipt_filename: str | NotGiven = NOT_GIVEN,
        delete_receipt: bool | NotGiven = NOT_GIVEN,
    ) -> Expense:
        """Change the given fields of an expense (only those are sent).

        With a ``receipt`` the request is ``multipart/form-data``; otherwise JSON.

        Args:
            expense_id: The expense to change.
            project_id: Move it to this project.
            expense_category_id: Its expense category.
            spent_date: The date the expense occurred.
            units: Quantity of units (unit-based categories).
            total_cost: The total amount (every other category).
            notes: Its notes (``None`` clears them).
            billable: Whether it is billable.
            receipt: A receipt to attach (replacing any): a file path, the file's bytes,
                or a binary file object.
            receipt_filename: The receipt's file name (see `create`).
            delete_receipt: ``True`` removes the attached receipt.

        Raises:
            InvalidRequestError: no field to change, both ``units`` and ``total_cost``,
                ``receipt`` together with ``delete_receipt``, a receipt file that does
                not exist, or any other bad argument (nothing is sent).
        """
        eid = check_id(expense_id, "expense_id")
        _check_amount(units, total_cost, call="expenses.update", required=False)
        if receipt is not NOT_GIVEN and delete_receipt is not NOT_GIVEN:
            raise InvalidRequestError(
                "expenses.update: give receipt (attach a new one) or delete_receipt, not both"
            )
        fields = self._body("receipt", "receipt_filename")
        if receipt is NOT_GIVEN:
            if receipt_filename is not NOT_GIVEN:
                raise InvalidRequestError("receipt_filename is given without a receipt")
            return await self._update(Expense, f"expenses/{eid}", fields)
        part = await _load_receipt(receipt, receipt_filename)
        request = Request("PATCH", f"expenses/{eid}", form=_form(fields, part))
        return await self._record(Expense, request)

    @operation("DELETE", "/expenses/{expenseId}")
    async def delete(self, expense_id: int) -> None:
        """Delete an expense.

        Args:
            expense_id: The expense to delete.
        """
        await self._delete(f"expenses/{check_id(expense_id, 'expense_id')}")
