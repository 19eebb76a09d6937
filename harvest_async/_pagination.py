"""Streaming pagination over Harvest list endpoints, with prefetch and concurrent pages.

Harvest lists are page-based (``page``/``total_pages``) or cursor-based (``cursor=`` in
``links.next``, with ``page`` deprecated); both carry ``links.next``, which is followed
exactly as given until it is ``null``
(https://help.getharvest.com/api-v2/introduction/overview/pagination/).

Throughput (a bulk sync should be bound by Harvest's rate limit, not by latency):

- **Prefetch**: while the caller works on page *k*, page *k + 1* is already being
  fetched (``prefetch`` pages ahead, default 1; ``0`` turns it off).
- **Concurrent pages**: when the first page answers page-based (``total_pages`` known
  and ``links.next`` carries ``page=``), the remaining pages are fetched concurrently
  (``concurrency`` at once, default 8) from ``links.next`` with ``page=N`` and yielded
  in page order. A ``page`` number is never sent to a cursor-based list.
- **Merging**: `Paginator.merge` walks several lists at once (date shards, one
  list per project) as one `Paginator`.

Safety (a server's answer is not trusted): a page is never yielded twice. Pages of a
page-based list are known by number, others by URL (the first page by ``links.first``),
and a ``links.next`` back to one already read is a `DecodeError` before it is sent. The
concurrent fetch stops at the first page whose ``links.next`` is null (pages after it
are cancelled, their errors ignored), and a walk reads at most `page_limit` pages.

How the module reads, top-down: `Page` and `parse_page` read one response; `_Walk`
guards one walk (every ``links.next`` is admitted before it is requested: its
`_Walk.link` is the request for the next page); `_Lister` fetches and reads one list's
pages; `_follow` is the plain walk, page after page. Prefetch (`_ahead`), page fan-out
(`_fan_out`) and shard merging (`_walk_merged`) are wrappers around walks, and
`_walk_list` puts the first three together for one list. `Paginator` is the public
iterable over one list, `_Merged` (from `Paginator.merge`) over several.

Memory stays bounded: a page fetched ahead is held as its raw bytes (a fast scan reads
its ``links`` and counts) and its items are decoded only when it reaches the caller. A
plain walk holds at most ``prefetch`` pages ahead (``concurrency`` while fetching pages
concurrently) besides the caller's; a merged walk one page ahead per list being walked.
Leaving an iteration early (``break``, an exception, cancellation)
cancels every fetch still in flight; the requester gives each one's rate-limiter slot
back in a ``finally``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections import deque
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Iterable,
    Iterator,
    Sequence,
)
from functools import partial
from typing import Any, Generic, Protocol, TypeVar

import attrs

from ._errors import DecodeError
from ._json import loads
from ._ratelimit import bulk_work

__all__ = ["DEFAULT_CONCURRENCY", "DEFAULT_PREFETCH", "Page", "Paginator"]

T = TypeVar("T")

#: Fetches one page: ``None`` means the first page (with the list's filters),
#: otherwise an absolute ``links.next`` URL to follow as given. It returns the page's
#: decoded JSON, or its raw bytes (decoded by ``decode_body``, else as JSON).
PageFetcher = Callable[[str | None], Awaitable[Any]]


class BodyDecoder(Protocol):
    """A fast path from a page's bytes to its items, in two steps.

    ``split(body)`` gives ``(raw items, the other envelope fields)`` and
    ``items(raw items)`` the decoded items; either gives ``None`` to leave the body to
    ``json`` + ``decode_items`` (which also report any error).
    """

    @property
    def split(self) -> Callable[[bytes], tuple[Any, dict[str, Any]] | None]: ...

    @property
    def items(self) -> Callable[[Any], list[Any] | None]: ...


#: Pages fetched ahead of the caller on a list followed link by link.
DEFAULT_PREFETCH = 1
#: Pages of a page-based list fetched at once.
DEFAULT_CONCURRENCY = 8
#: Upper bound for both knobs (Harvest admits 100 requests per 15 s anyway).
MAX_WINDOW = 100
#: Most pages one walk of a list reads, whatever its first page announces (at Harvest's
#: 100 requests per 15 s, about 42 hours of requests).
MAX_PAGES = 1_000_000
#: Pages a walk reads beyond twice what its first page announced (records added during
#: a walk make a page-based list longer).
PAGE_SLACK = 10


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
        # The type only: the value is the server's (it may echo anything, a token too).
        raise DecodeError(
            f"list response field {key!r} is not an integer (got {type(value).__name__})"
        )
    return value


def parse_page(envelope: Any, key: str, decode_items: Callable[[Any], list[T]]) -> Page[T]:
    """Decode a list response envelope into a `Page`."""
    if not isinstance(envelope, dict):
        raise DecodeError(f"expected a list response object, got {type(envelope).__name__}")
    if key not in envelope:
        raise DecodeError(f"list response has no {key!r} array")
    links = envelope.get("links")
    next_url = links.get("next") if isinstance(links, dict) else None
    if next_url is not None and not isinstance(next_url, str):
        raise DecodeError(f"links.next is not a string (got {type(next_url).__name__})")
    return Page(
        items=decode_items(envelope[key]),
        total_entries=_optional_int(envelope, "total_entries"),
        next_url=next_url or None,
        page=_optional_int(envelope, "page"),
        total_pages=_optional_int(envelope, "total_pages"),
        per_page=_optional_int(envelope, "per_page"),
    )


def _page_query(url: str | None) -> tuple[str, list[str], int] | None:
    """``(before the query, its parameters, index of page=)`` of a page-based URL.

    That is one with a query holding exactly one ``page=`` and no ``cursor=``, and no
    fragment; ``None`` for any other.
    """
    if url is None:
        return None
    base, question, rest = url.partition("?")
    query, hash_, _ = rest.partition("#")
    if not question or hash_:
        return None
    params = query.split("&")
    names = [param.partition("=")[0] for param in params]
    if names.count("page") != 1 or "cursor" in names:
        return None
    return base, params, names.index("page")


def _page_number(url: str | None) -> int | None:
    """The ``page=`` number of a page-based URL (see `_page_query`), else ``None``."""
    found = _page_query(url)
    if found is None:
        return None
    _, params, at = found
    value = params[at].partition("=")[2]
    # Plain digits only, and few of them (int() of a huge string is slow).
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 18 else None


def page_urls(page: Page[Any]) -> Iterator[tuple[int, str]] | None:
    """``(number, url)`` of every page after ``page``, where the list is page-based.

    A list counts as page-based when its page reports its number and ``total_pages``
    and ``links.next`` carries exactly one ``page=`` (the following number) and no
    ``cursor=``. Each URL is ``links.next`` with only the ``page`` value changed, every
    other byte (filters, ``per_page``, their order and encoding) kept as given.
    ``None`` for a cursor-based list, or one that does not say enough.
    """
    number, total = page.page, page.total_pages
    found = _page_query(page.next_url)
    if number is None or total is None or found is None or total <= number:
        return None
    base, params, at = found
    if params[at] != f"page={number + 1}":
        return None

    def urls() -> Iterator[tuple[int, str]]:
        for n in range(number + 1, total + 1):
            params[at] = f"page={n}"
            yield n, f"{base}?{'&'.join(params)}"

    return urls()


def page_limit(first: Page[Any]) -> int:
    """The most pages a walk of a list reads, from what its first page announces.

    Twice the announced number of pages (``total_pages``, or ``total_entries`` over
    ``per_page``: the larger), plus `PAGE_SLACK`; `MAX_PAGES` where the first page
    announces neither (or more than that). A list that goes on past it (a server
    handing out new cursors forever, say) is a `DecodeError`.
    """
    announced: list[int] = []
    if first.total_pages is not None and first.total_pages >= 0:
        announced.append(first.total_pages)
    entries, size = first.total_entries, first.per_page
    if entries is not None and entries >= 0 and size is not None and size > 0:
        announced.append(-(-entries // size))
    if not announced:
        return MAX_PAGES
    return min(MAX_PAGES, 2 * max(announced) + PAGE_SLACK)


class _Walk:
    """What one walk of a list has read, so that no page is read (or yielded) twice.

    A page of a page-based list is known by its number, any other by its URL (kept as
    a 16-byte digest). Every check happens before the page is requested. The first
    page was requested without a ``links.next``: it is known by its number where the
    list is page-based, and by its own ``links.first`` (a ``links.next`` back to that
    is a loop too).
    """

    __slots__ = ("limit", "numbers", "pages", "urls")

    def __init__(self, first: Page[Any], first_link: str | None = None) -> None:
        self.limit = page_limit(first)
        self.pages = 1
        self.numbers: set[int] = set()
        self.urls: set[bytes] = set()
        following = _page_number(first.next_url)
        if following is not None:  # page-based: the first page is the one before
            self.numbers.add(first.page if first.page is not None else following - 1)
        if first_link is not None:
            number = _page_number(first_link)
            if number is not None:
                self.numbers.add(number)
            else:
                self.urls.add(_digest(first_link))

    @property
    def full(self) -> bool:
        """Whether the walk has read as many pages as the list can have."""
        return self.pages >= self.limit

    def admit(self, url: str) -> int | None:
        """Count ``url`` as the next page to read; its page number if page-based.

        Raises:
            DecodeError: ``url`` leads to a page already read (its number or URL
                again), or the list goes on past `page_limit`.
        """
        if self.full:
            raise DecodeError(
                "the list goes on past the most pages it can have (twice what its first "
                "page announced, or a million): links.next never ends"
            )
        number = _page_number(url)
        if number is not None:
            if number in self.numbers:
                raise DecodeError("links.next repeats an earlier page (its page number)")
            self.numbers.add(number)
        else:
            key = _digest(url)
            if key in self.urls:
                raise DecodeError("links.next repeats an earlier page (its URL)")
            self.urls.add(key)
        self.pages += 1
        return number

    def link(self, url: str | None) -> _Link | None:
        """The request for the page ``url`` (a ``links.next``) leads to, once admitted;
        ``None`` on the last page."""
        return None if url is None else _Link(url, self.admit(url))


@attrs.frozen
class _Link:
    """A page to request after the first: its ``links.next`` as given, and the page
    number it must answer with (where the list is page-based)."""

    url: str
    number: int | None = None


def _digest(url: str) -> bytes:
    return hashlib.blake2b(url.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def _check_number(page: Page[Any], number: int | None) -> None:
    """A page asked for by number must not say it is another one."""
    if number is not None and page.page is not None and page.page != number:
        raise DecodeError("a page answered with a page number other than the one asked for")


def _check_window(name: str, value: Any, *, minimum: int) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not (minimum <= value <= MAX_WINDOW)
    ):
        raise ValueError(f"{name} must be an int from {minimum} to {MAX_WINDOW}, got {value!r}")
    return value


def _retrieve(task: asyncio.Task[Any]) -> None:
    """Mark a task's outcome as seen (it is either awaited or deliberately dropped)."""
    if not task.cancelled():
        task.exception()


