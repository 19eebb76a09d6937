"""Decoding speed: a 2000-entry time-entries page, from bytes to models.

The page is what the simulator answers to ``GET /v2/time_entries?per_page=2000`` (seed 0;
real Harvest shapes: nested references, decimals, dates, timestamps). Each figure is
the best of several repeats over that same ``bytes`` object, garbage collector on:

- ``json.loads`` alone: the standard library parser (floats, no models) — the reference;
- the library's JSON step alone (decimals exact);
- the client's real page path: what ``client.time_entries.list()``'s paginator does with
  the bytes of a page (``Paginator._head(...).materialize()``: its envelope scan, then
  its items decoded to models by the fast path, where the list has one; otherwise the
  JSON step, then ``parse_page`` with the paginator's item decoder);
- for reference, the converter path on the same bytes: the library's JSON step, then
  ``decode_many(TimeEntry, ...)`` (cattrs with the generated hooks), used for bodies the
  fast path leaves to it.
"""

from __future__ import annotations

import asyncio
import gc
import json
import time
from collections.abc import Callable
from typing import Any

from _common import USER_AGENT, bench_main, md_table, target

NAME = "decode"
TITLE = "2. Decoding: time-entry page bytes to models"
TARGET_RATIO = 2.0


async def _page_bytes(per_page: int) -> bytes:
    import aiohttp

    from harvest_async.testing import HarvestSimulator

    async with (
        HarvestSimulator(seed=0, rate_limit=(100_000, 1.0)) as sim,
        aiohttp.ClientSession(
            headers={
                "Authorization": f"Bearer {sim.access_token}",
                "Harvest-Account-Id": str(sim.account_id),
                "User-Agent": USER_AGENT,
            }
        ) as http,
        http.get(f"{sim.base_url}/time_entries", params={"per_page": per_page}) as resp,
    ):
        resp.raise_for_status()
        return await resp.read()


def _page_path() -> tuple[Callable[[bytes], Any], str]:
    """The client's own bytes -> Page path, and a description of it."""
    from harvest_async import HarvestClient

    client = HarvestClient(access_token="x", account_id=1, user_agent=USER_AGENT)
    pager = client.time_entries.list(per_page=2000)

    def paginator_path(data: bytes) -> Any:
        return pager._lister.read(data).materialize()

    return paginator_path, (
        "`client.time_entries.list()._lister.read(body).materialize()` (the paginator's own "
        "path: envelope scan, then the fast path from bytes to `TimeEntry` models)"
    )


def _converter_path() -> Callable[[bytes], Any]:
    from harvest_async import _json
    from harvest_async._converter import decode_many
    from harvest_async.models.time_entries import TimeEntry

    def path(data: bytes) -> Any:
        return decode_many(TimeEntry, _json.loads(data)["time_entries"])

    return path


def _best(func: Callable[[bytes], Any], data: bytes, repeats: int) -> float:
    gc.collect()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        func(data)
        best = min(best, time.perf_counter() - start)
    return best


def run(quick: bool) -> dict[str, Any]:
    from harvest_async import _json

    repeats = 5 if quick else 20
    data = asyncio.run(_page_bytes(2000))
    path, path_name = _page_path()
    page = path(data)
    n = len(page.items)
    assert n == 2000, n
    # Warm up every path once (converter hooks are built lazily).
    json.loads(data)
    _json.loads(data)
    t_json = _best(json.loads, data, repeats)
    t_lib_json = _best(_json.loads, data, repeats)
    slow = _converter_path()
    assert slow(data) == page.items  # the fast path gives the converter's models
    t_full = _best(path, data, repeats)
    t_slow = _best(slow, data, repeats)
    ratio = t_full / t_json
    rows = [
        ["`json.loads` (stdlib) alone", f"{t_json * 1e3:.1f}", f"{n / t_json:,.0f}", "1.00"],
        [
            "library JSON step alone (`_json.loads`, exact decimals)",
            f"{t_lib_json * 1e3:.1f}",
            f"{n / t_lib_json:,.0f}",
            f"{t_lib_json / t_json:.2f}",
        ],
        [
            "client page path: bytes → `Page[TimeEntry]`",
            f"{t_full * 1e3:.1f}",
            f"{n / t_full:,.0f}",
            f"{ratio:.2f}",
        ],
        [
            "(reference) converter path: `_json.loads` + `decode_many` (cattrs)",
            f"{t_slow * 1e3:.1f}",
            f"{n / t_slow:,.0f}",
            f"{t_slow / t_json:.2f}",
        ],
    ]
    return {
        "name": NAME,
        "title": TITLE,
        "setup": (__doc__ or "").split("\n\n", 1)[1].strip().replace("``", "`")
        + f"\n\nPage: {n} entries, {len(data):,} bytes. Client path measured: {path_name}."
        f" Best of {repeats} repeats.",
        "table": md_table(["step", "ms per page", "entries/s", "x json.loads"], rows),
        "targets": [
            target(
                "model decoding time ÷ `json.loads` alone",
                f"{ratio:.2f}x",
                f"<= {TARGET_RATIO:g}x",
                ratio <= TARGET_RATIO,
            ),
            target("entries/s, bytes → models", f"{n / t_full:,.0f}", "(report)", None),
        ],
        "notes": [],
    }


if __name__ == "__main__":
    bench_main(run)
