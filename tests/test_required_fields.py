"""Fields typed without ``| None`` are the ones Harvest always sends.

The required fields are read off the models (an attrs field with no default); nothing
here lists them again. Evidence, read in place (``tests/shared.py``):

- the records a real account returned to Airbyte's connector (``fixtures/``);
- the answers recorded from ``api.harvestapp.com`` (``realapi/data/harvesting-*``,
  kind ``recorded``: lists, single records, creates, updates and deletes);
- the response examples of the OpenAPI description (Harvest's documentation).

Every record of a model, and every nested object decoded as one, carries each
required field non-null. And a record that lacks one (or has it ``null``) is a
`DecodeError` naming the model and the field, never a value.
"""

from __future__ import annotations

import json
import re
import types
import typing
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import attrs
import pytest

import harvest_async as ha
import harvest_async.models as models_pkg
from harvest_async._converter import decode, decode_json, list_body_decoder, required_fields
from harvest_async._errors import DecodeError

from .shared import AIRBYTE_RECORDS, OPENAPI, REALAPI, needs, realapi_answers
from .test_models import EXAMPLES, RECORDS, SCHEMA_MODELS, STREAM_MODELS, wire_loads

Evidence = list[tuple[type, dict[str, Any], str]]


def _model_of(tp: Any) -> tuple[type | None, bool]:
    """The attrs class a field holds (or holds a list of), and whether it is a list."""
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        tp = args[0]
    if typing.get_origin(tp) is list:
        (item,) = typing.get_args(tp)
        inner, _ = _model_of(item)
        return inner, True
    return (tp if attrs.has(tp) else None), False


def walk(model: type, record: Any, where: str) -> Iterator[tuple[type, dict[str, Any], str]]:
    """``(model, raw object, where)`` for ``record`` and every nested model object in it."""
    if not isinstance(record, dict):
        return
    yield model, record, where
    hints = typing.get_type_hints(model)
    for name, tp in hints.items():
        inner, many = _model_of(tp)
        value = record.get(name)
        if inner is None or value is None:
            continue
        for index, item in enumerate(value if many else [value]):
            yield from walk(inner, item, f"{where}.{name}" + (f"[{index}]" if many else ""))


#: The model of a recorded answer, by the last word of its path.
_PATH_MODELS: dict[str, type] = {**STREAM_MODELS, "me": models_pkg.User}


def recorded_answers() -> Iterator[tuple[type, dict[str, Any], str]]:
    """Each record of a successful answer recorded from the real API."""
    for answer in realapi_answers():
        if answer["kind"] != "recorded" or answer["response"]["status"] not in (200, 201):
            continue
        words = [w for w in answer["request"]["path"].split("/") if w and not w.isdigit()]
        model = _PATH_MODELS[words[-1]]
        body = json.loads(answer["response"]["body"], parse_float=Decimal)
        key = words[-1] if words[-1] != "me" else None
        for index, record in enumerate(body.get(key, [body])):
            yield model, record, f"{answer['id']}[{index}]"


def real_evidence() -> Evidence:
    found: Evidence = []
    for stream, line in RECORDS:
        found += walk(STREAM_MODELS[stream], wire_loads(line)["data"], f"airbyte {stream}")
    for model, record, where in recorded_answers():
        found += walk(model, record, where)
    return found


def example_evidence() -> Evidence:
    found: Evidence = []
    for operation, schema, text in EXAMPLES:
        key, model = SCHEMA_MODELS[schema]
        example = wire_loads(text)
        for index, record in enumerate([example] if key is None else example[key]):
            found += walk(model, record, f"{operation}[{index}]")
    return found


def _all_models() -> list[type]:
    return [obj for name in models_pkg.__all__ if attrs.has(obj := getattr(models_pkg, name))]


def _missing(evidence: Evidence) -> list[str]:
    return [
        f"{where}: {model.__name__}.{name}"
        for model, record, where in evidence
        for name in required_fields(model)
        if record.get(name) is None
    ]


@needs(*AIRBYTE_RECORDS)
@needs(*REALAPI)
def test_every_real_record_carries_every_required_field() -> None:
    evidence = real_evidence()
    counts = Counter(model for model, _, _ in evidence)
    assert counts[models_pkg.TimeEntry] >= 20  # the evidence is really read
    assert _missing(evidence) == []
    # Each required field stands on at least one real record (none is a guess).
    for model in _all_models():
        if required_fields(model):
            assert counts[model], f"{model.__name__} has required fields but no real record"