def _spawn(
    coro: Coroutine[Any, Any, T], tasks: set[asyncio.Task[Any]], *, bulk: bool = False
) -> asyncio.Task[T]:
    """A task of the walk; ``bulk``: its requests go in the limiters' bulk lane."""
    if bulk:
        with bulk_work():  # the task copies this context: its requests are bulk
            task = asyncio.create_task(coro)
    else:
        task = asyncio.create_task(coro)
    tasks.add(task)
    task.add_done_callback(tasks.discard)
    task.add_done_callback(_retrieve)
    return task


async def _cancel_all(tasks: set[asyncio.Task[Any]]) -> None:
    """Cancel every task still running and wait until each has finished."""
    pending = [task for task in tasks if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending)


class _End:
    """Queue marker: the producer has no more pages."""


_END = _End()


class _Head(Generic[T]):
    """A fetched page: its envelope read, its items decoded now or by ``finish``.

    `materialize` lets go of ``finish`` (and the body bytes it holds), so the walk's
    frames that still refer to this head until the caller asks for the next page hold
    only the envelope.
    """

    __slots__ = ("finish", "first_link", "page")

    def __init__(
        self,
        page: Page[T],
        finish: Callable[[], Page[T]] | None = None,
        *,
        first_link: str | None = None,
    ) -> None:
        self.page = page
        self.finish = finish
        self.first_link = first_link  # links.first (the first page's own URL)

    def materialize(self) -> Page[T]:
        finish, self.finish = self.finish, None
        return self.page if finish is None else finish()


