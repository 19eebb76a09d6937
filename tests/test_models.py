"""Every real Harvest record and every documented response example decodes into its model.

Data, read in place from the shared folder beside the project (``tests/shared.py``;
skipped where absent):
- ``fixtures/airbyte-harvest-expected-records.jsonl``: 113 records read from a real
  Harvest account by another project's connector.
- ``harvest-openapi/harvest-openapi.yaml``: the community OpenAPI description with
  Harvest's doc examples.

Both are fed the way the transport reads the wire: ``json.loads(text, parse_float=Decimal)``.
"""

from __future__ import annotations

import datetime as dt
import importlib
import inspect
import json
import pkgutil
import types
import typing
from collections import Counter
from decimal import Decimal
from typing import Any

import attrs
import pytest

import harvest_async.models as models_pkg
from harvest_async._converter import (
    decode,
    decode_many,
    format_datetime,
    get_converter,
    required_fields,
)
from harvest_async._errors import DecodeError
from harvest_async.models import (
    Account,
    Accounts,
    AccountsUser,
    BillableRate,
    Client,
    ClientRef,
    Company,
    Contact,
    CostRate,
    Estimate,
    EstimateItemCategory,
    EstimateLineItem,
    EstimateMessage,
    EstimateMessageRecipient,
    Expense,
    ExpenseCategory,
    ExpenseCategoryRef,
    ExpenseReportResult,
    Invoice,
    InvoiceItemCategory,
    InvoiceLineItem,
    InvoiceMessage,
    InvoiceMessageRecipient,
    InvoiceMessageSubjectAndBody,
    InvoicePayment,
    InvoiceRef,
    OAuthToken,
    PaymentGateway,
    Project,
    ProjectAssignment,
    ProjectAssignmentProject,
    ProjectAssignmentTaskAssignment,
    ProjectBudgetReportResult,
    ProjectRef,
    Receipt,
    Role,
    Task,
    TaskAssignment,
    TaskAssignmentRef,
    TaskRef,
    Teammate,
    TimeEntry,
    TimeReportResult,
    UninvoicedReportResult,
    User,
    UserAssignment,
    UserAssignmentRef,
    UserRef,
)

from .records import complete, required_values
from .shared import (
    AIRBYTE_RECORDS,
    OPENAPI,
    airbyte_records,
    available,
    needs,
    openapi_spec,
    shared_params,
)

EXPECTED_RECORDS = 113
# HARVEST_API.md: 113 operations, 89 of them with a response example.
EXPECTED_EXAMPLE_OPERATIONS = 89

# Keys the Airbyte connector adds to records; Harvest itself does not send them.
CONNECTOR_ADDED_KEYS = frozenset({"parent_id", "from", "to"})

STREAM_MODELS: dict[str, type[Any]] = {
    "clients": Client,
    "contacts": Contact,
    "company": Company,
    "users": User,
    "roles": Role,
    "tasks": Task,
    "projects": Project,
    "time_entries": TimeEntry,
    "expenses": Expense,
    "expense_categories": ExpenseCategory,
    "invoices": Invoice,
    "invoice_messages": InvoiceMessage,
    "invoice_payments": InvoicePayment,
    "invoice_item_categories": InvoiceItemCategory,
    "estimates": Estimate,
    "estimate_messages": EstimateMessage,
    "estimate_item_categories": EstimateItemCategory,
    "user_assignments": UserAssignment,
    "task_assignments": TaskAssignment,
    "project_assignments": ProjectAssignment,
    "billable_rates": BillableRate,
    "cost_rates": CostRate,
    "time_clients": TimeReportResult,
    "time_projects": TimeReportResult,
    "time_tasks": TimeReportResult,
    "time_team": TimeReportResult,
    "expenses_clients": ExpenseReportResult,
    "expenses_projects": ExpenseReportResult,
    "expenses_categories": ExpenseReportResult,
    "expenses_team": ExpenseReportResult,
    "uninvoiced": UninvoicedReportResult,
    "project_budget": ProjectBudgetReportResult,
}

