"""Property-based tests (hypothesis): model round trips, hostile JSON, request builders.

- Every model survives ``unstructure -> _json.dumps -> _json.loads -> decode`` unchanged,
  with instances built from the attrs fields (ints, strings, finite decimals, dates,
  aware UTC datetimes to the second, nested models, lists).
- Arbitrary JSON decoded into any model, or as a list page, raises nothing but
  ``DecodeError``; arbitrary bytes as a response body likewise.
- Request builders refuse bad ids, dates, decimals, CR/LF in query values and header
  values, and oversize strings with ``InvalidRequestError`` before anything is sent.

Settings are modest (a few hundred examples at most per test) so the file runs in seconds.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib
import inspect
import math
import pkgutil
import types
from collections.abc import Callable, Coroutine
from decimal import Decimal
from typing import Any, Union, get_args, get_origin

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import harvest_async as ha
import harvest_async.models
from harvest_async import _json
from harvest_async._converter import decode, decode_many, get_converter
from harvest_async._http import Request, decipher_response
from harvest_async._pagination import parse_page
from harvest_async.resources.accounts import token_of

from .conftest import ACCOUNT, TOKEN
from .records import required_values

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEW = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- every model class ---------------------------------------------------------------


def _all_models() -> list[type]:
    """Every attrs class defined in harvest_async.models (nested references included)."""
    found: dict[str, type] = {}
    package = harvest_async.models
    modules = [package] + [
        importlib.import_module(f"{package.__name__}.{info.name}")
        for info in pkgutil.iter_modules(package.__path__)
    ]
    for module in modules:
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if attrs.has(obj) and obj.__module__.startswith(package.__name__):
                found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return [found[name] for name in sorted(found)]


MODELS = _all_models()
MODEL_IDS = [m.__name__ for m in MODELS]


def test_every_model_is_covered() -> None:
    assert len(MODELS) >= 40
    assert harvest_async.models.TimeEntry in MODELS


# --- strategies from attrs fields -------------------------------------------------------

UTC_SECONDS = st.datetimes(
    min_value=dt.datetime(1, 1, 2),
    max_value=dt.datetime(9999, 12, 30),
    timezones=st.just(dt.UTC),
).map(lambda d: d.replace(microsecond=0))
FINITE_DECIMALS = st.decimals(allow_nan=False, allow_infinity=False).filter(
    # -0 is written "-0", read back as the int 0: equal, but not the same text; decimal
    # fields take adjusted exponents within +-30 only
    lambda d: not (d.is_zero() and d.is_signed()) and -30 <= d.adjusted() <= 30
)
INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)

_strategies: dict[Any, st.SearchStrategy[Any]] = {}


def _optional_inner(tp: Any) -> Any:
    if get_origin(tp) in (Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        if len(args) == 1 and len(get_args(tp)) == 2:
            return args[0]
    return None


def strategy_for(tp: Any) -> st.SearchStrategy[Any]:
    inner = _optional_inner(tp)
    if inner is not None:
        return st.none() | strategy_for(inner)
    if tp is bool:
        return st.booleans()
    if tp is int:
        return INT64
    if tp is str:
        return st.text(max_size=40)
    if tp is Decimal:
        return FINITE_DECIMALS
    if tp is dt.datetime:
        return UTC_SECONDS
    if tp is dt.date:
        return st.dates()
    if get_origin(tp) is list:
        (item,) = get_args(tp)
        return st.lists(strategy_for(item), max_size=3)
    if attrs.has(tp):
        if tp not in _strategies:
            _strategies[tp] = st.deferred(lambda: model_strategy(tp))
        return _strategies[tp]
    raise AssertionError(f"no strategy for field type {tp!r}: add one")


def model_strategy(cls: type) -> st.SearchStrategy[Any]:
    attrs.resolve_types(cls)
    fields = {f.alias or f.name: strategy_for(f.type) for f in attrs.fields(cls) if f.init}
    return st.builds(cls, **fields)


def test_every_field_type_has_a_strategy() -> None:
    for model in MODELS:
        model_strategy(model)  # raises for a field type the strategies do not know


# --- round trip -------------------------------------------------------------------------


@pytest.mark.parametrize("model", MODELS, ids=MODEL_IDS)
def test_every_model_round_trips_through_json(model: type) -> None:
    conv = get_converter()

    @FEW
    @given(instance=model_strategy(model))
    def round_trip(instance: Any) -> None:
        text = _json.dumps(conv.unstructure(instance))
        back: Any = decode(model, _json.loads(text))
        assert back == instance
        # Exactly as written: the same JSON text again (decimals keep their digits).
        assert _json.dumps(conv.unstructure(back)) == text

    round_trip()


@SETTINGS
@given(data=st.data())
def test_any_model_round_trips_as_a_list_page(data: st.DataObject) -> None:
    model = data.draw(st.sampled_from(MODELS))
    items = data.draw(st.lists(model_strategy(model), max_size=4))
    conv = get_converter()
    text = _json.dumps(
        {
            "items": [conv.unstructure(i) for i in items],
            "links": {"next": None},
            "total_entries": len(items),
        }
    )
    page: Any = parse_page(_json.loads(text), "items", lambda raw: decode_many(model, raw))
    assert page.items == items
    assert page.total_entries == len(items)


def test_decimals_keep_their_digits() -> None:
    conv = get_converter()
    entry = attrs.evolve(
        decode(ha.models.TimeEntry, required_values(ha.models.TimeEntry)),
        hours=Decimal("1.50"),
        billable_rate=Decimal("100.0"),
        cost_rate=Decimal("1E+2"),
    )
    text = _json.dumps(conv.unstructure(entry))
    assert '"hours":1.50' in text
    assert '"billable_rate":100.0' in text
    back = decode(ha.models.TimeEntry, _json.loads(text))
    assert [str(back.hours), str(back.billable_rate), str(back.cost_rate)] == [
        "1.50",
        "100.0",
        "1E+2",
    ]


# --- hostile JSON -------------------------------------------------------------------------

JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=20)
    | st.decimals(allow_nan=False, allow_infinity=False)
    | st.sampled_from(["2024-01-31", "2024-01-31T10:00:00Z", "2024-13-45", "1.5", "", "-"])
)
JSON = st.recursive(
    JSON_SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)


@st.composite
def model_shaped(draw: st.DrawFn, model: type) -> dict[str, Any]:
    """A JSON object keyed mostly by the model's own field names (values anything)."""
    names = [f.name for f in attrs.fields(model)] or ["id"]
    keys = st.sampled_from(names) | st.text(max_size=8)
    return draw(st.dictionaries(keys, JSON, max_size=8))