def _first_link(envelope: Any) -> str | None:
    """``links.first`` of a list response, where it is a non-empty string."""
    links = envelope.get("links") if isinstance(envelope, dict) else None
    first = links.get("first") if isinstance(links, dict) else None
    return first if isinstance(first, str) and first else None


def _no_items_yet(items: Any) -> list[Any]:
    return []


@attrs.frozen
class _Failed:
    """Queue marker: the producer failed with ``error``."""

    error: BaseException


#: What a producer hands over: ``(its tag, a page, or the end, or its failure)``.
_Queue = asyncio.Queue[tuple[int, Any]]


# --- reading one list's pages -------------------------------------------------------


class _Lister(Generic[T]):
    """How one list's pages are fetched and read: the list's own part of a `Paginator`.

    A page's body becomes a `_Head`: its envelope read now, its items decoded when it
    reaches the caller (bytes stay undecoded until then).
    """

    __slots__ = ("decode_body", "decode_items", "fetch", "key")

    def __init__(
        self,
        fetch: PageFetcher,
        key: str,
        decode_items: Callable[[Any], list[T]],
        decode_body: BodyDecoder | None,
    ) -> None:
        self.fetch = fetch
        self.key = key
        self.decode_items = decode_items
        self.decode_body = decode_body

    async def first(self) -> _Head[T]:
        """The first page (the list's own filters)."""
        return self.read(await self.fetch(None))

    async def at(self, link: _Link) -> _Head[T]:
        """The page ``link`` leads to; a page asked for by number must say that number."""
        head = self.read(await self.fetch(link.url))
        _check_number(head.page, link.number)
        return head

    def read(self, body: Any) -> _Head[T]:
        """A fetched page with its envelope read; bytes keep their items undecoded."""
        if isinstance(body, bytes):
            decoder = self.decode_body
            split = decoder.split(body) if decoder is not None else None
            if split is not None:
                raw, rest = split
                rest[self.key] = raw
                page = parse_page(rest, self.key, _no_items_yet)
                return _Head(
                    page, partial(self._finish, page, raw, body), first_link=_first_link(rest)
                )
            body = loads(body)
        return _Head(parse_page(body, self.key, self.decode_items), first_link=_first_link(body))

    def _finish(self, page: Page[T], raw: Any, body: bytes) -> Page[T]:
        decoder = self.decode_body
        items = decoder.items(raw) if decoder is not None else None
        if items is None:  # left to the converter, which also reports any error
            return parse_page(loads(body), self.key, self.decode_items)
        return attrs.evolve(page, items=items)