# OpenAPI schema -> (list key of the envelope, or None for a single object; model).
SCHEMA_MODELS: dict[str, tuple[str | None, type[Any]]] = {
    "Client": (None, Client),
    "Clients": ("clients", Client),
    "Contact": (None, Contact),
    "Contacts": ("contacts", Contact),
    "Company": (None, Company),
    "Companies": ("companies", Company),
    "Estimate": (None, Estimate),
    "Estimates": ("estimates", Estimate),
    "EstimateLineItem": (None, EstimateLineItem),
    "EstimateLineItems": ("estimate_line_items", EstimateLineItem),
    "EstimateMessage": (None, EstimateMessage),
    "EstimateMessages": ("estimate_messages", EstimateMessage),
    "EstimateMessageRecipient": (None, EstimateMessageRecipient),
    "EstimateMessageRecipients": ("estimate_message_recipients", EstimateMessageRecipient),
    "EstimateItemCategory": (None, EstimateItemCategory),
    "EstimateItemCategories": ("estimate_item_categories", EstimateItemCategory),
    "Expense": (None, Expense),
    "Expenses": ("expenses", Expense),
    "ExpenseCategory": (None, ExpenseCategory),
    "ExpenseCategories": ("expense_categories", ExpenseCategory),
    "Invoice": (None, Invoice),
    "Invoices": ("invoices", Invoice),
    "InvoiceLineItem": (None, InvoiceLineItem),
    "InvoiceLineItems": ("invoice_line_items", InvoiceLineItem),
    "InvoiceMessage": (None, InvoiceMessage),
    "InvoiceMessages": ("invoice_messages", InvoiceMessage),
    "InvoiceMessageRecipient": (None, InvoiceMessageRecipient),
    "InvoiceMessageRecipients": ("invoice_message_recipients", InvoiceMessageRecipient),
    "InvoiceMessageSubjectAndBody": (None, InvoiceMessageSubjectAndBody),
    "InvoicePayment": (None, InvoicePayment),
    "InvoicePayments": ("invoice_payments", InvoicePayment),
    "InvoiceItemCategory": (None, InvoiceItemCategory),
    "InvoiceItemCategories": ("invoice_item_categories", InvoiceItemCategory),
    "Project": (None, Project),
    "Projects": ("projects", Project),
    "UserAssignment": (None, UserAssignment),
    "UserAssignments": ("user_assignments", UserAssignment),
    "TaskAssignment": (None, TaskAssignment),
    "TaskAssignments": ("task_assignments", TaskAssignment),
    "Role": (None, Role),
    "Roles": ("roles", Role),
    "Task": (None, Task),
    "Tasks": ("tasks", Task),
    "TimeEntry": (None, TimeEntry),
    "TimeEntries": ("time_entries", TimeEntry),
    "User": (None, User),
    "Users": ("users", User),
    "ProjectAssignment": (None, ProjectAssignment),
    "ProjectAssignments": ("project_assignments", ProjectAssignment),
    "BillableRate": (None, BillableRate),
    "BillableRates": ("billable_rates", BillableRate),
    "CostRate": (None, CostRate),
    "CostRates": ("cost_rates", CostRate),
    "Teammate": (None, Teammate),
    "Teammates": ("teammates", Teammate),
    "TeammatesPatchResponse": ("teammates", Teammate),
    "TimeReportsResult": (None, TimeReportResult),
    "TimeReportsResults": ("results", TimeReportResult),
    "ExpenseReportsResult": (None, ExpenseReportResult),
    "ExpenseReportsResults": ("results", ExpenseReportResult),
    "UninvoicedReportResult": (None, UninvoicedReportResult),
    "UninvoicedReportResults": ("results", UninvoicedReportResult),
    "ProjectBudgetReportResult": (None, ProjectBudgetReportResult),
    "ProjectBudgetReportResults": ("results", ProjectBudgetReportResult),
}


# ---------------------------------------------------------------------------
# Loading the data the way the transport reads the wire
# ---------------------------------------------------------------------------


class RawNumber(str):
    """The exact JSON text of a number, to compare decoded values against."""


