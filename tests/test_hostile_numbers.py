"""Hostile numbers, timestamps and nesting give typed errors at once, never a hang.

Responses: an int field takes the signed 64-bit range, a decimal field an adjusted
exponent within +-30 (`DECIMAL_EXPONENT_LIMIT`), on both decode paths (the converter's and
msgspec's page fast path); a timestamp that leaves the calendar once converted to UTC,
a number beyond what `Decimal` can hold and nesting beyond the parsers' depth are a
`DecodeError` too. Arguments: huge ints, out-of-range datetimes and deep nesting are an
`InvalidRequestError` whose message stays short (never the whole value).
"""

from __future__ import annotations

import datetime as dt
import decimal
import inspect
import subprocess
import sys
import textwrap
from collections.abc import Callable
from decimal import Decimal
from functools import partial
from typing import Any

import attrs
import pytest
from aioresponses import aioresponses
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import harvest_async as ha
from harvest_async import _json, models
from harvest_async._converter import (
    DECIMAL_EXPONENT_LIMIT,
    INT_MAX,
    INT_MIN,
    decode,
    decode_many,
    list_body_decoder,
)
from harvest_async._http import decipher_response
from harvest_async._pagination import Paginator
from harvest_async.resources._base import body, check_id, query, shown
from harvest_async.resources.reports import split_timeframe

from .conftest import sent_requests
from .records import complete, required_values
from .shared import AIRBYTE_RECORDS, REALAPI, airbyte_records, needs, realapi_answers

BASE = "https://api.harvestapp.com/v2"
URL = f"{BASE}/tasks"
HUGE = 10**5000  # 5001 digits: Python refuses to write it out (beyond 4300)
FEW = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def page_body(key: str, items: str) -> bytes:
    """A one-page list body of ``items`` (JSON text of the array's contents)."""
    return (
        f'{{"{key}":[{items}],"per_page":100,"total_pages":1,"total_entries":1,'
        '"page":1,"links":{"next":null}}'
    ).encode()


def via_paginator(cls: type, key: str, raw: bytes) -> list[Any]:
    """The items of page ``raw`` as a client's paginator decodes them (fast path first)."""

    async def fetch(url: str | None) -> Any:
        raise AssertionError("not fetched")

    decoder = list_body_decoder(cls, key)
    assert decoder is not None
    pager: Paginator[Any] = Paginator(fetch, key, partial(decode_many, cls), decode_body=decoder)
    return pager._lister.read(raw).materialize().items


def every_path(cls: type, key: str, item: str) -> dict[str, Callable[[], Any]]:
    """Each way an item (JSON text of one object, completed) becomes a model."""
    item = complete(cls, item)
    return {
        "decode": lambda: decode(cls, _json.loads(item)),
        "decode_many": lambda: decode_many(cls, _json.loads(f"[{item}]")),
        "paginator": lambda: via_paginator(cls, key, page_body(key, item)),
    }


def assert_decode_error(cls: type, key: str, item: str, *, says: str = "") -> list[str]:
    """Every path refuses ``item`` with a DecodeError naming ``cls``; their messages."""
    messages = []
    for name, run in every_path(cls, key, item).items():
        with pytest.raises(ha.DecodeError) as info:
            run()
        message = str(info.value)
        assert says in message, (name, message)
        messages.append(message)
    return messages


def fast_items(cls: type, key: str, raw: bytes) -> list[Any] | None:
    """What the page decoder makes of page ``raw`` (None: it refused the page)."""
    decoder = list_body_decoder(cls, key)
    split = decoder.split(raw)
    try:
        return None if split is None else decoder.items(split[0])
    except ha.DecodeError:
        return None


# --- ints in responses --------------------------------------------------------------

HOSTILE_IDS = [
    "1e999999999",  # int() of it: a billion digits, minutes of CPU
    "1e400",
    "9.3e18",
    "1e19",
    str(2**63),
    str(2**64 - 1),  # msgspec takes it for an int field
    str(2**64),
    str(-(2**63) - 1),
    "1" + "0" * 1000,
]


