"""Transport safety over real loopback sockets: https only, no redirects, a response size
cap, connection pool limits, per-attempt timeouts, clean cancellation and shutdown.

Every server here is started by the test on 127.0.0.1. Nothing sleeps to measure time:
tests assert error types, attempt counts and limiter/connection accounting.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import gzip
import tracemalloc
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web

import harvest_async as ha
from harvest_async._aiohttp import DEFAULT_CONNECTION_LIMIT, AiohttpTransport
from harvest_async._errors import ClientClosedError, RequestMayHaveBeenSent, ResponseTooLargeError
from harvest_async._http import Request
from harvest_async._requester import _Wait

from .conftest import ACCOUNT, TOKEN
from .records import complete, record

ME = complete(ha.models.User, '{"id": 7, "first_name": "Ada"}').encode()


def quick_retries(client: ha.HarvestClient) -> ha.HarvestClient:
    """Shrink the client's backoff so retry tests stay fast (policy unchanged)."""
    client._requester._wait = _Wait(0.001, 0.005)
    return client


def ok(body: bytes = ME, *, extra: bytes = b"") -> bytes:
    return (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n" + extra + b"\r\n" + body
    )


# --- a raw loopback server ------------------------------------------------------------

Respond = Callable[
    ["RawServer", bytes, asyncio.StreamReader, asyncio.StreamWriter], Awaitable[bool]
]


class RawServer:
    """An HTTP/1.1 server on 127.0.0.1 whose answers are written byte by byte by a test.

    ``respond(server, head, reader, writer)`` answers one request and returns whether to
    keep the connection for another. It records each request's head, how many
    connections are open at once, and which connections the client closed.
    """

    def __init__(self, respond: Respond) -> None:
        self.respond = respond
        self.heads: list[bytes] = []
        self.open_now = 0
        self.most_open = 0
        self.closed_by_client = 0
        self.arrived = asyncio.Event()
        self.bytes_sent = 0
        self._tasks: set[asyncio.Task[Any]] = set()
        self._server: asyncio.Server | None = None
        self.url = ""

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._on_connection, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/v2"
        return self.url

    async def _on_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.open_now += 1
        self.most_open = max(self.most_open, self.open_now)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    self.closed_by_client += 1
                    return
                self.heads.append(head)
                self.arrived.set()
                if not await self.respond(self, head, reader, writer):
                    return
        except ConnectionError:
            self.closed_by_client += 1
        finally:
            self.open_now -= 1
            self._tasks.discard(task)
            writer.close()

    async def wait_for_requests(self, count: int) -> None:
        """Wait until ``count`` requests have arrived in all."""
        while len(self.heads) < count:
            self.arrived.clear()
            await self.arrived.wait()

    async def wait_idle(self) -> None:
        """Wait until every connection handler has ended."""
        while self._tasks:
            await asyncio.wait(list(self._tasks))
        await asyncio.sleep(0)  # let the closed transports call connection_lost

    async def aclose(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await self.wait_idle()
        await self._server.wait_closed()


@pytest.fixture
async def raw_server() -> AsyncIterator[Callable[[Respond], Awaitable[RawServer]]]:
    servers: list[RawServer] = []

    async def start(respond: Respond) -> RawServer:
        server = RawServer(respond)
        await server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.aclose()


async def stall(
    server: RawServer, head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> bool:
    """Never answer: wait until the client gives up and closes the connection."""
    await reader.read()  # returns b"" at EOF, i.e. once the client closed
    server.closed_by_client += 1
    return False


async def answer_ok(
    server: RawServer, head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> bool:
    writer.write(ok())
    await writer.drain()
    return True


def client_for(url: str, **kwargs: Any) -> ha.HarvestClient:
    kwargs.setdefault("max_retries", 2)
    return ha.HarvestClient(access_token=TOKEN, account_id=ACCOUNT, base_url=url, **kwargs)


def other_tasks() -> set[asyncio.Task[Any]]:
    return {t for t in asyncio.all_tasks() if t is not asyncio.current_task()}


# --- https only -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://api.harvestapp.com/v2",
        "http://10.0.0.5/v2",
        "http://evil.example/v2",
        "ftp://api.harvestapp.com/v2",
        "ws://127.0.0.1/v2",
    ],
)
def test_plain_http_is_refused_off_loopback(url: str) -> None:
    with pytest.raises(ha.ConfigurationError, match="https"):
        ha.HarvestClient(access_token=TOKEN, account_id=ACCOUNT, base_url=url)


def test_allow_insecure_http_is_an_explicit_opt_in() -> None:
    client = ha.HarvestClient(
        access_token=TOKEN,
        account_id=ACCOUNT,
        base_url="http://harvest-proxy.internal/v2",
        allow_insecure_http=True,
    )
    assert client.base_url == "http://harvest-proxy.internal/v2"
    # The opt-in is about the scheme only: other schemes and credentials stay refused.
    with pytest.raises(ha.ConfigurationError):
        ha.HarvestClient(
            access_token=TOKEN,
            account_id=ACCOUNT,
            base_url="ftp://harvest-proxy.internal/v2",
            allow_insecure_http=True,
        )
    with pytest.raises(ha.ConfigurationError, match="credentials"):
        ha.HarvestClient(
            access_token=TOKEN,
            account_id=ACCOUNT,
            base_url="http://u:p@harvest-proxy.internal/v2",
            allow_insecure_http=True,
        )
    with pytest.raises(ha.ConfigurationError, match="True or False"):
        ha.HarvestClient(
            access_token=TOKEN,
            account_id=ACCOUNT,
            base_url="http://harvest-proxy.internal/v2",
            allow_insecure_http="yes",  # type: ignore[arg-type]
        )


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/v2",
        "http://localhost/v2",
        "http://[::1]:9/v2",
        "https://api.harvestapp.com/v2",
    ],
)
def test_https_and_loopback_http_need_no_opt_in(url: str) -> None:
    assert ha.HarvestClient(access_token=TOKEN, account_id=ACCOUNT, base_url=url).base_url


