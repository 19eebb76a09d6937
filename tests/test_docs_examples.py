"""Every Python sample of the documentation runs, against the simulator.

``docs/*.md`` and ``README.md`` are read for fenced ```` ```python ```` blocks. A block
right after a ``<!-- skip-test -->`` line is left out (only for code that needs a browser
or a real account). The blocks of one page run in order in one namespace, like a notebook, against
one :class:`HarvestSimulator`:

- ``harvest`` is a client of that simulator (rebound before each block, so a block that
  opened and closed a client of its own does not break the next one), ``sim`` the
  simulator itself, whose rate window is scaled down (:data:`PAGE_RATE_LIMIT`);
- ``$HARVEST_ACCESS_TOKEN``, ``$HARVEST_ACCOUNT_ID`` (and ``$HARVEST_CLIENT_ID``,
  ``$HARVEST_CLIENT_SECRET``, ``$HARVEST_REDIRECT_URI`` for OAuth2) are the simulator's,
  and ``harvest_async.HarvestClient`` / ``harvest_async.oauth.HarvestID`` default to the
  simulator's URLs, so ``ha.HarvestClient()`` in a sample talks to it;
- top-level ``await`` works (such a block runs in the test's event loop); a block without
  one runs in a thread of its own, so that it may call ``asyncio.run(...)`` while the
  simulator keeps serving;
- ``async def test_*`` functions a block defines are then called, with
  ``harvest_simulator`` (a started simulator) and ``tmp_path`` as fixtures;
- the working directory is a temporary one holding the sample files the pages name
  (receipts).

docs/examples/fastapi_app.py is run through its lifespan with httpx's ASGI transport.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import importlib.util
import inspect
import os
import re
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from yarl import URL

import harvest_async
import harvest_async.oauth
from harvest_async.testing import HarvestSimulator

from .redis_server import RedisServer, find_redis_server

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
README = ROOT / "README.md"
SKIP_MARK = "<!-- skip-test -->"
FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<lang>[\w+-]*)(?P<rest>.*)$")
SNIPPET = re.compile(r'^-{2}8<-{2}\s+"(?P<path>[^"]+)"\s*$')
#: The general window of a page's simulator: Harvest's 100 requests per 15 s, ten times
#: faster, so that a page making a few hundred requests is not kept waiting. ``harvest``
#: gets a limiter matching it; clients a sample makes keep the default (stricter) one.
PAGE_RATE_LIMIT = (100, 1.5)
#: A GIF of one transparent pixel, for the receipt samples.
PIXEL_GIF = bytes.fromhex(
    "47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b"
)


@dataclass(frozen=True)
class Sample:
    """One fenced Python block of a page."""

    page: str
    line: int  # 1-based line of the first line of code
    code: str
    skip: bool
    snippet: Path | None = None  # the file a ``--8<--`` block includes

    @property
    def where(self) -> str:
        folder = "" if self.page == README.name else "docs/"
        return f"{folder}{self.page}:{self.line}"


def extract(path: Path) -> list[Sample]:
    """The ```` ```python ```` blocks of a Markdown page, in order."""
    lines = path.read_text(encoding="utf-8").splitlines()
    samples: list[Sample] = []
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if match is None:
            i += 1
            continue
        indent, fence, lang = match["indent"], match["fence"], match["lang"].lower()
        start = i + 1
        end = start
        while end < len(lines):
            closing = lines[end].strip()
            if closing.startswith(fence[0] * len(fence)) and not closing.strip(fence[0]):
                break
            end += 1
        if lang in ("python", "py", "python3"):
            previous = next(
                (lines[j].strip() for j in range(i - 1, -1, -1) if lines[j].strip()), ""
            )
            body = [
                line[len(indent) :] if line.startswith(indent) else line.lstrip()
                for line in lines[start:end]
            ]
            code = "\n".join(body) + "\n"
            snippet = None
            if len(body) == 1 and (m := SNIPPET.match(body[0].strip())):
                snippet = ROOT / m["path"]
                code = snippet.read_text(encoding="utf-8")
            samples.append(Sample(path.name, start + 1, code, previous == SKIP_MARK, snippet))
        i = end + 1
    return samples


PAGES = sorted(p for p in DOCS.glob("*.md"))
SAMPLES = [s for page in [*PAGES, README] for s in extract(page)]
RUNNABLE_PAGES = sorted({s.page for s in SAMPLES if not s.skip and s.snippet is None})


def _compile(sample: Sample) -> Any:
    # Pad so that tracebacks and syntax errors give the line in the Markdown file.
    source = "\n" * (sample.line - 1) + sample.code
    return compile(
        source, sample.where, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True
    )


# -------------------------------------------------------------------- extraction


def test_samples_found() -> None:
    pages = {s.page for s in SAMPLES}
    assert {
        "README.md",
        "index.md",
        "quickstart.md",
        "authentication.md",
        "pagination.md",
        "rate-limits.md",
        "errors.md",
        "expenses.md",
        "testing.md",
        "workers.md",
    } <= pages
    assert len(SAMPLES) >= 40


def test_skip_marks_are_rare() -> None:
    skipped = [s.where for s in SAMPLES if s.skip]
    assert len(skipped) <= max(3, len(SAMPLES) // 10), skipped


def test_extract_reads_skip_marks_and_indented_fences(tmp_path: Path) -> None:
    page = tmp_path / "x.md"
    page.write_text(
        "# T\n\n```python\na = 1\n```\n\n<!-- skip-test -->\n```python\nb = 2\n```\n\n"
        "- item\n\n  ```py\n  if a:\n      c = 3\n  ```\n\n```bash\necho hi\n```\n",
        encoding="utf-8",
    )
    found = extract(page)
    assert [(s.line, s.code, s.skip) for s in found] == [
        (4, "a = 1\n", False),
        (9, "b = 2\n", True),
        (15, "if a:\n    c = 3\n", False),
    ]


def _nav_pages(nav: Any) -> Iterator[str]:
    if isinstance(nav, str):
        yield nav
    elif isinstance(nav, list):
        for entry in nav:
            yield from _nav_pages(entry)
    elif isinstance(nav, dict):
        for value in nav.values():
            yield from _nav_pages(value)


def test_every_page_is_in_the_site() -> None:
    """mkdocs.yml's nav lists every page of docs/ (docs/dev/ stays out of the site)."""
    yaml = pytest.importorskip("yaml")
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    nav = list(_nav_pages(config["nav"]))
    assert sorted(nav) == sorted(p.name for p in PAGES)
    assert "dev/" in config["exclude_docs"]


def test_site_opens_from_disk() -> None:
    """The built site works from file://: a page per .html file, search bundled, and
    every link between pages names a Markdown file (a link to a folder would show a
    directory listing there)."""
    yaml = pytest.importorskip("yaml")
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    assert config["use_directory_urls"] is False
    assert "offline" in config["plugins"]
    for sheet in config["extra_css"]:
        assert (DOCS / sheet).is_file(), sheet
    link = re.compile(r"\]\((?![a-z][\w+.-]*:|#)(?P<target>[^)\s]+)\)")
    folders = [
        f"{page.name}: {m['target']}"
        for page in PAGES
        for m in link.finditer(page.read_text(encoding="utf-8"))
        if not m["target"].split("#")[0].endswith((".md", ".py", ".png", ".svg"))
    ]
    assert folders == []


def test_pages_include_the_examples() -> None:
    """Each docs/examples file is shown whole on its page (and run by its own test)."""
    included = [s for s in SAMPLES if s.snippet is not None]
    assert sorted((s.page, s.snippet) for s in included) == [
        ("fastapi.md", DOCS / "examples" / "fastapi_app.py"),
        ("rate-limits.md", DOCS / "examples" / "otel_tracing.py"),
    ]


@pytest.mark.parametrize("sample", SAMPLES, ids=[s.where for s in SAMPLES])
def test_sample_compiles(sample: Sample) -> None:
    """Every block, skipped ones included, is valid Python."""
    _compile(sample)


# -------------------------------------------------------------------- running


def _redis_url() -> Iterator[str | None]:
    if find_redis_server() is None:
        yield None
        return
    with RedisServer() as server:
        yield server.url


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str | None]:
    yield from _redis_url()


@contextlib.contextmanager
def _pointed_at(sim: HarvestSimulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Environment and default URLs of the library pointed at ``sim``."""
    monkeypatch.setenv("HARVEST_ACCESS_TOKEN", sim.access_token)
    monkeypatch.setenv("HARVEST_ACCOUNT_ID", str(sim.account_id))
    monkeypatch.setenv("HARVEST_USER_AGENT", "harvest_async docs tests (docs@example.com)")
    monkeypatch.setenv("HARVEST_BASE_URL", sim.base_url)
    monkeypatch.setenv("HARVEST_CLIENT_ID", sim.client_id)
    monkeypatch.setenv("HARVEST_CLIENT_SECRET", sim.client_secret)
    monkeypatch.setenv("HARVEST_REDIRECT_URI", "https://myapp.example.com/oauth/callback")

    real_client = harvest_async.HarvestClient
    real_id = harvest_async.oauth.HarvestID
    real_authorization_url = harvest_async.oauth.authorization_url

    class HarvestClient(real_client):  # type: ignore[misc,valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("base_url", sim.base_url)
            super().__init__(*args, **kwargs)

    class HarvestID(real_id):  # type: ignore[misc,valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("base_url", sim.id_base_url)
            super().__init__(*args, **kwargs)

    def authorization_url(*args: Any, **kwargs: Any) -> str:
        kwargs.setdefault("base_url", sim.id_base_url)
        return real_authorization_url(*args, **kwargs)

    monkeypatch.setattr(harvest_async, "HarvestClient", HarvestClient)
    monkeypatch.setattr(harvest_async.oauth, "HarvestID", HarvestID)
    monkeypatch.setattr(harvest_async.oauth, "authorization_url", authorization_url)
    yield


async def _browser(ns: dict[str, Any]) -> None:
    """authentication.md: the user's browser follows ``url`` to the simulator's authorize
    page, which redirects back with ``code`` and ``state`` (as ``returned_state``)."""
    if "url" not in ns or "code" in ns:
        return
    async with (
        aiohttp.ClientSession() as browser,
        browser.get(ns["url"], allow_redirects=False) as response,
    ):
        assert response.status == 302, await response.text()
        back = URL(response.headers["Location"])
    assert str(back).startswith(os.environ["HARVEST_REDIRECT_URI"])
    ns["code"], ns["returned_state"] = back.query["code"], back.query["state"]


#: Run before each block of a page (after the names it needs were defined).
BEFORE_BLOCK: dict[str, Callable[[dict[str, Any]], Awaitable[None]]] = {
    "authentication.md": _browser,
}


def _fixture_files(where: Path) -> None:
    (where / "receipts").mkdir()
    (where / "receipts" / "dinner-receipt.gif").write_bytes(PIXEL_GIF)
    (where / "dinner-receipt.gif").write_bytes(PIXEL_GIF)
    (where / "hotel.pdf").write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\n%%EOF\n")


async def _call_tests(before: set[str], ns: dict[str, Any], tmp_path: Path, sample: Sample) -> None:
    """Run the ``test_*`` coroutine functions a block defined, as pytest would."""
    for name, func in list(ns.items()):
        if name in before or not name.startswith("test_") or not callable(func):
            continue
        params = inspect.signature(func).parameters
        async with contextlib.AsyncExitStack() as stack:
            kwargs: dict[str, Any] = {}
            for param in params:
                if param == "harvest_simulator":
                    kwargs[param] = await stack.enter_async_context(HarvestSimulator())
                elif param == "tmp_path":
                    kwargs[param] = tmp_path
                else:
                    raise AssertionError(f"{sample.where}: {name} wants fixture {param!r}")
            result = func(**kwargs)
            if inspect.isawaitable(result):
                await result


async def _run(sample: Sample, ns: dict[str, Any], tmp_path: Path) -> None:
    code = _compile(sample)
    before = set(ns)
    if code.co_flags & inspect.CO_COROUTINE:
        await eval(code, ns)  # top-level await: run in the test's event loop
    else:
        # Plain code may call asyncio.run(), which needs a thread without a running
        # loop; the simulator goes on serving from this one meanwhile.
        await asyncio.to_thread(exec, code, ns)
    await _call_tests(before, ns, tmp_path, sample)


@pytest.mark.parametrize("page", RUNNABLE_PAGES)
async def test_page_samples_run(
    page: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, redis_url: str | None
) -> None:
    """The page's blocks, in order, in one namespace, against one simulator."""
    samples = [s for s in SAMPLES if s.page == page and not s.skip and s.snippet is None]
    if page == "workers.md":
        pytest.importorskip("fastapi")  # its app.py sample imports it
        if redis_url is None:
            pytest.skip("workers.md needs redis-server (apt-get install redis-server)")
        monkeypatch.setenv("REDIS_URL", redis_url)
    if page == "fastapi.md":
        pytest.importorskip("fastapi")
        pytest.importorskip("httpx")
        monkeypatch.syspath_prepend(str(DOCS / "examples"))  # import fastapi_app
        monkeypatch.setitem(sys.modules, "fastapi_app", None)  # restored at teardown
        del sys.modules["fastapi_app"]
    monkeypatch.chdir(tmp_path)
    _fixture_files(tmp_path)
    async with HarvestSimulator(seed=0, rate_limit=PAGE_RATE_LIMIT) as sim, sim.client() as harvest:
        with _pointed_at(sim, monkeypatch):
            ns: dict[str, Any] = {"__name__": "__docs__"}
            before_block = BEFORE_BLOCK.get(page)
            for sample in samples:
                ns["harvest"], ns["sim"] = harvest, sim
                if before_block is not None:
                    await before_block(ns)
                try:
                    await _run(sample, ns, tmp_path)
                except BaseException as exc:
                    if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                        raise
                    raise AssertionError(f"sample at {sample.where} failed: {exc!r}") from exc
        assert sim.errors == []


# -------------------------------------------------------------------- FastAPI


def _load(path: Path, name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


@contextlib.asynccontextmanager
async def _fastapi_app(
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[tuple[HarvestSimulator, Any, Callable[[], Any]]]:
    pytest.importorskip("fastapi")
    httpx = pytest.importorskip("httpx")
    async with HarvestSimulator(seed=0) as sim:
        with _pointed_at(sim, monkeypatch):
            module = _load(DOCS / "examples" / "fastapi_app.py", "docs_fastapi_app")
            try:
                app = module.app
                async with app.router.lifespan_context(app):
                    transport = httpx.ASGITransport(app=app)

                    def client() -> Any:
                        return httpx.AsyncClient(transport=transport, base_url="http://app")

                    yield sim, app, client
            finally:
                sys.modules.pop("docs_fastapi_app", None)
        assert sim.errors == []


async def test_fastapi_example_lists_recent_time_entries(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with _fastapi_app(monkeypatch) as (sim, app, client), client() as http:
        harvest = app.state.harvest
        assert isinstance(harvest, harvest_async._client.HarvestClient)  # via ha.lifespan
        assert harvest.base_url == sim.base_url
        response = await http.get("/time-entries", params={"limit": 30})
        assert response.status_code == 200, response.text
        entries = response.json()
        assert len(entries) == 30
        for entry in entries:
            assert set(entry) == {"id", "spent_date", "hours", "project", "task", "notes"}
            assert isinstance(entry["hours"], str)  # exact decimal text, not a float
        dates = [e["spent_date"] for e in entries]
        assert dates == sorted(dates, reverse=True)  # newest first
        since = await http.get("/time-entries", params={"since": dates[0], "limit": 2000})
        assert since.status_code == 200
        assert {e["spent_date"] for e in since.json()} == {dates[0]}
        # Several requests share one client (and its limiter).
        assert (await http.get("/time-entries", params={"limit": 0})).status_code == 422
        assert app.state.harvest is harvest


async def test_fastapi_example_creates_a_time_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    async with _fastapi_app(monkeypatch) as (sim, app, client), client() as http:
        harvest = app.state.harvest
        assignment = (await harvest.users.my_project_assignments().collect())[0]
        task = assignment.task_assignments[0].task
        before = sim.counters.creates.get("time_entries", 0)
        response = await http.post(
            "/time-entries",
            json={
                "project_id": assignment.project.id,
                "task_id": task.id,
                "spent_date": "2025-01-14",
                "hours": "1.25",
                "notes": "From the docs example",
            },
        )
        assert response.status_code == 201, response.text
        created = response.json()
        assert created["hours"] == "1.25"
        assert created["notes"] == "From the docs example"
        assert sim.counters.creates["time_entries"] == before + 1
        stored = sim.record("time_entries", created["id"])
        assert stored is not None
        assert stored["notes"] == "From the docs example"

        # Harvest's 422 comes back as a 422 with Harvest's message.
        bad = await http.post(
            "/time-entries",
            json={
                "project_id": assignment.project.id,
                "task_id": 1,
                "spent_date": "2025-01-14",
                "hours": "1",
            },
        )
        assert bad.status_code == 422, bad.text
        assert bad.json()["detail"]
        # Bad input is refused by the app before Harvest sees it.
        sent = sim.counters.requests
        invalid = await http.post("/time-entries", json={"project_id": "x"})
        assert invalid.status_code == 422
        assert sim.counters.requests == sent


async def test_fastapi_example_closes_its_client(monkeypatch: pytest.MonkeyPatch) -> None:
    """The lifespan closes the client it opened."""
    async with _fastapi_app(monkeypatch) as (_sim, app, _client):
        harvest = app.state.harvest
        assert not harvest._requester.closed
    assert harvest._requester.closed


def test_environment_is_restored() -> None:
    """The monkeypatches of the runs above were undone."""
    assert harvest_async.HarvestClient.__module__ == "harvest_async._client"
    assert harvest_async.oauth.HarvestID.__module__ == "harvest_async._oauth"
    assert "docs_fastapi_app" not in sys.modules