@pytest.mark.parametrize("text", HOSTILE_IDS)
def test_an_id_beyond_64_bits_is_a_decode_error_on_every_path(text: str) -> None:
    for message in assert_decode_error(models.Task, "tasks", f'{{"id": {text}}}'):
        assert message.startswith("cannot decode Task: "), message
        assert text.lstrip("-")[:6] not in message  # the type or range, never the value


@pytest.mark.parametrize("text", HOSTILE_IDS)
def test_the_fast_path_lets_no_id_beyond_64_bits_through(text: str) -> None:
    assert fast_items(models.Task, "tasks", page_body("tasks", f'{{"id": {text}}}')) is None


@pytest.mark.parametrize(
    ("text", "value"),
    [
        (str(INT_MAX), INT_MAX),
        (str(INT_MIN), INT_MIN),
        ("0", 0),
    ],
)
def test_ids_within_64_bits_decode_on_every_path(text: str, value: int) -> None:
    for name, run in every_path(models.Task, "tasks", f'{{"id": {text}}}').items():
        result = run()
        task = result[0] if isinstance(result, list) else result
        assert task.id == value, name
        assert type(task.id) is int


@pytest.mark.parametrize("text", ["1e3", "42.0", "9.2e18", '"5"'])
def test_an_id_that_is_not_a_json_integer_is_a_decode_error_on_every_path(text: str) -> None:
    assert_decode_error(models.Task, "tasks", f'{{"id": {text}}}', says="cannot decode Task: ")


def test_an_int_beyond_64_bits_in_a_nested_model_or_a_list_is_a_decode_error() -> None:
    nested = complete(models.TimeEntry, f'{{"project": {{"id": {2**64 - 1}, "name": "p"}}}}')
    assert_decode_error(models.TimeEntry, "time_entries", nested, says="an int beyond")
    listed = complete(models.Role, f'{{"user_ids": [1, {2**63}]}}')
    assert_decode_error(models.Role, "roles", listed, says="an int beyond")
    for cls, key, item in [
        (models.TimeEntry, "time_entries", nested),
        (models.Role, "roles", listed),
    ]:
        assert fast_items(cls, key, page_body(key, item)) is None


class _SpyDecimal(Decimal):
    """A Decimal that records ``int()`` of itself (and refuses, so nothing hangs)."""

    calls: list[int] = []  # noqa: RUF012 (one list for the test)

    def __int__(self) -> int:
        _SpyDecimal.calls.append(self.adjusted())
        raise OverflowError("int() of a huge Decimal was attempted")


@pytest.mark.parametrize("text", ["1e999999999", "1e400", "1e19"])
def test_no_int_of_a_huge_decimal_is_ever_attempted(text: str) -> None:
    _SpyDecimal.calls.clear()
    record = {**required_values(models.Task), "id": _SpyDecimal(text)}
    with pytest.raises(ha.DecodeError, match="expected an integer, got _SpyDecimal"):
        decode(models.Task, record)
    with pytest.raises(ha.DecodeError, match="expected an integer, got _SpyDecimal"):
        decode_many(models.Task, [record])
    assert _SpyDecimal.calls == []


