"""Regressions found in review of the fast decode path, lazy pages and the sync."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest
from aioresponses import aioresponses

import harvest_async as ha
from harvest_async import _json, models
from harvest_async._converter import get_converter, list_body_decoder
from harvest_async._pagination import Page, _Head
from harvest_async.sync import ResourceSpec, record_json, sync_account
from harvest_async.testing import HarvestSimulator

BASE = "https://api.harvestapp.com/v2"


async def test_a_non_json_page_error_keeps_no_trace_of_the_body(
    client: ha.HarvestClient, mock: aioresponses
) -> None:
    body = "<html>proxy page; Authorization: Bearer SECRET-TOKEN-123</html>"
    mock.get(f"{BASE}/time_entries", body=body, status=200)
    with pytest.raises(ha.DecodeError) as info:
        await client.time_entries.list().collect()
    error = info.value
    assert error.__cause__ is None
    assert error.__context__ is None  # the parser's error holds the whole body (.doc)
    assert "SECRET" not in str(error)


@pytest.mark.parametrize("hours", [2, 1.5, "3.25"])
def test_record_json_of_a_hand_built_model_with_a_non_decimal_number(hours: Any) -> None:
    model = models.TimeEntry(id=1, hours=hours)
    expected = json.loads(_json.dumps(get_converter().unstructure(model)), parse_float=Decimal)
    assert json.loads(record_json(model), parse_float=Decimal) == expected


def test_record_json_of_a_hand_built_model_with_a_wrong_nested_class() -> None:
    model = models.TimeEntry(id=1, user=models.TaskRef(id=2, name="x"))  # type: ignore[arg-type]
    assert json.loads(record_json(model))["user"] == {"id": 2, "name": "x"}


def test_lists_of_lists_are_left_to_the_converter() -> None:
    @attrs.frozen
    class Grid:
        rows: list[list[Decimal]] | None = None
        times: list[list[dt.datetime]] | None = None

    assert list_body_decoder(Grid, "grids") is None
    assert list_body_decoder(models.Invoice, "invoices") is not None  # one level is fine


def test_a_materialized_head_lets_go_of_the_body() -> None:
    body = b"x" * 1000
    envelope: Page[int] = Page(items=[])

    def finish() -> Page[int]:
        return Page(items=[len(body)])

    head: _Head[int] = _Head(envelope, finish)
    assert head.materialize().items == [1000]
    assert head.finish is None  # the closure over the body is gone
    assert head.materialize() is envelope


async def test_a_failing_resource_stops_the_others_before_the_database_closes(
    tmp_path: Path,
) -> None:
    started = asyncio.Event()
    cancelled = asyncio.Event()
    finished_after_return = False

    class Boom(Exception):
        pass

    def slow(client: Any, since: Any) -> ha.Paginator[Any]:
        async def fetch(url: str | None) -> Any:
            started.set()
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                cancelled.set()
                raise
            nonlocal finished_after_return
            finished_after_return = True
            return {"items": [], "links": {"next": None}}

        return ha.Paginator(fetch, "items", lambda items: items)

    def failing(client: Any, since: Any) -> ha.Paginator[Any]:
        async def fetch(url: str | None) -> Any:
            await started.wait()
            raise Boom("listing failed")

        return ha.Paginator(fetch, "items", lambda items: items)

    specs = [ResourceSpec("slow_things", slow, False), ResourceSpec("bad_things", failing, False)]
    async with HarvestSimulator(seed=1, rate_limit=(100, 0.2)) as sim, sim.client() as client:
        with pytest.raises(Boom):
            await sync_account(client, tmp_path / "m.db", resources=specs, clock=sim.now)
    assert cancelled.is_set()  # stopped, not left running against a closed database
    assert not finished_after_return
