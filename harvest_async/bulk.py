"""Bulk helpers: many calls at once, bounded, with each item's error kept apart.

A bulk job should be bound by Harvest's rate limit (100 requests per 15 s), not by the
latency of one request after another: these helpers keep up to ``concurrency`` calls
in flight and let the client's rate limiter pace them. One failing item does not abort
the batch: its exception is recorded next to its index. Cancelling the caller cancels
every call still running (each gives its limiter slot back).

Example:
    >>> from harvest_async import bulk
    >>> fetched = await bulk.fetch_ids(harvest.time_entries.get, ids, concurrency=16)
    >>> entries = fetched.values()                 # those that came, in input order
    >>> for item, error in fetched.failed(): ...   # (id, exception) of the others
    >>> async for outcome in bulk.map(harvest.projects.get, project_ids):
    ...     print(outcome.item, outcome.result if outcome.ok else outcome.error)
    >>> async for assignment in bulk.stream_lists(
    ...     harvest.projects.user_assignments(pid) for pid in project_ids
    ... ):
    ...     ...
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import inspect
from collections import deque
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable
from typing import Any, Generic, TypeVar, cast

import attrs

from ._pagination import Paginator
from ._ratelimit import bulk_work

__all__ = [
    "DEFAULT_CONCURRENCY",
    "BulkResult",
    "Outcome",
    "fetch_ids",
    "gather",
    "map",
    "run",
    "stream_lists",
]

I = TypeVar("I")  # noqa: E741 - the conventional name of an input type
R = TypeVar("R")
T = TypeVar("T")

#: Calls in flight at once by default.
DEFAULT_CONCURRENCY = 16
#: Lists walked at once by default in `stream_lists`.
DEFAULT_LIST_CONCURRENCY = 8


@attrs.frozen
class Outcome(Generic[I, R]):
    """What one call of a bulk job gave.

    Attributes:
        index: The item's position in the input.
        item: The input item.
        result: What the call returned (``None`` if it failed).
        error: The exception it raised, or ``None``.
    """

    index: int
    item: I
    result: R | None = None
    error: Exception | None = None

    @property
    def ok(self) -> bool:
        """Whether the call returned (rather than raised)."""
        return self.error is None

    def unwrap(self) -> R:
        """The result, or raise the call's exception."""
        if self.error is not None:
            raise self.error
        return cast(R, self.result)


@attrs.frozen
class BulkResult(Generic[I, R]):
    """Everything a bulk job gave, in input order.

    Attributes:
        items: The inputs.
        results: Index -> result of every call that returned.
        errors: Index -> exception of every call that raised.
    """

    items: builtins.list[I]
    results: dict[int, R]
    errors: dict[int, Exception]

    @property
    def ok(self) -> bool:
        """Whether every call returned."""
        return not self.errors

    def values(self) -> builtins.list[R]:
        """The results of the calls that returned, in input order."""
        return builtins.list(self.results.values())

    def failed(self) -> builtins.list[tuple[I, Exception]]:
        """``(item, exception)`` of every call that raised, in input order."""
        return [(self.items[index], error) for index, error in self.errors.items()]

    def raise_errors(self) -> builtins.list[R]:
        """The results in input order, or raise an `ExceptionGroup` of the errors."""
        if self.errors:
            raise ExceptionGroup(
                f"{len(self.errors)} of {len(self.items)} calls failed",
                builtins.list(self.errors.values()),
            )
        return self.values()


def _check_concurrency(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"concurrency must be a positive int, got {value!r}")
    return value


async def _cancel_all(tasks: Iterable[asyncio.Task[Any]]) -> None:
    pending = [task for task in tasks if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending)


def _retrieve(task: asyncio.Task[Any]) -> None:
    if not task.cancelled():
        task.exception()


