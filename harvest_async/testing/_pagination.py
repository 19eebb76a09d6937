"""List envelopes: cursor-based and page-based pagination over a `Source`."""

from __future__ import annotations

import base64
import binascii
import json
import math
import weakref
from array import array
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any
from urllib.parse import urlencode

from ._fields import Reject
from ._store import LazyView, Row, Source

__all__ = [
    "MAX_PER_PAGE",
    "PageIndex",
    "decode_cursor",
    "encode_cursor",
    "paginate",
    "track_sources",
]

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


class PageIndex:
    """The matching keys of recent filtered page-based lists, for one world.

    Answering page N of a filtered list needs the number of matches and the N-th slice
    of them, which takes a scan of the whole source (building every row to test the
    filter). The scan's result, the ordered keys that match, is kept here, so later
    pages cost a slice plus building their own rows. An entry is valid while
    ``state()`` returns what it returned when the entry was built: ``state`` must
    change whenever any stored row may have changed (`World.list_state`).

    Memory stays bounded: at most ``max_entries`` lists (least recently used dropped
    first) and about ``max_keys`` keys in all (8 bytes each).
    """

    def __init__(
        self, state: Callable[[], Hashable], *, max_entries: int = 8, max_keys: int = 4_000_000
    ) -> None:
        self.state = state
        self.max_entries = max_entries
        self.max_keys = max_keys
        self._entries: OrderedDict[Hashable, tuple[Hashable, array[int]]] = OrderedDict()
        self._keys = 0
        #: Full scans done to build entries (tests check reuse with it).
        self.scans = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def stored_keys(self) -> int:
        """Keys held over all entries."""
        return self._keys

    def get(self, key: Hashable, state: Hashable) -> array[int] | None:
        """The keys stored for ``key`` if they were built in ``state``."""
        hit = self._entries.get(key)
        if hit is None:
            return None
        if hit[0] != state:
            self.discard(key)
            return None
        self._entries.move_to_end(key)
        return hit[1]

    def put(self, key: Hashable, state: Hashable, keys: array[int]) -> None:
        """Remember ``keys`` for ``key`` as of ``state``, dropping the oldest entries."""
        self.discard(key)
        self._entries[key] = (state, keys)
        self._keys += len(keys)
        while len(self._entries) > 1 and (
            len(self._entries) > self.max_entries or self._keys > self.max_keys
        ):
            _, (_, old) = self._entries.popitem(last=False)
            self._keys -= len(old)

    def discard(self, key: Hashable) -> None:
        """Forget ``key``."""
        hit = self._entries.pop(key, None)
        if hit is not None:
            self._keys -= len(hit[1])

    def clear(self) -> None:
        """Forget everything."""
        self._entries.clear()
        self._keys = 0


#: Source (a table) -> the `PageIndex` of the world that owns it. Weak both ways: a
#: world's tables and index go away with it.
_INDEXES: weakref.WeakKeyDictionary[Any, weakref.ref[PageIndex]] = weakref.WeakKeyDictionary()


def track_sources(sources: Iterable[Any], index: PageIndex) -> None:
    """Let filtered page-based lists over ``sources`` (tables) use ``index``.

    ``index.state`` must change whenever a row of any of them may have changed; a
    `LazyView` of a tracked `LazyTable` is tracked too.
    """
    ref = weakref.ref(index)
    for source in sources:
        _INDEXES[source] = ref


def _index_of(source: Source) -> tuple[PageIndex, Hashable] | None:
    """The `PageIndex` for ``source`` and what identifies the source within it."""
    if isinstance(source, LazyView):
        table: Any = source.table
        where: Hashable = (id(table), source.index_range)
    else:
        table = source
        where = (id(table), None)
    try:
        ref = _INDEXES.get(table)
    except TypeError:  # not weak-referenceable: never tracked
        return None
    index = ref() if ref is not None else None
    return None if index is None else (index, where)


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
            "next": _link(base_url, filters, cursor=encode_cursor(last_key), per_page=per_page)
            if has_more and last_key is not None
            else None,
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
        total, items = _filtered_page(
            key, source, render, base_url, filters, predicate, skip, per_page
        )
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
            if next_page
            else None,
            "previous": _link(base_url, filters, page=previous_page, per_page=per_page)
            if previous_page
            else None,
            "last": _link(base_url, filters, page=total_pages, per_page=per_page),
        },
    }


def _filtered_page(
    key: str,
    source: Source,
    render: Callable[[Row], Any],
    base_url: str,
    filters: list[tuple[str, str]],
    predicate: Callable[[Row], bool],
    skip: int,
    per_page: int,
) -> tuple[int, list[Any]]:
    """``total_entries`` and the rendered rows ``skip .. skip + per_page`` of the matches.

    The ordered matching keys are kept in the source's `PageIndex` (when it has one),
    keyed by the source, the list's URL (its path carries parent ids the predicate
    tests) and the filters, so the pages after the first cost only their own rows.
    """
    found = _index_of(source)
    cache_key: Hashable = None
    state: Hashable = None
    if found is not None:
        index, where = found
        # The predicate reads the first value of each parameter: a stable sort by name
        # keeps that, so equal keys mean equal predicates.
        cache_key = (where, key, base_url, tuple(sorted(filters, key=lambda kv: kv[0])))
        state = index.state()
        keys = index.get(cache_key, state)
        if keys is not None:
            items: list[Any] = []
            for k in keys[skip : skip + per_page]:
                row = source.row(k)
                if row is None or not predicate(row):
                    # A row changed behind the state's back: scan afresh.
                    index.discard(cache_key)
                    break
                items.append(render(row))
            else:
                return len(keys), items
    matched: array[int] = array("q")
    items = []
    end = skip + per_page
    for k in source.keys_after(None):
        row = source.row(k)
        if row is None or not predicate(row):
            continue
        if skip <= len(matched) < end:
            items.append(render(row))
        matched.append(k)
    if found is not None:
        found[0].scans += 1
        found[0].put(cache_key, state, matched)
    return len(matched), items
