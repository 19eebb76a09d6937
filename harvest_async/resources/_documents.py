"""What invoices and estimates share: line items, messages and the calls built on them.

Harvest docs:
https://help.getharvest.com/api-v2/invoices-api/invoices/invoices/,
https://help.getharvest.com/api-v2/estimates-api/estimates/estimates/.

Line items have no endpoints of their own: Harvest creates, changes and deletes them
through the document's ``line_items`` array (an item without ``id`` is created, one with
``id`` is changed, one with ``id`` and ``"_destroy": True`` is deleted). The keys of an
item and their types are read from the resource's line item TypedDicts.
"""

from __future__ import annotations

import builtins
import datetime as dt
import typing
from collections.abc import Mapping, Sequence
from typing import Any, Generic, Literal, TypedDict, TypeVar

import attrs

from .._errors import InvalidRequestError
from .._pagination import Paginator
from ._base import NOT_GIVEN, NotGiven, PerPage, Resource, check_id, query, shown
from ._base import body as make_body
from ._params import Field, required_keys, typed_fields

__all__ = ["Documents", "LineItemDeletion", "LineItemShape", "MessageRecipient"]

DocT = TypeVar("DocT")
MessageT = TypeVar("MessageT")


class LineItemDeletion(TypedDict):
    """Deletes the line item ``id``: ``{"id": 53341928, "_destroy": True}``."""

    id: int
    _destroy: Literal[True]


class MessageRecipient(TypedDict, total=False):
    """A recipient of an invoice or estimate message."""

    email: typing.Required[str]
    name: str


_RECIPIENT = typed_fields(MessageRecipient)

LineItemMode = Literal["new", "change", "delete", "any"]


def nested(where: str, fields: Mapping[str, Field], key: str, value: Any) -> Any:
    """``value`` of key ``key`` of a nested object, checked as its TypedDict says."""
    return fields[key].convert(f"{where}.{key}", value)


def sequence(name: str, value: Any) -> Sequence[Any]:
    """A list or tuple (a str, bytes or mapping is refused)."""
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, (builtins.list, tuple)):
        raise InvalidRequestError(f"{name} must be a list, got {shown(value)}")
    return value


@attrs.frozen
class LineItemShape:
    """The keys of one kind's line items, read from its TypedDicts.

    Attributes:
        fields: Every key of an item but ``id``, in the order of the change TypedDict.
        required: The keys a new item must give.
    """

    fields: dict[str, Field]
    required: tuple[str, ...]

    @classmethod
    def of(cls, new: type, change: type) -> LineItemShape:
        """The shape of items created as ``new`` and changed as ``change`` (TypedDicts)."""
        fields = {k: f for k, f in typed_fields(change, new).items() if k != "id"}
        required = required_keys(new)
        return cls(fields, tuple(k for k in fields if k in required))

    def item(self, where: str, item: Any, mode: LineItemMode) -> dict[str, Any]:
        """Check one ``line_items`` entry and return it in wire form."""
        if not isinstance(item, Mapping):
            raise InvalidRequestError(f"{where} must be a mapping, got {shown(item)}")
        keys = set(item)
        if not all(isinstance(k, str) for k in keys):
            raise InvalidRequestError(f"{where} has a non-string key")
        unknown = keys - set(self.fields) - {"id", "_destroy"}
        if unknown:
            raise InvalidRequestError(
                f"{where} has unknown keys {sorted(unknown)}; allowed: "
                f"{sorted({'id', '_destroy', *self.fields})}"
            )
        if "_destroy" in item:
            return self._deletion(where, item, keys, mode)
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
            missing = [k for k in self.required if item.get(k) is None]
            if missing:
                raise InvalidRequestError(f"{where}: a new line item requires {', '.join(missing)}")
        for key in self.fields:
            if key in item:
                out[key] = nested(where, self.fields, key, item[key])
        if isinstance(out.get("kind"), str) and not out["kind"].strip():
            raise InvalidRequestError(f"{where}: kind must be the name of an item category")
        return out

    @staticmethod
    def _deletion(
        where: str, item: Mapping[str, Any], keys: set[str], mode: LineItemMode
    ) -> dict[str, Any]:
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

    def items(self, value: Any, mode: LineItemMode, name: str = "line_items") -> Any:
        """Check a ``line_items`` array (``NOT_GIVEN`` passes) and return it in wire form."""
        if value is NOT_GIVEN:
            return value
        entries = sequence(name, value)
        if not entries:
            raise InvalidRequestError(f"{name} must hold at least one line item")
        return [self.item(f"{name}[{i}]", entry, mode) for i, entry in enumerate(entries)]


