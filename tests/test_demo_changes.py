"""``sync --demo``: the demo account changes between runs, so incremental runs and
``--reconcile`` have something to show."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from harvest_async import cli
from harvest_async.cli import main
from harvest_async.sync import RESOURCES
from harvest_async.testing import HarvestSimulator


def run(db: Path, capsys: pytest.CaptureFixture[str], *flags: str) -> dict[str, list[str]]:
    """One demo sync; its summary as ``{resource: [mode, written, deleted, rows]}``."""
    assert main(["sync", "--demo", "--db", str(db), *flags]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "resource\tmode\twritten\tdeleted\trows"
    assert json.loads(out[-1])["target"] == "demo simulator"
    return {line.split("\t")[0]: line.split("\t")[1:] for line in out[1:-1]}


def changed(summary: dict[str, list[str]]) -> dict[str, tuple[str, int, int]]:
    """The resources a run wrote to or deleted from (roles: no updated_since)."""
    return {
        name: (mode, int(written), int(deleted))
        for name, (mode, written, deleted, _) in summary.items()
        if name not in ("company", "roles") and (written != "0" or deleted != "0")
    }


def mirror(db: Path, table: str) -> set[tuple[int, str | None]]:
    con = sqlite3.connect(db)
    try:
        return set(con.execute(f'SELECT id, updated_at FROM "{table}"'))
    finally:
        con.close()


def demo_account(run_number: int) -> HarvestSimulator:
    """The demo account as the ``run_number``-th demo sync sees it."""
    sim = HarvestSimulator(**cli.demo_settings())
    cli.apply_demo_changes(sim, run_number)
    return sim


def test_second_run_is_incremental_and_reconcile_finds_the_deletions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "demo.db"
    first = run(db, capsys)
    assert {mode for mode, *_ in first.values()} == {"full"}
    assert json.loads(cli.demo_state_path(db).read_text()) == {"seed": 2024, "run": 1}

    # Run 2: a client, a contact and three entries created, a contact and two entries
    # edited.
    second = run(db, capsys)
    assert changed(second) == {
        "clients": ("incremental", 1, 0),
        "contacts": ("incremental", 2, 0),
        "time_entries": ("incremental", 5, 0),
    }
    assert second["time_entries"][3] == "30003"  # the four deleted entries still there
    assert json.loads(cli.demo_state_path(db).read_text())["run"] == 2

    # Run 3 with --reconcile: the latest round's changes, and both rounds' deletions.
    third = run(db, capsys, "--reconcile")
    assert changed(third) == {
        "clients": ("incremental", 1, 0),
        "contacts": ("incremental", 2, 2),
        "time_entries": ("incremental", 5, 8),
    }
    assert third["time_entries"][3] == str(30_000 + 2 * 3 - 2 * 4)

    # The mirror is now exactly the account of run 3, every table.
    sim = demo_account(3)
    for spec in RESOURCES:
        expected = {(r["id"], r.get("updated_at")) for r in sim.records(spec.name)}
        assert mirror(db, spec.name) == expected, spec.name


def test_the_demo_says_what_changed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "demo.db"
    assert main(["sync", "--demo", "--db", str(db), "--resources", "contacts"]) == 0
    assert "demo run 1: the seeded account" in capsys.readouterr().err
    assert main(["sync", "--demo", "--db", str(db), "--resources", "contacts"]) == 0
    err = capsys.readouterr().err
    assert "demo run 2: since run 1, 5 records were created, 3 edited and 5 deleted" in err
    assert main(["sync", "--demo", "--quiet", "--db", str(db), "--resources", "contacts"]) == 0
    assert capsys.readouterr().err == ""


def test_a_new_mirror_starts_from_the_seeded_account(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "demo.db"
    argv = ["--resources", "clients", "--quiet"]
    run(db, capsys, *argv)
    run(db, capsys, *argv)
    assert json.loads(cli.demo_state_path(db).read_text())["run"] == 2
    for leftover in tmp_path.glob("demo.db*"):
        if leftover != cli.demo_state_path(db):
            leftover.unlink()
    summary = run(db, capsys, *argv)  # the state file alone does not count
    assert summary["clients"][:2] == ["full", "12"]
    assert json.loads(cli.demo_state_path(db).read_text())["run"] == 1


@pytest.mark.parametrize("text", ["not json", "[1]", '{"seed": 1, "run": 4}', '{"run": true}'])
def test_an_unreadable_state_file_counts_as_a_first_run(tmp_path: Path, text: str) -> None:
    db = tmp_path / "demo.db"
    db.write_bytes(b"")
    cli.demo_state_path(db).write_text(text)
    assert cli.read_demo_run(db) == 1


def test_changes_are_reproducible() -> None:
    one, two = demo_account(4), demo_account(4)
    for kind in ("clients", "contacts", "time_entries"):
        assert one.records(kind, limit=50) == two.records(kind, limit=50), kind
    assert one.count("time_entries") == 30_000 + 3 * 3 - 3 * 4
    assert one.count("contacts") == HarvestSimulator(**cli.demo_settings()).count("contacts")


def test_many_runs_keep_working() -> None:
    sim = demo_account(60)
    assert sim.count("clients") == 12 + 59