def wire_loads(text: str) -> Any:
    """Parse JSON as the transport does: fractions become exact Decimals."""
    return json.loads(text, parse_float=Decimal)


def raw_loads(text: str) -> Any:
    """Parse JSON keeping every number as its exact source text."""
    return json.loads(text, parse_float=RawNumber, parse_int=RawNumber)


def load_records() -> list[tuple[str, str]]:
    """(stream, raw line) for every line of the records file (none where it is absent)."""
    if not available(*AIRBYTE_RECORDS):
        return []
    return [(json.loads(line)["stream"], line) for line in airbyte_records()]


RECORDS = load_records()
needs_records = needs(*AIRBYTE_RECORDS)
needs_openapi = needs(*OPENAPI)


def load_example_operations() -> list[tuple[str, str, str]]:
    """(operation id, schema name, example as wire JSON text) for every response example.

    None where the OpenAPI file is absent.
    """
    if not available(*OPENAPI):
        return []
    spec = openapi_spec()
    found = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            for status, response in operation["responses"].items():
                if str(status) not in ("200", "201"):
                    continue
                content = (response.get("content") or {}).get("application/json") or {}
                if "example" not in content:
                    continue
                ref = content["schema"]["$ref"]
                assert ref.startswith("#/components/schemas/"), ref
                schema = ref.rsplit("/", 1)[-1]
                # YAML dates/timestamps become strings, as on the wire.
                text = json.dumps(content["example"], default=str)
                found.append((f"{method.upper()} {path} {status}", schema, text))
    return found


EXAMPLES = load_example_operations()


# ---------------------------------------------------------------------------
# Comparing a decoded model with the raw JSON, field by field
# ---------------------------------------------------------------------------


def _field_types(cls: type[Any]) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _strip_optional(tp: Any) -> Any:
    args = typing.get_args(tp)
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        assert len(rest) == 1, tp
        return rest[0]
    return tp


def assert_matches(value: Any, raw: Any, tp: Any, where: str, *, top: bool = False) -> None:
    """Assert the decoded ``value`` is exactly the raw JSON ``raw`` (typed by ``tp``).

    Also asserts every key of a raw object is a field of its model, so no field Harvest
    sends is silently dropped (apart from the connector-added keys at the top).
    """
    tp = _strip_optional(tp)
    if raw is None:
        assert value is None, where
        return
    if attrs.has(tp):
        assert isinstance(value, tp), (where, type(value))
        assert isinstance(raw, dict), where
        hints = _field_types(tp)
        for key, item in raw.items():
            if key not in hints:
                assert top, f"{where}.{key} has no field"
                assert key in CONNECTOR_ADDED_KEYS, f"{where}.{key} has no field"
                continue
            assert_matches(getattr(value, key), item, hints[key], f"{where}.{key}")
        return
    if typing.get_origin(tp) is list:
        (item_tp,) = typing.get_args(tp)
        assert isinstance(value, list), where
        assert isinstance(raw, list), where
        assert len(value) == len(raw), where
        for i, (v, r) in enumerate(zip(value, raw, strict=True)):
            assert_matches(v, r, item_tp, f"{where}[{i}]")
        return
    if tp is Decimal:
        assert type(value) is Decimal, (where, value)
        assert isinstance(raw, RawNumber), (where, raw)
        assert str(value) == raw, (where, str(value), raw)  # exactly the JSON text
        return
    if tp is int:
        assert type(value) is int, (where, value)
        assert int(raw) == value, where
        return
    if tp is bool:
        assert type(value) is bool, (where, value)
        assert raw is value, where
        return
    if tp is str:
        assert type(value) is str, (where, value)
        assert value == str(raw), where
        return
    if tp is dt.datetime:
        assert type(value) is dt.datetime, (where, value)
        assert value.utcoffset() == dt.timedelta(0), where
        assert value.tzinfo is dt.UTC, where
        assert value == dt.datetime.fromisoformat(raw), where
        return
    if tp is dt.date:
        assert type(value) is dt.date, (where, value)
        assert value.isoformat() == raw, where
        return
    raise AssertionError(f"{where}: unexpected field type {tp!r}")


