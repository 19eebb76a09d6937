"""The simulated account: seeded data, references between records, rendering to JSON.

Stored rows hold Harvest's scalar fields plus the ids of what they point at
(``client_id``, ``project_id``...); nested objects (``"client": {"id", "name"}``) are
rendered from the live records when a row is served, so renaming a client shows in its
projects, like on Harvest. Deleted records leave a tombstone for the references that
still point at them. What is served is the client's own models' fields (see
`._render`), each kind as the model its client calls decode it into
(`._params.SERVED_AS`): this module says only which table a stored ``<field>_id``
points at, and the values computed rather than stored.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

from .. import models as m
from ._config import SimulatorScale
from ._pagination import PageIndex, track_sources
from ._params import SERVED_AS
from ._render import Renderer, decode, encode
from ._store import (
    LazyTable,
    Row,
    SimClock,
    Table,
    epoch_of_ordinal,
    fmt_date,
    fmt_ts,
    mix64,
)

__all__ = ["SERVED_AS", "STORED_REFS", "ExCombo", "TeCombo", "World"]

#: The table a stored ``<field>_id`` points at (``None``: no table, only the id is kept).
STORED_REFS: dict[str, str | None] = {
    "client_id": "clients",
    "project_id": "projects",
    "task_id": "tasks",
    "user_id": "users",
    "creator_id": "users",
    "invoice_id": "invoices",
    "estimate_id": "estimates",
    "retainer_id": None,
    "user_assignment_id": "user_assignments",
    "task_assignment_id": "task_assignments",
    "expense_category_id": "expense_categories",
}

DAY = 86400

FIRST_NAMES = (
    "Kim",
    "Bob",
    "Jane",
    "Jim",
    "Ada",
    "Grace",
    "Linus",
    "Hiromi",
    "Morgan",
    "Warrin",
    "Ines",
    "Omar",
    "Priya",
    "Sven",
    "Zoe",
    "Tariq",
    "Lena",
    "Mateo",
    "Yuki",
    "Noah",
    "Amara",
    "Felix",
    "Rosa",
    "Kofi",
    "Elif",
    "Hugo",
    "Maya",
    "Ivan",
    "Sara",
    "Tom",
)
LAST_NAMES = (
    "Allen",
    "Powell",
    "Smith",
    "Hourglass",
    "Minute",
    "Wristwatch",
    "Lovelace",
    "Hopper",
    "Okafor",
    "Nakamura",
    "Garcia",
    "Novak",
    "Schmidt",
    "Dubois",
    "Rossi",
    "Khan",
    "Larsen",
    "Silva",
    "Cohen",
    "Park",
    "Murphy",
    "Jensen",
    "Moreau",
    "Costa",
    "Berg",
)
CLIENT_WORDS = (
    "ABC Corp",
    "123 Industries",
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Stark Labs",
    "Wayne Holdings",
    "Hooli",
    "Vandelay",
    "Soylent",
    "Tyrell",
    "Cyberdyne",
    "Wonka",
    "Oscorp",
    "Aperture",
    "Massive Dynamic",
    "Pied Piper",
    "Gringotts",
    "Monarch",
)
PROJECT_WORDS = (
    "Marketing Website",
    "Online Store",
    "Mobile App",
    "Brand Refresh",
    "Data Platform",
    "Intranet",
    "Billing System",
    "Support Portal",
    "Analytics",
    "API Gateway",
    "Onboarding",
    "Design System",
    "Migration",
    "Security Audit",
    "Newsletter",
)
TASK_NAMES = (
    "Graphic Design",
    "Programming",
    "Marketing",
    "Project Management",
    "Business Development",
    "Research",
    "Testing",
    "Copywriting",
    "Meetings",
    "Support",
    "Design",
    "Vacation",
)
ROLE_NAMES = (
    "Designer",
    "Developer",
    "Project Manager",
    "Sales",
    "Support",
    "QA",
    "Marketing",
    "Finance",
)
NOTES = (
    "Adding CSS styling",
    "Fixed a bug in checkout",
    "Client call",
    "Code review",
    "Planning meeting",
    "Wrote documentation",
    "Refactoring",
    "Deployed to staging",
    "Research spike",
    "",
    "Weekly sync",
    "Pairing session",
    "Bug triage",
    "QA pass",
)
EXPENSE_NOTES = (
    "Lunch with client",
    "Taxi",
    "Hotel",
    "Conference ticket",
    "Drive to site",
    "Office supplies",
    "",
)
EXPENSE_CATEGORIES: tuple[tuple[str, str | None, float | None], ...] = (
    ("Entertainment", None, None),
    ("Lodging", None, None),
    ("Meals", None, None),
    ("Mileage", "mile", 0.575),
    ("Other", None, None),
    ("Transportation", None, None),
)
PERMISSIONS = {
    "administrator": [
        "billing:read",
        "billing:write",
        "clients:read",
        "clients:write",
        "estimates:read",
        "estimates:write",
        "expenses:read:all",
        "expenses:write:all",
        "invoices:read",
        "invoices:write",
        "projects:read:all",
        "projects:write:all",
        "reports:read",
        "reports:write",
        "roles:read",
        "roles:write",
        "timers:read:all",
        "timers:write:all",
        "users:invite",
        "users:read",
        "users:write",
    ],
    "manager": [
        "expenses:read:own",
        "expenses:write:own",
        "projects:read:managed",
        "projects:write:managed",
        "reports:read:managed",
        "timers:read:managed",
        "timers:write:managed",
    ],
    "member": ["expenses:read:own", "expenses:write:own", "timers:read:own", "timers:write:own"],
}
LOCKED_INVOICED = "Item Invoiced and Locked for this Time Period"


class TeCombo(NamedTuple):
    """A (user, project, task) a generated time entry can be on, with its rates."""

    user_id: int
    project_id: int
    task_id: int
    client_id: int
    ua_id: int
    ta_id: int
    billable: bool
    billable_rate: float | None
    cost_rate: float | None


class ExCombo(NamedTuple):
    """A (user, project) a generated expense can be on."""

    user_id: int
    project_id: int
    client_id: int
    ua_id: int
    billable: bool


def money(x: float) -> float:
    """Round to cents, as a float JSON writes like ``33.35``."""
    return float(round(x + 0.0, 2))


class World:
    """All state of one simulated Harvest account."""

    def __init__(
        self,
        *,
        seed: int,
        scale: SimulatorScale,
        start: dt.datetime,
        account_id: int | None = None,
    ) -> None:
        self.seed = seed
        self.scale = scale
        self.clock = SimClock(start)
        self.t_start = int(self.clock.start.timestamp())
        self.today0 = self.clock.start.date().toordinal()
        self.first_day = self.today0 - scale.history_days
        rng = random.Random(seed)
        self.account_id = (
            account_id if account_id is not None else (1_000_000 + rng.randrange(9_000_000))
        )
        self._acct_epoch = epoch_of_ordinal(self.first_day) - 30 * DAY

        self.clients = Table("clients", 5_735_774)
        self.contacts = Table("contacts", 4_706_479)
        self.projects = Table("projects", 14_307_913)
        self.tasks = Table("tasks", 8_083_365)
        self.users = Table("users", 1_782_884)
        self.roles = Table("roles", 618_100)
        self.user_assignments = Table("user_assignments", 125_068_553)
        self.task_assignments = Table("task_assignments", 155_502_709)
        self.expense_categories = Table("expense_categories", 4_195_926)
        self.invoices = Table("invoices", 13_150_378)
        self.invoice_messages = Table("invoice_messages", 27_835_209)
        self.invoice_payments = Table("invoice_payments", 10_112_854)
        self.estimates = Table("estimates", 1_439_814)
        self.estimate_messages = Table("estimate_messages", 2_666_236)
        self.invoice_item_categories = Table("invoice_item_categories", 1_466_293)
        self.estimate_item_categories = Table("estimate_item_categories", 1_376_035)
        self.billable_rates = Table("billable_rates", 1_836_493)
        self.cost_rates = Table("cost_rates", 825_831)
        self.line_item_ids = Table("line_items", 53_341_450)
        self.tables: dict[str, Table] = {
            t.name: t
            for t in (
                self.clients,
                self.contacts,
                self.projects,
                self.tasks,
                self.users,
                self.roles,
                self.user_assignments,
                self.task_assignments,
                self.expense_categories,
                self.invoices,
                self.invoice_messages,
                self.invoice_payments,
                self.estimates,
                self.estimate_messages,
                self.invoice_item_categories,
                self.estimate_item_categories,
                self.billable_rates,
                self.cost_rates,
            )
        }
        #: Bumped on every write request (report caches key on it).
        self.version = 0
        self.tombstones: dict[tuple[str, int], Row] = {}
        self.renderer = Renderer(
            lookup=self.live_or_tomb, refs=STORED_REFS, computed=self._computed()
        )
        self.company: Row = {}
        self.me_id = 0
        self.running: dict[int, int] = {}  # user id -> running time entry id
        self.deleted_projects: set[int] = set()
        self.te_combos: list[TeCombo] = []
        self.ex_combos: list[ExCombo] = []
        self.ex_cats: list[tuple[int, float | None]] = []
        self.billing_invoice: dict[int, int] = {}  # client id -> invoice billed to

        self._generate(random.Random(seed * 1_000_003 + 17))
        self._te_salt = mix64(seed * 2 + 1)
        self._ex_salt = mix64(seed * 2 + 2)
        if scale.time_entries and not self.te_combos:
            raise ValueError("time entries need projects with user and task assignments")
        if scale.expenses and not self.ex_combos:
            raise ValueError("expenses need projects with user assignments")
        self.time_entries = LazyTable(
            "time_entries", 636_709_355, scale.time_entries, self._gen_time_entry
        )
        self.expenses = LazyTable("expenses", 15_296_442, scale.expenses, self._gen_expense)
        #: Matching keys of recent filtered page-based lists, valid while `list_state`
        #: is unchanged.
        self.page_index = PageIndex(self.list_state)
        track_sources([*self.tables.values(), self.time_entries, self.expenses], self.page_index)

    def list_state(self) -> tuple[int, ...]:
        """A cheap value that changes whenever any stored record may have changed.

        Writes through the API bump `version`; every write through `Ops` also takes a
        clock stamp (updates) or changes a table's size or next id (creates, deletes),
        so changes made from Python show too, even before the request that made them
        has finished. Code that edits stored rows in place by other means should bump
        `version` (list caches such as `page_index` key on this value).
        """
        parts = [
            self.version,
            self.clock._last_stamp,
            len(self.tombstones),
            len(self.deleted_projects),
        ]
        for t in self.tables.values():
            parts.append(len(t.rows))
            parts.append(t.next_id)
        for lazy in (self.time_entries, self.expenses):
            parts += (
                len(lazy.overrides),
                len(lazy.deleted),
                len(lazy.created.rows),
                lazy.created.next_id,
                0 if lazy.hidden is None else 1,
            )
        return tuple(parts)

    # ------------------------------------------------------------------ lookups

    def table(self, kind: str) -> Table:
        """The table of an eagerly stored kind."""
        return self.tables[kind]

    def live_or_tomb(self, kind: str, rid: int | None) -> Row | None:
        """A record, or its tombstone if deleted, or ``None``."""
        if rid is None:
            return None
        if kind == "time_entries":
            return self.time_entries.get(rid)
        if kind == "expenses":
            return self.expenses.get(rid)
        row = self.tables[kind].get(rid)
        return row if row is not None else self.tombstones.get((kind, rid))

    def touch_refs(self, kind: str, rid: int) -> None:
        """Forget cached references to a record that changed (or was deleted)."""
        self.renderer.forget(kind, rid)

    def bury(self, kind: str, row: Row) -> None:
        """Keep a deleted record for references that still point at it."""
        self.tombstones[(kind, row["id"])] = row
        self.touch_refs(kind, row["id"])

    def user_name(self, row: Row) -> str:
        """``First Last``."""
        return f"{row['first_name']} {row['last_name']}"

    def find_ua(self, user_id: int, project_id: int) -> Row | None:
        """The user assignment of a user on a project."""
        for ua in self.user_assignments.values():
            if ua["user_id"] == user_id and ua["project_id"] == project_id:
                return ua
        return None

    def find_ta(self, project_id: int, task_id: int) -> Row | None:
        """The task assignment of a task on a project."""
        for ta in self.task_assignments.values():
            if ta["project_id"] == project_id and ta["task_id"] == task_id:
                return ta
        return None

    def role_names(self, user_id: int) -> list[str]:
        """Names of the roles a user has."""
        return [r["name"] for r in self.roles.values() if user_id in r["user_ids"]]

    def me(self) -> Row:
        """The token owner's user record."""
        row = self.users.get(self.me_id)
        assert row is not None
        return row

    # ------------------------------------------------------------------ rendering

    def render(self, kind: str, row: Row) -> dict[str, Any]:
        """A stored row as Harvest's JSON object, in plain Python values (as served)."""
        plain: dict[str, Any] = decode(encode(self.renderer.render(SERVED_AS[kind], row)))
        return plain

    def wire(self, kind: str) -> Callable[[Row], dict[str, Any]]:
        """Renders rows of a kind for `encode` (references as pre-encoded JSON)."""
        return self.renderer.plan(SERVED_AS[kind]).render

    def live_hours(self, row: Row) -> Any:
        """A time entry's hours, counting a running timer up to now."""
        hours = row["hours"]
        if row["is_running"] and row["_timer_epoch"] is not None:
            hours = money(hours + max(0.0, self.clock.now() - row["_timer_epoch"]) / 3600)
        return hours

    def permissions_claims(self, row: Row) -> list[str]:
        """What a user's access role allows."""
        roles = row["access_roles"]
        return list(PERMISSIONS.get(roles[0] if roles else "member", PERMISSIONS["member"]))

    def project_client(self, row: Row) -> Row | None:
        """The client of the project a (user) assignment is on."""
        project = self.live_or_tomb("projects", row["project_id"])
        return None if project is None else self.live_or_tomb("clients", project["client_id"])

    def project_task_assignments(self, row: Row) -> list[Row]:
        """The task assignments of the project a (user) assignment is on."""
        pid = row["project_id"]
        return [ta for ta in self.task_assignments.values() if ta["project_id"] == pid]

    def _computed(self) -> dict[tuple[type, str], Callable[[Row], Any]]:
        """Values served that no row stores, by model and field."""
        return {
            (m.UserRef, "name"): self.user_name,
            (m.TimeEntry, "hours"): self.live_hours,
            (m.User, "roles"): lambda r: self.role_names(r["id"]),
            (m.User, "permissions_claims"): self.permissions_claims,
            (m.ProjectAssignment, "client"): self.project_client,
            (m.ProjectAssignment, "task_assignments"): self.project_task_assignments,
        }

    # ------------------------------------------------------------------ generation

    def _ts_between(self, rng: random.Random, lo: int, hi: int) -> int:
        return lo if hi <= lo else rng.randrange(lo, hi)

    def _stamps(self, rng: random.Random, lo: int | None = None) -> tuple[str, str]:
        lo = self._acct_epoch if lo is None else lo
        created = self._ts_between(rng, lo, self.t_start - DAY)
        updated = (
            self._ts_between(rng, created, self.t_start - 1) if rng.random() < 0.3 else created
        )
        return fmt_ts(created), fmt_ts(updated)

    def _generate(self, rng: random.Random) -> None:
        sc = self.scale
        acct = self._acct_epoch
        sub = f"sim{self.seed % 1000:03d}"
        self.company = {
            "base_uri": f"https://{sub}.harvestapp.com",
            "full_domain": f"{sub}.harvestapp.com",
            "name": "Simulated Agency",
            "is_active": True,
            "week_start_day": "Monday",
            "wants_timestamp_timers": False,
            "time_format": "hours_minutes",
            "date_format": "%Y-%m-%d",
            "plan_type": "business-v4",
            "expense_feature": True,
            "invoice_feature": True,
            "estimate_feature": True,
            "team_feature": True,
            "weekly_capacity": 126000,
            "approval_feature": True,
            "clock": "12h",
            "currency": "USD",
            "currency_code_display": "iso_code_none",
            "currency_symbol_display": "symbol_before",
            "decimal_symbol": ".",
            "thousands_separator": ",",
            "color_scheme": "orange",
        }
        created0 = fmt_ts(acct)

        # Expense categories (fixed list) and item categories.
        for name, unit_name, unit_price in EXPENSE_CATEGORIES:
            self.expense_categories.insert(
                {
                    "id": self.expense_categories.new_id(),
                    "name": name,
                    "unit_name": unit_name,
                    "unit_price": unit_price,
                    "is_active": True,
                    "created_at": created0,
                    "updated_at": created0,
                }
            )
        for name, service, expense in (("Service", True, False), ("Product", False, True)):
            self.invoice_item_categories.insert(
                {
                    "id": self.invoice_item_categories.new_id(),
                    "name": name,
                    "use_as_service": service,
                    "use_as_expense": expense,
                    "created_at": created0,
                    "updated_at": created0,
                }
            )
            self.estimate_item_categories.insert(
                {
                    "id": self.estimate_item_categories.new_id(),
                    "name": name,
                    "created_at": created0,
                    "updated_at": created0,
                }
            )

        # Users (the first is the token's owner).
        members: list[int] = []
        for k in range(sc.users):
            first = FIRST_NAMES[(k + self.seed) % len(FIRST_NAMES)]
            last = LAST_NAMES[(k * 7 + self.seed) % len(LAST_NAMES)]
            role = "administrator" if k == 0 else ("manager" if k % 4 == 1 else "member")
            c, u = (created0, created0) if k == 0 else self._stamps(rng)
            uid = self.users.new_id()
            self.users.insert(
                {
                    "id": uid,
                    "first_name": first,
                    "last_name": last,
                    "email": f"{first.lower()}.{last.lower()}{k}@example.com",
                    "telephone": "",
                    "timezone": "Eastern Time (US & Canada)",
                    "weekly_capacity": rng.choice((126000, 144000)),
                    "has_access_to_all_future_projects": k == 0,
                    "is_contractor": k % 5 == 4,
                    "is_active": k == 0 or k % 9 != 8,
                    "calendar_integration_enabled": False,
                    "calendar_integration_source": None,
                    "created_at": c,
                    "updated_at": u,
                    "can_create_projects": role != "member",
                    "default_hourly_rate": rng.choice((100.0, 125.0, 150.0, 175.0)),
                    "cost_rate": rng.choice((50.0, 60.0, 75.0)),
                    "access_roles": [role],
                    "avatar_url": f"https://cache.harvestapp.com/assets/profile_images/{uid}.png",
                    "teammate_ids": [],
                }
            )
            if k:
                members.append(uid)
        user_rows = list(self.users.values())
        self.me_id = user_rows[0]["id"]
        for urow in user_rows:
            if urow["access_roles"][0] != "member" and members:
                urow["teammate_ids"] = sorted(
                    rng.sample(
                        [m for m in members if m != urow["id"]] or members, min(3, len(members))
                    )
                )
            for table, amount in (
                (self.billable_rates, urow["default_hourly_rate"]),
                (self.cost_rates, urow["cost_rate"]),
            ):
                table.insert(
                    {
                        "id": table.new_id(),
                        "user_id": urow["id"],
                        "amount": amount,
                        "start_date": None,
                        "end_date": None,
                        "created_at": urow["created_at"],
                        "updated_at": urow["created_at"],
                    }
                )

        for k in range(sc.roles):
            name = ROLE_NAMES[k % len(ROLE_NAMES)]
            if k >= len(ROLE_NAMES):
                name = f"{name} {k // len(ROLE_NAMES) + 1}"
            c, u = self._stamps(rng)
            ids = sorted(rng.sample([r["id"] for r in user_rows], min(3, len(user_rows))))
            self.roles.insert(
                {
                    "id": self.roles.new_id(),
                    "name": name,
                    "created_at": c,
                    "updated_at": u,
                    "user_ids": ids,
                }
            )

        for k in range(sc.tasks):
            name = TASK_NAMES[k % len(TASK_NAMES)]
            if k >= len(TASK_NAMES):
                name = f"{name} {k // len(TASK_NAMES) + 1}"
            c, u = self._stamps(rng)
            self.tasks.insert(
                {
                    "id": self.tasks.new_id(),
                    "name": name,
                    "billable_by_default": name not in ("Business Development", "Vacation"),
                    "default_hourly_rate": rng.choice((None, 100.0, 120.0)),
                    "is_default": k < 4,
                    "is_active": k % 11 != 10,
                    "created_at": c,
                    "updated_at": u,
                }
            )

        for k in range(sc.clients):
            name = CLIENT_WORDS[k % len(CLIENT_WORDS)]
            if k >= len(CLIENT_WORDS):
                name = f"{name} {k // len(CLIENT_WORDS) + 1}"
            c, u = self._stamps(rng)
            cid = self.clients.new_id()
            self.clients.insert(
                {
                    "id": cid,
                    "name": name,
                    "is_active": k % 8 != 7,
                    "address": f"{100 + k} Main Street\nSpringfield",
                    "currency": "EUR" if k % 5 == 4 else "USD",
                    "statement_key": f"{mix64(self.seed * 31 + cid):016x}{mix64(cid):016x}",
                    "created_at": c,
                    "updated_at": u,
                }
            )
            for j in range(sc.contacts_per_client):
                first = FIRST_NAMES[(k * 3 + j + 11) % len(FIRST_NAMES)]
                last = LAST_NAMES[(k + j * 5 + 3) % len(LAST_NAMES)]
                cc, cu = self._stamps(rng, int(_epoch(c)))
                self.contacts.insert(
                    {
                        "id": self.contacts.new_id(),
                        "client_id": cid,
                        "title": rng.choice(("Owner", "CTO", "Manager", None)),
                        "first_name": first,
                        "last_name": last,
                        "email": f"{first.lower()}@{name.lower().replace(' ', '')}.example",
                        "phone_office": "",
                        "phone_mobile": "",
                        "fax": "",
                        "created_at": cc,
                        "updated_at": cu,
                    }
                )
        client_ids = [r["id"] for r in self.clients.values()]
        task_rows = list(self.tasks.values())
        active_users = [r for r in user_rows if r["is_active"]]

        for k in range(sc.projects):
            client_id = client_ids[k % len(client_ids)]
            billable = k % 7 != 6
            fixed = billable and k % 5 == 3
            bill_by = "none" if not billable else ("People", "Tasks", "Project")[k % 3]
            budget_by = ("project", "project_cost", "none")[k % 3]
            budget = (
                float(rng.randrange(100, 1000))
                if budget_by == "project"
                else float(rng.randrange(10, 100) * 500)
                if budget_by == "project_cost"
                else None
            )
            c, u = self._stamps(rng)
            pid = self.projects.new_id()
            starts = self.first_day + rng.randrange(0, 60)
            self.projects.insert(
                {
                    "id": pid,
                    "name": PROJECT_WORDS[k % len(PROJECT_WORDS)]
                    + ("" if k < len(PROJECT_WORDS) else f" {k // len(PROJECT_WORDS) + 1}"),
                    "code": f"P{k + 1:03d}",
                    "is_active": k % 6 != 5,
                    "is_billable": billable,
                    "is_fixed_fee": fixed,
                    "bill_by": bill_by,
                    "budget": budget,
                    "budget_by": budget_by,
                    "budget_is_monthly": False,
                    "notify_when_over_budget": budget is not None,
                    "over_budget_notification_percentage": 80.0,
                    "show_budget_to_all": False,
                    "created_at": c,
                    "updated_at": u,
                    "starts_on": fmt_date(starts),
                    "ends_on": None,
                    "over_budget_notification_date": None,
                    "notes": "",
                    "cost_budget": None,
                    "cost_budget_include_expenses": False,
                    "hourly_rate": 150.0 if bill_by == "Project" else None,
                    "fee": float(rng.randrange(20, 200) * 250) if fixed else None,
                    "client_id": client_id,
                }
            )
            chosen_users = rng.sample(active_users, min(sc.users_per_project, len(active_users)))
            if k % 2 == 0 and not any(x["id"] == self.me_id for x in chosen_users):
                chosen_users[0:0] = [user_rows[0]]
                chosen_users = chosen_users[: max(1, sc.users_per_project)]
            for n, urow in enumerate(chosen_users):
                default_rates = n % 3 != 2
                self.user_assignments.insert(
                    {
                        "id": self.user_assignments.new_id(),
                        "project_id": pid,
                        "user_id": urow["id"],
                        "is_project_manager": n == 0,
                        "is_active": True,
                        "use_default_rates": default_rates,
                        "budget": None,
                        "created_at": c,
                        "updated_at": c,
                        "hourly_rate": urow["default_hourly_rate"] if default_rates else 90.0,
                    }
                )
            for trow in rng.sample(task_rows, min(sc.tasks_per_project, len(task_rows))):
                self.task_assignments.insert(
                    {
                        "id": self.task_assignments.new_id(),
                        "project_id": pid,
                        "task_id": trow["id"],
                        "billable": billable and trow["billable_by_default"],
                        "is_active": True,
                        "created_at": c,
                        "updated_at": c,
                        "hourly_rate": trow["default_hourly_rate"],
                        "budget": None,
                    }
                )

        self._generate_invoices(rng)
        self._generate_estimates(rng)
        self._build_combos()

    def _line(
        self,
        kind: str,
        description: str,
        quantity: float,
        unit_price: float,
        project_id: int | None,
        taxed: bool,
    ) -> Row:
        return {
            "id": self.line_item_ids.new_id(),
            "kind": kind,
            "description": description,
            "quantity": quantity,
            "unit_price": unit_price,
            "amount": money(quantity * unit_price),
            "taxed": taxed,
            "taxed2": False,
            "project_id": project_id,
        }

    def projects_of(self, client_id: int) -> list[Row]:
        """Projects of a client."""
        return [p for p in self.projects.values() if p["client_id"] == client_id]

    def _generate_invoices(self, rng: random.Random) -> None:
        sc = self.scale
        if not sc.invoices:
            return
        client_ids = [r["id"] for r in self.clients.values()]
        me = self.me()
        span = sc.history_days
        for k in range(sc.invoices):
            cid = client_ids[k % len(client_ids)]
            client = self.clients.rows[cid]
            issue = self.first_day + (k * span) // sc.invoices + rng.randrange(0, 5)
            issue = min(issue, self.today0 - 1)
            age = self.today0 - issue
            if age > 60:
                state = "closed" if k % 4 == 3 else "paid"
            elif age > 14:
                state = "open"
            else:
                state = "draft" if k % 2 else "open"
            tax = 8.0 if k % 3 == 0 else None
            projects = self.projects_of(cid)
            lines = []
            for p in projects[: 1 + k % 2]:
                lines.append(
                    self._line(
                        "Service",
                        f"[{p['code']}] {p['name']}",
                        float(rng.randrange(10, 80)),
                        rng.choice((100.0, 125.0, 150.0)),
                        p["id"],
                        tax is not None,
                    )
                )
            if k % 3 == 1:
                lines.append(self._line("Product", "Hosting", 1.0, 250.0, None, False))
            created = epoch_of_ordinal(issue) + 9 * 3600
            inv: Row = {
                "id": self.invoices.new_id(),
                "client_key": f"{mix64(self.seed + k):016x}{mix64(k + 99):016x}",
                "number": str(1000 + k),
                "purchase_order": "",
                "amount": 0.0,
                "due_amount": 0.0,
                "tax": tax,
                "tax_amount": 0.0,
                "tax2": None,
                "tax2_amount": 0.0,
                "discount": None,
                "discount_amount": 0.0,
                "subject": f"Services for {client['name']}",
                "notes": "",
                "state": state,
                "period_start": None,
                "period_end": None,
                "issue_date": fmt_date(issue),
                "due_date": fmt_date(issue + 30),
                "payment_term": "net 30",
                "payment_options": [],
                "sent_at": None if state == "draft" else fmt_ts(created + 3600),
                "paid_at": None,
                "paid_date": None,
                "closed_at": fmt_ts(created + 40 * DAY) if state == "closed" else None,
                "recurring_invoice_id": None,
                "created_at": fmt_ts(created),
                "updated_at": fmt_ts(created),
                "currency": client["currency"],
                "client_id": cid,
                "estimate_id": None,
                "retainer_id": None,
                "creator_id": me["id"],
                "line_items": lines,
            }
            compute_invoice_amounts(inv, 0.0)
            self.invoices.insert(inv)
            last = created
            if state != "draft":
                self.invoice_messages.insert(
                    self.message_row(
                        "invoice",
                        inv,
                        None,
                        fmt_ts(created + 3600),
                        [{"name": "Accounts", "email": f"billing{cid}@example.com"}],
                    )
                )
                last = created + 3600
            paid = 0.0
            if state == "paid" or (state == "open" and k % 3 == 0):
                amount = inv["amount"] if state == "paid" else money(inv["amount"] / 2)
                paid_day = issue + 10 + rng.randrange(0, 20)
                paid_at = epoch_of_ordinal(min(paid_day, self.today0 - 1))
                self.invoice_payments.insert(
                    {
                        "id": self.invoice_payments.new_id(),
                        "invoice_id": inv["id"],
                        "amount": amount,
                        "paid_at": fmt_ts(paid_at),
                        "paid_date": fmt_date(min(paid_day, self.today0 - 1)),
                        "recorded_by": self.user_name(me),
                        "recorded_by_email": me["email"],
                        "notes": "",
                        "transaction_id": None,
                        "created_at": fmt_ts(paid_at),
                        "updated_at": fmt_ts(paid_at),
                        "payment_gateway": {"id": None, "name": None},
                    }
                )
                paid = amount
                last = max(last, paid_at)
                if state == "paid":
                    inv["paid_at"] = fmt_ts(paid_at)
                    inv["paid_date"] = fmt_date(min(paid_day, self.today0 - 1))
                    self.billing_invoice.setdefault(cid, inv["id"])
            if state == "closed":
                self.invoice_messages.insert(
                    self.message_row("invoice", inv, "close", fmt_ts(created + 40 * DAY), [])
                )
                last = max(last, created + 40 * DAY)
            compute_invoice_amounts(inv, paid)
            inv["updated_at"] = fmt_ts(min(last, self.t_start - 1))

    def _generate_estimates(self, rng: random.Random) -> None:
        sc = self.scale
        if not sc.estimates:
            return
        client_ids = [r["id"] for r in self.clients.values()]
        me = self.me()
        for k in range(sc.estimates):
            cid = client_ids[(k * 3) % len(client_ids)]
            client = self.clients.rows[cid]
            issue = min(
                self.first_day + (k * sc.history_days) // sc.estimates + rng.randrange(0, 5),
                self.today0 - 1,
            )
            state = ("draft", "sent", "accepted", "declined")[k % 4]
            created = epoch_of_ordinal(issue) + 10 * 3600
            lines = [
                self._line(
                    "Service",
                    "Discovery workshop",
                    1.0,
                    float(rng.randrange(10, 60) * 100),
                    None,
                    False,
                )
            ]
            est: Row = {
                "id": self.estimates.new_id(),
                "client_key": f"{mix64(self.seed + 7 * k):016x}{mix64(k + 7):016x}",
                "number": str(1 + k),
                "purchase_order": "",
                "amount": 0.0,
                "tax": None,
                "tax_amount": 0.0,
                "tax2": None,
                "tax2_amount": 0.0,
                "discount": None,
                "discount_amount": 0.0,
                "subject": f"Proposal for {client['name']}",
                "notes": "",
                "state": state,
                "issue_date": fmt_date(issue),
                "sent_at": None if state == "draft" else fmt_ts(created + 600),
                "created_at": fmt_ts(created),
                "updated_at": fmt_ts(created),
                "accepted_at": fmt_ts(created + 2 * DAY) if state == "accepted" else None,
                "declined_at": fmt_ts(created + 2 * DAY) if state == "declined" else None,
                "currency": client["currency"],
                "client_id": cid,
                "creator_id": me["id"],
                "line_items": lines,
            }
            compute_estimate_amounts(est)
            self.estimates.insert(est)
            if state != "draft":
                self.estimate_messages.insert(
                    self.message_row(
                        "estimate",
                        est,
                        None,
                        fmt_ts(created + 600),
                        [{"name": "Buyer", "email": f"buyer{cid}@example.com"}],
                    )
                )
            if state in ("accepted", "declined"):
                event = "accept" if state == "accepted" else "decline"
                self.estimate_messages.insert(
                    self.message_row("estimate", est, event, fmt_ts(created + 2 * DAY), [])
                )
                est["updated_at"] = fmt_ts(min(created + 2 * DAY, self.t_start - 1))

    def message_row(
        self,
        parent: str,
        record: Row,
        event_type: str | None,
        at: str,
        recipients: list[Any],
        **fields: Any,
    ) -> Row:
        """A new invoice or estimate message (not yet stored)."""
        me = self.me()
        title = "Invoice" if parent == "invoice" else "Estimate"
        table = self.invoice_messages if parent == "invoice" else self.estimate_messages
        row: Row = {
            "id": table.new_id(),
            f"{parent}_id": record["id"],
            "sent_by": self.user_name(me),
            "sent_by_email": me["email"],
            "sent_from": self.user_name(me),
            "sent_from_email": me["email"],
            "recipients": recipients,
            "subject": f"{title} #{record['number']} from {self.company['name']}",
            "body": f"---------------------------------------------\n{title} Summary\n"
            f"---------------------------------------------\n"
            f"{title} ID: {record['number']}\nAmount: {record['amount']}\n",
            "send_me_a_copy": False,
            "event_type": event_type,
            "created_at": at,
            "updated_at": at,
        }
        if parent == "invoice":
            row.update(
                {
                    "include_link_to_client_invoice": False,
                    "attach_pdf": False,
                    "thank_you": False,
                    "reminder": False,
                    "send_reminder_on": None,
                }
            )
        row.update({k: v for k, v in fields.items() if v is not None})
        return row

    def _build_combos(self) -> None:
        users = self.users.rows
        projects = self.projects.rows
        tas_by_project: dict[int, list[Row]] = {}
        for ta in self.task_assignments.values():
            tas_by_project.setdefault(ta["project_id"], []).append(ta)
        for ua in self.user_assignments.values():
            project = projects[ua["project_id"]]
            user = users[ua["user_id"]]
            self.ex_combos.append(
                ExCombo(
                    user["id"],
                    project["id"],
                    project["client_id"],
                    ua["id"],
                    project["is_billable"],
                )
            )
            for ta in tas_by_project.get(project["id"], []):
                billable = bool(ta["billable"])
                rate = self.rate_for(project, user, ua, ta) if billable else None
                self.te_combos.append(
                    TeCombo(
                        user["id"],
                        project["id"],
                        ta["task_id"],
                        project["client_id"],
                        ua["id"],
                        ta["id"],
                        billable,
                        rate,
                        user["cost_rate"],
                    )
                )
        self.ex_cats = [(c["id"], c["unit_price"]) for c in self.expense_categories.values()]

    def rate_for(self, project: Row, user: Row, ua: Row, ta: Row) -> float | None:
        """The billable rate of work by ``user`` on a project task (Harvest's ``bill_by``)."""
        bill_by = project["bill_by"]
        rate: float | None = None
        if bill_by == "People":
            rate = (
                ua["hourly_rate"] if ua["hourly_rate"] is not None else user["default_hourly_rate"]
            )
        elif bill_by == "Tasks":
            rate = ta["hourly_rate"]
        elif bill_by == "Project":
            rate = project["hourly_rate"]
        return rate

    # ------------------------------------------------------------------ lazy rows

    def te_ordinal(self, i: int) -> int:
        """Spent date (ordinal) of generated time entry ``i``."""
        n = self.time_entries.generated_count
        return self.first_day + (i * self.scale.history_days) // n

    def ex_ordinal(self, i: int) -> int:
        """Spent date (ordinal) of generated expense ``i``."""
        n = self.expenses.generated_count
        return self.first_day + (i * self.scale.history_days) // n

    def te_core(self, i: int) -> tuple[int, int, bool]:
        """``(combo index, hours in hundredths, billed)`` of generated time entry ``i``."""
        h = mix64(self._te_salt ^ i)
        c = h % len(self.te_combos)
        combo = self.te_combos[c]
        hundredths = 25 + (h >> 20) % 776
        billed = (
            combo.billable
            and (h >> 56) & 3 != 0
            and self.te_ordinal(i) < self.today0 - 60
            and combo.client_id in self.billing_invoice
        )
        return c, hundredths, billed

    def ex_core(self, i: int) -> tuple[int, int, float, float, bool]:
        """``(combo, category index, units, total_cost, billed)`` of generated expense ``i``."""
        h = mix64(self._ex_salt ^ i)
        c = h % len(self.ex_combos)
        cat = (h >> 12) % len(self.ex_cats)
        unit_price = self.ex_cats[cat][1]
        if unit_price is not None:
            units = float(1 + (h >> 24) % 300)
            total = money(units * unit_price)
        else:
            units = 1.0
            total = (500 + (h >> 24) % 50000) / 100
        combo = self.ex_combos[c]
        billed = (
            combo.billable
            and (h >> 56) & 3 != 0
            and self.ex_ordinal(i) < self.today0 - 60
            and combo.client_id in self.billing_invoice
        )
        return c, cat, units, total, billed

    def _gen_time_entry(self, i: int) -> Row:
        h = mix64(self._te_salt ^ i)
        c, hundredths, billed = self.te_core(i)
        combo = self.te_combos[c]
        day = self.te_ordinal(i)
        created = epoch_of_ordinal(day) + 9 * 3600 + (h >> 40) % 36000
        updated = created if (h >> 48) & 3 else created + (h >> 50) % (3 * DAY)
        last = self.t_start - 1
        hours = hundredths / 100
        return {
            "id": self.time_entries.first_id + i,
            "spent_date": fmt_date(day),
            "user_id": combo.user_id,
            "client_id": combo.client_id,
            "project_id": combo.project_id,
            "task_id": combo.task_id,
            "user_assignment_id": combo.ua_id,
            "task_assignment_id": combo.ta_id,
            "hours": hours,
            "hours_without_timer": hours,
            "rounded_hours": -(-hundredths // 25) * 25 / 100,
            "notes": NOTES[(h >> 32) % len(NOTES)],
            "created_at": fmt_ts(min(created, last)),
            "updated_at": fmt_ts(min(updated, last)),
            "is_locked": billed,
            "locked_reason": LOCKED_INVOICED if billed else None,
            "approval_status": "approved" if billed else "unsubmitted",
            "is_explicitly_locked": False,
            "is_closed": billed,
            "is_billed": billed,
            "timer_started_at": None,
            "started_time": None,
            "ended_time": None,
            "is_running": False,
            "_timer_epoch": None,
            "invoice_id": self.billing_invoice[combo.client_id] if billed else None,
            "external_reference": None,
            "billable": combo.billable,
            "budgeted": False,
            "billable_rate": combo.billable_rate,
            "cost_rate": combo.cost_rate,
        }

    def _gen_expense(self, i: int) -> Row:
        h = mix64(self._ex_salt ^ i)
        c, cat, units, total, billed = self.ex_core(i)
        combo = self.ex_combos[c]
        day = self.ex_ordinal(i)
        created = epoch_of_ordinal(day) + 12 * 3600 + (h >> 40) % 30000
        updated = created if (h >> 48) & 3 else created + (h >> 50) % (3 * DAY)
        last = self.t_start - 1
        rid = self.expenses.first_id + i
        receipt = None
        if (h >> 36) % 10 == 0:
            receipt = {
                "url": f"{self.company['base_uri']}/expenses/{rid}/receipt",
                "file_name": f"receipt_{rid}.png",
                "file_size": 1000 + h % 90000,
                "content_type": "image/png",
            }
        return {
            "id": rid,
            "spent_date": fmt_date(day),
            "user_id": combo.user_id,
            "client_id": combo.client_id,
            "project_id": combo.project_id,
            "user_assignment_id": combo.ua_id,
            "expense_category_id": self.ex_cats[cat][0],
            "notes": EXPENSE_NOTES[(h >> 30) % len(EXPENSE_NOTES)],
            "units": units,
            "total_cost": total,
            "billable": combo.billable,
            "receipt": receipt,
            "is_closed": billed,
            "is_locked": billed,
            "is_billed": billed,
            "locked_reason": "Expense is invoiced." if billed else None,
            "invoice_id": self.billing_invoice[combo.client_id] if billed else None,
            "created_at": fmt_ts(min(created, last)),
            "updated_at": fmt_ts(min(updated, last)),
        }

    def index_range(
        self,
        table: LazyTable,
        date_from: dt.date | None,
        date_to: dt.date | None,
        since_epoch: float | None,
    ) -> tuple[int, int]:
        """Generated indexes that may match a ``from``/``to``/``updated_since`` filter."""
        n = table.generated_count
        span = self.scale.history_days
        if n == 0:
            return (0, 0)
        lo_day = 0
        hi_day = span  # exclusive, in day offsets from first_day
        if date_from is not None:
            lo_day = max(lo_day, date_from.toordinal() - self.first_day)
        if date_to is not None:
            hi_day = min(hi_day, date_to.toordinal() - self.first_day + 1)
        if since_epoch is not None:
            # generated updated_at is within 4 days after the spent date
            since_day = int((since_epoch - 4 * DAY) // DAY) - (
                self.first_day - dt.date(1970, 1, 1).toordinal()
            )
            lo_day = max(lo_day, since_day)
        if hi_day <= lo_day:
            return (0, 0)
        lo = max(0, -(-lo_day * n // span))
        hi = min(n, -(-hi_day * n // span))
        return (lo, hi)

    def hide_deleted_projects(self) -> None:
        """Make generated rows of deleted projects disappear."""
        gone = self.deleted_projects
        te_combos, ex_combos = self.te_combos, self.ex_combos
        te_salt, ex_salt = self._te_salt, self._ex_salt
        if any(c.project_id in gone for c in te_combos):
            n = len(te_combos)
            self.time_entries.hidden = lambda i: (
                te_combos[mix64(te_salt ^ i) % n].project_id in gone
            )
        if any(c.project_id in gone for c in ex_combos):
            m = len(ex_combos)
            self.expenses.hidden = lambda i: ex_combos[mix64(ex_salt ^ i) % m].project_id in gone

    def generated_in_use(self, field: str, value: int, expenses: bool = False) -> bool:
        """Whether generated rows may reference ``field == value`` (conservative)."""
        if expenses:
            return self.expenses.generated_count > 0 and any(
                getattr(c, field, None) == value for c in self.ex_combos
            )
        return self.time_entries.generated_count > 0 and any(
            getattr(c, field, None) == value for c in self.te_combos
        )

    def iter_time_rows(self, lo_ord: int, hi_ord: int) -> Iterator[Row]:
        """Changed time entries (overrides, created) whose date is in ``[lo, hi]``."""
        lo_s, hi_s = fmt_date(lo_ord), fmt_date(hi_ord)
        for r in self.time_entries.changed_rows():
            if lo_s <= r["spent_date"] <= hi_s:
                yield r


def _epoch(ts: str) -> float:
    return dt.datetime.fromisoformat(ts).timestamp()


def compute_invoice_amounts(inv: Row, paid: float) -> None:
    """Amount, taxes, discount and due amount of an invoice from its lines and payments."""
    subtotal = sum(li["amount"] for li in inv["line_items"])
    taxed = sum(li["amount"] for li in inv["line_items"] if li["taxed"])
    taxed2 = sum(li["amount"] for li in inv["line_items"] if li["taxed2"])
    discount = money(subtotal * (inv["discount"] or 0.0) / 100)
    inv["tax_amount"] = money(taxed * (inv["tax"] or 0.0) / 100)
    inv["tax2_amount"] = money(taxed2 * (inv["tax2"] or 0.0) / 100)
    inv["discount_amount"] = discount
    inv["amount"] = money(subtotal + inv["tax_amount"] + inv["tax2_amount"] - discount)
    inv["due_amount"] = money(max(0.0, inv["amount"] - paid)) if inv["state"] != "closed" else 0.0


def compute_estimate_amounts(est: Row) -> None:
    """Amount, taxes and discount of an estimate from its lines."""
    subtotal = sum(li["amount"] for li in est["line_items"])
    taxed = sum(li["amount"] for li in est["line_items"] if li["taxed"])
    taxed2 = sum(li["amount"] for li in est["line_items"] if li["taxed2"])
    discount = money(subtotal * (est["discount"] or 0.0) / 100)
    est["tax_amount"] = money(taxed * (est["tax"] or 0.0) / 100)
    est["tax2_amount"] = money(taxed2 * (est["tax2"] or 0.0) / 100)
    est["discount_amount"] = discount
    est["amount"] = money(subtotal + est["tax_amount"] + est["tax2_amount"] - discount)