# --- walking: the plain walk, and the wrappers around it ------------------------------


async def _follow(lister: _Lister[T], walk: _Walk, link: _Link | None) -> AsyncGenerator[_Head[T]]:
    """The pages from ``link`` on, each ``links.next`` followed once the caller is past
    the page that gave it (and checked by ``walk`` before it is requested)."""
    while link is not None:
        head = await lister.at(link)
        next_url = head.page.next_url
        yield head
        del head
        link = walk.link(next_url)


async def _produce(
    source: AsyncGenerator[Any], out: _Queue, room: asyncio.Semaphore, tag: int
) -> None:
    """Move ``source``'s items to ``out``, one permit of ``room`` per item fetched or queued.

    The consumer gives a permit back as it takes an item, so at most ``room``'s size
    items exist ahead of it. Ends with `_END`, or a `_Failed`; closes ``source``.
    """
    try:
        async with contextlib.aclosing(source):
            while True:
                await room.acquire()
                try:
                    item = await anext(source)
                except StopAsyncIteration:
                    break
                out.put_nowait((tag, item))
                del item
        out.put_nowait((tag, _END))
    except Exception as exc:
        out.put_nowait((tag, _Failed(exc)))


def _ahead(
    source: AsyncGenerator[T], size: int, tasks: set[asyncio.Task[Any]]
) -> AsyncGenerator[T]:
    """Prefetch: ``source`` run ``size`` items ahead of its consumer, starting now."""
    queue: _Queue = asyncio.Queue()
    room = asyncio.Semaphore(size)
    _spawn(_produce(source, queue, room, 0), tasks)

    async def consume() -> AsyncGenerator[T]:
        while True:
            _, got = await queue.get()
            if isinstance(got, _End):
                return
            if isinstance(got, _Failed):
                raise got.error
            room.release()
            yield got
            del got

    return consume()


