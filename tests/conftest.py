"""Shared fixtures: a client against a mocked Harvest (aioresponses) and request capture."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from typing import Any

import attrs
import pytest
from aioresponses import aioresponses
from yarl import URL

import harvest_async as ha

from .shared import SKIP_PREFIX

BASE = "https://api.harvestapp.com/v2"
TOKEN = "test-token-SECRET-0123456789"
ACCOUNT = "123456"


@attrs.frozen
class Sent:
    """One request the client sent to the mock."""

    method: str
    url: URL
    headers: dict[str, str]
    body: Any  # decoded JSON (Decimals exact), raw bytes/FormData, or None

    @property
    def path(self) -> str:
        return self.url.path.removeprefix("/v2/")

    @property
    def query(self) -> dict[str, str]:
        return dict(self.url.query)


def sent_requests(mock: aioresponses) -> list[Sent]:
    """Every request sent, in order."""
    calls: list[tuple[int, Sent]] = []
    order = 0
    for (method, url), items in mock.requests.items():
        for call in items:
            kwargs = call.kwargs
            data = kwargs.get("data")
            body: Any = data
            if isinstance(data, bytes):
                body = json.loads(data, parse_float=Decimal)
            calls.append((order, Sent(method, url, dict(kwargs.get("headers") or {}), body)))
            order += 1
    return [s for _, s in calls]


@pytest.fixture(autouse=True)
def _no_base_url_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """A ``$HARVEST_BASE_URL`` of the developer's shell never redirects the tests."""
    monkeypatch.delenv("HARVEST_BASE_URL", raising=False)


@pytest.fixture
def mock() -> Iterator[aioresponses]:
    with aioresponses() as m:
        yield m


@pytest.fixture
async def client() -> AsyncIterator[ha.HarvestClient]:
    async with ha.HarvestClient(
        access_token=TOKEN,
        account_id=ACCOUNT,
        user_agent="tests (dev@example.com)",
        max_retries=2,
    ) as c:
        yield c


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Where ``$HARVEST_ASYNC_REQUIRE_SHARED`` is set (``.ci/run`` sets it when the shared
    folder is there), a test skipped for missing outside data fails instead."""
    outcome = yield
    report = outcome.get_result()
    if not report.skipped or not os.environ.get("HARVEST_ASYNC_REQUIRE_SHARED"):
        return
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    if SKIP_PREFIX in reason:
        report.outcome = "failed"
        report.longrepr = f"skipped although HARVEST_ASYNC_REQUIRE_SHARED is set: {reason}"
