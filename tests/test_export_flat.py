"""``export`` in the sync tables' flattened columns: CSV for a spreadsheet, and Parquet."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest

from harvest_async.cli import demo_settings, main
from harvest_async.testing import HarvestSimulator

ARGS = ["--demo", "--quiet", "--from", "2025-01-01", "--to", "2025-01-31"]


def expected_hours() -> dict[str, Decimal]:
    sim = HarvestSimulator(**demo_settings())
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for entry in sim.records("time_entries"):
        if "2025-01-01" <= entry["spent_date"] <= "2025-01-31":
            sums[entry["project"]["name"]] += Decimal(repr(entry["hours"]))
    return dict(sums)


def test_csv_has_project_name_and_exact_hours(tmp_path: Path) -> None:
    out = tmp_path / "jan.csv"
    assert main(["export", "time_entries", *ARGS, "--format", "csv", "-o", str(out)]) == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert rows
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        sums[row["project_name"]] += Decimal(row["hours"])
    assert dict(sums) == expected_hours()
    assert rows[0]["is_running"] in ("true", "false")
    assert rows[0]["updated_at"].endswith("Z")
    assert list(tmp_path.iterdir()) == [out]  # the temporary file was renamed


def test_csv_keeps_lists_as_json(tmp_path: Path) -> None:
    out = tmp_path / "invoices.csv"
    assert main(["export", "invoices", "--demo", "--quiet", "--format", "csv", "-o", str(out)]) == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert {"client_name", "amount", "line_items"} <= set(rows[0])
    assert rows[0]["line_items"].startswith("[")


def test_parquet_keeps_the_types(tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet", reason="pip install '.[parquet]'")
    out = tmp_path / "jan.parquet"
    assert main(["export", "time_entries", *ARGS, "--format", "parquet", "-o", str(out)]) == 0
    table = pq.read_table(out)
    assert str(table.schema.field("hours").type) == "decimal128(38, 12)"
    assert str(table.schema.field("spent_date").type) == "date32[day]"
    assert str(table.schema.field("updated_at").type) == "timestamp[us, tz=UTC]"
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for name, hours in zip(
        table.column("project_name").to_pylist(), table.column("hours").to_pylist(), strict=True
    ):
        sums[name] += hours
    assert {k: v.normalize() for k, v in sums.items()} == {
        k: v.normalize() for k, v in expected_hours().items()
    }
    assert list(tmp_path.iterdir()) == [out]


def test_parquet_needs_a_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "clients", "--demo", "--format", "parquet"]) == 2
    assert "give -o FILE" in capsys.readouterr().err
