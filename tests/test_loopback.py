"""Behaviour over a real socket: loopback servers started by the tests."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web

import harvest_async as ha

from .conftest import ACCOUNT, TOKEN
from .records import record

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Handler], Awaitable[str]]]:
    runners: list[web.AppRunner] = []

    async def start(handler: Handler) -> str:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handler)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        port = runner.addresses[0][1]
        return f"http://127.0.0.1:{port}/v2"

    yield start
    for runner in runners:
        await runner.cleanup()


async def test_429_retry_after_pauses_every_request_then_succeeds(
    serve: Callable[[Handler], Awaitable[str]],
) -> None:
    arrivals: list[float] = []
    paused = asyncio.Event()
    throttled_at: list[float] = []

    class Watched(ha.TokenBucket):
        async def pause(self, seconds: float) -> None:
            await super().pause(seconds)
            paused.set()

    async def handler(request: web.Request) -> web.Response:
        arrivals.append(time.monotonic())
        if not throttled_at:
            throttled_at.append(time.monotonic())
            return web.json_response(
                {"message": "This request has been throttled.", "retry_after": 2},
                status=429,
                headers={"Retry-After": "2"},
            )
        return web.json_response(record(ha.models.User, id=1, first_name="Ada"))

    base = await serve(handler)
    async with ha.HarvestClient(
        access_token=TOKEN, account_id=ACCOUNT, base_url=base, rate_limiter=Watched(100, 15)
    ) as c:
        first = asyncio.create_task(c.users.me())
        await paused.wait()
        # A caller starting once the 429 arrived must wait too: the limiter is paused.
        second = asyncio.create_task(c.users.me())
        users = await asyncio.gather(first, second)
    assert [u.id for u in users] == [1, 1]
    assert len(arrivals) == 3
    later = [t - throttled_at[0] for t in arrivals[1:]]
    assert min(later) >= 2.0, later


async def test_aiohttp_does_not_resend_behind_the_limiter() -> None:
    """A kept-alive connection the server drops: aiohttp would silently re-send a GET.

    Our transport stops that re-send; the retry policy sends again with a new limiter
    slot, so every request that reached the server was admitted by the limiter.
    """
    requests_seen = 0
    writers: list[asyncio.StreamWriter] = []

    async def on_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal requests_seen
        writers.append(writer)
        served_here = 0
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                if not head:
                    return
                requests_seen += 1
                served_here += 1
                if served_here == 2:
                    writer.close()  # drop the kept-alive connection without answering
                    return
                payload = json.dumps(record(ha.models.User, id=3)).encode()
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Content-Length: " + str(len(payload)).encode() + b"\r\n"
                    b"Connection: keep-alive\r\n\r\n" + payload
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            return

    server = await asyncio.start_server(on_connection, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]

    class Counting(ha.TokenBucket):
        acquired = 0

        async def acquire(self, **options: Any) -> Any:
            Counting.acquired += 1
            return await super().acquire(**options)

    limiter = Counting(100, 15)
    async with (
        server,
        ha.HarvestClient(
            access_token=TOKEN,
            account_id=ACCOUNT,
            base_url=f"http://127.0.0.1:{port}/v2",
            rate_limiter=limiter,
        ) as c,
    ):
        assert (await c.users.me()).id == 3
        assert (await c.users.me()).id == 3
    for writer in writers:
        writer.close()
        await writer.wait_closed()
    assert requests_seen == 3
    assert Counting.acquired == requests_seen
