"""Secrets never leak: not in repr(), not in log records at any level, not in exception
messages, attributes or formatted tracebacks, even when a hostile server echoes them.

A loopback server plays Harvest and Harvest ID and fails in every way at once: 401s
(echoing the Authorization header back), 5xx with retries, a dropped connection, a
refused connection, undecodable answers, and failed OAuth code exchange and refresh
(echoing the form fields back). Logging runs at DEBUG for every logger, asyncio runs in
debug mode, and everything printed, logged or raised is searched for the secrets.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import sys
import traceback
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

import harvest_async as ha
from harvest_async._http import REDACTED, redact
from harvest_async._requester import _Wait
from harvest_async.models import OAuthToken
from harvest_async.oauth import HarvestID, OAuthSession

from .conftest import ACCOUNT, TOKEN

OAUTH_ACCESS = "oauth-access-SECRET-5550123"
REFRESH = "refresh-SECRET-abcdef0123"
CLIENT_SECRET = "client-SECRET-98765xyz"
CODE = "authcode-SECRET-1234abcd"
SECRETS = (TOKEN, OAUTH_ACCESS, REFRESH, CLIENT_SECRET, CODE)


class Echo:
    """Harvest and Harvest ID answering every request with a failure (see module doc)."""

    def __init__(self) -> None:
        self.seen_authorization: list[str] = []
        self.seen_forms: list[dict[str, str]] = []
        self.hits: dict[str, int] = {}

    def count(self, request: web.Request) -> None:
        key = f"{request.method} {request.path}"
        self.hits[key] = self.hits.get(key, 0) + 1

    async def me(self, request: web.Request) -> web.Response:
        self.count(request)
        auth = request.headers.get("Authorization", "")
        self.seen_authorization.append(auth)
        return web.json_response(
            {"error": "invalid_token", "error_description": f"rejected: {auth}"}, status=401
        )

    async def project(self, request: web.Request) -> web.Response:
        self.count(request)
        echoed = "\n".join(f"{k}: {v}" for k, v in request.headers.items())
        return web.Response(text=f"<html><pre>{echoed}</pre></html>", status=503)

    async def client(self, request: web.Request) -> web.Response:
        self.count(request)
        assert request.transport is not None
        request.transport.close()  # drop the connection unanswered
        return web.Response(status=500)

    async def task(self, request: web.Request) -> web.Response:
        self.count(request)
        return web.json_response({"id": "not an id", "name": ["not", "a", "name"]})

    async def user(self, request: web.Request) -> web.Response:
        self.count(request)
        auth = request.headers.get("Authorization", "")
        return web.json_response({"id": f"not an id {auth}"})

    async def role(self, request: web.Request) -> web.Response:
        self.count(request)
        auth = request.headers.get("Authorization", "")
        return web.Response(text=f"<html>{auth}</html>", content_type="application/json")

    async def token(self, request: web.Request) -> web.Response:
        self.count(request)
        form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        self.seen_forms.append(form)
        if form.get("grant_type") == "authorization_code":
            return web.json_response(
                {
                    "error": "invalid_client",
                    "error_description": (
                        f"no client with secret {form.get('client_secret')} for {form.get('code')}"
                    ),
                },
                status=401,
            )
        return web.json_response(
            {
                "error": "invalid_grant",
                "error_description": f"refresh token {form.get('refresh_token')} is revoked "
                f"(client secret {form.get('client_secret')})",
            },
            status=400,
        )


@pytest.fixture
async def echo() -> AsyncIterator[tuple[Echo, str]]:
    app_state = Echo()
    app = web.Application()
    app.router.add_get("/v2/users/me", app_state.me)
    app.router.add_get("/v2/projects/{id}", app_state.project)
    app.router.add_get("/v2/clients/{id}", app_state.client)
    app.router.add_get("/v2/tasks/{id}", app_state.task)
    app.router.add_get("/v2/users/{id}", app_state.user)
    app.router.add_get("/v2/roles/{id}", app_state.role)
    app.router.add_post("/api/v2/oauth2/token", app_state.token)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield app_state, f"http://127.0.0.1:{port}"
    await runner.cleanup()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def failure(call: Any) -> BaseException:
    try:
        await call
    except ha.HarvestError as exc:
        return exc
    raise AssertionError("expected a HarvestError")


def everything_about(exc: BaseException) -> str:
    """Every way an exception is shown: str, repr, attributes, the whole chain."""
    parts = ["".join(traceback.format_exception(exc)), str(exc), repr(exc)]
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        parts += [str(current), repr(current), repr(getattr(current, "__dict__", {}))]
        current = current.__cause__ or current.__context__
    return "\n".join(parts)


async def test_no_secret_reaches_any_output(
    echo: tuple[Echo, str],
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server, root = echo
    caplog.set_level(logging.DEBUG)  # the root logger: every logger, every level
    for name in ("harvest_async", "aiohttp", "asyncio", "tenacity"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    to_stderr = logging.StreamHandler(sys.stderr)
    to_stderr.setLevel(logging.DEBUG)
    logging.getLogger().addHandler(to_stderr)
    loop = asyncio.get_running_loop()
    loop.set_debug(True)
    errors: dict[str, BaseException] = {}
    shown: list[str] = []
    try:
        async with ha.HarvestClient(
            access_token=TOKEN, account_id=ACCOUNT, base_url=f"{root}/v2", max_retries=2
        ) as client:
            client._requester._wait = _Wait(0.001, 0.005)
            shown.append(repr(client))
            errors["401"] = await failure(client.users.me())
            errors["5xx"] = await failure(client.projects.get(1))
            errors["reset"] = await failure(client.clients.get(1))
            errors["decode"] = await failure(client.tasks.get(1))
            errors["not json"] = await failure(client.roles.get(1))
        async with ha.HarvestClient(
            access_token=TOKEN,
            account_id=ACCOUNT,
            base_url=f"http://127.0.0.1:{closed_port()}/v2",
            max_retries=1,
        ) as client:
            client._requester._wait = _Wait(0.001, 0.005)
            errors["refused"] = await failure(client.users.me())
        async with HarvestID(base_url=root, max_retries=1) as harvest_id:
            shown.append(repr(harvest_id))
            errors["exchange"] = await failure(
                harvest_id.exchange_code(CODE, client_id="app-id", client_secret=CLIENT_SECRET)
            )
            session = OAuthSession(
                harvest_id=harvest_id,
                client_id="app-id",
                client_secret=CLIENT_SECRET,
                access_token=OAUTH_ACCESS,
                refresh_token=REFRESH,
            )
            shown.append(repr(session))
            async with ha.HarvestClient.from_oauth(
                session, account_id=ACCOUNT, base_url=f"{root}/v2"
            ) as oauth_client:
                shown.append(repr(oauth_client))
                errors["refresh"] = await failure(oauth_client.users.me())
        shown.append(
            repr(
                OAuthToken(
                    access_token=OAUTH_ACCESS,
                    refresh_token=REFRESH,
                    token_type="bearer",
                    expires_in=3600,
                )
            )
        )
        for name, exc in errors.items():
            logging.getLogger("tests.secrets").error(
                "scenario %s failed: %s", name, exc, exc_info=exc
            )
            shown.append(everything_about(exc))
    finally:
        loop.set_debug(False)
        logging.getLogger().removeHandler(to_stderr)
    out, err = capsys.readouterr()
    text = "\n".join([*shown, caplog.text, out, err, *(r.getMessage() for r in caplog.records)])

    # The scenarios happened as intended...
    assert isinstance(errors["401"], ha.AuthenticationError)
    assert isinstance(errors["5xx"], ha.ServerError)
    assert server.hits["GET /v2/projects/1"] == 3
    assert isinstance(errors["reset"], ha.TransportError)
    assert isinstance(errors["decode"], ha.DecodeError)
    assert isinstance(errors["not json"], ha.DecodeError)
    assert isinstance(errors["refused"], ha.TransportError)
    assert isinstance(errors["exchange"], ha.AuthenticationError)
    assert isinstance(errors["refresh"], ha.BadRequestError)
    assert "retrying GET" in caplog.text  # the DEBUG retry lines were captured
    assert "scenario 5xx failed" in err  # and printed to stderr, tracebacks included
    # ... the server really received each secret and echoed it ...
    assert f"Bearer {TOKEN}" in server.seen_authorization
    assert f"Bearer {OAUTH_ACCESS}" in server.seen_authorization
    assert {f.get("code") for f in server.seen_forms} >= {CODE}
    assert {f.get("refresh_token") for f in server.seen_forms} >= {REFRESH}
    # ... and the client redacted the echoes of errors.
    for name in ("401", "refresh", "5xx"):
        error = errors[name]
        assert isinstance(error, ha.APIError)
        assert "<redacted>" in (error.body if name == "5xx" else error.message)
    for secret in SECRETS:
        assert secret not in text, secret


async def test_a_success_body_echoing_the_token_into_a_bad_field(
    echo: tuple[Echo, str],
) -> None:
    _, root = echo
    async with ha.HarvestClient(
        access_token=TOKEN, account_id=ACCOUNT, base_url=f"{root}/v2"
    ) as client:
        exc = await failure(client.users.get(1))
    assert isinstance(exc, ha.DecodeError)
    assert TOKEN not in everything_about(exc)


def test_redact_replaces_every_occurrence() -> None:
    secrets = [TOKEN.encode(), REFRESH.encode()]
    body = f'{{"a": "{TOKEN}", "b": "{TOKEN}{REFRESH}", "c": "ok"}}'.encode()
    assert redact(body, secrets) == b'{"a": "<redacted>", "b": "<redacted><redacted>", "c": "ok"}'
    assert redact(b"nothing here", secrets) == b"nothing here"
    assert REDACTED == b"<redacted>"


def test_reprs_hide_secrets() -> None:
    client = ha.HarvestClient(access_token=TOKEN, account_id=ACCOUNT)
    harvest_id = HarvestID()
    session = OAuthSession(
        harvest_id=harvest_id,
        client_id="app-id",
        client_secret=CLIENT_SECRET,
        access_token=OAUTH_ACCESS,
        refresh_token=REFRESH,
    )
    token = OAuthToken(access_token=OAUTH_ACCESS, refresh_token=REFRESH)
    shown = " ".join(
        repr(x) for x in (client, harvest_id, session, token, client._transport, client._requester)
    )
    for secret in SECRETS:
        assert secret not in shown
    assert "<redacted>" in repr(client)
    assert "<redacted>" in repr(session)


@pytest.mark.parametrize("bad", ["tok\r\nX-Evil: 1", "tok\nen", "tok\0en"])
def test_a_token_that_could_split_headers_is_refused_without_echo(bad: str) -> None:
    with pytest.raises(ha.ConfigurationError) as info:
        ha.HarvestClient(access_token=bad, account_id=ACCOUNT)
    assert bad not in str(info.value)