async def _fan_out(
    lister: _Lister[T],
    head: _Head[T],
    urls: Iterator[tuple[int, str]],
    walk: _Walk,
    concurrency: int,
    tasks: set[asyncio.Task[Any]],
) -> AsyncGenerator[_Head[T]]:
    """Page fan-out: ``head``, then the pages of ``urls`` fetched ``concurrency`` at a
    time, in order.

    The walk ends at the first page whose ``links.next`` is null, whatever
    ``total_pages`` announced: fetches of pages after it are cancelled as soon as it
    arrives (their answers, a 404 say, are never looked at) and none is started
    (at most ``concurrency - 1`` requests are spent past the real last page).
    """
    pending: deque[tuple[int, asyncio.Task[_Head[T]]]] = deque()
    end: int | None = None  # the number of the earliest page known to be the last

    def last_at(number: int) -> None:
        nonlocal end
        if end is None or number < end:
            end = number
            for later, task in pending:
                if later > number:
                    task.cancel()

    def arrived(number: int, task: asyncio.Task[_Head[T]]) -> None:
        done = not task.cancelled() and task.exception() is None
        if done and task.result().page.next_url is None:
            last_at(number)

    def refill() -> None:
        while end is None and len(pending) < concurrency and not walk.full:
            nxt = next(urls, None)
            if nxt is None:
                return
            number, url = nxt
            walk.admit(url)
            # Page fan-out is bulk work: interactive calls go first.
            task = _spawn(lister.at(_Link(url, number)), tasks, bulk=True)
            task.add_done_callback(partial(arrived, number))
            pending.append((number, task))

    refill()
    yield head
    del head
    while pending:
        number, task = pending.popleft()
        if end is not None and number > end:
            break
        fetched = await task
        if fetched.page.next_url is None:
            last_at(number)
        refill()
        yield fetched
        del fetched
    for _, task in pending:
        task.cancel()


async def _walk_list(
    lister: _Lister[T], prefetch: int, concurrency: int, tasks: set[asyncio.Task[Any]]
) -> AsyncGenerator[_Head[T]]:
    """Every page of one list: the first, then fan-out where the list is page-based,
    then ``links.next`` followed (prefetched) for whatever remains."""
    # A frame lets go of a page when it resumes (``del``), and a page's body bytes go
    # when the caller gets its items (`_Head.materialize`).
    head = await lister.first()
    walk = _Walk(head.page, head.first_link)
    urls = page_urls(head.page) if concurrency > 1 else None
    if urls is None:
        rest = _rest(lister, walk, head.page.next_url, prefetch, tasks)  # prefetch starts now
        yield head
        del head
    else:
        next_url = head.page.next_url
        async with contextlib.aclosing(
            _fan_out(lister, head, urls, walk, concurrency, tasks)
        ) as heads:
            del head
            async for head in heads:
                next_url = head.page.next_url
                yield head
                del head
        # More pages than the first page announced: follow links.next from the last.
        rest = _rest(lister, walk, next_url, prefetch, tasks)
    async with contextlib.aclosing(rest) as heads:
        async for head in heads:
            yield head
            del head


