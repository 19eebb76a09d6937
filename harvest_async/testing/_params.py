"""What each request accepts, read from the client's resource method signatures.

The resource methods of `harvest_async.resources` are the one description of every
request: their keyword parameters are the fields of a body (or a list's filters), and
each annotation says the field's wire type. This module says only which client call
performs each write and list the simulator serves (``time_entries`` create:
`TimeEntries.create`); the fields a write accepts, how each is checked and converted
(the type codes of `._fields.coerce_fields`), and the equality filters of a list
follow from the call's signature:

- ``bool`` -> ``"bool"``, ``int`` -> ``"int"``, ``str`` (or string ``Literal``) ->
  ``"str"``;
- a union with ``Decimal`` (the resources' ``Number``) -> ``"num"``; with
  ``datetime`` -> ``"datetime"``; with ``date`` -> ``"date"``; with ``bytes`` (a file to
  upload) -> ``"file"``;
- a sequence of ints, strings or objects -> ``"ints"``, ``"strs"``, ``"objs"``; a
  mapping or `typing.TypedDict` -> ``"obj"``.

``NotGiven`` and ``None`` are left out of a union (a field may be null). Positional
parameters are path ids, not fields; a ``<name>_filename`` parameter next to a file
parameter ``<name>`` names the uploaded file's part, not a field. An annotation of no
known shape fails at import, so a new parameter cannot be silently ignored.
"""

from __future__ import annotations

import datetime as dt
import inspect
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Literal, Union

import attrs

from ..resources.assignments import TaskAssignmentsResource, UserAssignmentsResource
from ..resources.clients import Clients
from ..resources.company import CompanyResource
from ..resources.contacts import Contacts
from ..resources.estimate_item_categories import EstimateItemCategories
from ..resources.estimates import Estimates
from ..resources.expense_categories import ExpenseCategories
from ..resources.expenses import Expenses
from ..resources.invoice_item_categories import InvoiceItemCategories
from ..resources.invoices import Invoices
from ..resources.projects import Projects
from ..resources.reports import ExpenseReports, Reports, TimeReports
from ..resources.roles import Roles
from ..resources.tasks import Tasks
from ..resources.time_entries import TimeEntries
from ..resources.users import Users

__all__ = [
    "CREATE_CALLS",
    "CREATE_FIELDS",
    "FILTERS",
    "LINE_FIELDS",
    "LIST_CALLS",
    "REPORTS_SERVED_AS",
    "REPORT_CALLS",
    "REPORT_GROUPS",
    "SERVED_AS",
    "UPDATED_SINCE",
    "UPDATE_CALLS",
    "UPDATE_FIELDS",
    "fields_of",
    "wire_kind",
]

Spec = dict[str, str]

_BINARY = (bytes, bytearray, memoryview)

#: The client call that performs each create the simulator serves (several calls of
#: one operation, like the time entry helpers, accept the union of their fields).
CREATE_CALLS: dict[str, tuple[Callable[..., Any], ...]] = {
    "clients": (Clients.create,),
    "contacts": (Contacts.create,),
    "projects": (Projects.create,),
    "tasks": (Tasks.create,),
    "users": (Users.create,),
    "roles": (Roles.create,),
    "expense_categories": (ExpenseCategories.create,),
    "invoice_item_categories": (InvoiceItemCategories.create,),
    "estimate_item_categories": (EstimateItemCategories.create,),
    "time_entries": (
        TimeEntries.create,
        TimeEntries.create_by_duration,
        TimeEntries.create_by_start_end,
    ),
    "expenses": (Expenses.create,),
    "invoices": (Invoices.create,),
    "estimates": (Estimates.create,),
    "user_assignments": (Projects.create_user_assignment,),
    "task_assignments": (Projects.create_task_assignment,),
    "invoice_messages": (Invoices.create_message,),
    "estimate_messages": (Estimates.create_message,),
    "invoice_payments": (Invoices.create_payment,),
    "billable_rates": (Users.create_billable_rate,),
    "cost_rates": (Users.create_cost_rate,),
}

#: The client call that performs each update the simulator serves.
UPDATE_CALLS: dict[str, tuple[Callable[..., Any], ...]] = {
    "clients": (Clients.update,),
    "contacts": (Contacts.update,),
    "projects": (Projects.update,),
    "tasks": (Tasks.update,),
    "users": (Users.update,),
    "roles": (Roles.update,),
    "expense_categories": (ExpenseCategories.update,),
    "invoice_item_categories": (InvoiceItemCategories.update,),
    "estimate_item_categories": (EstimateItemCategories.update,),
    "time_entries": (TimeEntries.update,),
    "expenses": (Expenses.update,),
    "invoices": (Invoices.update,),
    "estimates": (Estimates.update,),
    "user_assignments": (Projects.update_user_assignment,),
    "task_assignments": (Projects.update_task_assignment,),
    "company": (CompanyResource.update,),
    "teammates": (Users.update_teammates,),
}


