"""Run by tests/test_one_description.py against a scratch copy of the package.

Usage: ``python one_description_probe.py ROOT SPEC``. ``ROOT`` holds the scratch
``harvest_async`` (it must be the one imported); ``SPEC`` is JSON naming the probed
field of a record (see ``Probe``), or of a report's rows (``{"report": "time/clients",
"field": "x_probe"}``). Prints one JSON object: what each consumer made of the field.
Each consumer is one function of ``CONSUMERS`` (``REPORT_CONSUMERS``); a new consumer
of responses is a new function there and an assertion in the test.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, NotRequired, TypedDict

import aiohttp

import harvest_async
from harvest_async.testing import HarvestSimulator

#: The value stored under the probed field of one record.
VALUE = "stored by the probe"


class Probe(TypedDict):
    """The field probed, and where it is seen.

    kind: The resource served (``"time_entries"``).
    path: Keys from a served record down to the field (``["x_probe"]``, or
        ``["project", "x_probe"]`` for a field of a nested reference).
    store: The kind whose record holds the value (``kind`` itself, or the referenced
        kind such as ``"projects"``).
    via: How the value gets there: ``"world"`` (written into the stored record) or
        ``"patch"`` (sent as a field of ``PATCH /<store>/<id>``, which the simulator
        must accept).
    consumers: The names of the `CONSUMERS` to run (default: all of them).
    """

    kind: str
    path: list[str]
    store: str
    via: str
    consumers: NotRequired[list[str]]


def dig(value: Any, path: list[str]) -> Any:
    """``value[path[0]][path[1]]...``, by keys of dicts or attributes of models."""
    for key in path:
        value = value[key] if isinstance(value, dict) else getattr(value, key)
    return value


def store_value(sim: HarvestSimulator, kind: str, rid: int, field: str, value: Any) -> None:
    """Give the stored record ``kind``/``rid`` a value for ``field``."""
    w = sim.world
    if kind in ("time_entries", "expenses"):
        lazy = getattr(w, kind)
        row = lazy.get(rid)
        assert row is not None
        lazy.put({**row, field: value})
    else:
        row = w.table(kind).get(rid)
        assert row is not None
        row[field] = value
    w.touch_refs(kind, rid)
    w.version += 1


async def fetch(sim: HarvestSimulator, path: str, method: str = "GET", body: Any = None) -> Any:
    """The JSON the simulator answers at ``path`` (a plain HTTP client, not the library)."""
    headers = {
        "Authorization": f"Bearer {sim.access_token}",
        "Harvest-Account-Id": str(sim.account_id),
        "User-Agent": "one description probe (dev@example.com)",
    }
    async with (
        aiohttp.ClientSession(headers=headers) as http,
        http.request(method, f"{sim.base_url}/{path}", json=body) as resp,
    ):
        assert resp.status == 200, await resp.text()
        return await resp.json()


async def served(sim: HarvestSimulator, probe: Probe, rid: int) -> dict[str, Any]:
    """The record as served: whether the key is there, and its value."""
    body = await fetch(sim, f"{probe['kind']}/{rid}")
    parent = dig(body, probe["path"][:-1])
    return {"has_key": probe["path"][-1] in parent, "value": parent.get(probe["path"][-1])}


async def decoded(sim: HarvestSimulator, probe: Probe, rid: int) -> dict[str, Any]:
    """The record as the client decodes it: by ``get``, and the values seen in its list."""
    async with sim.client() as harvest:
        resource = getattr(harvest, probe["kind"])
        one = await resource.get(rid)
        listed = [r async for r in resource.list(per_page=2000)]
    values = {repr(dig(r, probe["path"])) for r in listed if dig(r, probe["path"][:-1])}
    return {
        "model": type(dig(one, probe["path"][:-1])).__name__,
        "get": dig(one, probe["path"]),
        "listed": [dig(r, probe["path"]) for r in listed if r.id == rid],
        "list_values": sorted(values),
    }


def column_name(path: list[str]) -> str:
    """The flat column of a field, as sync tables and the CSV export name it
    (``["project", "x_probe"]`` -> ``project_x_probe``)."""
    return "_".join(path)


async def run_cli(sim: HarvestSimulator, *args: str) -> None:
    """Run ``harvest-async ARGS`` in a process of its own, pointed at ``sim`` the way a
    user points it at ``python -m harvest_async.testing serve``: by the environment."""
    env = {
        **os.environ,
        "HARVEST_BASE_URL": sim.base_url,
        "HARVEST_ACCESS_TOKEN": sim.access_token,
        "HARVEST_ACCOUNT_ID": str(sim.account_id),
        "HARVEST_USER_AGENT": "one description probe (dev@example.com)",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "harvest_async",
        *args,
        "--quiet",
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, err = await proc.communicate()
    assert proc.returncode == 0, f"harvest-async {' '.join(args)}: {err.decode()[-2000:]}"


def column_report(name: str, columns: list[str], rows: dict[int, Any], rid: int) -> dict[str, Any]:
    """Whether ``name`` is a column, and (if so) its value for ``rid`` and all its values."""
    if name not in columns:
        return {"column": name, "has_column": False, "rows": len(rows)}
    return {
        "column": name,
        "has_column": True,
        "value": rows[rid],
        "values": sorted({repr(v) for v in rows.values()}),
    }


async def mirrored(sim: HarvestSimulator, probe: Probe, rid: int) -> dict[str, Any]:
    """The field in a SQLite mirror written by ``harvest-async sync --resources <kind>``."""
    table, name = probe["kind"], column_name(probe["path"])
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "mirror.sqlite"
        await run_cli(sim, "sync", "--db", str(db), "--resources", table)
        with contextlib.closing(sqlite3.connect(db)) as con:
            columns = [row[1] for row in con.execute(f'PRAGMA table_info("{table}")')]
            chosen = f'"{name}"' if name in columns else "NULL"
            rows = dict(con.execute(f'SELECT id, {chosen} FROM "{table}"').fetchall())
    return column_report(name, columns, rows, rid)


async def exported(sim: HarvestSimulator, probe: Probe, rid: int) -> dict[str, Any]:
    """The field in ``harvest-async export <kind> --format csv`` (an empty cell is null)."""
    name = column_name(probe["path"])
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "export.csv"
        await run_cli(sim, "export", probe["kind"], "--format", "csv", "-o", str(out))
        with out.open(newline="", encoding="utf-8") as file:
            reader = csv.DictReader(file)
            lines = list(reader)
            columns = list(reader.fieldnames or [])
    rows = {int(line["id"]): line.get(name) or None for line in lines}
    return column_report(name, columns, rows, rid)


#: The window of the reports probed (the seeded data spans it).
REPORT_WINDOW = {"from": "2024-01-01", "to": "2024-12-30"}


async def served_report(sim: HarvestSimulator, report: str, field: str) -> dict[str, Any]:
    """A report's rows as served: how many, whether each has the key, the values."""
    query = "&".join(f"{k}={v.replace('-', '')}" for k, v in REPORT_WINDOW.items())
    rows = (await fetch(sim, f"reports/{report}?{query}"))["results"]
    return {
        "rows": len(rows),
        "has_key": all(field in r for r in rows),
        "values": sorted({repr(r.get(field)) for r in rows}),
    }