async def map(  # bulk.map, as in the issue (shadows the builtin in this module)
    func: Callable[[I], Awaitable[R]],
    items: Iterable[I],
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    ordered: bool = True,
) -> AsyncGenerator[Outcome[I, R], None]:
    """Call ``func(item)`` for every item, ``concurrency`` at a time; yield each outcome.

    ``items`` is read lazily (a generator of millions is fine). With ``ordered=True``
    outcomes come in input order (at most ``concurrency`` calls running or finished
    ahead of the one awaited); with ``ordered=False`` as they complete (the fastest). A
    call that raises gives an `Outcome` with ``error`` set; the others go on.
    Leaving the loop early or being cancelled cancels every call still running (use
    ``contextlib.aclosing`` to have that happen at once on ``break``).

    Args:
        func: An async function of one item, e.g. ``harvest.projects.get``.
        items: The inputs.
        concurrency: Calls in flight at once.
        ordered: Input order (``True``) or completion order (``False``).
    """
    limit = _check_concurrency(concurrency)
    source = iter(enumerate(items))
    tasks: set[asyncio.Task[Outcome[I, R]]] = set()

    async def call(index: int, item: I) -> Outcome[I, R]:
        try:
            return Outcome(index, item, result=await func(item))
        except Exception as exc:
            return Outcome(index, item, error=exc)

    def start() -> asyncio.Task[Outcome[I, R]] | None:
        for index, item in source:
            with bulk_work():  # the task copies this context: its requests are bulk
                task = asyncio.create_task(call(index, item))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            task.add_done_callback(_retrieve)
            return task
        return None

    try:
        if ordered:
            window: deque[asyncio.Task[Outcome[I, R]]] = deque()
            while len(window) < limit and (task := start()) is not None:
                window.append(task)
            while window:
                outcome = await window[0]
                window.popleft()
                if (task := start()) is not None:
                    window.append(task)
                yield outcome
        else:
            running: set[asyncio.Task[Outcome[I, R]]] = set()
            while len(running) < limit and (task := start()) is not None:
                running.add(task)
            while running:
                done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                while len(running) < limit and (task := start()) is not None:
                    running.add(task)
                for outcome in sorted((t.result() for t in done), key=lambda o: o.index):
                    yield outcome
    finally:
        await _cancel_all(tasks)


async def run(
    func: Callable[[I], Awaitable[R]],
    items: Iterable[I],
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
) -> BulkResult[I, R]:
    """Call ``func(item)`` for every item, ``concurrency`` at a time; collect everything.

    Args:
        func: An async function of one item.
        items: The inputs.
        concurrency: Calls in flight at once.

    Returns:
        A `BulkResult`: results and errors by input index, in input order.
    """
    inputs = builtins.list(items)
    results: dict[int, R] = {}
    errors: dict[int, Exception] = {}
    async with contextlib.aclosing(
        map(func, inputs, concurrency=concurrency, ordered=False)
    ) as outcomes:
        async for outcome in outcomes:
            if outcome.error is not None:
                errors[outcome.index] = outcome.error
            else:
                results[outcome.index] = cast(R, outcome.result)
    return BulkResult(
        items=inputs,
        results=dict(sorted(results.items())),
        errors=dict(sorted(errors.items())),
    )


async def gather(
    calls: Iterable[Callable[[], Awaitable[R]] | Awaitable[R]],
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
) -> BulkResult[Any, R]:
    """Await many calls, ``concurrency`` at a time, collecting each one's error.

    Prefer zero-argument callables (``functools.partial(harvest.clients.get, 5)``, a
    lambda): each is called only when its turn comes. Coroutine objects work too; those
    never started (the batch was cancelled) are closed, so none is left un-awaited.

    Args:
        calls: Zero-argument async callables, or awaitables.
        concurrency: Calls in flight at once.

    Returns:
        A `BulkResult` whose items are the calls.
    """
    inputs = builtins.list(calls)

    async def invoke(call: Callable[[], Awaitable[R]] | Awaitable[R]) -> R:
        if inspect.isawaitable(call):
            return await call
        return await call()

    try:
        return await run(invoke, inputs, concurrency=concurrency)
    finally:
        for call in inputs:
            if inspect.iscoroutine(call) and (
                inspect.getcoroutinestate(call) == inspect.CORO_CREATED
            ):
                call.close()


async def fetch_ids(
    get: Callable[[int], Awaitable[R]],
    ids: Iterable[int],
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
) -> BulkResult[int, R]:
    """Fetch many records by id (``get`` such as ``harvest.time_entries.get``).

    A missing record is a `NotFoundError` in ``errors``, not an
    abort.

    Args:
        get: An async function of one id.
        ids: The ids.
        concurrency: Requests in flight at once.
    """
    return await run(get, ids, concurrency=concurrency)


def stream_lists(
    lists: Iterable[Paginator[T]],
    *,
    concurrency: int = DEFAULT_LIST_CONCURRENCY,
    ordered: bool = False,
) -> Paginator[T]:
    """Walk many lists (e.g. one per project) concurrently as one `Paginator`.

    Nothing is sent until it is iterated. Each list's pages keep their order; with
    ``ordered=False`` pages of different lists interleave as they arrive, with
    ``ordered=True`` list after list.

    Args:
        lists: The lists, e.g. ``(harvest.projects.user_assignments(p) for p in ids)``.
        concurrency: Lists walked at once (each holds at most ``1 + prefetch`` pages).
        ordered: List by list (``True``) or pages as they arrive (``False``).
    """
    return Paginator.merge(lists, ordered=ordered, concurrency=_check_concurrency(concurrency))
