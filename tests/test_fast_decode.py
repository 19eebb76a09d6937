"""The fast path from list-page bytes to models agrees with the converter, and stays lazy.

- ``list_body_decoder(cls, key)`` exists for every model and, on pages built from
  hypothesis-generated models and from real records (read in place from the shared
  folder, see tests/shared.py), gives
  exactly what ``decode_many`` gives on the same JSON (digits, UTC, types included).
- Edge inputs (odd timestamp spellings, decimals/ints/strings of the wrong kind, bad
  envelopes, invalid UTF-8, lone surrogates...) through a `Paginator`, directly and over
  aioresponses: the items are what the converter gives on the JSON as the standard
  library parses it, or both sides fail with `DecodeError` (nothing else escapes).
- Pages fetched ahead (prefetch, concurrent pages, merged walks, date shards) are
  decoded only when they reach the caller, each exactly once.
- ``record_json`` / ``encode_model`` write the same JSON as ``_json.dumps`` of the
  unstructured model.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import types
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from functools import partial
from typing import Any, Union, get_args, get_origin

import attrs
import pytest
from aioresponses import CallbackResult, aioresponses
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from yarl import URL

import harvest_async as ha
from harvest_async import _json, models
from harvest_async._converter import (
    ListBodyDecoder,
    decode,
    decode_many,
    encode_model,
    get_converter,
    list_body_decoder,
)
from harvest_async._pagination import Page, Paginator, parse_page
from harvest_async.resources import _base
from harvest_async.sync import record_json

from .conftest import BASE
from .records import build, complete, required_values
from .shared import AIRBYTE_RECORDS, OPENAPI, needs, shared_params
from .test_models import EXAMPLES, RECORDS, SCHEMA_MODELS, STREAM_MODELS

FEW = settings(
    max_examples=30,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)

#: Every attrs model exported by harvest_async.models.
MODELS: list[type] = sorted(
    (
        obj
        for name in dir(models)
        if isinstance(obj := getattr(models, name), type) and attrs.has(obj)
    ),
    key=lambda cls: cls.__name__,
)
MODEL_IDS = [cls.__name__ for cls in MODELS]

#: The envelope fields a list page carries besides its items.
PAGE_FIELDS = ("total_entries", "page", "total_pages", "per_page", "links")

KEY = "items"


def test_models_are_found() -> None:
    assert len(MODELS) >= 40
    assert models.TimeEntry in MODELS
    assert models.Invoice in MODELS


# --- exact comparison -----------------------------------------------------------------


def canon(value: Any) -> Any:
    """``value`` as nested tuples that tell apart what ``==`` would not.

    Decimals by digits and exponent (``1.50`` is not ``1.5``, ``-0`` is not ``0``),
    timestamps with whether their tzinfo is ``datetime.UTC`` itself, ints from bools.
    """
    if attrs.has(type(value)):
        return (
            type(value).__name__,
            tuple((f.name, canon(getattr(value, f.name))) for f in attrs.fields(type(value))),
        )
    if isinstance(value, list):
        return ("list", tuple(canon(v) for v in value))
    if isinstance(value, Decimal):
        return ("Decimal", value.as_tuple())
    if isinstance(value, dt.datetime):
        return ("datetime", value.isoformat(), value.tzinfo is dt.UTC)
    if isinstance(value, dt.date):
        return ("date", value.isoformat())
    return (type(value).__name__, value)


def page_canon(page: Page[Any]) -> Any:
    return (
        canon(page.items),
        page.total_entries,
        page.next_url,
        page.page,
        page.total_pages,
        page.per_page,
    )


ERROR = ("DecodeError",)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def wire_json(body: bytes) -> Any:
    """The body as the standard library reads JSON (UTF-8, exact decimals, no NaN)."""
    return json.loads(body.decode("utf-8"), parse_float=Decimal, parse_constant=_no_constant)


def reference(cls: type, key: str, body: bytes) -> Any:
    """What the converter makes of ``body`` parsed by the standard library, or ERROR."""
    try:
        envelope = wire_json(body)
    except (ValueError, RecursionError):  # not UTF-8, not JSON
        return ERROR
    try:
        page = parse_page(envelope, key, partial(decode_many, cls))
    except ha.DecodeError:
        return ERROR
    # decode_many agrees with decode, item by item.
    assert canon(page.items) == canon([decode(cls, item) for item in envelope[key]])
    return [page_canon(page)]


async def via_paginator(cls: type, key: str, body: bytes) -> Any:
    """The one page of ``body`` through a Paginator with the fast path, or ERROR."""

    async def fetch(url: str | None) -> Any:
        assert url is None
        return body

    decoder = list_body_decoder(cls, key)
    assert decoder is not None
    pager: Paginator[Any] = Paginator(fetch, key, partial(decode_many, cls), decode_body=decoder)
    try:
        return [page_canon(page) async for page in pager.pages()]
    except ha.DecodeError:
        return ERROR


# --- strategies ------------------------------------------------------------------------

CLEAN_DATETIMES = st.datetimes(
    min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30), timezones=st.just(dt.UTC)
)
ODD_ZONES = st.sampled_from(
    [
        dt.UTC,
        dt.timezone(dt.timedelta(hours=2)),
        dt.timezone(dt.timedelta(hours=-5, minutes=-30)),
        dt.timezone(dt.timedelta(0), "UTC+0"),
    ]
)
WILD_DATETIMES = st.datetimes(
    min_value=dt.datetime(2, 1, 1),
    max_value=dt.datetime(9998, 12, 31),
    timezones=st.none() | ODD_ZONES,
)


def _optional_inner(tp: Any) -> Any:
    if get_origin(tp) in (Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        if len(args) == 1 and len(get_args(tp)) == 2:
            return args[0]
    return None


_strategies: dict[tuple[Any, bool], st.SearchStrategy[Any]] = {}


def strategy_for(tp: Any, *, wild: bool) -> st.SearchStrategy[Any]:
    """Values of field type ``tp``: as the converter decodes them, or (``wild``) any."""
    inner = _optional_inner(tp)
    if inner is not None:
        return st.none() | strategy_for(inner, wild=wild)
    if tp is bool:
        return st.booleans()
    if tp is int:
        # Wild: beyond the 64-bit range too (which both paths refuse).
        bound = 2**80 if wild else 2**63
        return st.integers(min_value=-bound, max_value=bound - 1)
    if tp is str:
        return st.text(max_size=30)  # any code point but surrogates
    if tp is Decimal:
        decimals = st.decimals(allow_nan=wild, allow_infinity=wild)
        return decimals if wild else decimals.filter(lambda d: -30 <= d.adjusted() <= 30)
    if tp is dt.datetime:
        return WILD_DATETIMES if wild else CLEAN_DATETIMES
    if tp is dt.date:
        return st.dates()
    if get_origin(tp) is list:
        (item,) = get_args(tp)
        return st.lists(strategy_for(item, wild=wild), max_size=3)
    if attrs.has(tp):
        return model_strategy(tp, wild=wild)
    raise AssertionError(f"no strategy for field type {tp!r}")


def model_strategy(cls: type, *, wild: bool = False) -> st.SearchStrategy[Any]:
    if (cls, wild) not in _strategies:

        def build() -> st.SearchStrategy[Any]:
            attrs.resolve_types(cls)
            return st.builds(
                cls,
                **{
                    f.alias or f.name: strategy_for(f.type, wild=wild)
                    for f in attrs.fields(cls)
                    if f.init
                },
            )

        _strategies[cls, wild] = st.deferred(build)
    return _strategies[cls, wild]


OPTIONAL_INT = st.none() | st.integers(min_value=0, max_value=10**6)
ENVELOPES = st.fixed_dictionaries(
    {
        "per_page": st.integers(min_value=1, max_value=2000),
        "links": st.fixed_dictionaries(
            {
                "next": st.none() | st.just(f"{BASE}/x?page=2&per_page=100"),
                "first": st.just(f"{BASE}/x?page=1"),
            }
        ),
    },
    optional={
        "total_entries": OPTIONAL_INT,
        "page": OPTIONAL_INT,
        "total_pages": OPTIONAL_INT,
        "next_page": OPTIONAL_INT,
        "previous_page": OPTIONAL_INT,
    },
)


def to_json(model: Any) -> Any:
    return get_converter().unstructure(model)


# --- 1. equivalence on clean data --------------------------------------------------------


def assert_fast_equals_slow(cls: type, key: str, body: bytes) -> list[Any]:
    """``split`` + ``items`` take the fast path and give what the converter gives."""
    decoder = list_body_decoder(cls, key)
    assert decoder is not None
    split = decoder.split(body)
    assert split is not None, "the envelope was left to the slow path"
    raw, rest = split
    fast = decoder.items(raw)
    assert fast is not None, "the items were left to the slow path"
    envelope = wire_json(body)
    slow = decode_many(cls, envelope[key])
    assert canon(fast) == canon(slow)
    for name in PAGE_FIELDS:
        assert rest[name] == envelope.get(name), name
    fast_page = parse_page({**rest, key: raw}, key, lambda _: fast)
    slow_page = parse_page(envelope, key, lambda _: slow)
    assert page_canon(fast_page) == page_canon(slow_page)
    return fast


@pytest.mark.parametrize("cls", MODELS, ids=MODEL_IDS)
def test_every_model_has_a_fast_path_equal_to_the_converter(cls: type) -> None:
    assert list_body_decoder(cls, KEY) is not None

    @FEW
    @given(instances=st.lists(model_strategy(cls), max_size=4), envelope=ENVELOPES)
    def check(instances: list[Any], envelope: dict[str, Any]) -> None:
        body = _json.dumps({KEY: [to_json(m) for m in instances], **envelope}).encode()
        fast = assert_fast_equals_slow(cls, KEY, body)
        assert fast == instances  # and the models are the ones written

    check()


def _stream_pages() -> list[tuple[str, type, bytes]]:
    rows: dict[str, list[Any]] = {}
    for stream, line in RECORDS:
        rows.setdefault(stream, []).append(wire_json(line.encode())["data"])
    return [
        (
            stream,
            STREAM_MODELS[stream],
            _json.dumps(
                {
                    stream: data,
                    "per_page": 2000,
                    "total_entries": len(data),
                    "page": 1,
                    "total_pages": 1,
                    "links": {"next": None},
                }
            ).encode(),
        )
        for stream, data in sorted(rows.items())
    ]


STREAM_PAGES = _stream_pages()


@pytest.mark.parametrize(
    ("stream", "cls", "body"),
    shared_params(
        lambda: [pytest.param(*p, id=p[0]) for p in STREAM_PAGES], *AIRBYTE_RECORDS, width=3
    ),
)
async def test_real_records_take_the_fast_path_and_agree(
    stream: str, cls: type, body: bytes
) -> None:
    fast = assert_fast_equals_slow(cls, stream, body)
    assert len(fast) == len(wire_json(body)[stream])
    assert await via_paginator(cls, stream, body) == reference(cls, stream, body)


LIST_EXAMPLES = [
    (operation, key, cls, text)
    for operation, schema, text in EXAMPLES
    if (key := SCHEMA_MODELS[schema][0]) is not None
    for cls in [SCHEMA_MODELS[schema][1]]
]


@needs(*OPENAPI)
def test_list_examples_are_found() -> None:
    assert len(LIST_EXAMPLES) >= 20


@pytest.mark.parametrize(
    ("operation", "key", "cls", "text"),
    shared_params(lambda: [pytest.param(*e, id=e[0]) for e in LIST_EXAMPLES], *OPENAPI, width=4),
)
async def test_openapi_list_examples_take_the_fast_path_and_agree(
    operation: str, key: str, cls: type, text: str
) -> None:
    # The YAML timestamps come out as "2017-06-26 22:32:52+00:00" (space, offset).
    body = text.encode()
    assert_fast_equals_slow(cls, key, body)
    assert await via_paginator(cls, key, body) == reference(cls, key, body)


# --- 2. edge inputs ------------------------------------------------------------------------


def page_body(key: str, items: str | bytes, tail: str | bytes = "") -> bytes:
    items_b = items.encode() if isinstance(items, str) else items
    tail_b = tail.encode() if isinstance(tail, str) else tail
    return (
        f'{{"{key}": ['.encode()
        + items_b
        + b'], "per_page": 2000'
        + tail_b
        + b', "links": {"next": null}}'
    )


def entry(fields: str, cls: type = models.TimeEntry) -> str:
    """A ``cls`` record: ``fields``, after every field it requires (``fields`` win)."""
    return complete(cls, "{" + fields + "}")


TE = "time_entries"
INVOICE = models.Invoice
ASSIGNMENT = models.ProjectAssignment
ASSIGNED_TASK = models.ProjectAssignmentTaskAssignment
#: A time entry's JSON text up to its closing brace (every required field, ``"id": 1``).
TE_OPEN = complete(models.TimeEntry, '{"id": 1}').encode()[:-1]
ENTRY_1 = complete(models.TimeEntry, '{"id": 1}')
ENTRY_2 = complete(models.TimeEntry, '{"id": 2}')

#: (id, body) for TimeEntry pages under "time_entries".
ENTRY_CASES: list[Any] = [
    # timestamps
    *[
        (f"created_at={ts}", page_body(TE, entry(f'"id": 1, "created_at": "{ts}"')))
        for ts in [
            "2024-01-01T10:00:00Z",
            "2024-01-01T10:00:00+02:00",
            "2024-01-01T10:00:00",
            "2024-01-01T10:00:00-00:00",
            "2024-01-01T10:00:00+00:00",
            "2024-01-01T10:00:00.1234567Z",
            "2024-01-01T10:00:00.1234567+02:00",
            "2024-12-31T23:59:59.9999999Z",
            "2024-01-01t10:00:00z",
            "2024-01-01 10:00:00Z",
            "2024-01-01T10:00Z",
            "2024-01-01T10:00:00.5+05:30",
            "2024-01-01",
            "2024-01-01T24:00:00Z",
            "2024-01-01T10:00:60Z",
            "0001-01-01T00:00:00+01:00",
            "9999-12-31T23:59:59-01:00",
            "2024-13-01T10:00:00Z",
            "",
            "yesterday",
        ]
    ],
    ("created_at=int", page_body(TE, entry('"id": 1, "created_at": 1704103200'))),
    # decimals
    *[
        (f"hours={v}", page_body(TE, entry(f'"id": 1, "hours": {v}')))
        for v in [
            '"NaN"',
            '"Infinity"',
            '"-Infinity"',
            '"sNaN"',
            '" 1.5"',
            '"1_0"',
            '"+1.5"',
            '"1e5"',
            '"0x10"',
            '""',
            "-0",
            "-0.0",
            "1E+2",
            "1e400",
            "1.50",
            "7",
            "true",
            "[]",
            "{}",
            '"1.5"',
        ]
    ],
    # ints
    *[
        (f"id={v}", page_body(TE, entry(f'"id": {v}')))
        for v in [
            "5.0",
            '"5"',
            "5.5",
            "1e2",
            "1.0E+1",
            "true",
            "-0",
            str(2**70),
            "null",
        ]
    ],
    # strings
    *[
        (f"notes={v}", page_body(TE, entry(f'"id": 1, "notes": {v}')))
        for v in [
            "5",
            "5.5",
            "1E+2",
            "-0.0",
            "12345678901234567890",
            "true",
            "[]",
            '"\\u00e9\\u0000"',
            '"Zo\u00eb \u6771\u4eac \U0001f600"',
            '"\\ud83d\\ude00"',
        ]
    ],
    # dates and bools
    *[
        (f"spent_date={v}", page_body(TE, entry(f'"id": 1, "spent_date": {v}')))
        for v in [
            '"2024-02-29"',
            '"2023-02-29"',
            '"20240101"',
            '"2024-W01-1"',
            '"2024-1-1"',
            '"2024-01-01T00:00:00Z"',
            "5",
        ]
    ],
    *[
        (f"is_running={v}", page_body(TE, entry(f'"id": 1, "is_running": {v}')))
        for v in [
            "false",
            "1",
            '"true"',
            "null",
        ]
    ],
    # nested models
    *[
        (f"user={v}", page_body(TE, entry(f'"id": 1, "user": {v}')))
        for v in [
            '{"id": 2, "name": "A"}',
            "null",
            "[]",
            '"x"',
            '{"id": "x"}',
            '{"id": 1, "id": 2}',
            '{"id": 1, "extra": [1, {"a": null}]}',
        ]
    ],
    # extra, missing and duplicate keys
    ("extra-keys", page_body(TE, entry('"id": 1, "zzz": [1, {"a": [null, 1.5]}], "q": "x"'))),
    ("missing-keys", page_body(TE, "{}")),
    ("duplicate-id", page_body(TE, entry('"id": 1, "id": 2'))),
    ("duplicate-hours-nan-last", page_body(TE, entry('"hours": 1.5, "hours": "NaN"'))),
    ("duplicate-hours-nan-first", page_body(TE, entry('"hours": "NaN", "hours": 1.5'))),
    (
        "duplicate-created-at",
        page_body(
            TE,
            entry('"created_at": "2024-01-01T10:00:00+02:00", "created_at": "2024-01-01T10:00Z"'),
        ),
    ),
    # items that are not objects
    ("null-item", page_body(TE, "null")),
    ("null-after-item", page_body(TE, '{"id": 1}, null')),
    ("int-item", page_body(TE, "5")),
    ("list-item", page_body(TE, "[]")),
    ("empty-items", page_body(TE, "")),
    # lone surrogates (the stdlib accepts them; msgspec does not)
    ("surrogate-in-notes", page_body(TE, entry('"id": 1, "notes": "a\\ud800b"'))),
    ("low-surrogate-in-notes", page_body(TE, entry('"id": 1, "notes": "\\udc00"'))),
    ("surrogate-in-unknown", page_body(TE, entry('"id": 1, "zzz": "\\ud800"'))),
    ("surrogate-in-envelope", page_body(TE, entry('"id": 1'), ', "zzz": "\\ud800"')),
    # invalid UTF-8
    ("bad-utf8-in-notes", page_body(TE, TE_OPEN + b', "notes": "a\xffb"}')),
    ("overlong-utf8-in-notes", page_body(TE, TE_OPEN + b', "notes": "\xc0\xaf"}')),
    ("cesu-surrogate-in-notes", page_body(TE, TE_OPEN + b', "notes": "\xed\xa0\x80"}')),
    ("bad-utf8-in-unknown-value", page_body(TE, TE_OPEN + b', "zzz": "a\xffb"}')),
    ("bad-utf8-in-unknown-key", page_body(TE, TE_OPEN + b', "\xff": 1}')),
    ("bad-utf8-in-envelope", page_body(TE, TE_OPEN + b"}", b', "zzz": "\xff"')),
    ("bad-utf8-in-links", page_body(TE, TE_OPEN + b"}").replace(b"null}", b'null, "a": "\xff"}')),
    # not JSON
    ("nan-literal", page_body(TE, entry('"id": 1, "hours": NaN'))),
    ("nan-literal-unknown", page_body(TE, entry('"id": 1, "zzz": Infinity'))),
    ("bad-escape", page_body(TE, entry('"id": 1, "zzz": "\\x"'))),
    ("control-char", page_body(TE, entry('"id": 1, "zzz": "a\nb"'))),
    ("leading-zero", page_body(TE, entry('"id": 1, "zzz": 01'))),
    ("trailing-comma", page_body(TE, entry('"id": 1,'))),
    ("trailing-data", page_body(TE, entry('"id": 1')) + b" x"),
    ("bom", b"\xef\xbb\xbf" + page_body(TE, entry('"id": 1'))),
    ("deep-unknown", page_body(TE, entry('"id": 1, "zzz": ' + "[" * 50 + "]" * 50))),
    ("too-deep-unknown", page_body(TE, entry('"id": 1, "zzz": ' + "[" * 100_000 + "]" * 100_000))),
    ("truncated", page_body(TE, entry('"id": 1'))[:-5]),
    ("empty-body", b""),
    ("blank-body", b"  \n"),
    # envelopes
    ("items-key-missing", b'{"per_page": 2000, "links": {"next": null}}'),
    *[
        (f"items={v}", f'{{"{TE}": {v}, "links": {{"next": null}}}}'.encode())
        for v in ["{}", "null", '"x"', "5", '{"id": 1}']
    ],
    (
        "duplicate-items-key",
        f'{{"{TE}": [{ENTRY_1}], "{TE}": [{ENTRY_2}]}}'.encode(),
    ),
    ("duplicate-items-key-bad-first", f'{{"{TE}": 5, "{TE}": [{ENTRY_2}]}}'.encode()),
    ("duplicate-items-key-bad-last", f'{{"{TE}": [{ENTRY_2}], "{TE}": 5}}'.encode()),
    ("top-level-list", f"[{ENTRY_1}]".encode()),
    ("top-level-null", b"null"),
    ("top-level-string", b'"time_entries"'),
    *[
        (f"envelope-{name}={v}", page_body(TE, entry('"id": 1'), f', "{name}": {v}'))
        for name, v in [
            ("total_entries", "1.5"),
            ("total_entries", "true"),
            ("total_entries", '"3"'),
            ("page", "1.0"),
            ("total_pages", "[]"),
            ("total_entries", str(2**70)),
            ("total_entries", "null"),
        ]
    ],
    ("per-page-twice", page_body(TE, entry('"id": 1'), ', "per_page": 1.5')),
    ("links-list", f'{{"{TE}": [], "links": []}}'.encode()),
    ("links-next-int", f'{{"{TE}": [], "links": {{"next": 5}}}}'.encode()),
    ("links-missing", f'{{"{TE}": [{ENTRY_1}]}}'.encode()),
]

#: (id, body) for Invoice pages under "invoices": lists of nested models.
INVOICE_CASES: list[Any] = [
    (f"line_items={v}", page_body("invoices", entry(f'"id": 1, "line_items": {v}', INVOICE)))
    for v in [
        '[{"id": 2, "amount": 1.50, "project": {"id": 3, "name": "p"}}]',
        '[{"id": 2, "project": {"id": 3}}]',
        "null",
        "[]",
        "[null]",
        "{}",
        '[{"id": 2, "amount": "NaN"}]',
        '[{"id": 2, "amount": "-Infinity"}]',
        '[{"id": 2, "amount": "2.5"}]',
        '[{"id": 2, "project": {"id": 3.0}}]',
        '[{"id": 2}, 5]',
    ]
] + [
    (
        "invoice-offset-timestamp",
        page_body("invoices", entry('"id": 1, "sent_at": "2024-01-01T10:00:00+02:00"', INVOICE)),
    ),
]

#: (id, body) for ProjectAssignment pages: timestamps and decimals inside a list.
ASSIGNMENT_CASES: list[Any] = [
    (
        f"task_assignments={v}",
        page_body(
            "project_assignments",
            entry(f'"id": 1, "task_assignments": [{entry(v, ASSIGNED_TASK)}]', ASSIGNMENT),
        ),
    )
    for v in [
        '"created_at": "2024-01-01T10:00:00Z"',
        '"created_at": "2024-01-01T10:00:00+02:00"',
        '"created_at": "2024-01-01T10:00:00"',
        '"hourly_rate": "NaN"',
        '"hourly_rate": 1E+2',
    ]
]


def with_key(key: str, cls: type, cases: list[Any]) -> list[Any]:
    """``(key, cls, body)`` params, ids and marks kept."""
    out = []
    for case in cases:
        (name, body), marks = (case.values, case.marks) if hasattr(case, "values") else (case, ())
        out.append(pytest.param(key, cls, body, id=f"{key}-{name}", marks=marks))
    return out


HTTP_CASES = with_key(TE, models.TimeEntry, ENTRY_CASES) + with_key(
    "invoices", models.Invoice, INVOICE_CASES
)
DIRECT_CASES = HTTP_CASES + with_key(
    "project_assignments", models.ProjectAssignment, ASSIGNMENT_CASES
)


@pytest.mark.parametrize(("key", "cls", "body"), DIRECT_CASES)
async def test_edge_pages_through_a_paginator_match_the_converter(
    key: str, cls: type, body: bytes
) -> None:
    assert await via_paginator(cls, key, body) == reference(cls, key, body)


def _list_url(key: str) -> re.Pattern[str]:
    return re.compile(rf"^{re.escape(BASE)}/{key}(\?.*)?$")


@pytest.mark.parametrize(("key", "cls", "body"), HTTP_CASES)
async def test_edge_pages_over_http_match_the_converter(
    client: ha.HarvestClient, mock: aioresponses, key: str, cls: type, body: bytes
) -> None:
    mock.get(_list_url(key), body=body)
    pager: Paginator[Any] = client.time_entries.list() if key == TE else client.invoices.list()
    try:
        got = [page_canon(page) async for page in pager.pages()]
    except ha.DecodeError:
        got = ERROR
    assert got == reference(cls, key, body)


UTC_SPELLINGS = [
    ("2024-01-01T10:00:00Z", dt.datetime(2024, 1, 1, 10, tzinfo=dt.UTC)),
    ("2024-01-01T10:00:00+02:00", dt.datetime(2024, 1, 1, 8, tzinfo=dt.UTC)),
    ("2024-01-01T01:00:00+02:00", dt.datetime(2023, 12, 31, 23, tzinfo=dt.UTC)),
    ("2024-01-01T10:00:00", dt.datetime(2024, 1, 1, 10, tzinfo=dt.UTC)),
    ("2024-01-01T10:00:00-00:00", dt.datetime(2024, 1, 1, 10, tzinfo=dt.UTC)),
    ("2024-01-01t10:00:00z", dt.datetime(2024, 1, 1, 10, tzinfo=dt.UTC)),
    ("2024-01-01 10:00:00Z", dt.datetime(2024, 1, 1, 10, tzinfo=dt.UTC)),
    ("2024-01-01T10:00:00.5-01:30", dt.datetime(2024, 1, 1, 11, 30, 0, 500_000, tzinfo=dt.UTC)),
]


@pytest.mark.parametrize(("text", "expected"), UTC_SPELLINGS, ids=[t for t, _ in UTC_SPELLINGS])
async def test_timestamps_come_back_in_utc_as_decode_gives(
    client: ha.HarvestClient, mock: aioresponses, text: str, expected: dt.datetime
) -> None:
    body = page_body(TE, entry(f'"id": 1, "created_at": "{text}"'))
    mock.get(_list_url(TE), body=body)
    (got,) = await client.time_entries.list().collect()
    single = decode(models.TimeEntry, {**required_values(models.TimeEntry), "created_at": text})
    assert got.created_at == expected == single.created_at
    assert got.created_at is not None
    assert got.created_at.tzinfo is dt.UTC
    assert canon(got) == canon(single)


@pytest.mark.parametrize("text", ["2024-01-01T10:00Z", "2024-01-01", "20240101T100000Z"])
async def test_timestamps_outside_rfc_3339_are_refused_by_both_paths(
    client: ha.HarvestClient, mock: aioresponses, text: str
) -> None:
    """One set of rules: what msgspec refuses from bytes, the converter refuses too."""
    mock.get(_list_url(TE), body=page_body(TE, entry(f'"id": 1, "created_at": "{text}"')))
    with pytest.raises(ha.DecodeError, match=r"^cannot decode TimeEntry: TimeEntry\.created_at"):
        await client.time_entries.list().collect()
    record = {**required_values(models.TimeEntry), "created_at": text}
    with pytest.raises(ha.DecodeError, match=r"^cannot decode TimeEntry: "):
        decode(models.TimeEntry, record)


def test_seven_digit_fractions_agree_with_decode() -> None:
    decoder = list_body_decoder(models.TimeEntry, TE)
    assert decoder is not None
    for text in ["2024-01-01T10:00:00.1234567Z", "2024-01-01T10:00:00.9999995Z"]:
        split = decoder.split(page_body(TE, entry(f'"created_at": "{text}"')))
        assert split is not None
        fast = decoder.items(split[0])
        assert fast is not None
        record = {**required_values(models.TimeEntry), "created_at": text}
        assert canon(fast[0]) == canon(decode(models.TimeEntry, record))


def test_the_page_decoder_holds_values_to_the_converters_rules() -> None:
    """What msgspec would keep as read and the converter refuses is a `DecodeError`;
    a timestamp not in UTC comes back in UTC (as the converter gives it)."""
    decoder = list_body_decoder(models.TimeEntry, TE)
    for fields in ['"hours": "NaN"', '"hours": "Infinity"', '"id": 5.0', '"notes": 5']:
        split = decoder.split(page_body(TE, entry(fields)))
        assert split is not None
        with pytest.raises(ha.DecodeError, match=r"^cannot decode TimeEntry: TimeEntry\.\w+"):
            decoder.items(split[0])
    for text in ["2024-01-01T10:00:00", "2024-01-01T12:00:00+02:00"]:
        split = decoder.split(page_body(TE, entry(f'"created_at": "{text}"')))
        assert split is not None
        (got,) = decoder.items(split[0])
        assert got.created_at == dt.datetime(2024, 1, 1, 10, tzinfo=dt.UTC)
        assert got.created_at.tzinfo is dt.UTC


# --- 3. laziness ------------------------------------------------------------------------


class CountingDecoder:
    """Wraps a `ListBodyDecoder`, counting envelopes read and item arrays decoded."""

    def __init__(self, inner: ListBodyDecoder | None = None) -> None:
        found = inner or list_body_decoder(models.TimeEntry, TE)
        assert found is not None
        self.inner = found
        self.splits = 0
        self.decoded: list[bytes] = []

    def split(self, body: bytes) -> tuple[Any, dict[str, Any]] | None:
        self.splits += 1
        return self.inner.split(body)

    def items(self, raw: Any) -> list[Any] | None:
        self.decoded.append(bytes(raw))
        return self.inner.items(raw)


def entries_body(ids: list[int], next_url: str | None, **envelope: Any) -> bytes:
    items = [
        {
            **required_values(models.TimeEntry),
            "id": i,
            "hours": Decimal("1.25"),
            "spent_date": "2024-01-02",
            "created_at": "2024-01-02T10:00:00Z",
            "user": {"id": 7, "name": "Zo\u00eb"},
        }
        for i in ids
    ]
    return _json.dumps({TE: items, "per_page": 2, **envelope, "links": {"next": next_url}}).encode()


class SlowList:
    """A list of ``pages`` pages of 2 entries; every page after the first takes 5 s."""

    def __init__(self, pages: int, *, page_based: bool = False, prefix: int = 0) -> None:
        self.pages = pages
        self.page_based = page_based
        self.prefix = prefix
        self.calls: list[str | None] = []

    def ids(self, n: int) -> list[int]:
        return [self.prefix * 1000 + n * 10 + j for j in (1, 2)]

    def all_ids(self) -> list[int]:
        return [i for n in range(1, self.pages + 1) for i in self.ids(n)]

    async def __call__(self, url: str | None) -> bytes:
        self.calls.append(url)
        n = 1 if url is None else int(url.rsplit("=", 1)[1])
        if n > 1:
            await asyncio.sleep(5)
        last = n == self.pages
        if self.page_based:
            nxt = None if last else f"https://x.test/te{self.prefix}?per_page=2&page={n + 1}"
            return entries_body(
                self.ids(n), nxt, page=n, total_pages=self.pages, total_entries=2 * self.pages
            )
        nxt = None if last else f"https://x.test/te{self.prefix}?cursor={n + 1}"
        return entries_body(self.ids(n), nxt)


class SlowDecodes:
    """``decode_items`` for the slow path, counting its calls (none expected)."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, items: Any) -> list[Any]:
        self.calls += 1
        return decode_many(models.TimeEntry, items)


