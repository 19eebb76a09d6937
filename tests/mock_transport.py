"""A transport for tests: answers each request with a function, records what was sent.

``HarvestClient(..., transport=MockTransport(answer))`` runs the whole client (auth,
limiter slots, retries, redaction, decoding) with no socket and no aiohttp.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from harvest_async import _json
from harvest_async._http import RawResponse, Request

#: What an answer function returns: a status with a JSON value (or bytes), a full
#: `RawResponse`, or it raises (a `TransportError` subclass, say).
Answer = RawResponse | tuple[int, Any] | tuple[int, Any, Mapping[str, str]]


def respond(
    request: Request, status: int, body: Any, headers: Mapping[str, str] | None = None
) -> RawResponse:
    """A `RawResponse` to ``request``: ``body`` as JSON unless it is bytes."""
    data = body if isinstance(body, bytes) else _json.dumps(body).encode("utf-8")
    return RawResponse(
        status=status,
        headers=dict(headers or {}),
        body=data,
        method=request.method,
        url=request.url or request.path,
    )


class MockTransport:
    """A `Transport` whose answers come from ``answer(request)`` (sync or async).

    Attributes:
        sent: Every request handed over, as sent (resolved URL, every header).
        closed: Whether ``aclose`` ran.
    """

    def __init__(self, answer: Callable[[Request], Answer | Awaitable[Answer]]) -> None:
        self.answer = answer
        self.sent: list[Request] = []
        self.closed = False

    async def send(self, request: Request) -> RawResponse:
        self.sent.append(request)
        result = self.answer(request)
        if inspect.isawaitable(result):
            result = await result
        if isinstance(result, RawResponse):
            return result
        status, body, *rest = result
        return respond(request, status, body, rest[0] if rest else None)

    async def aclose(self) -> None:
        self.closed = True
