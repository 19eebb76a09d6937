"""Run the benchmarks and write ``benchmarks/RESULTS.md``.

Usage::

    python benchmarks/run.py               # everything (~10 min on 2 cores)
    python benchmarks/run.py --quick       # a short smoke run (~1.5 min)
    python benchmarks/run.py --only decode # one benchmark (repeatable)
    python benchmarks/run.py --only decode --update benchmarks/RESULTS.md
                                           # its section and summary rows replaced there
    nox -s bench                           # the same as the first, in nox's venv

Each benchmark runs in its own process (``python benchmarks/bench_NAME.py --json ...``),
against the ``harvest_async.testing.HarvestSimulator`` on 127.0.0.1; a benchmark that
fails is reported as failed and the others still run. A full run writes
``benchmarks/RESULTS.md``; ``--quick`` and ``--only`` print the same report and write
it only where ``--output`` says (so a smoke run never replaces the full figures), or,
with ``--update``, replace in an existing report the sections and summary rows of the
benchmarks run, leaving the others as they are (a line of its header says which
sections were run again, when, and by which command).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import describe_features, features, met_text, render  # noqa: E402

#: name -> script, in report order.
BENCHMARKS = {
    "throughput": "bench_throughput.py",
    "decode": "bench_decode.py",
    "memory": "bench_memory.py",
    "limiter": "bench_limiter.py",
    "tap_harvest": "bench_tap_harvest.py",
    "redis_limiter": "bench_redis_limiter.py",
    "lanes": "bench_lanes.py",
    "sync_targets": "bench_sync_targets.py",
    "sync_big": "bench_sync_big.py",
}


def machine() -> dict[str, str]:
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        with open("/proc/meminfo") as f:
            mem_kb = int(f.readline().split()[1])
        memory = f"{mem_kb / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        memory = "unknown"
    import aiohttp

    from harvest_async import __version__ as version

    return {
        "CPU": cpu,
        "cores": str(os.cpu_count()),
        "memory": memory,
        "OS": f"{platform.system()} {platform.release()}",
        "Python": f"{platform.python_implementation()} {platform.python_version()}",
        "harvest_async": str(version),
        "aiohttp": aiohttp.__version__,
    }


def _redis_server() -> str | None:
    return os.environ.get("REDIS_SERVER") or shutil.which("redis-server")


def run_redis(quick: bool) -> dict[str, Any]:
    """bench_redis_limiter.py prints its own markdown table: wrap it as a result."""
    title = "6. Shared limiter: RedisRateLimiter across processes"
    binary = _redis_server()
    if binary is None:
        return {
            "name": "redis_limiter",
            "title": title,
            "notes": ["skipped: no redis-server"],
            "skipped": "no redis-server",
            "targets": [],
        }
    args = ["--workers", "4", "--requests", "100" if quick else "250"]
    cmd = [sys.executable, str(HERE / "bench_redis_limiter.py"), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-3000:] or proc.stdout[-3000:])
    return {
        "name": "redis_limiter",
        "title": title,
        "setup": (
            "`benchmarks/bench_redis_limiter.py " + " ".join(args) + "` (its own "
            f"loopback server, not the simulator; redis-server: `{binary}`): several OS "
            "processes share one budget through Redis, against a `TokenBucket` each."
        ),
        "table": proc.stdout.strip(),
        "targets": [],
        "notes": [],
    }


def run_one(name: str, quick: bool, timeout: float) -> dict[str, Any]:
    if name == "redis_limiter":
        return run_redis(quick)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        cmd = [sys.executable, str(HERE / BENCHMARKS[name]), "--json", str(out)]
        if quick:
            cmd.append("--quick")
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=timeout)
        if proc.returncode != 0 or not out.exists():
            raise RuntimeError((proc.stderr or proc.stdout)[-3000:])
        result: dict[str, Any] = json.loads(out.read_text())
        return result


def report(
    results: list[dict[str, Any]],
    args: argparse.Namespace,
    command: str,
    started: dt.datetime,
    seconds: float,
) -> str:
    info = machine()
    lines = [
        "# Benchmark results",
        "",
        "Generated by `benchmarks/run.py`; do not edit by hand.",
        "",
        f"- Command: `{command}`" + (" (quick smoke run: smaller data)" if args.quick else ""),
        f"- Date: {started.strftime('%Y-%m-%d %H:%M UTC')} (took {seconds / 60:.1f} min)",
        f"- Machine: {info['CPU']}, {info['cores']} cores, {info['memory']} RAM, {info['OS']}",
        f"- Python: {info['Python']}; harvest_async {info['harvest_async']}; "
        f"aiohttp {info['aiohttp']}",
        f"- Library throughput features found: {describe_features(features())}",
        "- Server: `harvest_async.testing.HarvestSimulator` on 127.0.0.1 (benchmarks 1, 3 "
        "and 5 run it in a separate process, so its CPU and memory are not the client's).",
        "",
        "## Summary",
        "",
        "| benchmark | figure | value | target | met |",
        "| --- | --- | ---: | --- | --- |",
    ]
    parts = report_parts(results)
    for rows, _ in parts:
        lines += rows
    lines.append("")
    lines += [section for _, section in parts]
    return "\n".join(lines).rstrip() + "\n"


def _number(title: str) -> str:
    """``"8."`` of ``"8. Sync targets: ..."``: what a section and its summary rows start with."""
    return title.split(" ", 1)[0]


def update(existing: str, results: list[dict[str, Any]], command: str, when: dt.datetime) -> str:
    """``existing`` (a full report) with the sections and summary rows of ``results``."""
    fresh = report_parts(results)
    lines = existing.rstrip("\n").split("\n")
    for result, (rows, section) in zip(results, fresh, strict=True):
        number = _number(result["title"])
        at = [i for i, line in enumerate(lines) if line.startswith(f"| {number} ")]
        if at:
            lines[at[0] : at[-1] + 1] = rows
        else:  # a benchmark the report did not have: its rows go last in the summary
            summary = lines.index("## Summary")
            end = next(i for i, line in enumerate(lines) if line.startswith("## ") and i > summary)
            lines[end - 1 : end - 1] = rows
        heads = [i for i, line in enumerate(lines) if line.startswith("## ")]
        start = next((i for i in heads if lines[i].startswith(f"## {number} ")), None)
        body = [*section.rstrip("\n").split("\n"), ""]
        if start is None:
            lines += ["", *body]
        else:
            end = next((i for i in heads if i > start), len(lines))
            lines[start:end] = body
    names = ", ".join(_number(r["title"]).rstrip(".") for r in results)
    label = f"- Section{'s' if len(results) > 1 else ''} {names} run again:"
    note = f"{label} {when.strftime('%Y-%m-%d %H:%M UTC')}, `{command}`"
    lines = [line for line in lines if not line.startswith(label)]
    head = next(i for i, line in enumerate(lines) if line.startswith("- Server:"))
    lines.insert(head + 1, note)
    return "\n".join(lines).rstrip() + "\n"


def report_parts(results: list[dict[str, Any]]) -> list[tuple[list[str], str]]:
    """Per result: its summary rows and its section, as `report` writes them."""
    parts = []
    for r in results:
        rows = []
        if r.get("error"):
            rows.append(f"| {r['title']} | (failed) | | | **no** |")
        elif r.get("skipped"):
            rows.append(f"| {r['title']} | skipped: {r['skipped']} | | | n/a |")
        rows += [
            f"| {r['title'].split(':')[0]} | {t['metric']} | {t['value']} "
            f"| {t['target']} | {met_text(t['met'])} |"
            for t in r.get("targets", [])
        ]
        if r.get("error"):
            section = "\n".join(
                [f"## {r['title']}", "", "**Failed:**", "", "```", r["error"].strip(), "```", ""]
            )
        else:
            section = render(r)
        parts.append((rows, section))
    return parts


TITLES = {
    "throughput": "1. Throughput",
    "decode": "2. Decoding",
    "memory": "3. Memory",
    "limiter": "4. Limiter overhead",
    "tap_harvest": "5. tap-harvest",
    "redis_limiter": "6. Shared limiter (Redis)",
    "lanes": "7. Priority lanes",
    "sync_targets": "8. Sync targets",
    "sync_big": "9. A million time entries",
}


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the harvest_async benchmarks.")
    parser.add_argument("--quick", action="store_true", help="short smoke run, small data")
    parser.add_argument(
        "--only",
        action="append",
        choices=sorted(BENCHMARKS),
        metavar="NAME",
        help=f"run only NAME ({', '.join(BENCHMARKS)})",
    )
    parser.add_argument(
        "--output",
        help="write the report here (default for a full run: "
        "benchmarks/RESULTS.md; --quick/--only: not written)",
    )
    parser.add_argument(
        "--update",
        metavar="REPORT",
        help="replace the sections and summary rows of the benchmarks run in this "
        "existing report (the others are kept)",
    )
    args = parser.parse_args()
    names = [n for n in BENCHMARKS if not args.only or n in args.only]
    output = args.output or (None if args.quick or args.only else str(HERE / "RESULTS.md"))
    given = "".join(" " + shlex.quote(a) for a in sys.argv[1:])
    command = "python benchmarks/run.py" + given
    if os.environ.get("NOX_CURRENT_SESSION"):
        command = "nox -s bench" + (f" --{given}" if given else "")
    started = dt.datetime.now(dt.UTC)
    t0 = time.perf_counter()
    results = []
    for name in names:
        print(f"== {name} ...", file=sys.stderr, flush=True)
        t = time.perf_counter()
        try:
            result = run_one(name, args.quick, timeout=300 if args.quick else 900)
        except Exception as exc:  # report it, run the rest
            result = {"name": name, "title": TITLES[name], "error": str(exc)}
        print(f"   {name}: {time.perf_counter() - t:.1f} s", file=sys.stderr, flush=True)
        results.append(result)
    text = report(results, args, command, started, time.perf_counter() - t0)
    print(text)
    if output:
        Path(output).write_text(text)
        print(f"written to {output}", file=sys.stderr)
    if args.update and not args.quick:
        path = Path(args.update)
        path.write_text(update(path.read_text(), results, command, started))
        print(f"updated {path}", file=sys.stderr)
    if any(r.get("error") for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