def make_pager(
    fake: SlowList, counter: CountingDecoder, slow: SlowDecodes, **options: Any
) -> Paginator[Any]:
    return Paginator(fake, TE, slow, decode_body=counter, **options)


@pytest.mark.looptime
@pytest.mark.parametrize("prefetch", [1, 3])
async def test_prefetched_pages_are_decoded_only_when_taken(prefetch: int) -> None:
    fake, counter, slow = SlowList(6), CountingDecoder(), SlowDecodes()
    taken, seen = 0, []
    async for page in make_pager(fake, counter, slow, prefetch=prefetch).pages():
        taken += 1
        seen += [e.id for e in page.items]
        assert len(counter.decoded) == taken
        await asyncio.sleep(60)  # a slow caller: the prefetch fills up
        assert counter.splits == len(fake.calls) == min(taken + prefetch, 6)
        assert len(counter.decoded) == taken  # the pages ahead are still bytes
    assert seen == fake.all_ids()
    assert len(counter.decoded) == len(set(counter.decoded)) == 6
    assert slow.calls == 0


@pytest.mark.looptime
async def test_concurrent_pages_are_decoded_only_when_taken() -> None:
    fake, counter, slow = SlowList(6, page_based=True), CountingDecoder(), SlowDecodes()
    taken, seen = 0, []
    async for page in make_pager(fake, counter, slow, concurrency=8).pages():
        taken += 1
        seen += [e.id for e in page.items]
        assert page.page == taken
        assert len(counter.decoded) == taken
        await asyncio.sleep(60)
        assert counter.splits == 6  # all fetched (envelopes read) at once
        assert len(counter.decoded) == taken
    assert seen == fake.all_ids()
    assert len(counter.decoded) == len(set(counter.decoded)) == 6
    assert slow.calls == 0


