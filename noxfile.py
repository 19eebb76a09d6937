"""Sessions: tests, lint (ruff), typecheck (mypy --strict), docs, bench."""

from __future__ import annotations

from pathlib import Path

import nox

nox.options.sessions = ["tests", "lint", "typecheck", "docs", "bench"]
nox.options.reuse_existing_virtualenvs = True

PYTHON = ["3.11"]


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Run the test suite."""
    session.install("-e", ".[test,redis,cli]")
    session.run("pytest", "-q", *session.posargs)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff (lint and format) on the package, tests and benchmarks."""
    session.install("ruff>=0.6")
    paths = ["harvest_async", "tests", "benchmarks", "docs/examples", "noxfile.py"]
    session.run("ruff", "check", *paths)
    session.run("ruff", "format", "--check", *paths)


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the package."""
    session.install("-e", ".[test,lint,cli]")
    session.run("mypy", "--strict", "harvest_async")


@nox.session(python=PYTHON)
def docs(session: nox.Session) -> None:
    """docs/coverage.md matches the code, and the site builds with no warning."""
    session.install("-e", ".[docs]", "pyyaml>=6")
    check = ["python", "-m", "harvest_async._coverage", "--check"]
    spec = Path("../shared/harvest-openapi/harvest-openapi.yaml")
    if spec.is_file():  # the community OpenAPI description, kept outside the project
        check += ["--openapi", str(spec)]
    session.run(*check)
    session.run("mkdocs", "build", "--strict", env={"NO_MKDOCS_2_WARNING": "1"})


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Benchmarks against the simulator; results go to benchmarks/RESULTS.md."""
    session.install("-e", ".[test]")
    session.run("python", "benchmarks/run.py", *session.posargs)
