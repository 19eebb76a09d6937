"""Fault soak: a whole-account sync through a simulator that misbehaves on purpose.

About 10% of API requests get a 5xx, 2% a dropped connection, 3% a body cut short,
and a 429 storm hits the middle of the run. The sync must still end with every record
exactly once (ids and ``updated_at`` equal to the simulator's), and every failed
attempt must be visible as one retry line in the ``harvest_async`` DEBUG log. The
counts are printed (``pytest -s tests/test_soak.py``).

Lists are walked with small pages so a small account takes enough requests (a few
hundred) for the fault rates to bite; the whole run stays well under a minute.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import harvest_async as ha
from harvest_async.sync import RESOURCES, ResourceSpec, SyncStats, sync_account
from harvest_async.testing import Faults, HarvestSimulator, SimulatorScale

pytestmark = pytest.mark.timeout(60)

PER_PAGE = 10
SCALE = SimulatorScale(
    users=6,
    clients=6,
    contacts_per_client=2,
    projects=12,
    tasks=8,
    tasks_per_project=3,
    users_per_project=3,
    roles=3,
    time_entries=1600,
    expenses=240,
    invoices=30,
    estimates=12,
    history_days=365,
)


class RetryLines(logging.Handler):
    """Collects the ``retrying ...`` DEBUG lines of the ``harvest_async`` logger."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith("retrying "):
            self.lines.append(message)


def reason(line: str) -> str:
    failed = line.split("failed: ", 1)[1]
    if re.match(r"5\d\d ", failed):
        return "5xx"
    if failed.startswith("429 "):
        return "429"
    if "cut off" in failed:
        return "truncated"
    return "connection"


def small_pages(name: str) -> ResourceSpec:
    def list_all(client: ha.HarvestClient, since: dt.datetime | None) -> Any:
        resource = getattr(client, name)
        if since is None:
            return resource.list(per_page=PER_PAGE)
        return resource.list(per_page=PER_PAGE, updated_since=since)

    return ResourceSpec(name, list_all)


def mirrored(db_path: Path, name: str) -> list[tuple[int, str | None]]:
    db = sqlite3.connect(str(db_path))
    try:
        return sorted(db.execute(f'SELECT id, updated_at FROM "{name}"').fetchall())
    finally:
        db.close()


async def test_sync_under_faults_mirrors_every_record_exactly_once(tmp_path: Path) -> None:
    faults = Faults(seed=7, server_error_rate=0.10, reset_rate=0.02, truncate_rate=0.03)
    retries = RetryLines()
    logger = logging.getLogger("harvest_async")
    old_level = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(retries)
    pages_done = 0
    stormed = False

    async with HarvestSimulator(seed=7, scale=SCALE, faults=faults, rate_limit=(100, 1.0)) as sim:

        def on_page(name: str, rows: int) -> None:
            nonlocal pages_done, stormed
            pages_done += 1
            if pages_done == 80 and not stormed:
                stormed = True
                sim.faults.storm(1.5)  # every request answered 429 for 1.5 s

        try:
            async with sim.client(max_retries=10, timeout=10.0) as client:
                specs = [small_pages(spec.name) for spec in RESOURCES]
                stats: list[SyncStats] = await sync_account(
                    client,
                    tmp_path / "mirror.db",
                    resources=specs,
                    concurrency=4,
                    on_page=on_page,
                )
        finally:
            logger.removeHandler(retries)
            logger.setLevel(old_level)

        by_name = {s.name: s for s in stats}
        checked = 0
        for spec in RESOURCES:
            expected = sorted((r["id"], r["updated_at"]) for r in sim.records(spec.name))
            assert expected, spec.name
            assert mirrored(tmp_path / "mirror.db", spec.name) == expected, spec.name
            # Rows handed to the database across all pages: no page was stored twice.
            assert by_name[spec.name].rows_written == len(expected), spec.name
            checked += len(expected)
        assert by_name["company"].rows_written == 1

        counters = sim.counters
        kinds = Counter(reason(line) for line in retries.lines)
        failed_attempts = (
            counters.faults["server_error"]
            + counters.faults["reset"]
            + counters.faults["truncate"]
            + counters.throttled
        )
        report = {
            "records": checked,
            "pages": sum(s.pages for s in stats),
            "requests_seen_by_server": counters.requests,
            "faults_injected": dict(counters.faults),
            "429s": counters.throttled,
            "retries_logged": len(retries.lines),
            "retries_by_reason": dict(kinds),
            "gave_up": 0,
            "simulator_errors": len(sim.errors),
        }
        print(f"\nsoak: {report}")

    assert sim.errors == []
    assert stormed
    # Every fault kind happened, and each failed attempt was retried exactly once.
    assert counters.faults["server_error"] >= 5
    assert counters.faults["reset"] >= 1
    assert counters.faults["truncate"] >= 1
    assert counters.faults["throttle"] >= 1
    assert kinds["5xx"] == counters.faults["server_error"]
    assert kinds["429"] == counters.throttled
    assert kinds["truncated"] + kinds["connection"] == (
        counters.faults["truncate"] + counters.faults["reset"]
    )
    assert len(retries.lines) == failed_attempts
    # Every request that reached the server was a page (the company included) or a
    # retried failure: nothing was fetched twice.
    assert counters.requests == sum(s.pages for s in stats) + failed_attempts
    # The storm's first 429 paused the shared limiter for its Retry-After: at most the
    # requests already on their way (one per concurrent resource) saw a 429.
    assert counters.throttled <= 4
