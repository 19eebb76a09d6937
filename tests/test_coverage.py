"""docs/coverage.md matches the code, and every OpenAPI operation has a library call."""

from __future__ import annotations

from pathlib import Path

import pytest

from harvest_async._coverage import collect_rows, main, openapi_operations, render

from .shared import OPENAPI, shared_file

ROOT = Path(__file__).resolve().parent.parent


def spec_operations() -> set[tuple[str, str]]:
    return openapi_operations(shared_file(*OPENAPI))


def test_coverage_page_matches_the_code() -> None:
    page = (ROOT / "docs" / "coverage.md").read_text(encoding="utf-8")
    assert page == render(collect_rows()), (
        "docs/coverage.md is stale: run `python -m harvest_async._coverage`"
    )


def test_every_openapi_operation_has_a_library_call() -> None:
    spec_ops = spec_operations()
    assert len(spec_ops) == 113
    marked = {(m, p) for m, p, _ in collect_rows()}
    missing = sorted(spec_ops - marked)
    assert not missing, f"operations without a library call: {missing}"
    print(f"coverage: {len(spec_ops & marked)}/{len(spec_ops)} OpenAPI operations mapped")


def test_every_mark_names_a_real_operation() -> None:
    spec_ops = spec_operations()
    unknown = sorted(
        (m, p) for m, p, _ in collect_rows() if not p.startswith("id:") and (m, p) not in spec_ops
    )
    assert not unknown, f"@operation marks that are not in the OpenAPI file: {unknown}"


def test_harvest_id_operations_are_covered() -> None:
    marked = {(m, p) for m, p, _ in collect_rows()}
    assert ("POST", "id:/api/v2/oauth2/token") in marked
    assert ("GET", "id:/api/v2/accounts") in marked


def test_generator_checks_against_an_openapi_path(capsys: pytest.CaptureFixture[str]) -> None:
    spec = shared_file(*OPENAPI)
    page = str(ROOT / "docs" / "coverage.md")
    assert main(["--check", "--openapi", str(spec), "--output", page]) == 0
    assert "has a library call" in capsys.readouterr().out


def test_generator_fails_on_an_operation_without_a_call(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "paths:\n  /time_entries:\n    get: {}\n  /widgets:\n    get: {}\n", encoding="utf-8"
    )
    page = str(ROOT / "docs" / "coverage.md")
    assert main(["--check", "--openapi", str(spec), "--output", page]) == 1
    err = capsys.readouterr().err
    assert "no library call for GET /widgets" in err
    assert "not in the OpenAPI description: GET /projects" in err


def test_generator_refuses_a_missing_openapi_path(tmp_path: Path) -> None:
    assert main(["--check", "--openapi", str(tmp_path / "absent.yaml")]) == 2