async def decoded_report(sim: HarvestSimulator, report: str, field: str) -> dict[str, Any]:
    """A report's rows as the client decodes them (``time/clients``: by
    ``harvest.reports.time.clients``)."""
    async with sim.client() as harvest:
        call: Any = harvest.reports
        for name in report.split("/"):
            call = getattr(call, name)
        kwargs = {"from_": REPORT_WINDOW["from"], "to": REPORT_WINDOW["to"]}
        if report == "project_budget":
            kwargs = {}
        rows = [r async for r in call(**kwargs)]
    return {
        "models": sorted({type(r).__name__ for r in rows}),
        "values": sorted({repr(getattr(r, field)) for r in rows}),
    }


ReportConsumer = Callable[[HarvestSimulator, str, str], Awaitable[dict[str, Any]]]
#: Every consumer of a report's rows, by name.
REPORT_CONSUMERS: dict[str, ReportConsumer] = {
    "served": served_report,
    "decoded": decoded_report,
}


async def main_report(report: str, field: str) -> dict[str, Any]:
    """What each consumer makes of ``field`` in the rows of ``report``."""
    async with HarvestSimulator(seed=0, rate_limit=(100_000, 1.0)) as sim:
        result = {name: await run(sim, report, field) for name, run in REPORT_CONSUMERS.items()}
        result["errors"] = [repr(e) for e in sim.errors]
    return result


Consumer = Callable[[HarvestSimulator, Probe, int], Awaitable[dict[str, Any]]]
#: Every consumer of the probed record, by name.
CONSUMERS: dict[str, Consumer] = {
    "served": served,
    "decoded": decoded,
    "mirrored": mirrored,
    "exported": exported,
}


def check_imported_from(root: Path) -> None:
    """Fail unless the package imported is the copy under ``root``."""
    imported = Path(harvest_async.__file__).resolve()
    assert imported.is_relative_to(root.resolve()), f"imported {imported}, not the copy"


async def main(probe: Probe) -> dict[str, Any]:
    report: dict[str, Any] = {}
    chosen = {name: CONSUMERS[name] for name in probe.get("consumers", list(CONSUMERS))}
    async with HarvestSimulator(seed=0, rate_limit=(100_000, 1.0)) as sim:
        rid = sim.records(probe["kind"], limit=1)[0]["id"]
        report["before"] = {name: await run(sim, probe, rid) for name, run in chosen.items()}
        stored = rid
        if probe["store"] != probe["kind"]:
            stored = dig(sim.record(probe["kind"], rid), probe["path"][:-1])["id"]
        if probe["via"] == "patch":
            await fetch(sim, f"{probe['store']}/{stored}", "PATCH", {probe["path"][-1]: VALUE})
        else:
            store_value(sim, probe["store"], stored, probe["path"][-1], VALUE)
        report["after"] = {name: await run(sim, probe, rid) for name, run in chosen.items()}
        report["errors"] = [repr(e) for e in sim.errors]
    return report


if __name__ == "__main__":
    check_imported_from(Path(sys.argv[1]))
    spec = json.loads(sys.argv[2])
    if "report" in spec:
        result = asyncio.run(main_report(spec["report"], spec["field"]))
    else:
        result = asyncio.run(main(spec))
    print(json.dumps(result))
