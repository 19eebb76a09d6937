"""The package's layers, read from its source: no import cycle, aiohttp in one place.

Every ``import`` of every module counts: module level, inside functions, and under
``if TYPE_CHECKING:`` (a cycle there still ties two layers together). See
docs/dev/architecture.md for why each layer may import only those below it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "harvest_async"

#: The layers, lowest first (a module may import its own layer and those below).
#: Modules under a package name (``models``) are matched by prefix.
LAYERS: list[set[str]] = [
    {
        "_errors",
        "_auth",
        "_json",
        "_version",
        "_closing",
        "_ratelimit",
        "_redis_ratelimit",
        "_options",
    },
    {"_http", "_aiohttp"},
    {"_requester"},
    {"_pagination"},
    {"_converter", "models"},
    {"resources"},
    {
        "",
        "_client",
        "_lifespan",
        "_oauth",
        "oauth",
        "bulk",
        "sync",
        "_tables",
        "_targets",
        "_target_postgres",
        "_target_duckdb",
        "cli",
        "__main__",
        "_coverage",
        "testing",
    },
]

#: The one module outside testing/ that may import aiohttp.
ADAPTER = "harvest_async._aiohttp"


def _modules() -> dict[str, tuple[Path, bool]]:
    found: dict[str, tuple[Path, bool]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        package = parts[-1] == "__init__"
        if package:
            parts.pop()
        found[".".join(parts)] = (path, package)
    return found


MODULES = _modules()


def _imports(name: str) -> Iterator[str]:
    """Every module ``name`` imports, as absolute names (submodules resolved)."""
    path, package = MODULES[name]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if package else name.split(".")[:-1]
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                yield sub if sub in MODULES else target


GRAPH = {name: set(_imports(name)) for name in MODULES}
INTERNAL = {
    name: {t for t in targets if t in MODULES and t != name} for name, targets in GRAPH.items()
}


def _cycles() -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(INTERNAL[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(INTERNAL):
        if node not in index:
            visit(node)
    return found


def _layer(name: str) -> int:
    inner = name.removeprefix("harvest_async").removeprefix(".")
    for level, members in enumerate(LAYERS):
        for member in members:
            if inner == member or (member and inner.startswith(f"{member}.")):
                return level
    raise AssertionError(f"{name} is in no layer: add it to LAYERS")


def _imports_aiohttp(name: str) -> bool:
    return any(t == "aiohttp" or t.startswith("aiohttp.") for t in GRAPH[name])


def test_the_parser_sees_type_checking_and_function_level_imports() -> None:
    # Known edges of each kind, so an empty graph cannot pass the tests below.
    assert "harvest_async._auth" in INTERNAL["harvest_async._http"]  # under TYPE_CHECKING
    assert "harvest_async.testing" in INTERNAL["harvest_async.cli"]  # inside a function
    assert "harvest_async.models" in INTERNAL["harvest_async.testing._world"]  # from .. import
    assert _imports_aiohttp(ADAPTER)


def test_no_import_cycle() -> None:
    assert _cycles() == []


def test_every_module_imports_only_its_layer_and_those_below() -> None:
    upward = [
        f"{name} (layer {_layer(name) + 1}) imports {target} (layer {_layer(target) + 1})"
        for name in sorted(INTERNAL)
        for target in sorted(INTERNAL[name])
        if _layer(target) > _layer(name)
    ]
    assert upward == []


def test_only_the_transport_adapter_and_the_simulator_import_aiohttp() -> None:
    importers = {name for name in MODULES if _imports_aiohttp(name)}
    outside = {n for n in importers if not n.startswith("harvest_async.testing")}
    assert outside == {ADAPTER}


@pytest.mark.parametrize("name", sorted(n for n in MODULES if ".resources" in n))
def test_resources_never_touch_aiohttp_or_its_adapter(name: str) -> None:
    assert not _imports_aiohttp(name)
    assert ADAPTER not in INTERNAL[name]


def test_the_simulator_uses_only_the_public_surface() -> None:
    private = [
        f"{name} imports {target}"
        for name in sorted(MODULES)
        if name.startswith("harvest_async.testing")
        for target in sorted(INTERNAL[name])
        if not target.startswith("harvest_async.testing")
        and any(part.startswith("_") for part in target.split(".")[1:])
    ]
    assert private == []


def test_the_layer_check_would_catch_a_cycle() -> None:
    INTERNAL["harvest_async._errors"].add("harvest_async._client")
    try:
        assert _cycles() != []
    finally:
        INTERNAL["harvest_async._errors"].discard("harvest_async._client")