@pytest.mark.looptime
@pytest.mark.parametrize("ordered", [False, True])
@pytest.mark.parametrize("page_based", [False, True])
async def test_merged_walk_decodes_each_page_once_when_taken(
    ordered: bool, page_based: bool
) -> None:
    counter, slow = CountingDecoder(), SlowDecodes()
    fakes = [SlowList(3, page_based=page_based, prefix=p) for p in range(1, 5)]
    merged = Paginator.merge([make_pager(f, counter, slow) for f in fakes], ordered=ordered)
    taken, ahead, seen = 0, 0, Counter[int]()
    async for page in merged.pages():
        taken += 1
        seen.update(e.id for e in page.items)
        assert len(counter.decoded) == taken
        await asyncio.sleep(60)
        assert len(counter.decoded) == taken
        ahead = max(ahead, counter.splits - taken)
    assert ahead >= 3  # the other lists had pages waiting, undecoded
    assert taken == 12
    assert len(counter.decoded) == len(set(counter.decoded)) == 12
    assert seen == Counter(i for f in fakes for i in f.all_ids())
    assert set(seen.values()) == {1}
    assert slow.calls == 0


@pytest.mark.looptime
async def test_sharded_time_entries_decode_each_page_once(
    client: ha.HarvestClient, mock: aioresponses, monkeypatch: pytest.MonkeyPatch
) -> None:
    counters: list[CountingDecoder] = []
    slow = SlowDecodes()

    def counting_decoder(cls: type, key: str) -> Any:
        counters.append(CountingDecoder(list_body_decoder(cls, key)))
        return counters[-1]

    original_decode_many = _base.decode_many

    def counting_decode_many(cls: type, items: Any) -> Any:
        slow.calls += 1
        return original_decode_many(cls, items)

    monkeypatch.setattr(_base, "list_body_decoder", counting_decoder)
    monkeypatch.setattr(_base, "decode_many", counting_decode_many)

    def answer(url: URL, **kwargs: Any) -> CallbackResult:
        query = {**dict(url.query), **dict(kwargs.get("params") or {})}
        if "cursor" in query:
            start = dt.date.fromisoformat(query["cursor"])
            ids, nxt = [start.toordinal() * 10 + 3], None
        else:
            start = dt.date.fromisoformat(query["from"])
            ids = [start.toordinal() * 10 + 1, start.toordinal() * 10 + 2]
            nxt = f"{BASE}/time_entries?cursor={start.isoformat()}&per_page=2"
        return CallbackResult(body=entries_body(ids, nxt))

    mock.get(_list_url(TE), callback=answer, repeat=True)
    pager = client.time_entries.list(from_=dt.date(2024, 1, 1), to=dt.date(2024, 1, 8), shards=4)
    assert len(counters) == 4
    taken, seen = 0, Counter[int]()
    async for page in pager.pages():
        taken += 1
        seen.update(e.id for e in page.items)
        assert sum(len(c.decoded) for c in counters) == taken
        await asyncio.sleep(1)
        assert sum(len(c.decoded) for c in counters) == taken
    assert taken == 8
    decoded = [raw for c in counters for raw in c.decoded]
    assert len(decoded) == len(set(decoded)) == 8
    assert sum(c.splits for c in counters) == 8
    starts = [dt.date(2024, 1, d) for d in (1, 3, 5, 7)]
    assert seen == Counter(s.toordinal() * 10 + j for s in starts for j in (1, 2, 3))
    assert slow.calls == 0


