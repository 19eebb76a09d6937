"""README.md: its opening commands, its quick start run as written, its install advice.

The README is the first page a new user reads: its first commands are the ones CI runs
on a fresh machine, its quick start must run as it is (against the built-in simulator),
and no install instruction, there or in docs/, may promise a package that is not on
PyPI: harvest_async installs from a clone.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from .test_docs_examples import DOCS, FENCE, README, ROOT, extract

#: The two commands README.md opens with, byte for byte: the first installs and runs
#: the demo sync, the second installs and runs the tests (the last line of .ci/run).
DEMO_COMMAND = (
    "python3 -m venv .venv && .venv/bin/pip install -q -e '.[cli]' && "
    ".venv/bin/harvest-async sync --demo --db demo.db"
)
TEST_COMMAND = (
    "python3 -m venv .venv && .venv/bin/pip install -q -e '.[test,redis,cli]' && "
    ".venv/bin/python -m pytest -q"
)


def _readme_lines() -> list[str]:
    return README.read_text(encoding="utf-8").splitlines()


def _first_block(lines: list[str]) -> tuple[int, str, list[str]]:
    """(line index of the opening fence, language, body lines) of the first block."""
    for i, line in enumerate(lines):
        if (match := FENCE.match(line)) is not None:
            end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
            return i, match["lang"], lines[i + 1 : end]
    raise AssertionError("README.md has no code block")


def _section(text: str, heading: str) -> str:
    """The text of the ``## heading`` section (up to the next ``## ``)."""
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def test_readme_opens_with_the_fresh_machine_commands() -> None:
    lines = _readme_lines()
    start, lang, body = _first_block(lines)
    assert start <= 6, "the commands must be the first thing README.md shows"
    assert lang == "bash"
    commands = [line for line in body if line.strip() and not line.lstrip().startswith("#")]
    assert commands == [DEMO_COMMAND, TEST_COMMAND]


def test_readme_test_command_is_what_ci_runs() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").rstrip().splitlines()
    assert ci[-1] == TEST_COMMAND


def test_readme_quick_start_runs_as_written(tmp_path: Path) -> None:
    """The quick start's block, unchanged, in a fresh interpreter with no credentials."""
    text = README.read_text(encoding="utf-8")
    quick_start = _section(text, "Quick start")
    first = text[: text.index(quick_start)].count("\n") + 1
    last = first + quick_start.count("\n")
    blocks = [s for s in extract(README) if first < s.line < last]
    assert len(blocks) == 1, "the quick start has one Python block"
    code = blocks[0].code
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARVEST_")}
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout.splitlines()
    assert out[0] == "Kim kim.allen0@example.com"
    assert out[1] == "14307932 Data Platform 2 8083369 Business Development"
    entry_id, hours, notes = out[2].split(" ", 2)
    assert int(entry_id) > 0
    assert (hours, notes) == ("1.5", "Reviewing the README")
    # What the text under the block says about the demo account matches the run.
    for fact in ("Kim Allen", '14307932 "Data Platform 2"', '8083369 "Business Development"'):
        assert fact in " ".join(quick_start.split())


#: An install of a published package: ``pip install harvest_async``, ``pip install
#: 'harvest_async[redis]'`` (an install from a clone names a path: ``-e .``, ``-e /path``).
PUBLISHED_INSTALL = re.compile(r"pip3?\s+install\s+(?:-\S+\s+)*['\"]?harvest[_-]async\b", re.I)


def _user_pages() -> list[Path]:
    return [README, *sorted(DOCS.glob("*.md"))]


def test_no_page_promises_a_pypi_package() -> None:
    found = [
        f"{page.relative_to(ROOT)}:{n}"
        for page in _user_pages()
        for n, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1)
        if PUBLISHED_INSTALL.search(line)
    ]
    assert found == []


def test_published_install_pattern() -> None:
    assert PUBLISHED_INSTALL.search("pip install harvest_async fastapi")
    assert PUBLISHED_INSTALL.search("pip install 'harvest_async[redis]'")
    assert PUBLISHED_INSTALL.search("pip install -q harvest-async")
    assert not PUBLISHED_INSTALL.search(".venv/bin/pip install -e '.[redis]'")
    assert not PUBLISHED_INSTALL.search("pip install -e /path/to/harvest_async")


def test_install_instructions_start_from_a_clone() -> None:
    for page in (README, DOCS / "index.md", DOCS / "quickstart.md", DOCS / "contributing.md"):
        text = page.read_text(encoding="utf-8")
        assert "git clone https://github.com/harvest-async/harvest_async.git" in text, page.name
        assert re.search(r"pip install -e '?\.", text), page.name
    assert "not on PyPI" in _section(README.read_text(encoding="utf-8"), "Install")


def test_dev_extra_has_everything_a_contributor_needs() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]
    dev = extras["dev"]
    assert any(re.match(r"nox\b", req) for req in dev)
    included = next(req for req in dev if req.startswith(f"{project['name']}["))
    wanted = {"test", "lint", "docs", "redis", "cli"}
    assert set(included[len(project["name"]) + 1 : -1].split(",")) == wanted
    assert wanted <= set(extras)


def test_development_section_documents_the_dev_extra() -> None:
    development = _section(README.read_text(encoding="utf-8"), "Development")
    assert "pip install -e '.[dev]'" in development
    assert re.search(r"^\.venv/bin/nox\b", development, re.M)
    contributing = (DOCS / "contributing.md").read_text(encoding="utf-8")
    assert "pip install -e '.[dev]'" in contributing
    assert re.search(r"^\.venv/bin/nox\b", contributing, re.M)


#: Words of the project's own workshop that mean nothing to a user of the library.
INTERNAL = re.compile(
    r"CONTRACT\.md|\bissue \d+|\bseed `?\d{3}\b|fast[ -]path|\bsans-?io\b|\btests/\S+\.py",
    re.I,
)


def test_user_pages_speak_plainly() -> None:
    """README.md and the user's pages of docs/ (the contributors' page may name the
    project's test files)."""
    pages = [p for p in _user_pages() if p.name != "contributing.md"]
    found = [
        f"{page.relative_to(ROOT)}:{n}: {m[0]}"
        for page in pages
        for n, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1)
        for m in INTERNAL.finditer(line)
    ]
    assert found == []
    assert INTERNAL.search("see tests/test_docs_examples.py")
    assert INTERNAL.search("the retired v1 API (seed `000`)")
