"""The simulator in its own process, so its CPU and memory are not the client's.

``SimProcess(config)`` starts ``python benchmarks/_simproc.py CONFIG_JSON``, which runs a
:class:`harvest_async.testing.HarvestSimulator` on 127.0.0.1 and answers one-line JSON
commands on stdin: ``stats``, ``reset``, ``code`` (an OAuth2 authorization code) and
``quit``. The parent reads the simulator's URLs and credentials from its first line.

Config keys: ``seed``, ``time_entries``, ``expenses``, ``rate_limit`` ([capacity, period]),
``latency`` ([mean, jitter] or null), ``page_based`` (list), ``max_log``.
"""

from __future__ import annotations

import asyncio
import bisect
import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


class SimProcess:
    """A simulator running in a child process; use as a context manager."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.proc: subprocess.Popen[str] | None = None
        self.info: dict[str, Any] = {}

    def __enter__(self) -> SimProcess:
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "_simproc.py"), json.dumps(self.config)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self.info = self._read()
        return self

    def __exit__(self, *exc: object) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        try:
            assert proc.stdin is not None
            proc.stdin.write("quit\n")
            proc.stdin.flush()
            proc.wait(timeout=10)
        except Exception:
            proc.kill()
            proc.wait()

    def _read(self) -> dict[str, Any]:
        assert self.proc is not None
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the simulator process ended unexpectedly")
        result: dict[str, Any] = json.loads(line)
        return result

    def command(self, name: str) -> dict[str, Any]:
        assert self.proc is not None
        assert self.proc.stdin is not None
        self.proc.stdin.write(name + "\n")
        self.proc.stdin.flush()
        return self._read()

    def stats(self) -> dict[str, Any]:
        """Counters since the last reset: requests, 429s, max in one rate window."""
        return self.command("stats")

    def reset(self) -> None:
        """Zero the counters and the request log, empty the rate windows."""
        self.command("reset")

    def authorization_code(self) -> str:
        return str(self.command("code")["code"])

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["info"][name]
        except KeyError:
            raise AttributeError(name) from None


def max_in_window(times: list[float], period: float) -> int:
    ordered = sorted(times)
    return max(
        (bisect.bisect_left(ordered, t + period - 1e-9) - i for i, t in enumerate(ordered)),
        default=0,
    )


def _stats(sim: Any) -> dict[str, Any]:
    api = [r for r in sim.requests if r.path.startswith("/v2/")]
    times = [r.started for r in api]
    capacity, period = sim.rate_limit
    first = min(times) if times else None
    last = max(times) if times else None
    after = [t for t in times if first is not None and t >= first + period]
    return {
        "requests": len(api),
        # Time the simulator spent answering (arrival to answer, injected latency
        # included), summed over the API requests.
        "server_seconds": sum(r.ended - r.started for r in api),
        "throttled": sim.counters.throttled,
        "by_status": {str(k): v for k, v in sim.counters.by_status.items()},
        "max_in_window": max_in_window(times, period) if times else 0,
        "first": first,
        "last": last,
        # Arrivals after the first rolling window, and the time they took: the
        # sustained rate once the opening burst the window allows is over.
        "after_first_window": len(after),
        "after_first_window_span": (last - (first + period)) if after else 0.0,
        "capacity": capacity,
        "period": period,
        "errors": [repr(e) for e in sim.errors],
        "materialized": sim.materialized,
    }


async def _serve(config: dict[str, Any]) -> None:
    from harvest_async.testing import HarvestSimulator, SimulatorScale

    base = SimulatorScale()
    scale = SimulatorScale(
        time_entries=int(config.get("time_entries", base.time_entries)),
        expenses=int(config.get("expenses", base.expenses)),
    )
    latency = config.get("latency")
    kwargs: dict[str, Any] = {
        "seed": int(config.get("seed", 0)),
        "scale": scale,
        "rate_limit": tuple(config.get("rate_limit", (100, 15.0))),
        "latency": tuple(latency) if latency else None,
        "max_log": int(config.get("max_log", 100_000)),
    }
    if "page_based" in config:
        kwargs["page_based"] = config["page_based"]
    sim = HarvestSimulator(**kwargs)
    loop = asyncio.get_running_loop()
    async with sim:
        print(
            json.dumps(
                {
                    "base_url": sim.base_url,
                    "id_base_url": sim.id_base_url,
                    "access_token": sim.access_token,
                    "account_id": sim.account_id,
                    "client_id": sim.client_id,
                    "client_secret": sim.client_secret,
                    "rate_limit": list(sim.rate_limit),
                    # spent_date span of the seeded history: what a user would pass as
                    # from_/to for a date-sharded full walk of an account they know.
                    "history": [
                        dt.date.fromordinal(sim.world.first_day).isoformat(),
                        dt.date.fromordinal(sim.world.today0).isoformat(),
                    ],
                }
            ),
            flush=True,
        )
        while True:
            line = (await loop.run_in_executor(None, sys.stdin.readline)).strip()
            if not line or line == "quit":
                return
            if line == "stats":
                out: dict[str, Any] = _stats(sim)
            elif line == "reset":
                sim.counters.reset()
                sim.requests.clear()
                sim.reset_rate_limits()
                out = {"ok": True}
            elif line == "code":
                out = {"code": sim.issue_authorization_code()}
            else:
                out = {"error": f"unknown command {line!r}"}
            print(json.dumps(out), flush=True)


if __name__ == "__main__":
    asyncio.run(_serve(json.loads(sys.argv[1])))