# ---------------------------------------------------------------------------
# 1. Real records
# ---------------------------------------------------------------------------


@needs_records
def test_every_stream_has_a_model() -> None:
    streams = {stream for stream, _ in RECORDS}
    missing = streams - STREAM_MODELS.keys()
    assert not missing, f"streams without a model: {sorted(missing)}"
    assert len(streams) == 32
    assert streams == STREAM_MODELS.keys()


@pytest.mark.parametrize(
    ("stream", "line"),
    shared_params(
        lambda: [pytest.param(s, line, id=f"{s}-{i}") for i, (s, line) in enumerate(RECORDS)],
        *AIRBYTE_RECORDS,
        width=2,
    ),
)
def test_record_decodes_exactly(stream: str, line: str) -> None:
    model = STREAM_MODELS[stream]
    record = decode(model, wire_loads(line)["data"])
    assert_matches(record, raw_loads(line)["data"], model, stream, top=True)


@needs_records
def test_all_records_decode() -> None:
    counts: Counter[str] = Counter()
    for stream, line in RECORDS:
        decode(STREAM_MODELS[stream], wire_loads(line)["data"])
        counts[stream] += 1
    total = sum(counts.values())
    print(f"decoded {total} records from {len(counts)} streams")
    assert total == EXPECTED_RECORDS


def _records(stream: str) -> list[tuple[Any, dict[str, Any]]]:
    model = STREAM_MODELS[stream]
    out = []
    for s, line in RECORDS:
        if s == stream:
            data = wire_loads(line)["data"]
            out.append((decode(model, data), data))
    assert out, stream
    return out


@needs_records
def test_time_entry_values() -> None:
    entries = _records("time_entries")
    for entry, data in entries:
        assert isinstance(entry, TimeEntry)
        assert entry.id == data["id"]
        assert isinstance(entry.hours, Decimal)
        assert entry.hours == data["hours"]
        assert isinstance(entry.spent_date, dt.date)
        assert not isinstance(entry.spent_date, dt.datetime)
        assert entry.spent_date.isoformat() == data["spent_date"]
        assert entry.created_at is not None
        assert entry.created_at.tzinfo is dt.UTC
        assert format_datetime(entry.created_at) == data["created_at"]
        assert isinstance(entry.user, UserRef)
        assert isinstance(entry.client, ClientRef)
        assert isinstance(entry.project, ProjectRef)
        assert isinstance(entry.task, TaskRef)
        assert isinstance(entry.user_assignment, UserAssignmentRef)
        assert isinstance(entry.task_assignment, TaskAssignmentRef)
        assert entry.client.currency == data["client"]["currency"]
    invoiced = [e for e, d in entries if d["invoice"] is not None]
    assert invoiced
    assert all(isinstance(e.invoice, InvoiceRef) and e.invoice.number for e in invoiced)
    # "hours":0.71 in the line is Decimal("0.71"), never a float.
    texts = {
        line.split('"hours":', 1)[1].split(",", 1)[0] for s, line in RECORDS if s == "time_entries"
    }
    assert {str(e.hours) for e, _ in entries} == texts
    assert Decimal("0.71") in {e.hours for e, _ in entries}


@needs_records
def test_invoice_values() -> None:
    for invoice, data in _records("invoices"):
        assert invoice.line_items
        assert all(isinstance(item, InvoiceLineItem) for item in invoice.line_items)
        assert all(isinstance(item.project, ProjectRef) for item in invoice.line_items)
        assert isinstance(invoice.creator, UserRef)
        assert isinstance(invoice.amount, Decimal)
        assert str(invoice.amount) == str(data["amount"])
        assert isinstance(invoice.issue_date, dt.date)


