"""docs/coverage.md matches the code, and every OpenAPI operation has a library call."""

from __future__ import annotations

from pathlib import Path

import yaml

from harvest_async._coverage import collect_rows, render

ROOT = Path(__file__).resolve().parent.parent
SPEC = Path(__file__).resolve().parent / "data" / "harvest-openapi.yaml"


def openapi_operations() -> set[tuple[str, str]]:
    spec = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    return {
        (method.upper(), path)
        for path, ops in spec["paths"].items()
        for method in ops
        if method in ("get", "post", "patch", "put", "delete")
    }


def test_coverage_page_matches_the_code() -> None:
    page = (ROOT / "docs" / "coverage.md").read_text(encoding="utf-8")
    assert page == render(collect_rows()), (
        "docs/coverage.md is stale: run `python -m harvest_async._coverage`"
    )


def test_every_openapi_operation_has_a_library_call() -> None:
    spec_ops = openapi_operations()
    assert len(spec_ops) == 113
    marked = {(m, p) for m, p, _ in collect_rows()}
    missing = sorted(spec_ops - marked)
    assert not missing, f"operations without a library call: {missing}"
    print(f"coverage: {len(spec_ops & marked)}/{len(spec_ops)} OpenAPI operations mapped")


def test_every_mark_names_a_real_operation() -> None:
    spec_ops = openapi_operations()
    unknown = sorted(
        (m, p) for m, p, _ in collect_rows() if not p.startswith("id:") and (m, p) not in spec_ops
    )
    assert not unknown, f"@operation marks that are not in the OpenAPI file: {unknown}"


def test_harvest_id_operations_are_covered() -> None:
    marked = {(m, p) for m, p, _ in collect_rows()}
    assert ("POST", "id:/api/v2/oauth2/token") in marked
    assert ("GET", "id:/api/v2/accounts") in marked