def _rest(
    lister: _Lister[T],
    walk: _Walk,
    next_url: str | None,
    prefetch: int,
    tasks: set[asyncio.Task[Any]],
) -> AsyncGenerator[_Head[T]]:
    """The pages after one whose ``links.next`` is ``next_url``, ``prefetch`` ahead."""
    if prefetch == 0:
        # Nothing is checked or sent before the caller asks for the page.
        async def lazily() -> AsyncGenerator[_Head[T]]:
            async with contextlib.aclosing(_follow(lister, walk, walk.link(next_url))) as heads:
                async for head in heads:
                    yield head
                    del head

        return lazily()
    return _ahead(_follow(lister, walk, walk.link(next_url)), prefetch, tasks)


async def _walk_merged(
    parts: Sequence[Paginator[T]], parallel: int, ordered: bool, tasks: set[asyncio.Task[Any]]
) -> AsyncGenerator[_Head[T]]:
    """Shard merging: the pages of several lists, ``parallel`` lists walked at once.

    Each list fetches its next page once its previous one has gone to the caller (its
    own prefetch off): one page ahead per list, held undecoded. ``ordered`` yields list
    after list (later ones wait with one page each), else pages as they arrive.
    """
    sources = [part.with_options(prefetch=0) for part in parts]
    shared: _Queue = asyncio.Queue()
    queues = [asyncio.Queue() for _ in sources] if ordered else [shared] * len(sources)
    rooms = [asyncio.Semaphore(1) for _ in sources]
    started = 0

    def start_more(limit: int) -> None:
        nonlocal started
        while started < min(limit, len(sources)):
            index = started
            heads = sources[index]._heads()
            # Shards are bulk work: interactive calls go first.
            _spawn(_produce(heads, queues[index], rooms[index], index), tasks, bulk=True)
            started += 1

    start_more(parallel)
    if ordered:
        for index in range(len(sources)):
            while True:
                _, got = await queues[index].get()
                if isinstance(got, _End):
                    break
                if isinstance(got, _Failed):
                    raise got.error
                rooms[index].release()
                yield got
                del got
            start_more(index + 1 + parallel)
        return
    remaining = len(sources)
    while remaining:
        index, got = await shared.get()
        if isinstance(got, _End):
            remaining -= 1
            start_more(started + 1)
            continue
        if isinstance(got, _Failed):
            raise got.error
        rooms[index].release()
        yield got
        del got


# --- the public iterable ----------------------------------------------------------------


