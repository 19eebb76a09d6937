"""Build ``docs/coverage.md``: every Harvest operation and the library call that performs it.

The table is generated from the code (the ``@operation`` marks on resource methods), so it
cannot drift from what the library does; ``tests/test_coverage.py`` fails when the file
and the code disagree, or when an operation of Harvest's OpenAPI description has no call.

Usage::

    python -m harvest_async._coverage            # rewrite docs/coverage.md
    python -m harvest_async._coverage --check    # exit 1 if it is out of date
    python -m harvest_async._coverage --check --openapi PATH
        # also exit 1 if an operation of the OpenAPI description at PATH has no call,
        # or a mark names an operation it does not have

The OpenAPI description is not part of the project (it is community-made, under its own
licence); the page is generated from the code alone, and the description only checks it.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import sys
from collections.abc import Iterator
from pathlib import Path

from .resources._base import OPERATION_ATTR, Resource

__all__ = ["Row", "collect_rows", "openapi_operations", "render", "unmatched"]

Row = tuple[str, str, str]  # (HTTP method, path, library call)

_METHOD_ORDER = {"GET": 0, "POST": 1, "PATCH": 2, "PUT": 3, "DELETE": 4}

#: Classes outside the client's resource tree that perform operations: (module, class, how
#: a user reaches an instance).
_EXTRA_OWNERS = (("harvest_async.oauth", "HarvestID", "harvest_id"),)


def _call_text(owner: str, name: str, func: object) -> str:
    params = [
        p
        for p in inspect.signature(func).parameters.values()  # type: ignore[arg-type]
        if p.name != "self"
    ]
    positional = [
        p.name
        for p in params
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        and p.default is inspect.Parameter.empty
    ]
    has_keywords = any(
        p.kind in (p.KEYWORD_ONLY, p.VAR_KEYWORD) or p.default is not inspect.Parameter.empty
        for p in params
    )
    args = ", ".join(positional + (["..."] if has_keywords else []))
    return f"`{owner}.{name}({args})`"


def _methods(cls: type, owner: str) -> Iterator[Row]:
    for name, func in inspect.getmembers(cls, inspect.isfunction):
        if name.startswith("_"):
            continue
        for method, path in getattr(func, OPERATION_ATTR, ()):
            yield method, path, _call_text(owner, name, func)


def _walk(obj: object, owner: str, seen: set[int]) -> Iterator[Row]:
    if id(obj) in seen:
        return
    seen.add(id(obj))
    yield from _methods(type(obj), owner)
    for attr, value in vars(obj).items():
        if not attr.startswith("_") and isinstance(value, Resource):
            yield from _walk(value, f"{owner}.{attr}", seen)


def collect_rows() -> list[Row]:
    """Every (method, path, call) the library marks, sorted by path then method."""
    from ._client import HarvestClient

    client = HarvestClient(access_token="coverage", account_id="1")
    rows: set[Row] = set()
    seen: set[int] = set()
    for attr, value in vars(client).items():
        if isinstance(value, Resource):
            rows.update(_walk(value, f"h.{attr}", seen))
    for module_name, class_name, owner in _EXTRA_OWNERS:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        cls = getattr(module, class_name, None)
        if isinstance(cls, type):
            rows.update(_methods(cls, owner))
    return sorted(rows, key=lambda r: (r[1], _METHOD_ORDER.get(r[0], 9), r[2]))


def render(rows: list[Row]) -> str:
    """The markdown page for ``rows``."""
    api = sorted({(m, p) for m, p, _ in rows if not p.startswith("id:")})
    harvest_id = sorted({(m, p) for m, p, _ in rows if p.startswith("id:")})
    lines = [
        "# API coverage",
        "",
        "Every operation of Harvest's API v2 and of Harvest ID, with the call of this library",
        "that sends it. The table is generated from the library's code, so it always matches",
        "what the library does.",
        "",
        f"- Harvest API v2 operations with a library call: **{len(api)}**",
        f"- Harvest ID (OAuth2, accounts) operations: **{len(harvest_id)}**",
        "",
        "`h` is a `HarvestClient`; `harvest_id` a `harvest_async.oauth.HarvestID`.",
        "",
        "| Method | Path | Library call |",
        "|---|---|---|",
    ]
    for method, path, call in rows:
        shown = path.replace("id:", "https://id.getharvest.com", 1)
        lines.append(f"| {method} | `{shown}` | {call} |")
    return "\n".join(lines) + "\n"


_HTTP_METHODS = ("get", "post", "patch", "put", "delete")


def openapi_operations(path: Path) -> set[tuple[str, str]]:
    """Every ``(METHOD, path)`` of the OpenAPI description at ``path`` (needs PyYAML)."""
    import yaml  # a test and docs dependency only

    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {
        (method.upper(), op_path)
        for op_path, ops in spec["paths"].items()
        for method in ops
        if method in _HTTP_METHODS
    }


def unmatched(
    rows: list[Row], operations: set[tuple[str, str]]
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """``(operations without a call, marks naming no operation)``; Harvest ID marks aside."""
    marked = {(m, p) for m, p, _ in rows if not p.startswith("id:")}
    return sorted(operations - marked), sorted(marked - operations)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--output", type=Path, default=Path("docs/coverage.md"))
    parser.add_argument("--check", action="store_true", help="fail if the file is stale")
    parser.add_argument(
        "--openapi",
        type=Path,
        metavar="PATH",
        help="an OpenAPI description of Harvest API v2 to check the marks against",
    )
    args = parser.parse_args(argv)
    rows = collect_rows()
    if args.openapi is not None:
        if not args.openapi.is_file():
            print(f"no OpenAPI description at {args.openapi}", file=sys.stderr)
            return 2
        missing, unknown = unmatched(rows, openapi_operations(args.openapi))
        for method, path in missing:
            print(f"no library call for {method} {path}", file=sys.stderr)
        for method, path in unknown:
            print(
                f"@operation mark not in the OpenAPI description: {method} {path}", file=sys.stderr
            )
        if missing or unknown:
            return 1
        print(f"every operation of {args.openapi} has a library call")
    text = render(rows)
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is out of date: run python -m harvest_async._coverage")
            return 1
        print(f"{args.output} is up to date")
        return 0
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