@needs_records
def test_expense_and_assignment_values() -> None:
    for expense, data in _records("expenses"):
        assert isinstance(expense.expense_category, ExpenseCategoryRef)
        assert isinstance(expense.user_assignment, UserAssignmentRef)
        assert expense.total_cost == Decimal(data["total_cost"])
        assert isinstance(expense.units, Decimal)
    for pa, _ in _records("project_assignments"):
        assert isinstance(pa.project, ProjectAssignmentProject)
        assert pa.project.is_billable is not None
        assert pa.task_assignments
        assert all(isinstance(ta, ProjectAssignmentTaskAssignment) for ta in pa.task_assignments)
        assert all(isinstance(ta.task, TaskRef) for ta in pa.task_assignments)
    ((payment, _),) = _records("invoice_payments")
    assert isinstance(payment.payment_gateway, PaymentGateway)
    ((role, data),) = _records("roles")
    assert role.user_ids == data["user_ids"]
    ((company, data),) = _records("company")
    assert company.weekly_capacity == data["weekly_capacity"]


@needs_records
def test_report_values() -> None:
    for row, data in _records("time_team"):
        assert isinstance(row.total_hours, Decimal)
        assert str(row.total_hours) == str(data["total_hours"])
    for row, data in _records("project_budget"):
        assert isinstance(row.budget_remaining, Decimal)
        assert row.budget_remaining == data["budget_remaining"]


# ---------------------------------------------------------------------------
# 2. Documented response examples
# ---------------------------------------------------------------------------


@needs_openapi
def test_every_example_schema_has_a_model() -> None:
    missing = {schema for _, schema, _ in EXAMPLES} - SCHEMA_MODELS.keys()
    assert not missing, f"schemas with examples but no model: {sorted(missing)}"


@pytest.mark.parametrize(
    ("operation", "schema", "text"),
    shared_params(lambda: [pytest.param(*e, id=e[0]) for e in EXAMPLES], *OPENAPI, width=3),
)
def test_example_decodes_exactly(operation: str, schema: str, text: str) -> None:
    key, model = SCHEMA_MODELS[schema]
    example, raw = wire_loads(text), raw_loads(text)
    if key is None:
        assert_matches(decode(model, example), raw, model, operation)
    else:
        items = decode_many(model, example[key])
        assert len(items) == len(raw[key])
        for i, (item, raw_item) in enumerate(zip(items, raw[key], strict=True)):
            assert_matches(item, raw_item, model, f"{operation}[{i}]")


@needs_openapi
def test_all_example_operations_decode() -> None:
    decoded = 0
    items = 0
    for _, schema, text in EXAMPLES:
        key, model = SCHEMA_MODELS[schema]
        example = wire_loads(text)
        if key is None:
            decode(model, example)
        else:
            items += len(decode_many(model, example[key]))
        decoded += 1
    print(f"decoded {decoded} example operations ({items} list items)")
    assert decoded == EXPECTED_EXAMPLE_OPERATIONS
    assert decoded >= 85


@needs_openapi
def test_example_spot_values() -> None:
    by_op = {op: (schema, text) for op, schema, text in EXAMPLES}
    _, text = by_op["GET /expense_categories 200"]
    categories = decode_many(ExpenseCategory, wire_loads(text)["expense_categories"])
    mileage = next(c for c in categories if c.name == "Mileage")
    assert mileage.unit_price == Decimal("0.535")
    assert str(mileage.unit_price) == "0.535"
    _, text = by_op["GET /expenses 200"]
    expense = decode_many(Expense, wire_loads(text)["expenses"])[0]
    assert expense.total_cost == Decimal("33.35")
    assert str(expense.units) == "1.0"
    assert isinstance(expense.receipt, Receipt)
    assert expense.receipt.file_size == 39410


# ---------------------------------------------------------------------------
# 3. Round trip
# ---------------------------------------------------------------------------

ROUND_TRIP_STREAMS = [
    "time_entries",
    "invoices",
    "expenses",
    "project_assignments",
    "users",
    "estimates",
    "invoice_messages",
    "invoice_payments",
    "time_team",
    "uninvoiced",
    "project_budget",
    "company",
    "roles",
]


@needs_records
@pytest.mark.parametrize("stream", ROUND_TRIP_STREAMS)
def test_round_trip(stream: str) -> None:
    conv = get_converter()
    for record, _ in _records(stream):
        plain = conv.unstructure(record)
        assert decode(type(record), plain) == record