def only_decode_error(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except ha.DecodeError:
        return None


@SETTINGS
@given(data=st.data())
def test_arbitrary_json_into_any_model_raises_only_decode_error(data: st.DataObject) -> None:
    model = data.draw(st.sampled_from(MODELS))
    value = data.draw(JSON | model_shaped(model))
    result = only_decode_error(lambda: decode(model, value))
    assert result is None or isinstance(result, model)


@SETTINGS
@given(data=st.data())
def test_arbitrary_json_as_a_list_page_raises_only_decode_error(data: st.DataObject) -> None:
    model = data.draw(st.sampled_from(MODELS))
    items = data.draw(JSON | st.lists(JSON | model_shaped(model), max_size=4))
    envelope = data.draw(st.sampled_from(["object", "raw"]))
    value = {"items": items, "links": data.draw(JSON)} if envelope == "object" else items
    page = only_decode_error(
        lambda: parse_page(value, "items", lambda raw: decode_many(model, raw))
    )
    assert page is None or all(isinstance(i, model) for i in page.items)


@SETTINGS
@given(
    body=st.binary(max_size=200) | JSON.map(lambda v: _json.dumps(v).encode()),
    status=st.sampled_from([200, 201, 204, 400, 401, 404, 422, 429, 500, 503, 302]),
)
def test_any_response_body_is_a_value_a_decode_error_or_an_api_error(
    body: bytes, status: int
) -> None:
    with contextlib.suppress(ha.DecodeError, ha.APIError):
        decipher_response(status, {}, body, method="GET", url="https://x.test/v2/a")


@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_deeply_nested_response_is_a_decode_error(depth: int) -> None:
    with pytest.raises(ha.DecodeError, match="nested too deeply"):
        decipher_response(200, {}, b"[" * depth, method="GET", url="https://x.test/v2/a")
    with pytest.raises(ha.ServerError):  # an error body too deep is kept as text
        decipher_response(500, {}, b'{"a":' * depth, method="GET", url="https://x.test/")


def test_json_loads_of_deep_nesting_is_a_decode_error() -> None:
    with pytest.raises(ha.DecodeError):
        _json.loads(b"[" * 100_000)


@pytest.mark.parametrize(
    "model",
    [ha.models.TimeEntry, ha.models.Invoice, ha.models.User],
    ids=["TimeEntry", "Invoice", "User"],
)
def test_deeply_nested_objects_into_a_model_are_a_decode_error(model: type) -> None:
    nested: dict[str, Any] = {}
    node = nested
    for _ in range(5_000):
        node["project"] = {}
        node = node["project"]
    result = only_decode_error(lambda: decode(model, {"project": nested, "user": nested}))
    assert result is None or isinstance(result, model)  # not a RecursionError


# --- request builders ------------------------------------------------------------------


class Sent(Exception):
    """Raised by the stub requester: a request would have gone out."""


def harvest() -> tuple[ha.HarvestClient, list[Request]]:
    """A client whose requester records instead of sending (nothing opens a socket)."""
    client = ha.HarvestClient(access_token=TOKEN, account_id=ACCOUNT)
    sent: list[Request] = []

    async def send(request: Request) -> Any:
        sent.append(request)
        raise Sent

    client._requester.send = send  # type: ignore[method-assign]
    return client, sent


def drive(result: Any) -> Any:
    """Run a resource call to its end without an event loop (nothing in it may wait)."""
    coro: Coroutine[Any, Any, Any] = result.collect() if hasattr(result, "collect") else result
    try:
        while True:
            yielded = coro.send(None)
            assert yielded is None, f"the call waited on {yielded!r}"
    except StopIteration as stop:
        return stop.value
    finally:
        coro.close()


def refused(call: Callable[[ha.HarvestClient], Any]) -> None:
    """``call`` raises InvalidRequestError (at call time or when run), sending nothing."""
    client, sent = harvest()
    with pytest.raises(ha.InvalidRequestError):
        drive(call(client))
    assert sent == []


def accepted(call: Callable[[ha.HarvestClient], Any]) -> list[Request]:
    client, sent = harvest()
    with pytest.raises(Sent):
        drive(call(client))
    assert len(sent) == 1
    return sent


DAY = dt.date(2024, 1, 15)

BAD_IDS = st.one_of(
    st.sampled_from(
        [
            0,
            -1,
            True,
            False,
            "1",
            "1/../x",
            "../1",
            "1?x=1",
            "1#f",
            2**64,
            2**63,
            1.0,
            1.5,
            float("nan"),
            float("inf"),
            Decimal(1),
            b"1",
            [1],
            {"id": 1},
        ]
    ),
    st.integers(max_value=0),
    st.integers(min_value=2**63),
    st.floats(),
    st.text(max_size=10),
    st.decimals(),
)

ID_CALLS: list[Callable[[ha.HarvestClient, Any], Any]] = [
    lambda h, v: h.time_entries.get(v),
    lambda h, v: h.time_entries.delete(v),
    lambda h, v: h.time_entries.stop(v),
    lambda h, v: h.time_entries.update(v, notes="x"),
    lambda h, v: h.clients.get(v),
    lambda h, v: h.projects.user_assignments(v),
    lambda h, v: h.projects.get_task_assignment(1, v),
    lambda h, v: h.projects.get_task_assignment(v, 1),
    lambda h, v: h.invoices.create_payment(v, amount=Decimal("1.00")),
    lambda h, v: h.users.billable_rates(v),
    lambda h, v: h.time_entries.list(user_id=v),
    lambda h, v: h.expenses.list(project_id=v),
    lambda h, v: h.time_entries.create(project_id=v, task_id=1, spent_date=DAY),
    lambda h, v: h.contacts.create(client_id=v, first_name="Ada"),
]


@SETTINGS
@given(bad=BAD_IDS, call=st.sampled_from(ID_CALLS))
def test_bad_ids_are_refused_before_sending(bad: Any, call: Any) -> None:
    refused(lambda h: call(h, bad))


@pytest.mark.parametrize("call", ID_CALLS[:10])
def test_a_path_id_of_none_is_refused(call: Any) -> None:
    refused(lambda h: call(h, None))


@SETTINGS
@given(good=st.integers(min_value=1, max_value=2**63 - 1))
def test_good_ids_go_into_the_path_as_written(good: int) -> None:
    [request] = accepted(lambda h: h.time_entries.get(good))
    assert (request.method, request.path) == ("GET", f"time_entries/{good}")


def _not_a_date(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return True
    return False


BAD_DATES = st.one_of(
    st.sampled_from(
        [
            "2024-13-01",
            "2024-02-30",
            "24-01-01",
            "2024/01/01",
            "yesterday",
            "",
            " ",
            "2024-01-01T00:00:00",
            "2024-01-01\r\n",
            "2024-01-01\n",
            20240101,
            1.5,
            True,
            b"2024-01-01",
            [2024, 1, 1],
        ]
    ),
    st.datetimes(),
    st.datetimes(timezones=st.just(dt.UTC)),
    st.integers(),
    st.text(max_size=12).filter(_not_a_date),
)

DATE_CALLS: list[Callable[[ha.HarvestClient, Any], Any]] = [
    lambda h, v: h.time_entries.list(from_=v),
    lambda h, v: h.time_entries.list(to=v),
    lambda h, v: h.expenses.list(from_=v, to=DAY),
    lambda h, v: h.time_entries.create(project_id=1, task_id=1, spent_date=v, hours=1),
    lambda h, v: h.reports.time.clients(from_=v, to=DAY),
    lambda h, v: h.reports.time.clients(from_=DAY, to=v),
    lambda h, v: h.invoices.create(client_id=1, issue_date=v),
    lambda h, v: h.users.create_billable_rate(1, amount=Decimal("10"), start_date=v),
]


@SETTINGS
@given(bad=BAD_DATES, call=st.sampled_from(DATE_CALLS))
def test_bad_dates_are_refused_before_sending(bad: Any, call: Any) -> None:
    refused(lambda h: call(h, bad))


def _out_of_range(value: Decimal) -> bool:
    return not value.is_finite() or abs(value.adjusted()) > 30


BAD_DECIMALS = st.one_of(
    st.sampled_from(
        [
            Decimal("NaN"),
            Decimal("sNaN"),
            Decimal("-NaN"),
            Decimal("Infinity"),
            Decimal("-Infinity"),
            float("nan"),
            float("inf"),
            float("-inf"),
            "NaN",
            "inf",
            "Infinity",
            "abc",
            "",
            "1e31",
            "1e-31",
            "1,5",
            "0x10",
            True,
            [1],
            {"a": 1},
            b"1",
            10**31,
            -(10**40),
            1e300,
        ]
    ),
    st.decimals(allow_nan=True, allow_infinity=True).filter(_out_of_range),
    st.integers(min_value=10**31),
    st.floats(allow_nan=True, allow_infinity=True).filter(
        lambda f: not math.isfinite(f) or (f != 0 and abs(math.log10(abs(f))) > 31)
    ),
)

DECIMAL_CALLS: list[Callable[[ha.HarvestClient, Any], Any]] = [
    lambda h, v: h.time_entries.create(project_id=1, task_id=1, spent_date=DAY, hours=v),
    lambda h, v: h.time_entries.update(1, hours=v),
    lambda h, v: h.expenses.create(
        project_id=1, expense_category_id=1, spent_date=DAY, total_cost=v
    ),
    lambda h, v: h.expenses.create(project_id=1, expense_category_id=1, spent_date=DAY, units=v),
    lambda h, v: h.invoices.create_payment(1, amount=v),
    lambda h, v: h.projects.update(1, budget=v),
    lambda h, v: h.users.create_billable_rate(1, amount=v),
    lambda h, v: h.tasks.create(name="Design", default_hourly_rate=v),
]


@SETTINGS
@given(bad=BAD_DECIMALS, call=st.sampled_from(DECIMAL_CALLS))
def test_non_finite_or_huge_decimals_are_refused_before_sending(bad: Any, call: Any) -> None:
    refused(lambda h: call(h, bad))


@SETTINGS
@given(
    good=st.decimals(allow_nan=False, allow_infinity=False).filter(lambda d: not _out_of_range(d))
)
def test_finite_decimals_go_out_as_json_numbers(good: Decimal) -> None:
    [request] = accepted(lambda h: h.time_entries.update(1, hours=good))
    assert request.json == {"hours": good}
    assert _json.dumps(request.json) == f'{{"hours":{good}}}'


LINE_BREAKING = st.builds(
    lambda head, sep, tail: head + sep + tail,
    st.text(max_size=10),
    st.sampled_from(["\r", "\n", "\r\n", "\0"]),
    st.text(max_size=10),
)

QUERY_CALLS: list[Callable[[ha.HarvestClient, Any], Any]] = [
    lambda h, v: h.time_entries.list(external_reference_id=v),
    lambda h, v: h.time_entries.list(updated_since=v),
    lambda h, v: h.invoices.list(state=v),
    lambda h, v: h.time_entries.list(approval_status=v),
    lambda h, v: h.clients.list(updated_since=v),
]


@SETTINGS
@given(bad=LINE_BREAKING, call=st.sampled_from(QUERY_CALLS))
def test_cr_lf_in_query_values_is_refused_before_sending(bad: str, call: Any) -> None:
    refused(lambda h: call(h, bad))


@SETTINGS
@given(bad=LINE_BREAKING)
def test_cr_lf_in_a_per_call_header_value_is_refused(bad: str) -> None:
    with pytest.raises(ha.InvalidRequestError):
        token_of(bad)
    with pytest.raises(ha.InvalidRequestError):
        token_of("")


@FEW
@given(bad=LINE_BREAKING, which=st.sampled_from(["access_token", "user_agent"]))
def test_cr_lf_in_client_header_settings_is_a_configuration_error(bad: str, which: str) -> None:
    kwargs: dict[str, Any] = {"access_token": TOKEN, "account_id": ACCOUNT, which: bad}
    if which == "user_agent" and not bad.strip("\0"):
        return  # an empty User-Agent falls back to the default
    with pytest.raises(ha.ConfigurationError):
        ha.HarvestClient(**kwargs)


def test_line_breaks_in_body_text_are_fine() -> None:
    [request] = accepted(lambda h: h.time_entries.update(1, notes="line 1\r\nline 2"))
    assert request.json == {"notes": "line 1\r\nline 2"}


OVERSIZE = st.builds(
    lambda n, c: c * n, st.integers(65_537, 70_000), st.characters(blacklist_categories=["Cs"])
)

STRING_CALLS: list[Callable[[ha.HarvestClient, Any], Any]] = [
    lambda h, v: h.clients.create(name=v),
    lambda h, v: h.clients.update(1, address=v),
    lambda h, v: h.tasks.create(name=v),
    lambda h, v: h.contacts.create(client_id=1, first_name=v),
    lambda h, v: h.time_entries.create(project_id=1, task_id=1, spent_date=DAY, notes=v),
    lambda h, v: h.time_entries.update(1, notes=v),
    lambda h, v: h.time_entries.list(external_reference_id=v),
    lambda h, v: h.invoices.create(client_id=1, subject=v),
]


@FEW
@given(bad=OVERSIZE, call=st.sampled_from(STRING_CALLS))
def test_oversize_strings_are_refused_before_sending(bad: str, call: Any) -> None:
    refused(lambda h: call(h, bad))


def test_a_string_of_exactly_the_limit_is_sent() -> None:
    [request] = accepted(lambda h: h.clients.create(name="x" * 65_536))
    assert len(request.json["name"]) == 65_536
