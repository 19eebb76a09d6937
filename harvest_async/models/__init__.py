"""Typed models of every Harvest API v2 response (frozen attrs classes).

Decode with `harvest_async._converter.decode`; every field is optional and
unknown fields are ignored.
"""

from __future__ import annotations

from ._common import (
    ClientRef,
    IdName,
    IdRef,
    InvoiceRef,
    ProjectAssignmentTaskAssignment,
    ProjectRef,
    TaskAssignmentRef,
    TaskRef,
    UserAssignmentRef,
    UserRef,
)
from .accounts import Account, Accounts, AccountsUser, OAuthToken
from .clients import Client
from .company import Company
from .contacts import Contact
from .estimates import (
    Estimate,
    EstimateItemCategory,
    EstimateLineItem,
    EstimateMessage,
    EstimateMessageRecipient,
)
from .expenses import Expense, ExpenseCategory, ExpenseCategoryRef, Receipt
from .invoices import (
    Invoice,
    InvoiceItemCategory,
    InvoiceLineItem,
    InvoiceMessage,
    InvoiceMessageRecipient,
    InvoiceMessageSubjectAndBody,
    InvoicePayment,
    PaymentGateway,
)
from .projects import Project, TaskAssignment, UserAssignment
from .reports import (
    ExpenseReportResult,
    ProjectBudgetReportResult,
    TimeReportResult,
    UninvoicedReportResult,
)
from .roles import Role
from .tasks import Task
from .time_entries import ExternalReference, TimeEntry
from .users import (
    BillableRate,
    CostRate,
    ProjectAssignment,
    ProjectAssignmentProject,
    Teammate,
    User,
)

__all__ = [
    # shared references
    "ClientRef",
    "IdName",
    "IdRef",
    "InvoiceRef",
    "ProjectAssignmentTaskAssignment",
    "ProjectRef",
    "TaskAssignmentRef",
    "TaskRef",
    "UserAssignmentRef",
    "UserRef",
    # Harvest ID
    "Account",
    "Accounts",
    "AccountsUser",
    "OAuthToken",
    # clients, contacts, company
    "Client",
    "Company",
    "Contact",
    # estimates
    "Estimate",
    "EstimateItemCategory",
    "EstimateLineItem",
    "EstimateMessage",
    "EstimateMessageRecipient",
    # expenses
    "Expense",
    "ExpenseCategory",
    "ExpenseCategoryRef",
    "Receipt",
    # invoices
    "Invoice",
    "InvoiceItemCategory",
    "InvoiceLineItem",
    "InvoiceMessage",
    "InvoiceMessageRecipient",
    "InvoiceMessageSubjectAndBody",
    "InvoicePayment",
    "PaymentGateway",
    # projects
    "Project",
    "TaskAssignment",
    "UserAssignment",
    # reports
    "ExpenseReportResult",
    "ProjectBudgetReportResult",
    "TimeReportResult",
    "UninvoicedReportResult",
    # roles, tasks, time entries
    "Role",
    "Task",
    "ExternalReference",
    "TimeEntry",
    # users
    "BillableRate",
    "CostRate",
    "ProjectAssignment",
    "ProjectAssignmentProject",
    "Teammate",
    "User",
]
