"""A real peer: the Singer tap ``tap-harvest`` against harvest_async, same job, same data.

The job: extract every time entry of the account (``updated_since`` the config's
``start_date``, 2000-01-01, so all of them) and write each as a Singer ``RECORD`` line on
stdout. The parent process counts the ``RECORD`` lines from a pipe, the same way for both.

- **tap-harvest** 3.1.1 from PyPI, unmodified, in its own virtualenv
  (``benchmarks/.venv-tap-harvest``, made here on first use with ``pip install
  tap-harvest==3.1.1``), run through ``benchmarks/tap_harvest_harness.py``, which points
  its Harvest ID and API URLs at the simulator and calls the tap's ``main()`` with a
  config (OAuth2 client id/secret and a refresh token issued by the simulator) and a
  catalog selecting only ``time_entries``. The tap walks page by page (``page=N``,
  Harvest's default ``per_page`` of 2000), one request at a time, transforming each
  record against its JSON schema.
- **harvest_async**: a fresh process with ``HarvestClient`` (``TokenBucket`` matching the
  limit) streaming ``client.time_entries.list(updated_since=...)`` (the library's best
  settings: default prefetch, and ``shards=`` where ``list()`` takes it) and writing
  ``{"type": "RECORD", "stream": "time_entries", "record": ...}`` per entry with the
  record as the library serializes it (``harvest_async.sync.record_json``).
- **server ceiling** (for context): plain aiohttp + ``json.loads`` following
  ``links.next`` one request at a time, counting entries, no models, no output — how
  fast the simulator serves the pages to a sequential reader.

The simulator runs in its own process with Harvest's limit and a typical latency both
scaled 10x down (100 requests per rolling 1.5 s, 25 ms ± 5 ms), the same for every
client. Records/s are over each client's own sync (after its imports; the tap's token
refresh and account check included), with whole-process wall time shown too.
"""

from __future__ import annotations

import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import IO, Any

from _common import (
    HERE,
    SCALED_LATENCY,
    SCALED_LIMIT,
    USER_AGENT,
    bench_main,
    describe_features,
    features,
    make_list,
    md_table,
    target,
)
from _simproc import SimProcess

NAME = "tap_harvest"
TITLE = "5. A real peer: tap-harvest vs harvest_async, every time entry"
TAP_VERSION = "3.1.1"
VENV = HERE / ".venv-tap-harvest"
HARNESS = HERE / "tap_harvest_harness.py"
START_DATE = "2000-01-01T00:00:00Z"
TARGET_RATIO = 10.0
SHARDS = 8


class SkipBenchmark(Exception):
    """The benchmark cannot run here (said why)."""


def venv_python() -> Path:
    return VENV / "bin" / "python"


def ensure_tap_venv() -> str:
    """Make the tap's virtualenv if needed; return the installed tap-harvest version."""
    python = venv_python()
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    probe = [str(python), "-c", "import importlib.metadata as m; print(m.version('tap-harvest'))"]
    found = subprocess.run(probe, capture_output=True, text=True, check=False)
    if found.returncode != 0:
        install = subprocess.run(
            [str(python), "-m", "pip", "install", "-q", f"tap-harvest=={TAP_VERSION}"],
            capture_output=True,
            text=True,
            check=False,
        )
        if install.returncode != 0:
            raise SkipBenchmark(
                f"could not install tap-harvest=={TAP_VERSION}: {install.stderr[-500:]}"
            )
        found = subprocess.run(probe, capture_output=True, text=True, check=True)
    return found.stdout.strip()


def _refresh_token(sim: SimProcess) -> str:
    data = urllib.parse.urlencode(
        {
            "grant_type": "authorization_code",
            "code": sim.authorization_code(),
            "client_id": sim.client_id,
            "client_secret": sim.client_secret,
        }
    ).encode()
    request = urllib.request.Request(
        f"{sim.id_base_url}/api/v2/oauth2/token", data=data, headers={"User-Agent": USER_AGENT}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return str(json.loads(response.read())["refresh_token"])


def _count_records(stream: IO[bytes], out: dict[str, Any]) -> None:
    records = 0
    first = last = None
    for line in stream:
        if line.startswith((b'{"type": "RECORD"', b'{"type":"RECORD"')):
            records += 1
            last = time.perf_counter()
            if first is None:
                first = last
    out.update(records=records, first=first, last=last)


def _run_counted(cmd: list[str]) -> dict[str, Any]:
    """Run ``cmd``, count RECORD lines on its stdout; its stderr's last line has seconds."""
    start = time.perf_counter()
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    assert proc.stderr is not None
    counted: dict[str, Any] = {}
    err_chunks: list[bytes] = []
    reader = threading.Thread(target=_count_records, args=(proc.stdout, counted))
    err_reader = threading.Thread(target=lambda: err_chunks.append(proc.stderr.read()))
    reader.start()
    err_reader.start()
    proc.wait()
    reader.join()
    err_reader.join()
    wall = time.perf_counter() - start
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    err = b"".join(err_chunks).decode(errors="replace")
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[1]} failed ({proc.returncode}): {err[-3000:]}")
    seconds = None
    for line in reversed(err.splitlines()):
        if line.startswith("HARNESS_SECONDS "):
            seconds = float(line.split()[1])
            break
    return {**counted, "wall": wall, "seconds": seconds, "cpu": cpu}