def test_round_trip_keeps_decimal_text() -> None:
    text = complete(
        TimeEntry,
        '{"id": 1, "hours": 100.0, "rounded_hours": 0.50, "billable_rate": 100,'
        ' "cost_rate": 33.35, "spent_date": "2017-03-02",'
        ' "created_at": "2017-06-27T15:50:15Z", "timer_started_at": "2017-06-27T16:01:23+02:00"}',
    )
    entry = decode(TimeEntry, wire_loads(text))
    assert str(entry.hours) == "100.0"
    assert str(entry.rounded_hours) == "0.50"
    assert str(entry.billable_rate) == "100"
    assert str(entry.cost_rate) == "33.35"
    assert entry.timer_started_at == dt.datetime(2017, 6, 27, 14, 1, 23, tzinfo=dt.UTC)
    plain = get_converter().unstructure(entry)
    assert plain["hours"] == Decimal("100.0")
    assert str(plain["hours"]) == "100.0"
    assert plain["spent_date"] == "2017-03-02"
    assert plain["created_at"] == "2017-06-27T15:50:15Z"
    assert plain["timer_started_at"] == "2017-06-27T14:01:23Z"
    again = decode(TimeEntry, plain)
    assert again == entry
    assert str(again.hours) == "100.0"
    assert str(again.rounded_hours) == "0.50"


# ---------------------------------------------------------------------------
# 4. Unknown fields, wrong types
# ---------------------------------------------------------------------------


def test_unknown_fields_are_ignored() -> None:
    base = required_values(Client)
    data = {**base, "name": "ABC", "brand_new_field": {"nested": [1, 2]}, "another": None}
    assert decode(Client, data) == decode(Client, {**base, "name": "ABC"})
    user = {"id": 2, "name": "X", "new": True}
    entry = decode(TimeEntry, {**required_values(TimeEntry), "user": user})
    assert entry.user == UserRef(id=2, name="X")


def test_missing_fields_default_to_none() -> None:
    entry = decode(TimeEntry, required_values(TimeEntry))
    assert entry.notes is None
    assert entry.invoice is None
    assert entry.external_reference is None
    assert decode(Invoice, {**required_values(Invoice), "line_items": None}).line_items is None


@pytest.mark.parametrize(
    ("model", "data"),
    [
        (Client, {"id": "abc"}),
        (Client, {"id": 1.5}),
        (Client, {"is_active": "yes"}),
        (Client, {"is_active": 1}),
        (Client, {"created_at": 12}),
        (Client, {"created_at": "yesterday"}),
        (TimeEntry, {"hours": "abc"}),
        (TimeEntry, {"hours": "NaN"}),
        (TimeEntry, {"hours": True}),
        (TimeEntry, {"hours": [1]}),
        (TimeEntry, {"spent_date": "2017-13-45"}),
        (TimeEntry, {"user": {"id": "x"}}),
        (TimeEntry, {"notes": {"a": 1}}),
        (Role, {"user_ids": [1, "x"]}),
        (Role, {"user_ids": 5}),
        (Invoice, {"line_items": [{"amount": "lots"}]}),
        (Invoice, {"line_items": {"id": 1}}),
        (Invoice, {"client": 5}),
    ],
)
def test_wrong_types_raise_decode_error(model: type[Any], data: dict[str, Any]) -> None:
    with pytest.raises(DecodeError) as info:
        decode(model, data)
    assert not isinstance(info.value, (KeyError, TypeError, ValueError))


@pytest.mark.parametrize("data", [[{"id": 1}], "text", 5, None])
def test_non_object_raises_decode_error(data: Any) -> None:
    with pytest.raises(DecodeError):
        decode(TimeEntry, data)


def test_decode_many_needs_an_array() -> None:
    with pytest.raises(DecodeError):
        decode_many(TimeEntry, {"time_entries": []})
    with pytest.raises(DecodeError):
        decode_many(TimeEntry, [required_values(TimeEntry), [2]])
    (entry,) = decode_many(TimeEntry, [required_values(TimeEntry)])
    assert entry == decode(TimeEntry, required_values(TimeEntry))