class Paginator(Generic[T]):
    """An async iterable over every item of a list, fetched page by page.

    Nothing is sent until it is iterated; each iteration starts from the first page.
    While the caller works on a page the next one is already on its way (``prefetch``);
    a page-based list has its remaining pages fetched ``concurrency`` at a time. Items
    always come in the server's order. See `with_options` and `merge`.

    Example:
        >>> async for entry in harvest.time_entries.list(from_=date(2024, 1, 1)):
        ...     print(entry.id)

    Args:
        fetch: Fetches a page: ``None`` for the first, else a ``links.next`` URL.
        key: The envelope's array (``"time_entries"``).
        decode_items: Turns that array into models.
        description: Shown by ``repr()``.
        prefetch: Pages fetched ahead of the caller (0 to 100; 0 turns it off).
        concurrency: Pages of a page-based list fetched at once (1 to 100; 1 follows
            ``links.next`` one page at a time, as for a cursor-based list).
        decode_body: Where ``fetch`` returns bytes: a fast path from them to items
            (see `BodyDecoder`); without one, bytes are decoded as JSON.
    """

    def __init__(
        self,
        fetch: PageFetcher,
        key: str,
        decode_items: Callable[[Any], list[T]],
        *,
        description: str = "",
        prefetch: int = DEFAULT_PREFETCH,
        concurrency: int = DEFAULT_CONCURRENCY,
        decode_body: BodyDecoder | None = None,
    ) -> None:
        self._lister = _Lister(fetch, key, decode_items, decode_body)
        self._description = description or key
        self._prefetch = _check_window("prefetch", prefetch, minimum=0)
        self._concurrency = _check_window("concurrency", concurrency, minimum=1)
        self._ordered = True

    def __repr__(self) -> str:
        return f"<Paginator {self._description}>"

    @property
    def prefetch(self) -> int:
        """Pages fetched ahead of the caller on a list followed link by link."""
        return self._prefetch

    @property
    def concurrency(self) -> int:
        """Pages of a page-based list fetched at once."""
        return self._concurrency

    @property
    def ordered(self) -> bool:
        """Whether a merged walk yields its lists one after another (else as pages come)."""
        return self._ordered

    @property
    def parts(self) -> tuple[Paginator[T], ...]:
        """The lists a merged Paginator walks (empty for a plain list)."""
        return ()

    def with_options(
        self,
        *,
        prefetch: int | None = None,
        concurrency: int | None = None,
        ordered: bool | None = None,
    ) -> Paginator[T]:
        """The same list with other fetch settings (``None`` keeps a setting).

        Args:
            prefetch: Pages fetched ahead of the caller on a list followed link by link
                (0 turns prefetch off). Pages ahead are held as raw bytes, decoded as
                they reach the caller. (While a page-based list is fetched concurrently,
                ``concurrency`` pages are fetched ahead instead.) A merged list's parts
                fetch one page ahead each, whatever this says.
            concurrency: Pages of a page-based list fetched at once (1 turns it off).
            ordered: For a merged list (`merge`, date shards): ``True`` yields
                each list's items in turn (the unsharded order; later lists hold one
                undecoded page each meanwhile), ``False`` yields pages as they
                arrive (fastest).

        Returns:
            A new `Paginator`; this one is unchanged.
        """
        if prefetch is not None:
            _check_window("prefetch", prefetch, minimum=0)
        if concurrency is not None:
            _check_window("concurrency", concurrency, minimum=1)
        if ordered is not None and not isinstance(ordered, bool):
            raise ValueError(f"ordered must be True or False, got {ordered!r}")
        return self._with(prefetch, concurrency, self._ordered if ordered is None else ordered)

    def _with(self, prefetch: int | None, concurrency: int | None, ordered: bool) -> Paginator[T]:
        lister = self._lister
        clone = Paginator(
            lister.fetch,
            lister.key,
            lister.decode_items,
            description=self._description,
            prefetch=self._prefetch if prefetch is None else prefetch,
            concurrency=self._concurrency if concurrency is None else concurrency,
            decode_body=lister.decode_body,
        )
        clone._ordered = ordered
        return clone

    def starting_at(self, url: str) -> Paginator[T]:
        """The same list walked from the page at ``url``, a ``links.next`` it gave.

        What a sync that stopped mid-list resumes with: a cursor (or page number) kept
        with the rows of the page before it. Harvest may refuse an old cursor (a 4xx):
        the caller then walks the list from its start
        (https://help.getharvest.com/api-v2/introduction/overview/pagination/).

        Raises:
            ValueError: A merged list (it has no one next page), or no URL.
        """
        if self.parts:
            raise ValueError("a merged list cannot start at one page")
        if not isinstance(url, str) or not url:
            raise ValueError(f"url must be a links.next URL, got {url!r}")
        lister = self._lister
        fetch = lister.fetch

        async def from_url(next_url: str | None) -> Any:
            return await fetch(url if next_url is None else next_url)

        clone = self._with(None, None, self._ordered)
        clone._lister = _Lister(from_url, lister.key, lister.decode_items, lister.decode_body)
        return clone

    @classmethod
    def merge(
        cls,
        parts: Iterable[Paginator[T]],
        *,
        ordered: bool = False,
        concurrency: int | None = None,
        description: str = "",
    ) -> Paginator[T]:
        """One `Paginator` walking several lists concurrently.

        Every item of every list is yielded once. With ``ordered=False`` pages are
        yielded as they arrive (each page's items in order); with ``ordered=True`` all of
        the first list, then all of the second, and so on. Each list being walked fetches
        one page ahead (``concurrency`` if page-based), held as raw bytes until it reaches
        the caller; on ``break``, an error or cancellation every walk still running is
        cancelled.

        Args:
            parts: The lists (each a `Paginator`; none is sent until iterated).
            ordered: Yield list by list (``True``) or as pages arrive (``False``).
            concurrency: How many lists are walked at once (default: all of them).
            description: Shown by ``repr()``.
        """
        lists = tuple(parts)
        for part in lists:
            if not isinstance(part, Paginator):
                raise TypeError(f"merge() takes Paginators, got {type(part).__name__}")
        if not isinstance(ordered, bool):
            raise ValueError(f"ordered must be True or False, got {ordered!r}")
        parallel = (len(lists) or 1) if concurrency is None else concurrency
        if isinstance(parallel, bool) or not isinstance(parallel, int) or parallel < 1:
            raise ValueError(f"concurrency must be a positive int, got {concurrency!r}")
        return _Merged(lists, parallel=parallel, ordered=ordered, description=description)

    async def pages(self) -> AsyncGenerator[Page[T]]:
        """Yield each `Page` in turn, following ``links.next``."""
        async with contextlib.aclosing(self._heads()) as walk:
            async for head in walk:
                # Items are decoded here, as the page reaches the caller; the previous
                # page is let go first so that at most one decoded page is held here.
                page = head.materialize()
                del head
                yield page
                del page

    async def _heads(self) -> AsyncGenerator[_Head[T]]:
        """The walk's pages, undecoded; every fetch still running is cancelled at the end."""
        tasks: set[asyncio.Task[Any]] = set()
        try:
            async with contextlib.aclosing(self._walk(tasks)) as heads:
                async for head in heads:
                    yield head
                    del head
        finally:
            await _cancel_all(tasks)

    def _walk(self, tasks: set[asyncio.Task[Any]]) -> AsyncGenerator[_Head[T]]:
        return _walk_list(self._lister, self._prefetch, self._concurrency, tasks)

    async def __aiter__(self) -> AsyncIterator[T]:
        async with contextlib.aclosing(self.pages()) as pages:
            async for page in pages:
                for item in page.items:
                    yield item
                del page  # before the next page is decoded

    async def collect(self) -> list[T]:
        """Every item in one list (for results known to be small)."""
        return [item async for item in self]