#: The client calls that list each kind the simulator serves (a nested list and an
#: account-wide one of the same kind take the union of their filters).
LIST_CALLS: dict[str, tuple[Callable[..., Any], ...]] = {
    "clients": (Clients.list,),
    "contacts": (Contacts.list,),
    "projects": (Projects.list,),
    "tasks": (Tasks.list,),
    "users": (Users.list,),
    "roles": (Roles.list,),
    "expense_categories": (ExpenseCategories.list,),
    "invoice_item_categories": (InvoiceItemCategories.list,),
    "estimate_item_categories": (EstimateItemCategories.list,),
    "time_entries": (TimeEntries.list,),
    "expenses": (Expenses.list,),
    "invoices": (Invoices.list,),
    "estimates": (Estimates.list,),
    "user_assignments": (Projects.user_assignments, UserAssignmentsResource.list),
    "task_assignments": (Projects.task_assignments, TaskAssignmentsResource.list),
    "invoice_messages": (Invoices.messages,),
    "invoice_payments": (Invoices.payments,),
    "estimate_messages": (Estimates.messages,),
    "project_assignments": (Users.project_assignments, Users.my_project_assignments),
    "billable_rates": (Users.billable_rates,),
    "cost_rates": (Users.cost_rates,),
    "teammates": (Users.teammates,),
}

#: The client calls of each report: time and expense reports by group, named as the
#: calls (``/reports/time/clients``: `TimeReports.clients`).
REPORT_CALLS: dict[str, tuple[Callable[..., Any], ...]] = {
    "time": (TimeReports.clients, TimeReports.projects, TimeReports.tasks, TimeReports.team),
    "expenses": (
        ExpenseReports.clients,
        ExpenseReports.projects,
        ExpenseReports.categories,
        ExpenseReports.team,
    ),
    "uninvoiced": (Reports.uninvoiced,),
    "project_budget": (Reports.project_budget,),
}

#: List parameters with rules of their own rather than equality with a stored field:
#: paging (``per_page``, and ``shards``, which the client splits a list by and never
#: sends), and two filters Harvest matches inside a record: a time entry's
#: ``external_reference.id`` and the projects of an invoice's line items.
_OWN_RULES = {
    "*": frozenset({"per_page", "page", "shards"}),
    "time_entries": frozenset({"external_reference_id"}),
    "invoices": frozenset({"project_id"}),
}


def _members(tp: Any) -> tuple[Any, ...]:
    """The members of a union (one member for anything else), without null and NotGiven."""
    members: tuple[Any, ...] = (tp,)
    if typing.get_origin(tp) in (Union, types.UnionType):
        members = typing.get_args(tp)
    return tuple(
        a for a in members if a is not type(None) and getattr(a, "__name__", "") != "NotGiven"
    )


def _literal_kind(members: tuple[Any, ...]) -> str | None:
    """``"str"`` / ``"bool"`` when every member is a `Literal` of that type, else ``None``."""
    if not members or any(typing.get_origin(a) is not Literal for a in members):
        return None
    values = [v for a in members for v in typing.get_args(a)]
    if all(isinstance(v, bool) for v in values):
        return "bool"
    if all(isinstance(v, str) for v in values):
        return "str"
    return None


def _is_object(tp: Any) -> bool:
    """Whether ``tp`` (a union of) is a mapping or a `typing.TypedDict`."""
    members = _members(tp)
    return bool(members) and all(
        typing.is_typeddict(a)
        or (isinstance(typing.get_origin(a), type) and issubclass(typing.get_origin(a), Mapping))
        or (isinstance(a, type) and issubclass(a, Mapping))
        for a in members
    )


def wire_kind(tp: Any, name: str = "field") -> str:
    """The `coerce_fields` type code of a parameter annotated ``tp``.

    Raises:
        TypeError: ``tp`` has no known wire shape.
    """
    members = _members(tp)
    literal = _literal_kind(members)
    if literal is not None:
        return literal
    if any(a in _BINARY for a in members):
        return "file"
    if Decimal in members:
        return "num"
    if dt.datetime in members:
        return "datetime"
    if dt.date in members:
        return "date"
    if len(members) == 1:
        (only,) = members
        if only is bool or only is int or only is str:
            return only.__name__
        origin = typing.get_origin(only)
        if isinstance(origin, type) and issubclass(origin, Sequence) and origin is not str:
            (item,) = typing.get_args(only)
            item_kind = "obj" if _is_object(item) else wire_kind(item, name)
            if item_kind in ("int", "str", "obj"):
                return f"{item_kind}s"
    if _is_object(tp):
        return "obj"
    raise TypeError(f"no wire type known for {name}: {tp!r}")