@pytest.mark.parametrize("data", [{"client": [1, 2]}, {"client": "ABC Corp"}])
def test_nested_list_where_object_expected_raises(data: dict[str, Any]) -> None:
    with pytest.raises(DecodeError):
        decode(Invoice, data)


@pytest.mark.parametrize(
    ("model", "data"), [(User, {"roles": "admin"}), (Invoice, {"payment_options": {"a": 1}})]
)
def test_non_list_where_array_expected_raises(model: type[Any], data: dict[str, Any]) -> None:
    with pytest.raises(DecodeError):
        decode(model, data)


# ---------------------------------------------------------------------------
# Harvest ID models and the package surface
# ---------------------------------------------------------------------------


def test_accounts_decode() -> None:
    text = (
        '{"user": {"id": 1, "first_name": "Bob", "last_name": "Powell",'
        ' "email": "bobpowell@example.com"},'
        ' "accounts": [{"id": 11, "name": "Acme Corp", "product": "harvest"},'
        ' {"id": 22, "name": "Acme Corp", "product": "forecast"}]}'
    )
    accounts = decode(Accounts, wire_loads(text))
    assert accounts.user == AccountsUser(
        id=1, first_name="Bob", last_name="Powell", email="bobpowell@example.com"
    )
    assert accounts.accounts == [
        Account(id=11, name="Acme Corp", product="harvest"),
        Account(id=22, name="Acme Corp", product="forecast"),
    ]


def test_oauth_token_repr_hides_tokens() -> None:
    token = decode(
        OAuthToken,
        {
            "access_token": "ACCESS-SECRET-123",
            "refresh_token": "REFRESH-SECRET-456",
            "token_type": "bearer",
            "expires_in": 1209600,
        },
    )
    assert token.access_token == "ACCESS-SECRET-123"
    assert token.refresh_token == "REFRESH-SECRET-456"
    assert token.expires_in == 1209600
    for text in (repr(token), str(token), repr([token])):
        assert "ACCESS-SECRET" not in text
        assert "REFRESH-SECRET" not in text
        assert "bearer" in text


def _model_classes() -> set[type[Any]]:
    found: set[type[Any]] = set()
    for info in pkgutil.iter_modules(models_pkg.__path__):
        module = importlib.import_module(f"{models_pkg.__name__}.{info.name}")
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if attrs.has(obj) and obj.__module__ == module.__name__:
                found.add(obj)
    return found


def test_package_exports_every_model() -> None:
    classes = _model_classes()
    exported = {getattr(models_pkg, name) for name in models_pkg.__all__}
    assert classes == exported
    assert len(models_pkg.__all__) == len(set(models_pkg.__all__))


def _by_name(cls: type[Any]) -> str:
    return cls.__name__


MODEL_CLASSES: list[type[Any]] = sorted(_model_classes(), key=_by_name)


@pytest.mark.parametrize("cls", MODEL_CLASSES, ids=_by_name)
def test_model_conventions(cls: type[Any]) -> None:
    doc = (cls.__doc__ or "").strip()
    assert doc
    assert "\n" not in doc
    assert attrs.has(cls)
    assert cls.__setattr__ is not object.__setattr__  # frozen
    fields = attrs.fields(cls)
    assert fields
    required = required_fields(cls)
    for field in fields:
        # Required fields (Harvest always sends them) have no default; the rest are None.
        assert field.default is (attrs.NOTHING if field.name in required else None), field
        assert field.kw_only, (cls.__name__, field.name)
    # the required fields alone decode; every other field is None
    record = decode(cls, required_values(cls))
    assert all(getattr(record, f.name) is None for f in fields if f.name not in required)
    # every model module cites a Harvest doc page
    module = inspect.getmodule(cls)
    assert module is not None
    module_doc = module.__doc__ or ""
    assert "https://help.getharvest.com/api-v2/" in module_doc or cls.__module__.endswith("_common")
