"""List envelopes: cursor-based and page-based pagination over a `Source`."""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

from ._fields import Reject
from ._store import Row, Source

__all__ = ["MAX_PER_PAGE", "decode_cursor", "encode_cursor", "paginate"]

MAX_PER_PAGE = 2000
#: Counting the matches of a filtered list costs a scan; done for small sources only.
_COUNT_SCAN_LIMIT = 50_000
_RESERVED = ("page", "cursor", "per_page")


def encode_cursor(key: int) -> str:
    """An opaque cursor like Harvest's (base64 of ``{"after":{"id":N}}``)."""
    raw = json.dumps({"after": {"id": key}}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str) -> int:
    """The key a cursor points after (422 if it is not one of ours)."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        key = json.loads(raw)["after"]["id"]
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise Reject(422, "cursor is invalid") from None
    if isinstance(key, bool) or not isinstance(key, int):
        raise Reject(422, "cursor is invalid")
    return key


def _positive_int(params: Mapping[str, str], name: str, default: int) -> int:
    text = params.get(name)
    if text is None:
        return default
    text = text.strip()
    if not text.lstrip("-").isdigit():
        raise Reject(422, f"{name} must be an integer")
    return int(text)


def parse_per_page(params: Mapping[str, str]) -> int:
    """``per_page``: 1..2000, default 2000."""
    per_page = _positive_int(params, "per_page", MAX_PER_PAGE)
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise Reject(422, f"per_page must be between 1 and {MAX_PER_PAGE}")
    return per_page


def _link(base: str, filters: list[tuple[str, str]], **extra: Any) -> str:
    items = sorted([*filters, *((k, str(v)) for k, v in extra.items())])
    return f"{base}?{urlencode(items)}"


def _count(source: Source, predicate: Callable[[Row], bool] | None) -> int | None:
    total = source.count()
    if predicate is None or total is None:
        return total
    if total > _COUNT_SCAN_LIMIT:
        return None
    n = 0
    for key in source.keys_after(None):
        row = source.row(key)
        if row is not None and predicate(row):
            n += 1
    return n


def paginate(
    *,
    key: str,
    source: Source,
    render: Callable[[Row], Any],
    params: Mapping[str, str],
    base_url: str,
    page_based: bool,
    predicate: Callable[[Row], bool] | None = None,
) -> dict[str, Any]:
    """One page of a list as Harvest's envelope.

    Cursor-based (default for most lists): ``links.next`` carries ``cursor=`` (the last
    key served); ``page``/``next_page`` are set on the first page only (and ``page`` on
    the last when the total is known); ``total_entries`` is ``null`` where counting
    would mean scanning a large filtered list. Page-based: ``page=N`` links with every
    total. A ``page`` parameter makes any list answer page-based, as Harvest's
    deprecated ``page`` still does.
    """
    per_page = parse_per_page(params)
    filters = [(k, v) for k, v in params.items() if k not in _RESERVED]
    if page_based or "page" in params:
        return _by_page(key, source, render, params, base_url, per_page, filters, predicate)
    after = decode_cursor(params["cursor"]) if params.get("cursor") else None
    items: list[Any] = []
    last_key: int | None = None
    has_more = False
    for k in source.keys_after(after):
        if len(items) == per_page:
            if predicate is None:
                has_more = True
                break
            row = source.row(k)
            if row is not None and predicate(row):
                has_more = True
                break
            continue
        row = source.row(k)
        if row is None or (predicate is not None and not predicate(row)):
            continue
        items.append(render(row))
        last_key = k
    total = _count(source, predicate)
    total_pages = max(1, math.ceil(total / per_page)) if total is not None else None
    first = after is None
    return {
        key: items,
        "per_page": per_page,
        "total_pages": total_pages,
        "total_entries": total,
        "next_page": 2 if first and has_more else None,
        "previous_page": None,
        "page": 1 if first else (total_pages if not has_more else None),
        "links": {
            "first": _link(base_url, filters, per_page=per_page),
            "next": _link(base_url, filters, cursor=encode_cursor(last_key),
                          per_page=per_page) if has_more and last_key is not None else None,
            "previous": None,
            "last": None,
        },
    }


def _by_page(
    key: str,
    source: Source,
    render: Callable[[Row], Any],
    params: Mapping[str, str],
    base_url: str,
    per_page: int,
    filters: list[tuple[str, str]],
    predicate: Callable[[Row], bool] | None,
) -> dict[str, Any]:
    page = _positive_int(params, "page", 1)
    if page < 1:
        raise Reject(422, "page must be >= 1")
    skip = (page - 1) * per_page
    items: list[Any] = []
    total = 0
    if predicate is None:
        for k in source.keys_after(None):
            if total >= skip and len(items) < per_page:
                row = source.row(k)
                if row is not None:
                    items.append(render(row))
            total += 1
            if len(items) == per_page and source.count() is not None:
                total = source.count() or 0
                break
    else:
        for k in source.keys_after(None):
            row = source.row(k)
            if row is None or not predicate(row):
                continue
            if total >= skip and len(items) < per_page:
                items.append(render(row))
            total += 1
    total_pages = max(1, math.ceil(total / per_page))
    next_page = page + 1 if page < total_pages else None
    previous_page = page - 1 if page > 1 else None
    return {
        key: items,
        "per_page": per_page,
        "total_pages": total_pages,
        "total_entries": total,
        "next_page": next_page,
        "previous_page": previous_page,
        "page": page,
        "links": {
            "first": _link(base_url, filters, page=1, per_page=per_page),
            "next": _link(base_url, filters, page=next_page, per_page=per_page)
            if next_page else None,
            "previous": _link(base_url, filters, page=previous_page, per_page=per_page)
            if previous_page else None,
            "last": _link(base_url, filters, page=total_pages, per_page=per_page),
        },
    }
