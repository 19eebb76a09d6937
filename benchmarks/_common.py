"""What the benchmarks share: feature detection, limiter wrappers, result formatting.

Each ``bench_*.py`` script runs on its own (``python benchmarks/bench_x.py [--quick]
[--json PATH]``), prints a markdown section and, with ``--json``, writes a result dict
that ``run.py`` gathers into ``RESULTS.md``::

    {"name", "title", "setup": markdown, "table": markdown, "notes": [str],
     "targets": [{"metric", "value", "target", "met"}]}
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import inspect
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

#: Harvest's limit (100 requests per 15 s) and a typical latency, both scaled 10x down.
SCALED_LIMIT = (100, 1.5)
#: Harvest's rate (100 requests per 15 s) with its window scaled 10x down in time: the
#: same requests per second as Harvest, in windows of 1.5 s holding 10 requests each.
#: For runs of about a hundred big pages, which one `SCALED_LIMIT` window would hold.
SCALED_RATE_LIMIT = (10, 1.5)
SCALED_LATENCY = (0.025, 0.005)
USER_AGENT = "harvest_async-bench (dev@example.com)"


def features() -> dict[str, Any]:
    """Which throughput features the installed library offers (they are used if so)."""
    from harvest_async import _pagination
    from harvest_async.resources.time_entries import TimeEntries

    list_params = inspect.signature(TimeEntries.list).parameters
    paginator_params: set[str] = set()
    for func in (_pagination.Paginator.__init__, _pagination.Paginator.pages):
        paginator_params |= set(inspect.signature(func).parameters)
    with_options = getattr(_pagination.Paginator, "with_options", None)
    return {
        "shards": "shards" in list_params,
        "prefetch_list": "prefetch" in list_params,
        "prefetch_paginator": "prefetch" in paginator_params,
        "with_options": with_options is not None
        and "prefetch" in inspect.signature(with_options).parameters,
        "bulk": importlib.util.find_spec("harvest_async.bulk") is not None,
    }


def describe_features(feat: dict[str, Any]) -> str:
    parts = [
        f"`time_entries.list(shards=)`: {'yes' if feat['shards'] else 'no'}",
        "page prefetch: "
        + (
            "`list(prefetch=)`"
            if feat["prefetch_list"]
            else "`Paginator(prefetch=)`"
            if feat["prefetch_paginator"]
            else "no"
        ),
        "`Paginator.with_options()`: " + ("yes" if feat["with_options"] else "no"),
        f"`harvest_async.bulk`: {'yes' if feat['bulk'] else 'no'}",
    ]
    return "; ".join(parts)


def make_list(
    client: Any,
    name: str,
    feat: dict[str, Any],
    *,
    sequential: bool,
    shards: int = 8,
    span: tuple[str, str] | None = None,
    **kwargs: Any,
) -> Any:
    """``client.<name>.list(**kwargs)``: the best the library offers, or strictly serial.

    Best: where ``list()`` takes ``shards=`` and a ``span`` (``from_``, ``to``: the
    account's spent-date history) is known, ``shards`` date ranges walked concurrently;
    prefetch and concurrent pages are the paginator's defaults. Sequential:
    ``prefetch=0`` (and concurrency 1) wherever a knob exists, no page fetched ahead.
    """
    resource = getattr(client, name)
    params = inspect.signature(resource.list).parameters
    if sequential:
        if "prefetch" in params:
            kwargs["prefetch"] = 0
    elif "shards" in params and shards > 1 and span is not None:
        kwargs.update(shards=shards, from_=span[0], to=span[1])
    pager = resource.list(**kwargs)
    if sequential and feat["with_options"]:
        pager = pager.with_options(prefetch=0, concurrency=1)
    return pager


class OneAtATime:
    """Wraps a rate limiter so that at most one request is in flight: the sequential mode.

    The client acquires before each attempt and releases when it ends, so this enforces
    "one request at a time" whatever the paginator or the sync do above it.
    """

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self._gate = asyncio.Semaphore(1)

    async def acquire(self) -> Any:
        await self._gate.acquire()
        try:
            return await self.inner.acquire()
        except BaseException:
            self._gate.release()
            raise

    async def release(self, handle: Any) -> None:
        try:
            await self.inner.release(handle)
        finally:
            self._gate.release()

    async def pause(self, seconds: float) -> None:
        await self.inner.pause(seconds)


def proc_status() -> dict[str, int]:
    """``VmRSS`` and ``VmHWM`` (the kernel's peak RSS) of this process, in kB."""
    out: dict[str, int] = {}
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, value = line.split(":", 1)
                out[key] = int(value.split()[0])
    return out


def reset_peak() -> bool:
    """Reset the kernel's peak-RSS mark (VmHWM) to the current RSS, where allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return True


def entries_spec(per_page: int) -> Any:
    """The sync's ``time_entries`` resource, listed ``per_page`` entries a page."""
    from harvest_async.sync import RESOURCES, ResourceSpec

    (entries,) = [s for s in RESOURCES if s.name == "time_entries"]

    def list_all(client: Any, since: Any) -> Any:
        if since is None:
            return client.time_entries.list(per_page=per_page)
        return client.time_entries.list(per_page=per_page, updated_since=since)

    return ResourceSpec("time_entries", list_all, get_one=entries.get_one)


def bench_client(info: Any, limiter: Any) -> Any:
    """A `HarvestClient` of the simulator ``info`` (a `SimProcess` or its info dict)."""
    from harvest_async import HarvestClient

    def get(key: str) -> Any:
        return info[key] if isinstance(info, dict) else getattr(info, key)

    return HarvestClient(
        access_token=get("access_token"),
        account_id=get("account_id"),
        base_url=get("base_url"),
        rate_limiter=limiter,
        user_agent=USER_AGENT,
    )


def setup_text(doc: str | None) -> str:
    """A script docstring's body as markdown: after its first paragraph, before ``Usage:``."""
    body = (doc or "").split("\n\n", 1)[-1]
    return body.split("Usage:", 1)[0].strip().replace("``", "`")


def target(metric: str, value: str, goal: str, met: bool | None) -> dict[str, Any]:
    return {"metric": metric, "value": value, "target": goal, "met": met}


def md_table(header: list[str], rows: list[list[Any]], align: str | None = None) -> str:
    align = align or "l" + "r" * (len(header) - 1)
    sep = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(sep) + " |"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def render(result: dict[str, Any]) -> str:
    out = [f"## {result['title']}", ""]
    if result.get("setup"):
        out += [result["setup"], ""]
    if result.get("table"):
        out += [result["table"], ""]
    if result.get("targets"):
        out += [
            md_table(
                ["figure", "value", "target", "met"],
                [
                    [t["metric"], t["value"], t["target"], met_text(t["met"])]
                    for t in result["targets"]
                ],
                "lrll",
            ),
            "",
        ]
    for note in result.get("notes", []):
        out.append(f"- {note}")
    if result.get("notes"):
        out.append("")
    return "\n".join(out)


def met_text(met: bool | None) -> str:
    return "n/a" if met is None else ("yes" if met else "**no**")


def bench_main(run: Callable[[bool], dict[str, Any]]) -> None:
    """Command line of each ``bench_*.py``: ``[--quick] [--json PATH]``."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--json", help="also write the result dict here")
    args = parser.parse_args()
    result = run(args.quick)
    result["quick"] = args.quick
    print(render(result), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
