"""Streaming pagination over Harvest list endpoints.

Harvest lists are page-based (``page``/``total_pages``) or cursor-based (``cursor=`` in
``links.next``, with ``page`` deprecated); both carry ``links.next``, which is followed
exactly as given until it is ``null``
(https://help.getharvest.com/api-v2/introduction/overview/pagination/).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Generic, TypeVar

import attrs

from ._errors import DecodeError

__all__ = ["Page", "Paginator"]

T = TypeVar("T")

#: Fetches one page: ``None`` means the first page (with the list's filters),
#: otherwise an absolute ``links.next`` URL to follow as given.
PageFetcher = Callable[[str | None], Awaitable[Any]]


@attrs.frozen
class Page(Generic[T]):
    """One page of a list.

    Attributes:
        items: The decoded records of this page.
        total_entries: What the server reported, or ``None`` where it did not say.
        next_url: ``links.next``, or ``None`` on the last page.
        page: The page number, where the list is page-based.
        total_pages: The number of pages, where reported.
        per_page: The page size the server used.
    """

    items: list[T]
    total_entries: int | None = None
    next_url: str | None = None
    page: int | None = None
    total_pages: int | None = None
    per_page: int | None = None


def _optional_int(envelope: dict[str, Any], key: str) -> int | None:
    value = envelope.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise DecodeError(f"list response field {key!r} is not an integer: {value!r}")
    return value


def parse_page(envelope: Any, key: str, decode_items: Callable[[Any], list[T]]) -> Page[T]:
    """Decode a list response envelope into a :class:`Page`."""
    if not isinstance(envelope, dict):
        raise DecodeError(f"expected a list response object, got {type(envelope).__name__}")
    if key not in envelope:
        raise DecodeError(f"list response has no {key!r} array")
    links = envelope.get("links")
    next_url = links.get("next") if isinstance(links, dict) else None
    if next_url is not None and not isinstance(next_url, str):
        raise DecodeError(f"links.next is not a string: {next_url!r}")
    return Page(
        items=decode_items(envelope[key]),
        total_entries=_optional_int(envelope, "total_entries"),
        next_url=next_url or None,
        page=_optional_int(envelope, "page"),
        total_pages=_optional_int(envelope, "total_pages"),
        per_page=_optional_int(envelope, "per_page"),
    )


class Paginator(Generic[T]):
    """An async iterable over every item of a list, fetched page by page.

    Nothing is sent until it is iterated; each iteration starts from the first page.
    One page is held in memory at a time.

    Example:
        >>> async for entry in harvest.time_entries.list(from_=date(2024, 1, 1)):
        ...     print(entry.id)
    """

    def __init__(
        self,
        fetch: PageFetcher,
        key: str,
        decode_items: Callable[[Any], list[T]],
        *,
        description: str = "",
    ) -> None:
        self._fetch = fetch
        self._key = key
        self._decode_items = decode_items
        self._description = description or key

    def __repr__(self) -> str:
        return f"<Paginator {self._description}>"

    async def pages(self) -> AsyncIterator[Page[T]]:
        """Yield each :class:`Page` in turn, following ``links.next``."""
        seen: set[str] = set()
        url: str | None = None
        while True:
            page = parse_page(await self._fetch(url), self._key, self._decode_items)
            yield page
            if page.next_url is None:
                return
            if page.next_url in seen:
                raise DecodeError(f"links.next repeats an earlier page: {page.next_url!r}")
            seen.add(page.next_url)
            url = page.next_url

    async def __aiter__(self) -> AsyncIterator[T]:
        async for page in self.pages():
            for item in page.items:
                yield item

    async def collect(self) -> list[T]:
        """Every item in one list (for results known to be small)."""
        return [item async for item in self]