def test_an_id_of_1e999999999_through_the_client_is_refused_in_a_fresh_process() -> None:
    # A hang guard only: int() of the value holds the GIL for minutes, so no thread can
    # time it out; a child process can be. Refused at once, it ends far inside the guard.
    script = textwrap.dedent(
        """
        import asyncio
        from aioresponses import aioresponses
        import harvest_async as ha

        async def main():
            body = (
                '{"id": 1e999999999, "name": "x", "created_at": "2024-01-01T00:00:00Z",'
                ' "updated_at": "2024-01-01T00:00:00Z"}'
            )
            page = '{"tasks": [' + body + '], "links": {"next": null}}'
            async with ha.HarvestClient(
                access_token="t" * 20, account_id="1", user_agent="t (t@example.com)"
            ) as client:
                with aioresponses() as mock:
                    mock.get("https://api.harvestapp.com/v2/tasks/1", body=body)
                    mock.get("https://api.harvestapp.com/v2/tasks", body=page)
                    for call in (client.tasks.get(1), client.tasks.list().collect()):
                        try:
                            await call
                        except ha.DecodeError as exc:
                            print(exc)

        asyncio.run(main())
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=90, check=True
    )
    # One decode path from bytes: the record and the page say the same.
    assert done.stdout.splitlines() == ["cannot decode Task: Task.id: a number out of range"] * 2


async def test_a_huge_id_through_the_client_is_a_decode_error(
    client: ha.HarvestClient, mock: aioresponses
) -> None:
    mock.get(f"{URL}/1", body=complete(models.Task, f'{{"id": {2**64}, "name": "x"}}'))
    mock.get(URL, body=page_body("tasks", complete(models.Task, '{"id": 1e400}')))
    with pytest.raises(
        ha.DecodeError, match=r"^cannot decode Task: Task\.id: an int beyond the signed 64-bit"
    ):
        await client.tasks.get(1)
    with pytest.raises(
        ha.DecodeError, match=r"^cannot decode Task: Task\.id: a number out of range$"
    ):
        await client.tasks.list().collect()


# --- decimals in responses ----------------------------------------------------------

HOSTILE_DECIMALS = [
    "1e400",
    "-1e400",
    "1e-400",
    "0e-400",
    "1e31",
    "-1e31",
    "1e-31",
    "1" + "0" * 31,  # an int literal of 10**31
    "1" + "0" * 4000,
    "1e999999999",
    "1e-999999999",
    "-1e999999999999999999",
    '"1e400"',  # a string holding a number
]


@pytest.mark.parametrize("text", HOSTILE_DECIMALS)
def test_a_decimal_of_absurd_magnitude_is_a_decode_error_on_every_path(text: str) -> None:
    item = f'{{"id": 1, "default_hourly_rate": {text}}}'
    for message in assert_decode_error(models.Task, "tasks", item):
        assert message.startswith("cannot decode Task: "), message
        assert "out of range" in message, message
    assert fast_items(models.Task, "tasks", page_body("tasks", item)) is None


@pytest.mark.parametrize("text", ['"NaN"', '"Infinity"', '"-Infinity"', '"sNaN"'])
def test_a_non_finite_decimal_string_is_a_decode_error_on_every_path(text: str) -> None:
    item = f'{{"id": 1, "default_hourly_rate": {text}}}'
    assert_decode_error(models.Task, "tasks", item, says="a decimal number that is not finite")


@pytest.mark.parametrize(
    "text",
    [
        "9.999e30",
        "-9.999e30",
        "1e30",
        "1e-30",
        "-1e-30",
        "1" + "0" * 30,
        "0.000",
        "0",
        "20700.25",
        "0.575",
        "123.45e2",
        f"0.{'3' * 28}",
    ],
)
def test_decimals_within_the_bound_decode_exactly_on_every_path(text: str) -> None:
    item = f'{{"id": 1, "default_hourly_rate": {text}}}'
    for name, run in every_path(models.Task, "tasks", item).items():
        result = run()
        rate = (result[0] if isinstance(result, list) else result).default_hourly_rate
        assert rate == Decimal(text), name
        assert str(rate) == str(Decimal(text))  # exact, digits as written
        # What a bounded exponent buys: no operation on the value can blow up.
        assert len(format(rate, "f")) <= 2 * DECIMAL_EXPONENT_LIMIT + 10
        with decimal.localcontext(prec=2 * DECIMAL_EXPONENT_LIMIT + 10):
            assert rate.quantize(Decimal("0.01")) == round(rate, 2)


def _numbers(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [n for v in value.values() for n in _numbers(v)]
    if isinstance(value, list):
        return [n for v in value for n in _numbers(v)]
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return [value]
    return []


@needs(*REALAPI)
@needs(*AIRBYTE_RECORDS)
def test_every_real_number_recorded_is_within_the_bounds() -> None:
    found: list[Any] = []
    for answer in realapi_answers():
        text = answer["response"]["body"]
        if isinstance(text, str) and text.strip().startswith(("{", "[")):
            found += _numbers(_json.loads(text))
    for line in airbyte_records():
        found += _numbers(_json.loads(line)["data"])
    decimals = [n for n in found if isinstance(n, Decimal)]
    ints = [n for n in found if isinstance(n, int)]
    assert len(decimals) > 100
    assert len(ints) > 100
    assert all(-DECIMAL_EXPONENT_LIMIT <= d.adjusted() <= DECIMAL_EXPONENT_LIMIT for d in decimals)
    assert all(INT_MIN <= n <= INT_MAX for n in ints)


# --- numbers beyond Decimal, timestamps, nesting ------------------------------------


@pytest.mark.parametrize("where", ["an id", "a rate", "an unknown field"])
def test_a_number_beyond_what_decimal_holds_is_a_decode_error(where: str) -> None:
    number = "1e9999999999999999999"  # decimal.InvalidOperation, not a ValueError
    field = {"an id": "id", "a rate": "default_hourly_rate", "an unknown field": "extra"}[where]
    item = f'{{"{field}": {number}}}'
    for name in ("decode", "decode_many"):
        with pytest.raises(ha.DecodeError, match="number out of range"):
            every_path(models.Task, "tasks", item)[name]()
    if where == "an unknown field":  # the fast path skips unknown fields unread
        full = complete(models.Task, item)
        got = via_paginator(models.Task, "tasks", page_body("tasks", full))
        assert got == [decode(models.Task, required_values(models.Task))]
    else:
        with pytest.raises(ha.DecodeError, match="number out of range"):
            via_paginator(models.Task, "tasks", page_body("tasks", complete(models.Task, item)))
    # In the envelope, which the fast path reads untyped.
    envelope = b'{"tasks": [], "links": {"next": null, "x": ' + number.encode() + b"}}"
    with pytest.raises(ha.DecodeError, match="number out of range"):
        via_paginator(models.Task, "tasks", envelope)


def test_a_number_beyond_decimal_in_a_whole_body_or_an_error_body_is_typed() -> None:
    text = b'{"message": 1e9999999999999999999}'
    with pytest.raises(ha.DecodeError, match="number out of range"):
        decipher_response(200, {}, text, method="GET", url=URL)
    with pytest.raises(ha.ValidationError) as info:
        decipher_response(422, {}, text, method="GET", url=URL)
    assert info.value.body == text.decode()  # kept as text


@pytest.mark.parametrize(
    "stamp", ["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00", "9999-12-31T23:00:00-23:59"]
)
def test_a_timestamp_beyond_the_calendar_in_utc_is_a_decode_error(stamp: str) -> None:
    item = f'{{"id": 1, "created_at": "{stamp}"}}'
    for message in assert_decode_error(models.Task, "tasks", item):
        assert message.startswith("cannot decode Task: "), message
        assert "a datetime out of range once converted to UTC" in message, message
    assignment = complete(models.UserAssignmentRef, f'{{"updated_at": "{stamp}"}}')
    nested = f'{{"user_assignment": {assignment}}}'
    assert_decode_error(models.TimeEntry, "time_entries", nested, says="datetime out of range")


def test_a_timestamp_at_the_calendar_edge_in_utc_decodes() -> None:
    item = '{"id": 1, "created_at": "9999-12-31T23:59:59+01:00"}'
    for run in every_path(models.Task, "tasks", item).values():
        result = run()
        task = result[0] if isinstance(result, list) else result
        assert task.created_at == dt.datetime(9999, 12, 31, 22, 59, 59, tzinfo=dt.UTC)


DEEP = 100_000


@pytest.mark.parametrize("field", ["name", "default_hourly_rate", "id", "extra"])
def test_deep_nesting_in_an_item_field_is_a_decode_error_on_every_path(field: str) -> None:
    item = f'{{"id": 1, "{field}": {"[" * DEEP}{"]" * DEEP}}}'
    assert_decode_error(models.Task, "tasks", item, says="nested too deeply")


def test_deep_nesting_as_a_whole_body_is_typed_on_every_path() -> None:
    deep = b"[" * DEEP + b"]" * DEEP
    with pytest.raises(ha.DecodeError, match="nested too deeply"):
        _json.loads(deep)
    with pytest.raises(ha.DecodeError, match="nested too deeply"):
        decipher_response(200, {}, deep, method="GET", url=URL)
    with pytest.raises(ha.DecodeError, match="nested too deeply"):
        via_paginator(models.Task, "tasks", deep)
    links = b'{"tasks": [], "links": ' + deep + b"}"
    with pytest.raises(ha.DecodeError, match="nested too deeply"):
        via_paginator(models.Task, "tasks", links)
    for status, error in [(404, ha.NotFoundError), (429, ha.RateLimitError), (500, ha.ServerError)]:
        with pytest.raises(error):  # an error body too deep to decode is kept as text
            decipher_response(status, {}, b'{"message": ' + deep, method="GET", url=URL)


@pytest.mark.parametrize(
    ("field", "says"),
    [
        # A record is refused at the first "[" (wrong type), a page's envelope scan
        # meets the depth bound first; an unknown field is skipped, depth still bounded.
        ("name", r"Task\.name: expected str \| null, got array|nested too deeply"),
        ("extra", "nested too deeply"),
    ],
)
async def test_deep_nesting_through_the_client_is_a_decode_error(
    client: ha.HarvestClient, mock: aioresponses, field: str, says: str
) -> None:
    item = complete(models.Task, f'{{"id": 1, "{field}": {"[" * DEEP}{"]" * DEEP}}}')
    mock.get(f"{URL}/1", body=item)
    mock.get(URL, body=page_body("tasks", item))
    with pytest.raises(ha.DecodeError, match=says):
        await client.tasks.get(1)
    with pytest.raises(ha.DecodeError, match=says):
        await client.tasks.list().collect()


# --- arguments ----------------------------------------------------------------------


def test_shown_counts_the_digits_of_an_int_too_long_to_write() -> None:
    assert shown(HUGE) == "an int of 5001 digits"
    assert shown(-HUGE) == "an int of 5001 digits"
    assert shown(10**5000 - 1) == "an int of 5000 digits"
    assert shown(2**64) == repr(2**64)  # short ones are shown as they are
    assert shown([1, HUGE]) == "a list"
    assert shown("x" * 10_000) == repr("x" * 10_000)[:197] + "..."
    assert shown(2**1_000_000).startswith("an int of about 3010")


@given(st.integers(min_value=2**128, max_value=2**60_000), st.booleans())
def test_shown_counts_digits_exactly(value: int, negative: bool) -> None:
    digits = len(Decimal(value).as_tuple().digits)  # exact, and no limit on int size
    assert shown(-value if negative else value) == f"an int of {digits} digits"


def test_check_id_of_a_huge_int_says_how_long_it_is() -> None:
    with pytest.raises(ha.InvalidRequestError) as info:
        check_id(HUGE, "task_id")
    assert str(info.value) == "task_id must be a positive int, got an int of 5001 digits"


OVERFLOWING = dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.timezone(-dt.timedelta(hours=1)))
UNDERFLOWING = dt.datetime(1, 1, 1, 0, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))
SIGNUP = {"first_name": "A", "last_name": "B", "email": "a@example.com"}
NEW_PROJECT = {"client_id": 1, "name": "P", "is_billable": True, "budget_by": "project"}


def _nested(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


CALLS: dict[str, Callable[[ha.HarvestClient], Any]] = {
    "tasks.get id": lambda c: c.tasks.get(HUGE),
    "tasks.create rate": lambda c: c.tasks.create(name="x", default_hourly_rate=HUGE),
    "tasks.create rate float": lambda c: c.tasks.create(name="x", default_hourly_rate=1e300),
    "tasks.create deep name": lambda c: c.tasks.create(name=_nested(DEEP)),  # type: ignore[arg-type]
    "tasks.create int-keyed name": lambda c: c.tasks.create(name={HUGE: 1}),  # type: ignore[arg-type]
    "tasks.create huge in a list": lambda c: c.tasks.create(name=[HUGE]),  # type: ignore[arg-type]
    "time_entries.list project_id": lambda c: c.time_entries.list(project_id=HUGE),
    "time_entries.list per_page": lambda c: c.time_entries.list(per_page=HUGE),
    "time_entries.list external_reference_id": lambda c: c.time_entries.list(
        external_reference_id=HUGE  # type: ignore[arg-type]
    ),
    "time_entries.list approval_status": lambda c: c.time_entries.list(
        approval_status=HUGE  # type: ignore[arg-type]
    ),
    "time_entries.list from_": lambda c: c.time_entries.list(from_=HUGE),  # type: ignore[arg-type]
    "time_entries.list updated_since overflow": lambda c: c.time_entries.list(
        updated_since=OVERFLOWING
    ),
    "time_entries.list updated_since underflow": lambda c: c.time_entries.list(
        updated_since=UNDERFLOWING
    ),
    "time_entries.list updated_since text": lambda c: c.time_entries.list(
        updated_since="0001-01-01T00:00:00+01:00"
    ),
    "users.create weekly_capacity": lambda c: c.users.create(**SIGNUP, weekly_capacity=HUGE),
    "users.create roles": lambda c: c.users.create(**SIGNUP, roles=HUGE),  # type: ignore[arg-type]
    "users.create roles item": lambda c: c.users.create(**SIGNUP, roles=[HUGE]),  # type: ignore[list-item]
    "users.update_teammates": lambda c: c.users.update_teammates(1, teammate_ids=HUGE),  # type: ignore[arg-type]
    "users.update_teammates item": lambda c: c.users.update_teammates(1, teammate_ids=[HUGE]),
    "projects.create bill_by": lambda c: c.projects.create(**NEW_PROJECT, bill_by=HUGE),  # type: ignore[arg-type]
    "projects.create budget": lambda c: c.projects.create(
        **NEW_PROJECT, bill_by="none", budget=HUGE
    ),
    "invoices.create payment_options": lambda c: c.invoices.create(
        client_id=1,
        payment_options=HUGE,  # type: ignore[arg-type]
    ),
    "invoices.create payment_options item": lambda c: c.invoices.create(
        client_id=1,
        payment_options=[HUGE],  # type: ignore[list-item]
    ),
    "invoices.create payment_term": lambda c: c.invoices.create(
        client_id=1,
        payment_term=HUGE,  # type: ignore[arg-type]
    ),
    "invoices.create line_items": lambda c: c.invoices.create(client_id=1, line_items=HUGE),  # type: ignore[arg-type]
    "invoices.create line item": lambda c: c.invoices.create(client_id=1, line_items=[HUGE]),  # type: ignore[list-item]
    "invoices.create line item kind": lambda c: c.invoices.create(
        client_id=1,
        line_items=[{"kind": HUGE, "unit_price": 1}],  # type: ignore[typeddict-item]
    ),
    "invoices.create line item description": lambda c: c.invoices.create(
        client_id=1,
        line_items=[{"kind": "Service", "unit_price": 1, "description": {HUGE}}],  # type: ignore[typeddict-item]
    ),
    "invoices.create line item quantity": lambda c: c.invoices.create(
        client_id=1, line_items=[{"kind": "Service", "unit_price": 1, "quantity": HUGE}]
    ),
    "invoices.create_message email": lambda c: c.invoices.create_message(
        1,
        recipients=[{"email": HUGE}],  # type: ignore[typeddict-item]
    ),
    "invoices.create_message name": lambda c: c.invoices.create_message(
        1,
        recipients=[{"email": "a@example.com", "name": HUGE}],  # type: ignore[typeddict-item]
    ),
    "invoices.message_template": lambda c: c.invoices.message_template(1, thank_you=HUGE),  # type: ignore[arg-type]
    "expenses.create receipt_filename": lambda c: c.expenses.create(
        project_id=1,
        expense_category_id=1,
        spent_date="2024-01-01",
        total_cost=1,
        receipt=b"%PDF-1.4",
        receipt_filename=HUGE,  # type: ignore[arg-type]
    ),
    "reports.by_window max_days": lambda c: c.reports.by_window(
        c.reports.time.clients, from_="2024-01-01", to="2024-02-01", max_days=HUGE
    ),
}


async def _call(client: ha.HarvestClient, name: str) -> None:
    result = CALLS[name](client)
    if not inspect.isawaitable(result):  # a list: its arguments are checked when made
        raise AssertionError(f"{name} was accepted")
    await result


@pytest.mark.parametrize("name", list(CALLS))
async def test_a_hostile_argument_is_an_invalid_request_error_with_a_short_message(
    client: ha.HarvestClient, mock: aioresponses, name: str
) -> None:
    with pytest.raises(ha.InvalidRequestError) as info:
        await _call(client, name)
    assert len(str(info.value)) < 400
    assert sent_requests(mock) == []


def test_split_timeframe_takes_a_huge_max_days_as_the_whole_span() -> None:
    assert split_timeframe("2024-01-01", "2024-02-01", max_days=HUGE) == [
        (dt.date(2024, 1, 1), dt.date(2024, 2, 1))
    ]
    assert split_timeframe("0001-01-01", "9999-12-31", max_days=10**9) == [
        (dt.date.min, dt.date.max)
    ]


@pytest.mark.parametrize(
    ("value", "says"),
    [
        (HUGE, "cannot send an int of 5001 digits as JSON"),
        ({"a": [1, -HUGE]}, "cannot send an int of 5001 digits as JSON"),
        ({HUGE: 1}, "keys must be strings, got an int of 5001 digits"),
        (_nested(DEEP), "nested more than"),
        (_nested(_json.MAX_DEPTH + 1), "nested more than"),
        ({"a": OVERFLOWING}, "out of range once converted to UTC"),
        ([UNDERFLOWING], "out of range once converted to UTC"),
        ({HUGE}, "cannot send a set as JSON: a set"),
        (Decimal("NaN"), "non-finite"),
    ],
    # pytest cannot name a 5001-digit int itself
    ids=["int", "nested int", "int key", "deep", "one too deep", "late", "early", "set", "nan"],
)
def test_dumps_of_a_hostile_body_is_an_invalid_request_error(value: Any, says: str) -> None:
    with pytest.raises(ha.InvalidRequestError, match=says):
        _json.dumps(value)


def test_dumps_of_a_cycle_is_an_invalid_request_error() -> None:
    cycle: list[Any] = []
    cycle.append(cycle)
    with pytest.raises(ha.InvalidRequestError, match="nested more than"):
        _json.dumps({"a": cycle})
    with pytest.raises(ha.InvalidRequestError, match="nested more than"):
        body(notes=cycle)


def test_dumps_keeps_what_harvest_takes() -> None:
    value = {"a": [INT_MAX, INT_MIN, _nested(_json.MAX_DEPTH - 3)], "b": Decimal("1e30")}
    assert _json.loads(_json.dumps(value)) == value


# --- properties: only typed errors escape -------------------------------------------

MODELS = [
    models.Task,
    models.TimeEntry,
    models.Invoice,
    models.Project,
    models.User,
    models.Expense,
    models.Role,
]

_EXPONENTS = st.integers(min_value=-(10**12), max_value=10**12) | st.integers(-40, 40)
NUMBER_TEXT = st.one_of(
    st.integers(min_value=-(2**300), max_value=2**300).map(str),
    st.integers(min_value=2**62, max_value=2**65).map(lambda n: str(n)),
    st.builds(lambda m, e: f"{m}e{e}", st.integers(-999, 999), _EXPONENTS),
    st.builds(
        lambda m, f, e: f"{m}.{f}e{e}", st.integers(-99, 99), st.integers(0, 999), _EXPONENTS
    ),
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
)
_OFFSETS = st.sampled_from(["Z", "+00:00", "-01:00", "+01:00", "+23:59", "-23:59", ""])
STAMP_TEXT = st.builds(
    lambda day, offset: (
        f'"{day.isoformat()}T{"23:59:59" if day.year > 5000 else "00:00:00"}{offset}"'
    ),
    st.sampled_from([dt.date(1, 1, 1), dt.date(9999, 12, 31), dt.date(2024, 5, 6)]),
    _OFFSETS,
)
NESTED_TEXT = st.integers(min_value=1, max_value=3000).map(lambda n: "[" * n + "]" * n)
VALUE_TEXT = st.one_of(
    NUMBER_TEXT,
    STAMP_TEXT,
    NESTED_TEXT,
    st.sampled_from(['"NaN"', '"1e400"', '"x"', "true", "null", "[]", "{}", f"[{2**64}]"]),
)


@st.composite
def hostile_item(draw: st.DrawFn, cls: type) -> str:
    names = [f.alias or f.name for f in attrs.fields(cls)]
    chosen = draw(st.lists(st.sampled_from(names), max_size=4, unique=True))
    nested = [f.name for f in attrs.fields(cls) if attrs.has(_inner_type(f.type))]
    parts = [f'"{name}": {draw(VALUE_TEXT)}' for name in chosen]
    for name in draw(st.lists(st.sampled_from(nested), max_size=2, unique=True)) if nested else []:
        inner = f'{{"id": {draw(VALUE_TEXT)}, "created_at": {draw(VALUE_TEXT)}}}'
        parts.append(f'"{name}": {inner}')
    return "{" + ", ".join(dict.fromkeys(parts)) + "}"


def _inner_type(tp: Any) -> Any:
    args = [a for a in getattr(tp, "__args__", ()) if a is not type(None)]
    return args[0] if len(args) == 1 else tp


def _in_range(model: Any) -> bool:
    """Every int, decimal and timestamp of ``model`` (nested too) as decoding promises."""
    for field in attrs.fields(type(model)):
        value = getattr(model, field.name)
        for item in value if isinstance(value, list) else [value]:
            if attrs.has(type(item)) and not _in_range(item):
                return False
            if isinstance(item, bool) or item is None:
                continue
            if isinstance(item, int) and not INT_MIN <= item <= INT_MAX:
                return False
            if isinstance(item, Decimal) and not (
                item.is_finite() and abs(item.adjusted()) <= DECIMAL_EXPONENT_LIMIT
            ):
                return False
            if isinstance(item, dt.datetime) and item.tzinfo is not dt.UTC:
                return False
    return True


def _outcome(run: Callable[[], Any]) -> Any:
    try:
        result = run()
    except ha.DecodeError:
        return "DecodeError"
    items = result if isinstance(result, list) else [result]
    assert all(_in_range(item) for item in items)  # nothing out of range got through
    return items


@FEW
@given(data=st.data())
def test_hostile_items_decode_or_are_a_decode_error_alike_on_every_path(
    data: st.DataObject,
) -> None:
    cls = data.draw(st.sampled_from(MODELS))
    item = data.draw(hostile_item(cls))
    key = "items"
    outcomes = [_outcome(run) for run in every_path(cls, key, item).values()]
    assert outcomes[0] == outcomes[1] == outcomes[2]


_TIMEZONES = st.builds(
    dt.timezone,
    st.timedeltas(min_value=dt.timedelta(hours=-23, minutes=-59), max_value=dt.timedelta(hours=23)),
)
#: Ints too long to write out (made in the strategy: hypothesis shows its strategies).
HUGE_INTS = st.integers(min_value=4301, max_value=6000).map(lambda digits: -(10**digits))
HOSTILE_VALUES = st.recursive(
    st.one_of(
        st.integers(min_value=-(2**200), max_value=2**200),
        HUGE_INTS,
        st.sampled_from([2**63, -(2**63) - 1, 2**64]),
        st.decimals(),
        st.floats(),
        st.datetimes(timezones=st.none() | _TIMEZONES),
        st.dates(),
        st.text(max_size=20),
        st.none(),
        st.booleans(),
        st.frozensets(st.integers(), max_size=2),
    ),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(max_size=5) | st.integers() | HUGE_INTS, children, max_size=3)
    ),
    max_leaves=10,
) | NESTED_TEXT.map(lambda text: _nested(len(text) // 2))

ARGUMENT_NAMES = [
    "id",
    "project_id",
    "user_ids",
    "per_page",
    "page",
    "weekly_capacity",
    "hours",
    "unit_price",
    "spent_date",
    "updated_since",
    "external_reference_id",
    "is_active",
    "notes",
    "line_items",
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(ARGUMENT_NAMES), value=HOSTILE_VALUES)
def test_hostile_arguments_are_only_ever_an_invalid_request_error(name: str, value: Any) -> None:
    for build in (body, query):
        message = _refusal(build, name, value)
        assert message is None or len(message) < 400


def _refusal(build: Callable[..., Any], name: str, value: Any) -> str | None:
    """The InvalidRequestError message for ``name=value`` (any other error escapes)."""
    try:
        _json.dumps(build(**{name: value}))
    except ha.InvalidRequestError as exc:
        return str(exc)
    return None


@pytest.mark.parametrize("body", [b'{"a": "\xffSECRET"}', b'{"a": SECRET}', b'"SECRET', b"SECRET"])
def test_a_body_that_is_not_json_gives_a_message_without_its_bytes(body: bytes) -> None:
    from harvest_async import _json

    with pytest.raises(ha.DecodeError) as caught:
        _json.loads(body)
    assert "SECRET" not in str(caught.value)
    assert "\\xff" not in str(caught.value)
    assert "0xff" not in str(caught.value)