# ------------------------------------------------------------------ harvest_async side


async def _client_job(
    base_url: str, token: str, account: str, mode: str, span: tuple[str, str]
) -> float:
    """Child process: the same job as the tap, with harvest_async (or the raw ceiling)."""
    start = time.perf_counter()
    out = sys.stdout.buffer
    if mode == "raw":
        import aiohttp

        count = 0
        async with aiohttp.ClientSession(
            headers={
                "Authorization": f"Bearer {token}",
                "Harvest-Account-Id": account,
                "User-Agent": USER_AGENT,
            }
        ) as http:
            url: str | None = f"{base_url}/time_entries?updated_since={START_DATE}"
            while url:
                async with http.get(url) as response:
                    body = await response.read()
                page = json.loads(body)
                count += len(page["time_entries"])
                out.write(b'{"type": "RECORD"}\n' * len(page["time_entries"]))
                url = page["links"]["next"]
        return time.perf_counter() - start

    from _common import features as _features

    from harvest_async import HarvestClient, TokenBucket
    from harvest_async.sync import record_json

    feat = _features()
    async with HarvestClient(
        access_token=token,
        account_id=account,
        base_url=base_url,
        rate_limiter=TokenBucket(*SCALED_LIMIT),
        user_agent=USER_AGENT,
    ) as client:
        pager = make_list(
            client,
            "time_entries",
            feat,
            sequential=False,
            shards=SHARDS,
            span=span,
            updated_since=START_DATE,
        )
        prefix = b'{"type":"RECORD","stream":"time_entries","record":'
        async for page in pager.pages():
            out.write(
                b"".join(prefix + record_json(entry).encode() + b"}\n" for entry in page.items)
            )
    out.flush()
    return time.perf_counter() - start


def _client_cmd(sim: SimProcess, mode: str) -> list[str]:
    return [
        sys.executable,
        str(Path(__file__).resolve()),
        "--client",
        mode,
        sim.base_url,
        sim.access_token,
        str(sim.account_id),
        *sim.history,
    ]


# ------------------------------------------------------------------ the benchmark