def _parameters(call: Callable[..., Any]) -> dict[str, str]:
    hints = typing.get_type_hints(call)
    names = [
        p.name
        for p in inspect.signature(call).parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    ]
    kinds = {name: wire_kind(hints[name], name) for name in names}
    return {
        name: kind
        for name, kind in kinds.items()
        if not (name.endswith("_filename") and kinds.get(name.removesuffix("_filename")) == "file")
    }


def fields_of(*calls: Callable[..., Any]) -> Spec:
    """The body fields of ``calls`` (name -> type code), in signature order."""
    out: Spec = {}
    for call in calls:
        for name, kind in _parameters(call).items():
            if out.setdefault(name, kind) != kind:
                raise TypeError(f"{name} has two wire types: {out[name]} and {kind}")
    return out


def _item_fields(call: Callable[..., Any], parameter: str) -> Spec:
    """The keys of the objects of a list parameter (a sequence of `typing.TypedDict`)."""
    (item,) = typing.get_args(_members(typing.get_type_hints(call)[parameter])[0])
    out: Spec = {}
    for member in _members(item):
        for name, tp in typing.get_type_hints(member).items():
            out.setdefault(name, wire_kind(tp, f"{parameter}.{name}"))
    return out


#: Writable fields of each kind on create (name -> type code of ``coerce_fields``).
CREATE_FIELDS: dict[str, Spec] = {kind: fields_of(*calls) for kind, calls in CREATE_CALLS.items()}
#: Writable fields of each kind on update.
UPDATE_FIELDS: dict[str, Spec] = {kind: fields_of(*calls) for kind, calls in UPDATE_CALLS.items()}
#: Fields of one entry of ``line_items`` (new items, changes and deletions), per kind.
LINE_FIELDS: dict[str, Spec] = {
    kind: _item_fields(UPDATE_CALLS[kind][0], "line_items") for kind in ("invoices", "estimates")
}


def _filters(kind: str, calls: tuple[Callable[..., Any], ...]) -> dict[str, tuple[str, str]]:
    own = _OWN_RULES["*"] | _OWN_RULES.get(kind, frozenset())
    return {
        name: (name, code)
        for name, code in fields_of(*calls).items()
        if code in ("int", "bool", "str") and name not in own
    }


#: Equality filters of each list: query parameter -> (stored field, type code). Dates
#: (``from``/``to``) and ``updated_since`` are ranges, not equalities.
FILTERS: dict[str, dict[str, tuple[str, str]]] = {
    kind: _filters(kind, calls) for kind, calls in LIST_CALLS.items()
}
#: The kinds whose lists take ``updated_since``.
UPDATED_SINCE: frozenset[str] = frozenset(
    kind for kind, calls in LIST_CALLS.items() if "updated_since" in fields_of(*calls)
)


def decoded_as(*calls: Callable[..., Any]) -> type:
    """The model the client decodes the answers of ``calls`` into (one for all of them).

    Raises:
        TypeError: the calls decode into different models, or none.
    """
    found: set[type] = set()
    for call in calls:
        answer = typing.get_type_hints(call)["return"]
        args = typing.get_args(answer)  # Paginator[Model]
        model = args[0] if len(args) == 1 else answer
        if not attrs.has(model):
            raise TypeError(f"{call.__qualname__} answers {answer!r}, not a model")
        found.add(model)
    if len(found) != 1:
        raise TypeError(f"{[c.__qualname__ for c in calls]} decode into {found}")
    return found.pop()


#: The model each kind is served as, the one its client calls decode it into: the
#: model's fields are the keys of the JSON objects (see `._render`).
SERVED_AS: dict[str, type] = {
    "company": decoded_as(CompanyResource.get),
    **{kind: decoded_as(*calls) for kind, calls in LIST_CALLS.items()},
}
#: The model each report's rows are served as.
REPORTS_SERVED_AS: dict[str, type] = {
    report: decoded_as(*calls) for report, calls in REPORT_CALLS.items()
}
#: The groups of the time and expense reports (``/reports/time/<group>``).
REPORT_GROUPS: dict[str, tuple[str, ...]] = {
    report: tuple(call.__name__ for call in REPORT_CALLS[report]) for report in ("time", "expenses")
}
