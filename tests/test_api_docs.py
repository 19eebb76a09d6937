"""IDE help for the whole surface: every keyword argument of every resource method is
documented in its docstring's ``Args:`` section, and every public method has a docstring."""

from __future__ import annotations

import inspect
import re

import pytest

import harvest_async as ha
from harvest_async.resources._base import Resource


def resource_classes() -> list[type]:
    client = ha.HarvestClient(access_token="t", account_id="1")
    found: dict[str, type] = {}

    def walk(obj: object) -> None:
        found[type(obj).__name__] = type(obj)
        for value in vars(obj).values():
            if isinstance(value, Resource):
                walk(value)

    for value in vars(client).values():
        if isinstance(value, Resource):
            walk(value)
    return sorted(found.values(), key=lambda c: c.__name__)


@pytest.mark.parametrize("cls", resource_classes(), ids=lambda c: c.__name__)
def test_every_keyword_argument_is_documented(cls: type) -> None:
    for name, method in inspect.getmembers(cls, inspect.isfunction):
        if name.startswith("_"):
            continue
        doc = inspect.getdoc(method) or ""
        assert doc, f"{cls.__name__}.{name} has no docstring"
        params = [
            p
            for p in inspect.signature(method).parameters.values()
            if p.kind is inspect.Parameter.KEYWORD_ONLY
        ]
        if not params:
            continue
        assert "Args:" in doc, f"{cls.__name__}.{name} has no Args section"
        args = doc.split("Args:", 1)[1]
        for p in params:
            assert re.search(rf"^\s+{p.name}:", args, re.M), (
                f"{cls.__name__}.{name}: {p.name} undocumented"
            )


def test_all_resources_are_reached() -> None:
    names = {c.__name__ for c in resource_classes()}
    assert {
        "TimeEntries",
        "Invoices",
        "Estimates",
        "Expenses",
        "Reports",
        "TimeReports",
        "ExpenseReports",
        "Users",
        "Projects",
    } <= names