@needs(*OPENAPI)
def test_every_documented_example_carries_every_required_field() -> None:
    assert _missing(example_evidence()) == []


def test_every_record_model_requires_id_and_its_timestamps() -> None:
    for model in _all_models():
        names = {f.name for f in attrs.fields(model)}
        if {"id", "created_at", "updated_at"} <= names:
            assert {"id", "created_at", "updated_at"} <= set(required_fields(model)), model


# ------------------------------------------------------------------- decoding the absence

#: A full time entry as Harvest sends one (recorded values, shortened).
FULL_ENTRY: dict[str, Any] = {
    "id": 636709355,
    "spent_date": "2017-03-02",
    "user": {"id": 1782959, "name": "Kim Allen"},
    "client": {"id": 5735774, "name": "ABC Corp", "currency": "USD"},
    "project": {"id": 14307913, "name": "Marketing Website", "code": "MW"},
    "task": {"id": 8083365, "name": "Graphic Design"},
    "hours": 2.11,
    "is_locked": False,
    "is_closed": False,
    "is_billed": False,
    "is_running": False,
    "billable": True,
    "budgeted": True,
    "created_at": "2017-06-27T15:50:15Z",
    "updated_at": "2017-06-27T16:47:14Z",
}

SECRET = "s3cr3t-value-never-shown"


def _without(data: dict[str, Any], path: list[str], *, null: bool) -> dict[str, Any]:
    out = json.loads(json.dumps(data))
    target = out
    for word in path[:-1]:
        target = target[word]
    if null:
        target[path[-1]] = None
    else:
        del target[path[-1]]
    return out


def _required_paths(model: type, prefix: tuple[str, ...] = ()) -> Iterator[tuple[type, list[str]]]:
    hints = typing.get_type_hints(model)
    for name in required_fields(model):
        yield model, [*prefix, name]
        inner, many = _model_of(hints[name])
        if inner is not None and not many:
            yield from _required_paths(inner, (*prefix, name))


ENTRY_PATHS = list(_required_paths(models_pkg.TimeEntry))


def test_the_full_entry_decodes() -> None:
    entry = decode(models_pkg.TimeEntry, wire_loads(json.dumps(FULL_ENTRY)))
    assert entry.id + 1 == 636709356
    assert entry.project.name == "Marketing Website"
    assert len(ENTRY_PATHS) > 10


def _page_items(body: bytes) -> Any:
    decoder = list_body_decoder(models_pkg.TimeEntry, "time_entries")
    split = decoder.split(body)
    assert split is not None
    return decoder.items(split[0])


@pytest.mark.parametrize("null", [False, True], ids=["absent", "null"])
@pytest.mark.parametrize(("model", "path"), ENTRY_PATHS, ids=[".".join(p) for _, p in ENTRY_PATHS])
def test_a_record_lacking_a_required_field_names_model_and_field(
    model: type, path: list[str], null: bool
) -> None:
    data = _without({**FULL_ENTRY, "notes": SECRET}, path, null=null)
    body = json.dumps({"time_entries": [data], "links": {"next": None}}).encode()
    for attempt in (
        lambda: decode(models_pkg.TimeEntry, data),
        lambda: decode_json(models_pkg.TimeEntry, json.dumps(data).encode()),
        lambda: _page_items(body),
    ):
        with pytest.raises(DecodeError) as caught:
            attempt()
        message = str(caught.value)
        assert model.__name__ in message, message
        assert re.search(rf"\b{path[-1]}\b", message), message
        assert SECRET not in message
        assert "636709355" not in message
        assert "Kim Allen" not in message


async def test_a_list_page_lacking_a_required_field_is_a_decode_error(
    client: ha.HarvestClient, mock: Any
) -> None:
    data = _without(FULL_ENTRY, ["project", "name"], null=False)
    body = json.dumps({"time_entries": [FULL_ENTRY, data], "links": {"next": None}})
    mock.get(re.compile(r"^https://api\.harvestapp\.com/v2/time_entries(\?.*)?$"), body=body)
    with pytest.raises(DecodeError, match=r"ProjectRef.*\bname\b"):
        await client.time_entries.list().collect()