# --- 4. record_json / encode_model ---------------------------------------------------------


def exact(text: str) -> Any:
    """Parse JSON keeping every number's text (so digits must match too)."""
    return json.loads(text, parse_float=lambda s: ("n", s), parse_int=lambda s: ("n", s))


def outcome(encode: Callable[[], str]) -> Any:
    try:
        text = encode()
    except ha.InvalidRequestError:
        return "refused"
    return json.loads(text, parse_float=Decimal), exact(text)


@pytest.mark.parametrize("cls", MODELS, ids=MODEL_IDS)
def test_record_json_is_the_converters_json(cls: type) -> None:
    @FEW
    @given(model=model_strategy(cls) | model_strategy(cls, wild=True))
    def check(model: Any) -> None:
        expected = outcome(lambda: _json.dumps(to_json(model)))
        assert outcome(lambda: record_json(model)) == expected
        assert outcome(lambda: encode_model(model)) == expected

    check()


def test_record_json_is_the_one_encoder_in_the_models_order() -> None:
    entry_ = build(
        models.TimeEntry,
        id=1,
        hours=Decimal("1.50"),
        notes="x",
        created_at=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
    )
    text = record_json(entry_)
    keys = list(json.loads(text))
    assert keys == [f.name for f in attrs.fields(models.TimeEntry)]
    assert text == encode_model(entry_)
    assert '"hours":1.50' in text
    assert '"created_at":"2024-01-01T00:00:00Z"' in text


