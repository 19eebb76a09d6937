"""``harvest_async.lifespan`` and ``get_harvest``: one client per ASGI app."""

from __future__ import annotations

import functools
import pickle
from typing import Annotated, Any

import pytest

import harvest_async as ha
from harvest_async.testing import HarvestSimulator

pytest.importorskip("fastapi", reason="these tests need fastapi: pip install fastapi")
pytest.importorskip("httpx", reason="these tests need httpx: pip install httpx")

import fastapi
import httpx


async def test_lifespan_opens_one_client_for_the_app_and_closes_it() -> None:
    async with HarvestSimulator(seed=2) as sim:
        app = fastapi.FastAPI(
            lifespan=functools.partial(
                ha.lifespan,
                access_token=sim.access_token,
                account_id=sim.account_id,
                base_url=sim.base_url,
                user_agent="lifespan test (dev@example.com)",
                max_wait=1.0,
            )
        )
        seen: list[ha.HarvestClient] = []

        @app.get("/me")
        async def me(
            harvest: Annotated[ha.HarvestClient, fastapi.Depends(ha.get_harvest)],
        ) -> dict[str, Any]:
            seen.append(harvest)
            user = await harvest.users.me()
            return {"id": user.id}

        async with app.router.lifespan_context(app):
            harvest = app.state.harvest
            assert harvest.options.max_wait == 1.0
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://app") as http:
                for _ in range(3):
                    response = await http.get("/me")
                    assert response.status_code == 200, response.text
        assert seen == [harvest] * 3  # one client, shared
        assert harvest._requester.closed
        assert not hasattr(app.state, "harvest")


async def test_lifespan_without_an_app_yields_the_client(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARVEST_ACCESS_TOKEN", "token-from-env")
    monkeypatch.setenv("HARVEST_ACCOUNT_ID", "42")
    monkeypatch.setenv("HARVEST_BASE_URL", "http://127.0.0.1:9/v2")
    async with ha.lifespan(user_agent="x (x@example.com)") as harvest:
        assert isinstance(harvest, ha.HarvestClient)
        assert harvest.base_url == "http://127.0.0.1:9/v2"
    assert harvest._requester.closed


async def test_lifespan_refuses_bad_settings_and_apps_without_state() -> None:
    with pytest.raises(ha.ConfigurationError, match="no access token"):
        async with ha.lifespan(fastapi.FastAPI(), account_id=1, access_token=""):
            pass
    with pytest.raises(ha.ConfigurationError, match=r"needs an app with a \.state"):
        async with ha.lifespan(object(), access_token="t", account_id=1):
            pass


async def test_get_harvest_without_the_lifespan_says_how_to_fix_it() -> None:
    app = fastapi.FastAPI()

    @app.get("/me")
    async def me(harvest: Annotated[ha.HarvestClient, fastapi.Depends(ha.get_harvest)]) -> None:
        raise AssertionError("not reached")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=True)
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as http:
        with pytest.raises(ha.ConfigurationError, match=r"FastAPI\(lifespan=harvest_async"):
            await http.get("/me")


def test_rate_limit_timeout_pickles_with_its_details() -> None:
    err = ha.RateLimitTimeout(
        "no slot", method="GET", url="https://x/v2/users/me", waited=0.5, priority="bulk"
    )
    copy = pickle.loads(pickle.dumps(err))
    assert type(copy) is ha.RateLimitTimeout
    assert (copy.waited, copy.priority, copy.status) == (0.5, "bulk", 429)
    assert str(copy) == "no slot (GET https://x/v2/users/me)"
