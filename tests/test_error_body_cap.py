"""An error response is read up to ``MAX_ERROR_BODY`` bytes only.

A hostile server answering an error with megabytes of JSON (echoing the token) must
cost the client little: the body is cut after 64 KiB, kept as text (never decoded as
JSON), redacted, and cut to a few KB on the error; the token never shows.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

import harvest_async as ha
from harvest_async._http import MAX_ERROR_BODY, MAX_ERROR_TEXT

TOKEN = "cap-test-token-0123456789/abc"
UA = "tests (dev@example.com)"


@pytest.fixture
async def server() -> AsyncIterator[tuple[str, dict[str, int]]]:
    sent = {"bytes": 0}

    async def huge_error(request: web.Request) -> web.StreamResponse:
        token = request.headers["Authorization"].removeprefix("Bearer ")
        escaped = json.dumps(token).strip('"').replace("/", "\\/")
        response = web.StreamResponse(status=422, headers={"Content-Type": "application/json"})
        await response.prepare(request)
        chunk = ('{"message": "' + escaped + '", "pad": "' + "x" * 65_000 + '", ').encode()
        try:
            for _ in range(300):  # ~20 MB if read to the end
                await response.write(chunk)
                sent["bytes"] += len(chunk)
            await response.write(b'"end": 1}')
        except (ConnectionResetError, RuntimeError):
            pass
        return response

    app = web.Application()
    app.router.add_post("/v2/clients", huge_error)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}/v2", sent
    finally:
        await runner.cleanup()


async def test_a_huge_error_body_is_cut_kept_as_text_and_redacted(
    server: tuple[str, dict[str, int]],
) -> None:
    base, sent = server
    async with ha.HarvestClient(TOKEN, 1, base_url=base, user_agent=UA, max_retries=0) as h:
        with pytest.raises(ha.ValidationError) as caught:
            await h.clients.create(name="x")
    err = caught.value
    assert isinstance(err.body, str)  # cut: never decoded as JSON
    assert len(err.body) <= MAX_ERROR_TEXT
    for shown in (str(err), repr(err), err.body, err.message):
        assert TOKEN not in shown
        assert TOKEN.replace("/", "\\/") not in shown
    # The client stopped reading long before the server's 20 MB.
    assert sent["bytes"] < 300 * 65_000
    assert MAX_ERROR_BODY == 64 * 1024