@pytest.mark.parametrize(
    "model",
    [
        build(models.TimeEntry, id=1, hours=Decimal("NaN")),
        build(models.TimeEntry, id=1, hours=Decimal("-Infinity")),
        build(models.TimeEntry, id=1, billable_rate=Decimal("sNaN")),
        build(
            models.Invoice,
            id=1,
            line_items=[build(models.InvoiceLineItem, id=2, amount=Decimal("NaN"))],
        ),
    ],
    ids=["nan", "-inf", "snan", "nested-nan"],
)
def test_record_json_refuses_what_json_cannot_hold(model: Any) -> None:
    with pytest.raises(ha.InvalidRequestError):
        record_json(model)
    with pytest.raises(ha.InvalidRequestError):
        encode_model(model)


def test_record_json_writes_non_utc_timestamps_in_utc() -> None:
    plus2 = dt.timezone(dt.timedelta(hours=2))
    entry_ = build(
        models.TimeEntry,
        id=1,
        created_at=dt.datetime(2024, 1, 1, 10, tzinfo=plus2),
        updated_at=dt.datetime(2024, 1, 1, 0, 30, 0, 5, tzinfo=dt.timezone(dt.timedelta(hours=1))),
    )
    data = json.loads(record_json(entry_))
    assert data["created_at"] == "2024-01-01T08:00:00Z"
    assert data["updated_at"] == "2023-12-31T23:30:00.000005Z"
    nested = build(
        models.ProjectAssignment,
        id=1,
        task_assignments=[
            build(
                models.TaskAssignment, id=2, created_at=dt.datetime(2024, 6, 1, 0, 0, tzinfo=plus2)
            )
        ],
    )
    assert json.loads(record_json(nested))["task_assignments"][0]["created_at"] == (
        "2024-05-31T22:00:00Z"
    )


