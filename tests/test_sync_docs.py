"""The SQL of each target's page (docs/sync-*.md) runs on that target, with right answers.

After ``sync --demo`` into the target, the page's first ``sql`` block (hours per project
per month) and second (uninvoiced amount per client) give the demo account's figures,
computed here from the simulator's records.
"""

from __future__ import annotations

import re
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from harvest_async.cli import demo_settings, main
from harvest_async.testing import HarvestSimulator

from .test_sync_targets import db_url, postgres, query

__all__ = ["db_url", "postgres"]  # fixtures

DOCS = Path(__file__).resolve().parent.parent / "docs"
PAGES = {"sqlite": "sync-sqlite.md", "duckdb": "sync-duckdb.md", "postgres": "sync-postgresql.md"}
SQL = re.compile(r"^```sql\n(.*?)^```", re.M | re.S)


def sql_blocks(page: str) -> list[str]:
    return SQL.findall((DOCS / page).read_text(encoding="utf-8"))


def demo_figures() -> tuple[dict[tuple[str, str], Decimal], dict[str, Decimal]]:
    sim = HarvestSimulator(**demo_settings())
    monthly: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    uninvoiced: dict[str, Decimal] = defaultdict(Decimal)
    for e in sim.records("time_entries"):
        monthly[(e["project"]["name"], e["spent_date"][:7])] += Decimal(repr(e["hours"]))
        if e["billable"] and not e["is_billed"] and e["billable_rate"] is not None:
            amount = Decimal(repr(e["hours"])) * Decimal(repr(e["billable_rate"]))
            uninvoiced[e["client"]["name"]] += amount
    return dict(monthly), dict(uninvoiced)


def _kind(url: str) -> str:
    if url.startswith("postgresql://"):
        return "postgres"
    return "duckdb" if url.startswith("duckdb:///") else "sqlite"


def _exact(value: Any, places: int | None) -> Decimal:
    number = Decimal(str(value))
    return round(number, places) if places is not None else number.normalize()


def test_the_pages_sql_gives_the_demo_figures(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    kind = _kind(db_url)
    monthly_sql, uninvoiced_sql, *_ = sql_blocks(PAGES[kind])
    assert main(["sync", "--demo", "--quiet", "--db", db_url]) == 0
    capsys.readouterr()
    monthly, uninvoiced = demo_figures()
    places = 2 if kind == "sqlite" else None  # SQLite's page rounds its float sums

    def norm(d: dict[Any, Decimal]) -> dict[Any, Decimal]:
        return {k: round(v, 2) if places else v.normalize() for k, v in d.items()}

    got = {
        (project, str(month)[:7]): _exact(hours, places)
        for project, month, hours in query(db_url, monthly_sql)
    }
    assert got == norm(monthly)
    got_uninvoiced = {c: _exact(a, places) for c, a in query(db_url, uninvoiced_sql)}
    assert got_uninvoiced == norm(uninvoiced)
    assert uninvoiced


def test_every_target_has_a_page_in_the_nav() -> None:
    nav = (DOCS.parent / "mkdocs.yml").read_text(encoding="utf-8")
    for page in PAGES.values():
        assert page in nav
        assert len(sql_blocks(page)) >= 2