def run(quick: bool) -> dict[str, Any]:
    n = 10_000 if quick else 100_000
    version = ensure_tap_venv()
    feat = features()
    config = {
        "seed": 0,
        "time_entries": n,
        "rate_limit": list(SCALED_LIMIT),
        "latency": list(SCALED_LATENCY),
        "max_log": 100_000,
    }
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp, SimProcess(config) as sim:
        catalog = Path(tmp) / "catalog.json"
        subprocess.run(
            [str(venv_python()), str(HARNESS), "catalog", str(catalog)],
            check=True,
            capture_output=True,
        )
        tap_config = Path(tmp) / "config.json"
        tap_config.write_text(
            json.dumps(
                {
                    "client_id": sim.client_id,
                    "client_secret": sim.client_secret,
                    "refresh_token": _refresh_token(sim),
                    "start_date": START_DATE,
                    "user_agent": USER_AGENT,
                }
            )
        )
        runs = [
            (
                f"tap-harvest {version}",
                [
                    str(venv_python()),
                    str(HARNESS),
                    "run",
                    str(tap_config),
                    str(catalog),
                    sim.base_url,
                    sim.id_base_url,
                ],
            ),
            ("harvest_async", _client_cmd(sim, "lib")),
            (
                "server ceiling (aiohttp + json.loads, no models, no output)",
                _client_cmd(sim, "raw"),
            ),
        ]
        for label, cmd in runs:
            sim.reset()
            out = _run_counted(cmd)
            stats = sim.stats()
            if stats["errors"]:
                raise RuntimeError(f"simulator errors: {stats['errors']}")
            if out["records"] != n:
                raise RuntimeError(f"{label}: {out['records']} records, expected {n}")
            results.append({"label": label, **out, **stats})
    rows = []
    for r in results:
        rows.append(
            [
                r["label"],
                f"{r['records']:,}",
                r["requests"],
                r["throttled"],
                f"{r['seconds']:.2f}",
                f"{r['records'] / r['seconds']:,.0f}",
                f"{r['wall']:.2f}",
                f"{r['server_seconds']:.2f}",
                f"{r['cpu']:.2f}",
                f"{r['records'] / r['cpu']:,.0f}",
            ]
        )
    tap, lib, ceiling = results
    lib_rate = lib["records"] / lib["seconds"]
    ratio = lib_rate / (tap["records"] / tap["seconds"])
    wall_ratio = tap["wall"] / lib["wall"]
    cpu_ratio = tap["cpu"] / lib["cpu"]
    # The tap waits for each answer in turn: its time less the server's is its own.
    tap_own = max(tap["seconds"] - tap["server_seconds"], 1e-9)
    tap_own_rate = tap["records"] / tap_own
    fair = lib_rate / tap_own_rate
    targets = [
        target(
            "harvest_async records/s ÷ tap-harvest's own records/s (the tap's time "
            "waiting on the simulator taken out; harvest_async's left in)",
            f"{fair:.1f}x",
            f">= {TARGET_RATIO:g}x",
            fair >= TARGET_RATIO,
        ),
        target(
            "harvest_async records/s ÷ tap-harvest records/s, raw sync time (the "
            "tap's waits on the simulator included)",
            f"{ratio:.1f}x",
            "(report)",
            None,
        ),
        target("same, whole-process wall time", f"{wall_ratio:.1f}x", "(report)", None),
        target("same, per client CPU second", f"{cpu_ratio:.1f}x", "(report)", None),
        target(
            "harvest_async records/s ÷ server ceiling records/s",
            f"{lib_rate / (ceiling['records'] / ceiling['seconds']):.2f}",
            "(report)",
            None,
        ),
        target(
            "records/s: harvest_async / tap-harvest own / tap-harvest raw",
            f"{lib_rate:,.0f} / {tap_own_rate:,.0f} / {tap['records'] / tap['seconds']:,.0f}",
            "(report)",
            None,
        ),
        target("429s, tap-harvest", str(tap["throttled"]), "0", tap["throttled"] == 0),
        target("429s, harvest_async", str(lib["throttled"]), "0", lib["throttled"] == 0),
    ]
    notes = [
        f"Library features found and used: {describe_features(feat)}"
        + (
            f" (`shards={SHARDS}`, `from_`/`to` = the account's spent-date history)."
            if feat["shards"]
            else "."
        ),
        "tap-harvest does not send `per_page` (its `page_size = 100` attribute is unused), "
        "so both clients get Harvest's default 2000 per page; the tap adds `page=N`, "
        "which makes Harvest (and the simulator) answer page-based.",
        '"server busy" sums, over the client\'s requests, the time from arrival to '
        "answer at the simulator (the 25 ms latency included). The target is judged on "
        "the tap's own rate: its sync time less the simulator's busy time on its requests "
        "(it sends one request at a time, so that is time it only waited); harvest_async "
        "keeps its waits. The simulator indexes a filtered page-based list on its first "
        "page (`testing/_pagination.py`, `PageIndex`), so the tap's later pages cost it "
        "only their own rows, as with Harvest.",
        "harvest_async's figure includes serializing every record to JSON "
        "(`record_json`). The server-ceiling row is a plain client (aiohttp + "
        "`json.loads`, one request at a time, no models, no output): how fast the "
        "simulator serves pages to a sequential reader; harvest_async's concurrent "
        "shards can exceed it.",
    ]
    return {
        "name": NAME,
        "title": TITLE,
        "setup": (__doc__ or "").split("\n\n", 1)[1].strip().replace("``", "`")
        + f"\n\n{n:,} time entries.",
        "table": md_table(
            [
                "client",
                "records",
                "requests",
                "429s",
                "sync seconds",
                "records/s",
                "process wall s",
                "server busy s",
                "client CPU s",
                "records per CPU s",
            ],
            rows,
        ),
        "targets": targets,
        "notes": notes,
    }


def _run_or_skip(quick: bool) -> dict[str, Any]:
    try:
        return run(quick)
    except SkipBenchmark as exc:
        return {
            "name": NAME,
            "title": TITLE,
            "setup": "",
            "table": "",
            "targets": [],
            "notes": [f"skipped: {exc}"],
            "skipped": str(exc),
        }


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--client":
        mode, base, token, account, first, last = sys.argv[2:8]
        seconds = asyncio.run(_client_job(base, token, account, mode, (first, last)))
        print(f"HARNESS_SECONDS {seconds:.6f}", file=sys.stderr, flush=True)
    else:
        bench_main(_run_or_skip)
