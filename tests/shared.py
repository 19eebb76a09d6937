"""Outside data the tests read in place: ``../shared`` beside the project root.

The project ships only what its authors wrote. Data from other projects (Harvest's
community OpenAPI description, records a real account returned to another connector,
real recorded Harvest answers) stays in a folder next to the clone, ``../shared`` (or
the folder ``$HARVEST_ASYNC_SHARED`` names). A test that needs it asks here; where the
folder is absent the test is skipped with one line naming it, so a clone on its own
still passes. ``.ci/run`` sets ``HARVEST_ASYNC_REQUIRE_SHARED=1`` when the folder is
there, and such a skip then fails the run (the data must really be used in CI).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import pytest

__all__ = [
    "AIRBYTE_RECORDS",
    "OPENAPI",
    "REALAPI",
    "SKIP_PREFIX",
    "available",
    "needs",
    "realapi_answer",
    "airbyte_records",
    "openapi_spec",
    "realapi_answers",
    "shared_file",
    "shared_params",
    "shared_root",
]

ROOT = Path(__file__).resolve().parent.parent
#: Every skip for missing outside data starts with this (conftest.py looks for it).
SKIP_PREFIX = "outside data missing:"

OPENAPI = ("harvest-openapi", "harvest-openapi.yaml")
AIRBYTE_RECORDS = ("fixtures", "airbyte-harvest-expected-records.jsonl")
REALAPI = ("realapi", "data")


def shared_root() -> Path:
    """The outside-data folder: ``$HARVEST_ASYNC_SHARED``, else ``../shared``."""
    override = os.environ.get("HARVEST_ASYNC_SHARED")
    return Path(override).resolve() if override else (ROOT.parent / "shared").resolve()


def _missing(path: Path) -> str:
    return f"{SKIP_PREFIX} {path} (set HARVEST_ASYNC_SHARED to the shared folder)"


def available(*parts: str) -> bool:
    """Whether ``parts`` exists under the shared folder."""
    return shared_root().joinpath(*parts).exists()


def needs(*parts: str) -> pytest.MarkDecorator:
    """Mark a test that reads ``parts`` of the shared folder: skipped where absent."""
    path = shared_root().joinpath(*parts)
    return pytest.mark.skipif(not path.exists(), reason=_missing(path))


def shared_file(*parts: str) -> Path:
    """The path of ``parts`` under the shared folder; skip the test if it is absent."""
    path = shared_root().joinpath(*parts)
    if not path.exists():
        pytest.skip(_missing(path))
    return path


def shared_params(loader: Callable[[], Sequence[Any]], *parts: str, width: int = 1) -> list[Any]:
    """Parameters for ``parametrize`` (``width`` names) from outside data, read at collection.

    Where the data is absent: one parameter set that skips, naming the missing path.
    """
    path = shared_root().joinpath(*parts)
    if not path.exists():
        return [
            pytest.param(
                *([None] * width),
                marks=pytest.mark.skip(reason=_missing(path)),
                id="outside-data-missing",
            )
        ]
    return list(loader())


@cache
def openapi_spec() -> dict[str, Any]:
    """The community OpenAPI description of Harvest API v2 (skips where absent)."""
    import yaml

    spec: dict[str, Any] = yaml.safe_load(shared_file(*OPENAPI).read_text(encoding="utf-8"))
    return spec


@cache
def airbyte_records() -> tuple[str, ...]:
    """Each non-empty line of the records a real account gave Airbyte's connector."""
    text = shared_file(*AIRBYTE_RECORDS).read_text(encoding="utf-8")
    return tuple(line for line in text.splitlines() if line.strip())


@cache
def realapi_answers() -> tuple[dict[str, Any], ...]:
    """Every recorded interaction of ``realapi/data`` (see its ``SOURCES.md``)."""
    folder = shared_file(*REALAPI)
    return tuple(
        json.loads(path.read_text(encoding="utf-8")) for path in sorted(folder.glob("*.json"))
    )


def realapi_answer(name: str) -> dict[str, Any]:
    """One recorded interaction by its file name (``harvesting-012-...``) or id prefix."""
    folder = shared_file(*REALAPI)
    matches = sorted(folder.glob(f"{name}*.json"))
    if not matches:
        pytest.fail(f"no recorded answer named {name!r} in {folder}")
    found: dict[str, Any] = json.loads(matches[0].read_text(encoding="utf-8"))
    return found
