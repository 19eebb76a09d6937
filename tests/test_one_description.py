"""The models are the one description of every response.

A field added to one model, in a scratch copy of the package with no other edit, is
served by the simulator, decoded by the client, mirrored by ``harvest-async sync`` (a
column of the SQLite table) and written by ``harvest-async export --format csv`` (a
column of the CSV). The copy is imported in a fresh interpreter
(`tests/one_description_probe.py`), and the command line runs in processes of its own
on that copy, so nothing in this process, no cache and no monkeypatch, can stand in for
an edit the package would need. Each consumer of responses is one entry of the probe's
``CONSUMERS`` and one assertion below; a control runs the same consumers on an unedited
copy, where none of them may show the field.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import attrs
import pytest

import harvest_async
import harvest_async.models as m

PACKAGE = Path(harvest_async.__file__).resolve().parent
PROBE = Path(__file__).with_name("one_description_probe.py")
FIELD = "x_probe"
VALUE = "stored by the probe"  # the probe's VALUE

Edit = Callable[[str], str]


def add_field(class_name: str, line: str) -> Edit:
    """An edit adding ``line`` as the last statement of the class ``class_name``."""

    def edit(text: str) -> str:
        lines = text.splitlines(keepends=True)
        head = re.compile(rf"^class {re.escape(class_name)}\b.*:\s*$")
        start = next(i for i, text_line in enumerate(lines) if head.match(text_line))
        last = start
        for i in range(start + 1, len(lines)):
            if not lines[i].strip():
                continue
            if not lines[i].startswith((" ", "\t")):
                break
            last = i
        lines.insert(last + 1, f"    {line}\n")
        return "".join(lines)

    return edit


def scratch_package(root: Path, edits: Mapping[str, Edit]) -> Path:
    """A copy of the package under ``root`` with ``edits`` (path in the package -> edit)."""
    copy = root / "harvest_async"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for relative, edit in edits.items():
        path = copy / relative
        before = path.read_text(encoding="utf-8")
        after = edit(before)
        assert after != before, f"the edit changed nothing in {relative}"
        path.write_text(after, encoding="utf-8")
    return root


def run_probe(root: Path, probe: Mapping[str, Any]) -> dict[str, Any]:
    """What each consumer makes of the probed field, in a fresh interpreter on ``root``."""
    env = {**os.environ, "PYTHONPATH": str(root), "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run(
        [sys.executable, str(PROBE), str(root), json.dumps(probe)],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    assert report["errors"] == []
    return report


#: (model file, class, probe): a top-level field, and a field of a nested reference.
CASES = {
    "TimeEntry": (
        "models/time_entries.py",
        "TimeEntry",
        {"kind": "time_entries", "path": [FIELD], "store": "time_entries", "via": "world"},
    ),
    "Client": (
        "models/clients.py",
        "Client",
        {"kind": "clients", "path": [FIELD], "store": "clients", "via": "world"},
    ),
    "ProjectRef in TimeEntry": (
        "models/_common.py",
        "ProjectRef",
        {"kind": "time_entries", "path": ["project", FIELD], "store": "projects", "via": "world"},
    ),
}


def test_the_probed_field_is_not_in_the_real_models() -> None:
    for _, class_name, _ in CASES.values():
        assert FIELD not in attrs.fields_dict(getattr(m, class_name))


def test_add_field_puts_the_line_in_the_class_body() -> None:
    text = (
        "class A:\n    x: int = 1\n\n    def f(self) -> None:\n        pass\n"
        "\n\nclass B:\n    y = 2\n"
    )
    edited = add_field("A", "z: str = ''")(text)
    assert "        pass\n    z: str = ''\n\n\nclass B:" in edited
    assert add_field("B", "w = 3")(text).endswith("    y = 2\n    w = 3\n")


@pytest.mark.parametrize("case", list(CASES))
def test_a_field_added_to_one_model_is_served_and_decoded(tmp_path: Path, case: str) -> None:
    model_file, class_name, probe = CASES[case]
    root = scratch_package(
        tmp_path, {model_file: add_field(class_name, f"{FIELD}: str | None = None")}
    )
    report = run_probe(root, probe)
    before, after = report["before"], report["after"]

    # served: the key is there at once (null until a value is stored), then the value
    assert before["served"] == {"has_key": True, "value": None}
    assert after["served"] == {"has_key": True, "value": VALUE}

    # decoded: the client's model (the copy's, with the field) carries what was served
    assert before["decoded"]["model"] == class_name
    assert before["decoded"]["get"] is None
    assert before["decoded"]["list_values"] == ["None"]
    assert after["decoded"]["get"] == VALUE
    assert after["decoded"]["listed"] == [VALUE]
    # other records of the list still decode it as null
    assert after["decoded"]["list_values"] == sorted([repr(None), repr(VALUE)])

    # mirrored (`harvest-async sync` into SQLite) and exported (`harvest-async export
    # --format csv`): a column named as the field (flattened for a nested reference:
    # ``project_x_probe``), null until the value is stored, then the record's value; the
    # other records' stay null.
    column = "_".join(probe["path"])
    for consumer in ("mirrored", "exported"):
        assert before[consumer] == {
            "column": column,
            "has_column": True,
            "value": None,
            "values": [repr(None)],
        }, consumer
        assert after[consumer] == {
            "column": column,
            "has_column": True,
            "value": VALUE,
            "values": sorted([repr(None), repr(VALUE)]),
        }, consumer


def test_without_the_model_edit_no_consumer_shows_the_field(tmp_path: Path) -> None:
    # The control for the test above: the same probe (the value written into the stored
    # record) on an unedited copy. Only the model edit can make the field appear.
    root = scratch_package(tmp_path, {})
    probe = {**CASES["TimeEntry"][2], "consumers": ["served", "mirrored", "exported"]}
    report = run_probe(root, probe)
    for phase in ("before", "after"):
        assert report[phase]["served"] == {"has_key": False, "value": None}
        for consumer in ("mirrored", "exported"):
            seen = report[phase][consumer]
            assert seen["has_column"] is False, (phase, consumer, seen)
            assert seen["rows"] > 0, (phase, consumer, seen)  # the run did write records


#: (model class, report): a field added to a report row's model.
REPORT_CASES = {
    "time by client": ("TimeReportResult", "time/clients"),
    "time by team": ("TimeReportResult", "time/team"),
    "expenses by category": ("ExpenseReportResult", "expenses/categories"),
    "uninvoiced": ("UninvoicedReportResult", "uninvoiced"),
    "project budget": ("ProjectBudgetReportResult", "project_budget"),
}


@pytest.mark.parametrize("case", list(REPORT_CASES))
def test_a_field_added_to_a_report_model_is_served_and_decoded(tmp_path: Path, case: str) -> None:
    class_name, report = REPORT_CASES[case]
    assert FIELD not in attrs.fields_dict(getattr(m, class_name))
    root = scratch_package(
        tmp_path, {"models/reports.py": add_field(class_name, f"{FIELD}: str | None = None")}
    )
    result = run_probe(root, {"report": report, "field": FIELD})
    served = result["served"]
    assert served["rows"] > 0
    assert (served["has_key"], served["values"]) == (True, ["None"])
    assert result["decoded"] == {"models": [class_name], "values": ["None"]}


def add_parameter(function: str, line: str) -> Edit:
    """An edit adding the keyword parameter ``line`` first in ``async def <function>``."""

    def edit(text: str) -> str:
        head = re.compile(rf"(\n    async def {re.escape(function)}\(\n(?:.*\n)*?        \*,\n)")
        return head.sub(lambda found: f"{found.group(1)}        {line}\n", text, count=1)

    return edit


def test_a_parameter_added_to_a_resource_call_is_accepted_by_the_simulator(
    tmp_path: Path,
) -> None:
    # The request side: the keyword parameters of the client's calls are the fields the
    # simulator accepts. One more parameter of `Clients.update` (and the model's field,
    # to see it served) is all it takes for a PATCH carrying it to be stored.
    root = scratch_package(
        tmp_path,
        {
            "models/clients.py": add_field("Client", f"{FIELD}: str | None = None"),
            "resources/clients.py": add_parameter(
                "update", f"{FIELD}: str | NotGiven = NOT_GIVEN,"
            ),
        },
    )
    report = run_probe(
        root, {"kind": "clients", "path": [FIELD], "store": "clients", "via": "patch"}
    )
    assert report["before"]["served"] == {"has_key": True, "value": None}
    assert report["after"]["served"] == {"has_key": True, "value": VALUE}
    assert report["after"]["decoded"]["get"] == VALUE


async def test_without_the_parameter_the_simulator_ignores_the_field() -> None:
    # The control for the test above: the real `Clients.update` has no such parameter.
    from harvest_async.testing import HarvestSimulator

    from .one_description_probe import fetch

    async with HarvestSimulator(seed=0, rate_limit=(100_000, 1.0)) as sim:
        rid = sim.records("clients", limit=1)[0]["id"]
        answer = await fetch(sim, f"clients/{rid}", "PATCH", {FIELD: VALUE, "name": "Renamed"})
        assert answer["name"] == "Renamed"
        assert FIELD not in answer
        assert FIELD not in sim.world.clients.get(rid)
    assert sim.errors == []