def adds_rows(fields: Mapping[str, Any]) -> bool:
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
    ids = sequence("line_item_ids", line_item_ids)
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
    items = sequence("recipients", value)
    if not items:
        raise InvalidRequestError("recipients must hold at least one recipient")
    out = []
    for i, item in enumerate(items):
        where = f"recipients[{i}]"
        if not isinstance(item, Mapping):
            raise InvalidRequestError(f"{where} must be a mapping with email (and name)")
        unknown = set(item) - set(_RECIPIENT)
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
        if "name" in item and item["name"] is not None:
            recipient["name"] = nested(where, _RECIPIENT, "name", item["name"])
        recipient["email"] = email
        out.append(recipient)
    return out


class Documents(Resource, Generic[DocT, MessageT]):
    """What `Invoices` and `Estimates` share; each sets the class attributes below.

    Attributes:
        _path: The collection (``"invoices"``).
        _model: The document model.
        _message_model: The message model.
        _shape: Its line items.
        _events: The message ``event_type`` values (from its Literal).
    """

    _path: str
    _model: type[DocT]
    _message_model: type[MessageT]
    _shape: LineItemShape
    _events: tuple[str, ...]

    def _at(self, document_id: int, *rest: str) -> str:
        name = f"{self._path.removesuffix('s')}_id"
        return "/".join((self._path, str(check_id(document_id, name)), *rest))

    async def _get_document(self, document_id: int) -> DocT:
        return await self._get(self._model, self._at(document_id))

    async def _delete_document(self, document_id: int) -> None:
        await self._delete(self._at(document_id))

    async def _patch(self, document_id: int, fields: dict[str, Any]) -> DocT:
        """PATCH the document; one adding line items is never re-sent once it may have run."""
        path = self._at(document_id)
        return await self._update(self._model, path, fields, replay_safe=not adds_rows(fields))

    async def _patch_line_items(
        self, document_id: int, line_items: Any, mode: LineItemMode
    ) -> DocT:
        path = self._at(document_id)
        items = _deletions(line_items) if mode == "delete" else self._shape.items(line_items, mode)
        fields = {"line_items": items}
        return await self._update(self._model, path, fields, replay_safe=not adds_rows(fields))

    def _messages(
        self,
        document_id: int,
        updated_since: dt.datetime | str | NotGiven,
        per_page: PerPage | NotGiven,
    ) -> Paginator[MessageT]:
        params = query(updated_since=updated_since, per_page=per_page)
        key = f"{self._path.removesuffix('s')}_messages"
        return self._paginate(self._at(document_id, "messages"), key, self._message_model, params)

    async def _send_message(
        self, document_id: int, event_type: Any, message: dict[str, Any], *, call: str
    ) -> MessageT:
        """Send a message (``recipients`` required) or record an event (``event_type`` alone)."""
        path = self._at(document_id, "messages")
        if event_type is NOT_GIVEN or event_type is None:
            message = {**message, "recipients": _recipients(message["recipients"])}
            if message["recipients"] is NOT_GIVEN:
                raise InvalidRequestError(
                    f"{call}: sending a message requires recipients "
                    f"(or give event_type={' / '.join(repr(c) for c in self._events)})"
                )
            fields = make_body(event_type=event_type, **message)
        else:
            given = sorted(k for k, v in message.items() if v is not NOT_GIVEN)
            if given:
                raise InvalidRequestError(
                    f"{call}: event_type={event_type!r} only records an event and sends no "
                    f"email; leave out {', '.join(given)}"
                )
            fields = make_body(event_type=event_type)
        return await self._create(self._message_model, path, fields)

    async def _delete_message(self, document_id: int, message_id: int) -> None:
        mid = check_id(message_id, "message_id")
        await self._delete(self._at(document_id, "messages", str(mid)))