def test_record_json_round_trips_non_ascii() -> None:
    text = 'Zo\u00eb \u2013 \u6771\u4eac \U0001f600 \u2028 \x00 \x1f "\\'
    entry_ = build(models.TimeEntry, id=1, notes=text, user=build(models.UserRef, id=2, name=text))
    out = record_json(entry_)
    data = json.loads(out)
    assert data["notes"] == text
    assert data["user"]["name"] == text
    assert decode(models.TimeEntry, _json.loads(out)) == entry_


async def test_record_json_of_a_record_with_a_lone_surrogate(
    client: ha.HarvestClient, mock: aioresponses
) -> None:
    mock.get(_list_url(TE), body=page_body(TE, entry('"id": 1, "notes": "a\\ud800b"')))
    (got,) = await client.time_entries.list().collect()
    assert got.notes == "a\ud800b"
    expected = json.loads(_json.dumps(to_json(got)))
    assert json.loads(record_json(got)) == expected


def test_a_naive_datetime_is_written_as_utc_whatever_the_machine_zone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import datetime as dt
    import time

    from harvest_async._converter import format_datetime

    monkeypatch.setenv("TZ", "Europe/Paris")
    time.tzset()
    try:
        naive = dt.datetime(2024, 1, 1, 10, 0, 0)
        assert format_datetime(naive) == "2024-01-01T10:00:00Z"
        model = build(models.TimeEntry, id=1, created_at=naive)
        assert json.loads(record_json(model))["created_at"] == "2024-01-01T10:00:00Z"
    finally:
        monkeypatch.undo()
        time.tzset()
