"""``sync --all-accounts`` / ``--account-id N``: every Harvest account of the token.

The demo's token reaches two Harvest accounts and a Forecast account (Harvest ID lists
all three); a sync keeps ``product == "harvest"``, each account's rows keyed by its
``account_id``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harvest_async.cli import demo_second_settings, demo_settings, main
from harvest_async.testing import HarvestSimulator

from .test_sync_targets import db_url, postgres, query

__all__ = ["db_url", "postgres"]  # fixtures

FIRST = HarvestSimulator(**demo_settings())
SECOND = HarvestSimulator(**demo_second_settings())


def per_account(url: str, table: str) -> dict[int, int]:
    return dict(query(url, f"SELECT account_id, count(*) FROM {table} GROUP BY 1"))


def test_all_accounts_syncs_both_harvest_accounts_and_skips_forecast(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sync", "--demo", "--db", db_url, "--all-accounts"]) == 0
    captured = capsys.readouterr()
    assert "skipping forecast account" in captured.err
    expected = {
        FIRST.account_id: len(FIRST.records("time_entries")),
        SECOND.account_id: len(SECOND.records("time_entries")),
    }
    assert per_account(db_url, "time_entries") == expected
    assert set(per_account(db_url, "company")) == set(expected)
    # The ids of each account's records are that account's.
    for sim in (FIRST, SECOND):
        got = query(db_url, f"SELECT id FROM projects WHERE account_id = {sim.account_id}")
        assert {i for (i,) in got} == {r["id"] for r in sim.records("projects")}


def test_account_id_picks_some(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "m.db")
    argv = ["sync", "--demo", "--quiet", "--db", db, "--resources", "projects"]
    assert main([*argv, "--account-id", str(SECOND.account_id), "--all-accounts"]) == 0
    assert per_account(db, "projects") == {SECOND.account_id: len(SECOND.records("projects"))}
    capsys.readouterr()
    assert main([*argv, "--all-accounts", "--account-id", "1000001"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "are not Harvest accounts of this token" in err[0]


def test_export_takes_one_account(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["export", "clients", "--token", "t", "--account-id", "1", "--account-id", "2"]
    assert main(argv) == 2
    assert "export takes one --account-id" in capsys.readouterr().err
