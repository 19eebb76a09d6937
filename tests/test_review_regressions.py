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
from harvest_async import models
from harvest_async._converter import decode, list_body_decoder
from harvest_async._pagination import Page, _Head
from harvest_async.sync import ResourceSpec, record_json, sync_account
from harvest_async.testing import HarvestSimulator

from .records import required_values

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
    base = decode(models.TimeEntry, required_values(models.TimeEntry))
    model = attrs.evolve(base, hours=hours)
    assert json.loads(record_json(model))["hours"] == hours  # written as given, never lost


def test_record_json_of_a_hand_built_model_with_a_wrong_nested_class() -> None:
    base = decode(models.TimeEntry, required_values(models.TimeEntry))
    model = attrs.evolve(base, user=models.TaskRef(id=2, name="x"))  # type: ignore[arg-type]
    assert json.loads(record_json(model))["user"] == {"id": 2, "name": "x"}


def test_lists_of_lists_are_checked_to_the_bottom() -> None:
    @attrs.frozen
    class Grid:
        rows: list[list[Decimal]] | None = None
        times: list[list[dt.datetime]] | None = None

    decoder = list_body_decoder(Grid, "grids")
    good = b'{"grids": [{"rows": [[1.5, 2]], "times": [["2024-01-01T10:00:00+02:00"]]}]}'
    split = decoder.split(good)
    assert split is not None
    (grid,) = decoder.items(split[0]) or []
    assert grid.rows == [[Decimal("1.5"), Decimal(2)]]
    assert grid.times == [[dt.datetime(2024, 1, 1, 8, tzinfo=dt.UTC)]]
    split = decoder.split(b'{"grids": [{"rows": [[1.5], ["NaN"]]}]}')
    assert split is not None
    with pytest.raises(ha.DecodeError, match=r"^cannot decode Grid: Grid\.rows: a decimal"):
        decoder.items(split[0])


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