class _Merged(Paginator[T]):
    """Several lists walked as one (`Paginator.merge`): shard merging over their walks.

    It has no list of its own (the base class's constructor is for one list); its
    prefetch and concurrency settings are those of its first list.
    """

    def __init__(
        self,
        parts: tuple[Paginator[T], ...],
        *,
        parallel: int,
        ordered: bool,
        description: str,
    ) -> None:
        first = parts[0] if parts else None
        self._parts = parts
        self._parallel = parallel
        self._ordered = ordered
        self._description = description or (
            f"{first._description} x{len(parts)}" if first is not None else "no lists"
        )
        self._prefetch = first.prefetch if first is not None else DEFAULT_PREFETCH
        self._concurrency = first.concurrency if first is not None else DEFAULT_CONCURRENCY

    @property
    def parts(self) -> tuple[Paginator[T], ...]:
        return self._parts

    def _with(self, prefetch: int | None, concurrency: int | None, ordered: bool) -> Paginator[T]:
        parts = tuple(
            part.with_options(prefetch=prefetch, concurrency=concurrency) for part in self._parts
        )
        clone = _Merged(
            parts, parallel=self._parallel, ordered=ordered, description=self._description
        )
        if prefetch is not None:
            clone._prefetch = prefetch
        if concurrency is not None:
            clone._concurrency = concurrency
        return clone

    def _walk(self, tasks: set[asyncio.Task[Any]]) -> AsyncGenerator[_Head[T]]:
        return _walk_merged(self._parts, self._parallel, self._ordered, tasks)