@pytest.mark.parametrize(
    "url",
    [
        "https://api.harvestapp.com/v2\r\nX-Injected: 1",
        "https://api.harvestapp.com/\0",
        "/v2",
        "https:///v2",
    ],
)
def test_malformed_base_urls_are_configuration_errors(url: str) -> None:
    with pytest.raises(ha.ConfigurationError):
        ha.HarvestClient(access_token=TOKEN, account_id=ACCOUNT, base_url=url)


# --- redirects are not followed ----------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_a_redirect_to_another_host_is_not_followed(
    raw_server: Callable[[Respond], Awaitable[RawServer]], status: int
) -> None:
    elsewhere = await raw_server(answer_ok)
    # Same machine, another host name and port: a different origin.
    target = elsewhere.url.replace("127.0.0.1", "localhost") + "/users/me"

    async def redirect(
        server: RawServer, head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        writer.write(
            f"HTTP/1.1 {status} Moved\r\nLocation: {target}\r\nContent-Length: 0\r\n\r\n".encode()
        )
        await writer.drain()
        return True

    origin = await raw_server(redirect)
    async with client_for(origin.url) as client:
        with pytest.raises(ha.APIError) as info:
            await client.users.me()
    assert type(info.value) is ha.APIError
    assert info.value.status == status
    assert len(origin.heads) == 1  # an APIError for a 3xx is not retried
    assert TOKEN.encode() in origin.heads[0]  # (the token went to the configured host)
    assert elsewhere.heads == []  # ... and never to the other one


# --- response size cap ---------------------------------------------------------------


async def test_a_lying_content_length_is_refused_before_reading(
    raw_server: Callable[[Respond], Awaitable[RawServer]],
) -> None:
    async def huge(
        server: RawServer, head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            b'Content-Length: 100000000000\r\n\r\n{"id": '
        )
        await writer.drain()
        return await stall(server, head, reader, writer)  # until the client drops it

    server = await raw_server(huge)
    async with client_for(server.url, max_response_bytes=1 << 20) as client:
        with pytest.raises(ha.TransportError, match="exceeds") as info:
            await client.users.me()
    assert isinstance(info.value, ResponseTooLargeError)
    assert len(server.heads) == 1  # too large is never retried: it would be again
    await server.wait_idle()
    assert server.closed_by_client == 1


async def test_an_endless_body_is_cut_at_the_cap_without_holding_it(
    raw_server: Callable[[Respond], Awaitable[RawServer]],
) -> None:
    chunk = b"[" + b"0," * 32767 + b"0"  # 64 KiB of a JSON array that never ends

    async def endless(
        server: RawServer, head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
        while server.bytes_sent < 1 << 30:  # a 1 GiB stop, far beyond any cap here
            writer.write(frame)
            server.bytes_sent += len(chunk)
            await writer.drain()  # raises once the client has closed the connection
        return False

    server = await raw_server(endless)
    cap = 1 << 20
    tracemalloc.start()
    try:
        async with client_for(server.url, max_response_bytes=cap) as client:
            with pytest.raises(ResponseTooLargeError):
                await client.users.me()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    await server.wait_idle()
    assert len(server.heads) == 1
    assert peak < 16 * cap, peak  # about the cap plus buffers; never the whole stream
    assert server.bytes_sent < 64 * cap  # the client hung up: the server stopped


async def test_a_compressed_bomb_is_cut_at_the_decompressed_size(
    raw_server: Callable[[Respond], Awaitable[RawServer]],
) -> None:
    bomb = gzip.compress(b"[" + b" " * (16 << 20) + b"]", compresslevel=9)
    assert len(bomb) < 1 << 16

    async def gzipped(
        server: RawServer, head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        writer.write(ok(bomb, extra=b"Content-Encoding: gzip\r\n"))
        await writer.drain()
        return True

    server = await raw_server(gzipped)
    async with client_for(server.url, max_response_bytes=1 << 20) as client:
        with pytest.raises(ResponseTooLargeError):
            await client.users.me()
    assert len(server.heads) == 1


async def test_a_response_under_the_cap_is_read_whole(
    raw_server: Callable[[Respond], Awaitable[RawServer]],
) -> None:
    server = await raw_server(answer_ok)
    async with client_for(server.url, max_response_bytes=len(ME)) as client:
        assert (await client.users.me()).id == 7


@pytest.mark.parametrize("value", [0, -1, True, 1.5, "1"])
def test_max_response_bytes_must_be_a_positive_int(value: Any) -> None:
    with pytest.raises(ha.ConfigurationError, match="max_response_bytes"):
        ha.HarvestClient(access_token=TOKEN, account_id=ACCOUNT, max_response_bytes=value)


# --- connection pool limits --------------------------------------------------------------


async def test_the_client_session_has_a_bounded_pool(
    raw_server: Callable[[Respond], Awaitable[RawServer]],
) -> None:
    server = await raw_server(answer_ok)
    async with client_for(server.url) as client:
        await client.users.me()
        session = client._transport._session  # type: ignore[attr-defined]
        assert session is not None
        assert session.connector is not None
        assert session.connector.limit == DEFAULT_CONNECTION_LIMIT == 100


async def test_connections_never_exceed_the_pool_limit(
    raw_server: Callable[[Respond], Awaitable[RawServer]],
) -> None:
    release = asyncio.Event()

    async def held(
        server: RawServer, head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        if server.open_now >= 3:
            release.set()
        await release.wait()
        writer.write(ok())
        await writer.drain()
        return True

    server = await raw_server(held)
    transport = AiohttpTransport(timeout=10.0, connection_limit=3)
    request = Request("GET", url=f"{server.url}/users/me", headers={"Accept": "application/json"})
    try:
        responses = await asyncio.gather(*(transport.send(request) for _ in range(12)))
    finally:
        await transport.aclose()
    assert [r.status for r in responses] == [200] * 12
    assert server.most_open == 3


# --- timeouts ------------------------------------------------------------------------------


async def test_a_server_that_never_answers_times_out_each_attempt(
    raw_server: Callable[[Respond], Awaitable[RawServer]],
) -> None:
    server = await raw_server(stall)
    async with quick_retries(client_for(server.url, timeout=0.2, max_retries=2)) as client:
        with pytest.raises(ha.TransportError, match="timed out") as info:
            await client.users.me()
    assert isinstance(info.value, RequestMayHaveBeenSent)
    assert len(server.heads) == 3  # the first attempt and two retries
    await server.wait_idle()
    assert server.closed_by_client == 3  # each timed-out attempt dropped its connection


async def test_a_body_that_stops_midway_times_out(
    raw_server: Callable[[Respond], Awaitable[RawServer]],
) -> None:
    async def half(
        server: RawServer, head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            b'Content-Length: 100\r\n\r\n{"id": 7,'
        )
        await writer.drain()
        return await stall(server, head, reader, writer)

    server = await raw_server(half)
    async with quick_retries(client_for(server.url, timeout=0.2, max_retries=1)) as client:
        with pytest.raises(ha.TransportError, match="timed out"):
            await client.users.me()
    assert len(server.heads) == 2


async def test_a_post_that_timed_out_is_not_sent_again(
    raw_server: Callable[[Respond], Awaitable[RawServer]],
) -> None:
    server = await raw_server(stall)
    async with quick_retries(client_for(server.url, timeout=0.2, max_retries=3)) as client:
        with pytest.raises(RequestMayHaveBeenSent):
            await client.tasks.create(name="Design")
    assert len(server.heads) == 1


# --- cancellation ------------------------------------------------------------------------


async def test_cancelling_a_request_in_flight_releases_everything(
    raw_server: Callable[[Respond], Awaitable[RawServer]],
) -> None:
    server = await raw_server(stall)
    limiter = ha.TokenBucket(5, 60.0)
    before = other_tasks()
    client = client_for(server.url, rate_limiter=limiter)
    request = asyncio.create_task(client.users.me())
    await server.arrived.wait()
    assert limiter._in_flight == 1
    assert client._requester.in_flight == 1
    request.cancel()
    with pytest.raises(asyncio.CancelledError):
        await request
    # The slot was released: no request in flight, and it counts for `period` more.
    assert limiter._in_flight == 0
    assert limiter.in_use == 1
    assert client._requester.in_flight == 0
    # The connection was dropped, not left half-open.
    await server.wait_idle()
    assert server.closed_by_client == 1
    assert other_tasks() - before == set()
    await client.aclose()
    session = client._transport._session  # type: ignore[attr-defined]
    assert session is not None
    assert session.closed


async def test_cancelling_a_request_waiting_for_a_slot_takes_no_slot(
    raw_server: Callable[[Respond], Awaitable[RawServer]],
) -> None:
    server = await raw_server(answer_ok)
    limiter = ha.TokenBucket(1, 60.0)
    async with client_for(server.url, rate_limiter=limiter) as client:
        await client.users.me()  # the only slot now counts for 60 s
        waiting = asyncio.create_task(client.users.me())
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert not waiting.done()
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert limiter.in_use == 1
        assert limiter._waiters == type(limiter._waiters)()
    assert len(server.heads) == 1


async def test_a_caller_timeout_is_a_timeout_not_a_closed_client(
    raw_server: Callable[[Respond], Awaitable[RawServer]],
) -> None:
    server = await raw_server(stall)
    limiter = ha.TokenBucket(5, 60.0)
    async with client_for(server.url, rate_limiter=limiter) as client:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.1):
                await client.users.me()
        assert limiter._in_flight == 0
        assert client._requester.in_flight == 0
        assert not client._requester.closed


# --- graceful shutdown -----------------------------------------------------------------------


async def test_aclose_stops_requests_in_flight_with_a_transport_error(
    raw_server: Callable[[Respond], Awaitable[RawServer]],
) -> None:
    """``aclose()`` with requests on the wire, waiting for a slot and backing off."""
    first = True

    async def mixed(
        server: RawServer, head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        nonlocal first
        if b"/v2/company" in head and first:
            first = False
            writer.write(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
            return True
        return await stall(server, head, reader, writer)

    server = await raw_server(mixed)
    limiter = ha.TokenBucket(3, 60.0)
    client = client_for(server.url, rate_limiter=limiter, max_retries=5)
    client._requester._wait = _Wait(60.0, 60.0)  # the 503 retry backs off for a minute
    before = other_tasks()
    on_wire = [asyncio.create_task(client.users.me()) for _ in range(2)]
    backing_off = asyncio.create_task(client.company.get())
    await server.wait_for_requests(3)
    waiting_for_slot = asyncio.create_task(client.clients.get(1))  # no slot left
    for _ in range(5):
        await asyncio.sleep(0)
    assert client._requester.in_flight == 4

    await client.aclose()

    tasks = [*on_wire, backing_off, waiting_for_slot]
    results = await asyncio.gather(*tasks, return_exceptions=True)
    for result in results:
        assert isinstance(result, ClientClosedError), result
        assert isinstance(result, ha.TransportError)
        assert str(result) == "the client was closed"
    assert not any(t.cancelled() for t in tasks)
    assert len(server.heads) == 3  # nothing more went out: no retry, no waiting request
    assert limiter._in_flight == 0
    assert client._requester.in_flight == 0
    session = client._transport._session  # type: ignore[attr-defined]
    assert session is not None
    assert session.closed
    await server.wait_idle()
    assert server.closed_by_client == 3  # the two stalled ones and the 503's kept-alive one
    assert other_tasks() - before == set()
    # Later calls fail at once, and closing again is harmless.
    with pytest.raises(ClientClosedError, match="closed"):
        await client.users.me()
    await client.aclose()


async def test_aclose_stops_a_paginator_midway(
    raw_server: Callable[[Respond], Awaitable[RawServer]],
) -> None:
    async def pages(
        server: RawServer, head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        if b"cursor=2" in head:
            return await stall(server, head, reader, writer)
        link = server.url + "/clients?cursor=2"
        client_1 = complete(ha.models.Client, '{"id": 1}')
        body = ('{"clients": [' + client_1 + '], "links": {"next": "' + link + '"}}').encode()
        writer.write(ok(body))
        await writer.drain()
        return True

    server = await raw_server(pages)
    client = client_for(server.url)
    seen: list[int | None] = []

    async def walk() -> None:
        async for item in client.clients.list():
            seen.append(item.id)

    walking = asyncio.create_task(walk())
    await server.wait_for_requests(2)
    await client.aclose()
    with pytest.raises(ha.TransportError, match="the client was closed"):
        await walking
    assert seen == [1]


async def test_aclose_leaves_a_callers_session_open_but_stops_its_requests(
    raw_server: Callable[[Respond], Awaitable[RawServer]],
) -> None:
    server = await raw_server(stall)
    async with aiohttp.ClientSession() as session:
        client = client_for(server.url, session=session)
        request = asyncio.create_task(client.users.me())
        await server.arrived.wait()
        await client.aclose()
        with pytest.raises(ClientClosedError, match="the client was closed"):
            await request
        assert not session.closed
        await server.wait_idle()
        assert server.closed_by_client == 1


async def test_no_resource_warning_after_aclose(
    raw_server: Callable[[Respond], Awaitable[RawServer]],
) -> None:
    server = await raw_server(answer_ok)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        client = client_for(server.url)
        await client.users.me()
        stuck = asyncio.create_task(client.users.me())
        await client.aclose()
        with contextlib.suppress(ha.TransportError):
            await stuck
        del client, stuck
        gc.collect()
    # (Event loops leaked by the looptime plugin around sync tests are not ours.)
    ours = [str(w.message) for w in caught if "unclosed event loop" not in str(w.message)]
    assert ours == []


async def test_aiohttp_web_server_sees_no_request_after_aclose() -> None:
    """An aiohttp server (not raw): a closed client never reaches it."""
    hits = 0

    async def handler(request: web.Request) -> web.Response:
        nonlocal hits
        hits += 1
        return web.json_response(record(ha.models.User, id=1))

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        client = client_for(f"http://127.0.0.1:{port}/v2")
        assert (await client.users.me()).id == 1
        await client.aclose()
        with pytest.raises(ha.TransportError):
            await client.users.me()
        assert hits == 1
    finally:
        await runner.cleanup()
