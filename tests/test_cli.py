"""The ``harvest-async`` command line: demo sync, export, and one-line user errors."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from harvest_async.cli import main
from harvest_async.testing import HarvestSimulator

ROOT = Path(__file__).resolve().parent.parent


def test_sync_demo_mirrors_the_demo_account(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "demo.db"
    assert main(["sync", "--demo", "--db", str(db)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "resource\tmode\twritten\tdeleted\trows"
    rows = {line.split("\t")[0]: line.split("\t") for line in out[1:-1]}
    summary = json.loads(out[-1])
    assert summary["target"] == "demo simulator"
    assert summary["requests"] > 16
    con = sqlite3.connect(db)
    for name, (_, mode, written, deleted, total) in rows.items():
        assert mode == "full"
        assert int(deleted) == 0
        count = con.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0]
        assert count == int(total) == int(written), name
    assert int(rows["time_entries"][4]) == 30_000
    con.close()


def test_export_jsonl_and_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "clients", "--demo", "--format", "jsonl"]) == 0
    lines = capsys.readouterr().out.splitlines()
    records = [json.loads(line) for line in lines]
    assert len(records) == 12
    assert all(isinstance(r["id"], int) and r["name"] for r in records)

    out = tmp_path / "entries.csv"
    code = main(
        [
            "export",
            "time_entries",
            "--demo",
            "--from",
            "2025-01-01",
            "--to",
            "2025-01-10",
            "--format",
            "csv",
            "--output",
            str(out),
        ]
    )
    assert code == 0
    assert "wrote" in capsys.readouterr().err
    table = list(csv.DictReader(io.StringIO(out.read_text())))
    assert table
    assert all("2025-01-01" <= row["spent_date"] <= "2025-01-10" for row in table)
    assert {"id", "hours", "project_id", "project_name", "spent_date"} <= set(table[0])
    assert "project" not in table[0]  # nested records are flattened into columns


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["export", "clients", "--demo", "--from", "2025-01-01"], "--from/--to apply to"),
        (
            ["export", "time_entries", "--demo", "--from", "2025-02-01", "--to", "2025-01-01"],
            "--to is before --from",
        ),
        (
            ["sync", "--demo", "--db", "x.db", "--resources", "clients,nope"],
            "unknown resource(s): nope",
        ),
    ],
)
def test_user_errors_are_one_line_with_exit_2(
    argv: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("harvest-async: error: ")
    assert message in err[0]


def test_bad_date_is_rejected_by_the_parser(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["export", "time_entries", "--demo", "--from", "2025-13-01"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "invalid date '2025-13-01': use YYYY-MM-DD" in err
    assert "Traceback" not in err


def test_missing_credentials_name_the_env_vars(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.delenv("HARVEST_ACCESS_TOKEN", raising=False)
    monkeypatch.setenv("HARVEST_ACCOUNT_ID", "1")
    assert main(["sync", "--db", str(tmp_path / "x.db")]) == 2
    assert "$HARVEST_ACCESS_TOKEN" in capsys.readouterr().err


def test_no_network_is_exit_4(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code = main(
        [
            "sync",
            "--db",
            str(tmp_path / "x.db"),
            "--token",
            "t",
            "--account-id",
            "1",
            "--base-url",
            "http://127.0.0.1:1/v2",
            "--max-retries",
            "0",
        ]
    )
    assert code == 4
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "cannot reach Harvest" in err[0]


async def test_bad_token_is_exit_3_without_traceback(tmp_path: Path) -> None:
    async with HarvestSimulator(seed=1) as sim:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "harvest_async",
            "sync",
            "--db",
            str(tmp_path / "x.db"),
            "--token",
            "wrong-token",
            "--account-id",
            str(sim.account_id),
            "--base-url",
            sim.base_url,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        _, err = await proc.communicate()
    assert proc.returncode == 3
    text = err.decode()
    assert "authentication failed (401)" in text
    assert "Traceback" not in text
    assert "wrong-token" not in text
