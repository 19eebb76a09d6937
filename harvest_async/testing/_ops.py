"""Creates, updates, deletes and actions: the rules Harvest applies to each resource."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import urlsplit

from ._fields import Reject, UploadedFile, coerce_fields, parse_minutes, require
from ._params import LINE_FIELDS
from ._store import Row, fmt_date, fmt_ts
from ._world import World, compute_estimate_amounts, compute_invoice_amounts, money

__all__ = ["Ops"]

_UNIQUE_NAMES = (
    "clients",
    "tasks",
    "expense_categories",
    "invoice_item_categories",
    "estimate_item_categories",
    "roles",
)


def _pick(d: Mapping[str, Any], key: str, default: Any) -> Any:
    value = d.get(key)
    return default if value is None else value


def _rounded(hours: float) -> float:
    return money(math.ceil(round(hours * 4, 6)) / 4)


def _ordinal(date_text: str) -> int:
    return dt.date.fromisoformat(date_text).toordinal()


class Ops:
    """Applies writes to a `World`."""

    def __init__(self, world: World) -> None:
        self.w = world

    # ------------------------------------------------------------- helpers

    def _get(self, kind: str, rid: int | None, label: str) -> Row:
        row = self.w.table(kind).get(rid) if rid is not None else None
        if row is None:
            raise Reject(422, f"{label} not found")
        return row

    def _unique_name(self, kind: str, name: str, own_id: int | None = None) -> None:
        if kind in _UNIQUE_NAMES:
            for r in self.w.table(kind).values():
                if r["name"] == name and r["id"] != own_id:
                    raise Reject(422, "Name has already been taken")

    def _stamp(self) -> str:
        return self.w.clock.stamp_str()

    def _now_epoch(self) -> float:
        return self.w.clock.now()

    # ------------------------------------------------------------- generic

    def create(self, kind: str, data: dict[str, Any], parent: Row | None = None) -> Row:
        """Create a record of ``kind`` from coerced fields; return the stored row."""
        handler = getattr(self, f"_create_{kind}", None)
        if handler is not None:
            row: Row = handler(data, parent) if parent is not None else handler(data)
            return row
        return self._create_simple(kind, data)

    def update(self, kind: str, row: Row, data: dict[str, Any]) -> Row:
        """Apply coerced fields to a record; return the stored row."""
        handler = getattr(self, f"_update_{kind}", None)
        if handler is not None:
            out: Row = handler(row, data)
        else:
            if "name" in data:
                require(data, "name")
                self._unique_name(kind, data["name"], row["id"])
            row.update(data)
            row["updated_at"] = self._stamp()
            out = row
        self.w.touch_refs(kind, out["id"])
        return out

    def delete(self, kind: str, row: Row) -> None:
        """Delete a record (after Harvest's checks)."""
        handler = getattr(self, f"_delete_{kind}", None)
        if handler is not None:
            handler(row)
        else:
            self.w.table(kind).delete(row["id"])
        if kind not in ("time_entries", "expenses"):
            self.w.bury(kind, row)

    _SIMPLE_DEFAULTS: ClassVar[dict[str, dict[str, Any]]] = {
        "tasks": {
            "billable_by_default": True,
            "default_hourly_rate": None,
            "is_default": False,
            "is_active": True,
        },
        "expense_categories": {"unit_name": None, "unit_price": None, "is_active": True},
        "invoice_item_categories": {"use_as_service": False, "use_as_expense": False},
        "estimate_item_categories": {},
    }

    def _create_simple(self, kind: str, data: dict[str, Any]) -> Row:
        require(data, "name")
        self._unique_name(kind, data["name"])
        table = self.w.table(kind)
        now = self._stamp()
        row: Row = {"id": table.new_id(), "name": data["name"]}
        for key, default in self._SIMPLE_DEFAULTS[kind].items():
            row[key] = _pick(data, key, default)
        row["created_at"] = now
        row["updated_at"] = now
        return table.insert(row)

    # ------------------------------------------------------------- clients, contacts

    def _create_clients(self, d: dict[str, Any]) -> Row:
        require(d, "name")
        self._unique_name("clients", d["name"])
        w = self.w
        now = self._stamp()
        rid = w.clients.new_id()
        return w.clients.insert(
            {
                "id": rid,
                "name": d["name"],
                "is_active": _pick(d, "is_active", True),
                "address": d.get("address"),
                "statement_key": f"{rid:032x}",
                "created_at": now,
                "updated_at": now,
                "currency": _pick(d, "currency", w.company["currency"]),
            }
        )

    def _delete_clients(self, row: Row) -> None:
        w = self.w
        cid = row["id"]
        if (
            w.projects_of(cid)
            or any(i["client_id"] == cid for i in w.invoices.values())
            or any(e["client_id"] == cid for e in w.estimates.values())
        ):
            raise Reject(
                422,
                "Client has projects, invoices or estimates and cannot be "
                "deleted; archive it instead",
            )
        for contact in [c for c in w.contacts.values() if c["client_id"] == cid]:
            w.contacts.delete(contact["id"])
        w.clients.delete(cid)

    def _create_contacts(self, d: dict[str, Any]) -> Row:
        require(d, "client_id", "first_name")
        self._get("clients", d["client_id"], "Client")
        now = self._stamp()
        t = self.w.contacts
        return t.insert(
            {
                "id": t.new_id(),
                "client_id": d["client_id"],
                "title": d.get("title"),
                "first_name": d["first_name"],
                "last_name": d.get("last_name"),
                "email": d.get("email"),
                "phone_office": _pick(d, "phone_office", ""),
                "phone_mobile": _pick(d, "phone_mobile", ""),
                "fax": _pick(d, "fax", ""),
                "created_at": now,
                "updated_at": now,
            }
        )

    def _update_contacts(self, row: Row, d: dict[str, Any]) -> Row:
        if "client_id" in d:
            require(d, "client_id")
            self._get("clients", d["client_id"], "Client")
        row.update(d)
        row["updated_at"] = self._stamp()
        return row

    # ------------------------------------------------------------- projects

    def _create_projects(self, d: dict[str, Any]) -> Row:
        require(d, "client_id", "name", "is_billable", "bill_by", "budget_by")
        self._get("clients", d["client_id"], "Client")
        w = self.w
        now = self._stamp()
        rid = w.projects.new_id()
        row: Row = {
            "id": rid,
            "name": d["name"],
            "code": d.get("code"),
            "is_active": _pick(d, "is_active", True),
            "is_billable": d["is_billable"],
            "is_fixed_fee": _pick(d, "is_fixed_fee", False),
            "bill_by": d["bill_by"],
            "budget": d.get("budget"),
            "budget_by": d["budget_by"],
            "budget_is_monthly": _pick(d, "budget_is_monthly", False),
            "notify_when_over_budget": _pick(d, "notify_when_over_budget", False),
            "over_budget_notification_percentage": _pick(
                d, "over_budget_notification_percentage", 80.0
            ),
            "show_budget_to_all": _pick(d, "show_budget_to_all", False),
            "created_at": now,
            "updated_at": now,
            "starts_on": d.get("starts_on"),
            "ends_on": d.get("ends_on"),
            "over_budget_notification_date": None,
            "notes": _pick(d, "notes", ""),
            "cost_budget": d.get("cost_budget"),
            "cost_budget_include_expenses": _pick(d, "cost_budget_include_expenses", False),
            "hourly_rate": d.get("hourly_rate"),
            "fee": d.get("fee"),
            "client_id": d["client_id"],
        }
        w.projects.insert(row)
        for task in w.tasks.values():  # Harvest adds default tasks to new projects
            if task["is_default"] and task["is_active"]:
                w.task_assignments.insert(
                    {
                        "id": w.task_assignments.new_id(),
                        "project_id": rid,
                        "task_id": task["id"],
                        "billable": bool(row["is_billable"] and task["billable_by_default"]),
                        "is_active": True,
                        "created_at": now,
                        "updated_at": now,
                        "hourly_rate": task["default_hourly_rate"],
                        "budget": None,
                    }
                )
        return row

    def _update_projects(self, row: Row, d: dict[str, Any]) -> Row:
        for key in ("client_id", "name", "is_billable", "bill_by", "budget_by"):
            if key in d:
                require(d, key)
        if "client_id" in d:
            self._get("clients", d["client_id"], "Client")
        row.update(d)
        row["updated_at"] = self._stamp()
        return row

    def _delete_projects(self, row: Row) -> None:
        """Deletes the project with its time entries, expenses and assignments."""
        w = self.w
        pid = row["id"]
        for lazy in (w.time_entries, w.expenses):
            for r in [r for r in lazy.changed_rows() if r["project_id"] == pid]:
                lazy.delete(r["id"])
                if lazy is w.time_entries and w.running.get(r["user_id"]) == r["id"]:
                    del w.running[r["user_id"]]
        w.deleted_projects.add(pid)
        w.hide_deleted_projects()
        for table in (w.user_assignments, w.task_assignments):
            for a in [a for a in table.values() if a["project_id"] == pid]:
                table.delete(a["id"])
                w.bury(table.name, a)
        w.projects.delete(pid)

    # ------------------------------------------------------------- tasks

    def _delete_tasks(self, row: Row) -> None:
        w = self.w
        tid = row["id"]
        if w.generated_in_use("task_id", tid) or any(
            r["task_id"] == tid for r in w.time_entries.changed_rows()
        ):
            raise Reject(422, "Task has time entries and cannot be deleted; archive it instead")
        for ta in [a for a in w.task_assignments.values() if a["task_id"] == tid]:
            w.task_assignments.delete(ta["id"])
            w.bury("task_assignments", ta)
        w.tasks.delete(tid)

    # ------------------------------------------------------------- users, roles

    def _sync_roles(self, user_id: int, names: list[str]) -> None:
        w = self.w
        now = self._stamp()
        for role in w.roles.values():
            has = user_id in role["user_ids"]
            if (role["name"] in names) != has:
                role["user_ids"] = sorted(
                    [u for u in role["user_ids"] if u != user_id] + ([user_id] if not has else [])
                )
                role["updated_at"] = now
        existing = {r["name"] for r in w.roles.values()}
        for name in names:
            if name not in existing:
                w.roles.insert(
                    {
                        "id": w.roles.new_id(),
                        "name": name,
                        "created_at": now,
                        "updated_at": now,
                        "user_ids": [user_id],
                    }
                )
                existing.add(name)

    def _check_email(self, email: str, own_id: int | None = None) -> None:
        for u in self.w.users.values():
            if u["email"].lower() == email.lower() and u["id"] != own_id:
                raise Reject(422, "Email has already been taken")

    def _create_users(self, d: dict[str, Any]) -> Row:
        require(d, "first_name", "last_name", "email")
        self._check_email(d["email"])
        w = self.w
        now = self._stamp()
        rid = w.users.new_id()
        access = _pick(d, "access_roles", ["member"]) or ["member"]
        row: Row = {
            "id": rid,
            "first_name": d["first_name"],
            "last_name": d["last_name"],
            "email": d["email"],
            "telephone": _pick(d, "telephone", ""),
            "timezone": _pick(d, "timezone", "Eastern Time (US & Canada)"),
            "weekly_capacity": _pick(d, "weekly_capacity", w.company["weekly_capacity"]),
            "has_access_to_all_future_projects": _pick(
                d, "has_access_to_all_future_projects", False
            ),
            "is_contractor": _pick(d, "is_contractor", False),
            "is_active": _pick(d, "is_active", True),
            "calendar_integration_enabled": False,
            "calendar_integration_source": None,
            "created_at": now,
            "updated_at": now,
            "can_create_projects": access[0] != "member",
            "default_hourly_rate": d.get("default_hourly_rate"),
            "cost_rate": d.get("cost_rate"),
            "access_roles": access,
            "avatar_url": "https://d3s3969qhosaug.cloudfront.net/v2/user.png",
            "teammate_ids": [],
        }
        w.users.insert(row)
        if d.get("roles"):
            self._sync_roles(rid, d["roles"])
        return row

    def _update_users(self, row: Row, d: dict[str, Any]) -> Row:
        for key in ("first_name", "last_name", "email"):
            if key in d:
                require(d, key)
        if "email" in d:
            self._check_email(d["email"], row["id"])
        roles = d.pop("roles", None)
        if roles is not None:
            self._sync_roles(row["id"], roles)
        if "access_roles" in d:
            d["access_roles"] = d["access_roles"] or ["member"]
        row.update(d)
        row["updated_at"] = self._stamp()
        return row

    def _delete_users(self, row: Row) -> None:
        w = self.w
        uid = row["id"]
        if uid == w.me_id:
            raise Reject(403, "You cannot delete yourself")
        if (
            w.generated_in_use("user_id", uid)
            or w.generated_in_use("user_id", uid, True)
            or any(r["user_id"] == uid for r in w.time_entries.changed_rows())
            or any(r["user_id"] == uid for r in w.expenses.changed_rows())
        ):
            raise Reject(
                422,
                "User has time entries or expenses and cannot be deleted; archive the user instead",
            )
        for ua in [a for a in w.user_assignments.values() if a["user_id"] == uid]:
            w.user_assignments.delete(ua["id"])
            w.bury("user_assignments", ua)
        for role in w.roles.values():
            if uid in role["user_ids"]:
                role["user_ids"] = [u for u in role["user_ids"] if u != uid]
        for u in w.users.values():
            if uid in u["teammate_ids"]:
                u["teammate_ids"] = [t for t in u["teammate_ids"] if t != uid]
        w.users.delete(uid)

    def _check_user_ids(self, ids: list[int]) -> None:
        for uid in ids:
            if uid not in self.w.users:
                raise Reject(422, f"User {uid} not found")

    def _create_roles(self, d: dict[str, Any]) -> Row:
        require(d, "name")
        self._unique_name("roles", d["name"])
        ids = sorted(set(_pick(d, "user_ids", [])))
        self._check_user_ids(ids)
        now = self._stamp()
        t = self.w.roles
        return t.insert(
            {
                "id": t.new_id(),
                "name": d["name"],
                "created_at": now,
                "updated_at": now,
                "user_ids": ids,
            }
        )

    def _update_roles(self, row: Row, d: dict[str, Any]) -> Row:
        if "name" in d:
            require(d, "name")
            self._unique_name("roles", d["name"], row["id"])
        if "user_ids" in d:
            d["user_ids"] = sorted(set(d["user_ids"] or []))
            self._check_user_ids(d["user_ids"])
        row.update(d)
        row["updated_at"] = self._stamp()
        return row

    def update_teammates(self, user: Row, d: dict[str, Any]) -> list[Row]:
        """Replace a user's teammates; return them."""
        require(d, "teammate_ids")
        ids = sorted(set(d["teammate_ids"]))
        self._check_user_ids(ids)
        user["teammate_ids"] = ids
        user["updated_at"] = self._stamp()
        return [self.w.users.rows[i] for i in ids]

    def update_company(self, d: dict[str, Any]) -> Row:
        """Change company settings."""
        self.w.company.update({k: v for k, v in d.items() if v is not None})
        return self.w.company

    def _create_rate(self, kind: str, d: dict[str, Any], user: Row) -> Row:
        require(d, "amount")
        w = self.w
        table = w.table(kind)
        now = self._stamp()
        start = d.get("start_date")
        mine = [r for r in table.values() if r["user_id"] == user["id"]]
        if start is None:
            for r in mine:
                table.delete(r["id"])
        else:
            day_before = fmt_date(_ordinal(start) - 1)
            for r in mine:
                if r["end_date"] is None and (r["start_date"] is None or r["start_date"] < start):
                    r["end_date"] = day_before
                    r["updated_at"] = now
        row = table.insert(
            {
                "id": table.new_id(),
                "user_id": user["id"],
                "amount": d["amount"],
                "start_date": start,
                "end_date": None,
                "created_at": now,
                "updated_at": now,
            }
        )
        if start is None or _ordinal(start) <= w.clock.today():
            user["default_hourly_rate" if kind == "billable_rates" else "cost_rate"] = d["amount"]
            user["updated_at"] = now
            w.touch_refs("users", user["id"])
        return row

    def _create_billable_rates(self, d: dict[str, Any], user: Row) -> Row:
        return self._create_rate("billable_rates", d, user)

    def _create_cost_rates(self, d: dict[str, Any], user: Row) -> Row:
        return self._create_rate("cost_rates", d, user)

    # ------------------------------------------------------------- assignments

    def _create_user_assignments(self, d: dict[str, Any], project: Row) -> Row:
        require(d, "user_id")
        user = self._get("users", d["user_id"], "User")
        w = self.w
        if w.find_ua(user["id"], project["id"]) is not None:
            raise Reject(422, "User has already been assigned to this project")
        now = self._stamp()
        use_default = _pick(d, "use_default_rates", True)
        return w.user_assignments.insert(
            {
                "id": w.user_assignments.new_id(),
                "project_id": project["id"],
                "user_id": user["id"],
                "is_project_manager": _pick(d, "is_project_manager", False),
                "is_active": _pick(d, "is_active", True),
                "use_default_rates": use_default,
                "budget": d.get("budget"),
                "created_at": now,
                "updated_at": now,
                "hourly_rate": _pick(d, "hourly_rate", user["default_hourly_rate"]),
            }
        )

    def _delete_user_assignments(self, row: Row) -> None:
        w = self.w
        if (
            w.generated_in_use("ua_id", row["id"])
            or w.generated_in_use("ua_id", row["id"], True)
            or any(
                r["user_assignment_id"] == row["id"]
                for lazy in (w.time_entries, w.expenses)
                for r in lazy.changed_rows()
            )
        ):
            raise Reject(422, "User assignment has time entries or expenses and cannot be deleted")
        w.user_assignments.delete(row["id"])

    def _create_task_assignments(self, d: dict[str, Any], project: Row) -> Row:
        require(d, "task_id")
        task = self._get("tasks", d["task_id"], "Task")
        w = self.w
        if w.find_ta(project["id"], task["id"]) is not None:
            raise Reject(422, "Task has already been assigned to this project")
        now = self._stamp()
        return w.task_assignments.insert(
            {
                "id": w.task_assignments.new_id(),
                "project_id": project["id"],
                "task_id": task["id"],
                "billable": _pick(
                    d, "billable", bool(project["is_billable"] and task["billable_by_default"])
                ),
                "is_active": _pick(d, "is_active", True),
                "created_at": now,
                "updated_at": now,
                "hourly_rate": _pick(d, "hourly_rate", task["default_hourly_rate"]),
                "budget": d.get("budget"),
            }
        )

    def _delete_task_assignments(self, row: Row) -> None:
        w = self.w
        if w.generated_in_use("ta_id", row["id"]) or any(
            r["task_assignment_id"] == row["id"] for r in w.time_entries.changed_rows()
        ):
            raise Reject(422, "Task assignment has time entries and cannot be deleted")
        w.task_assignments.delete(row["id"])

    def _delete_expense_categories(self, row: Row) -> None:
        w = self.w
        cid = row["id"]
        if (w.expenses.generated_count and any(c[0] == cid for c in w.ex_cats)) or any(
            r["expense_category_id"] == cid for r in w.expenses.changed_rows()
        ):
            raise Reject(422, "Expense category has expenses and cannot be deleted")
        w.expense_categories.delete(cid)

    # ------------------------------------------------------------- time entries

    def _assignment(self, user_id: int, project_id: int, task_id: int) -> tuple[Row, Row, Row, Row]:
        w = self.w
        user = self._get("users", user_id, "User")
        project = self._get("projects", project_id, "Project")
        task = self._get("tasks", task_id, "Task")
        ua = w.find_ua(user["id"], project["id"])
        if ua is None:
            raise Reject(422, "User is not assigned to the project")
        ta = w.find_ta(project["id"], task["id"])
        if ta is None:
            raise Reject(422, "Task is not assigned to the project")
        return user, project, ua, ta

    def _apply_assignment(self, row: Row, user: Row, project: Row, ua: Row, ta: Row) -> None:
        billable = bool(project["is_billable"] and ta["billable"])
        row.update(
            {
                "user_id": user["id"],
                "project_id": project["id"],
                "task_id": ta["task_id"],
                "client_id": project["client_id"],
                "user_assignment_id": ua["id"],
                "task_assignment_id": ta["id"],
                "billable": billable,
                "billable_rate": self.w.rate_for(project, user, ua, ta) if billable else None,
                "cost_rate": user["cost_rate"],
            }
        )

    @staticmethod
    def _external(value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return None
        permalink = value.get("permalink")
        host = urlsplit(permalink).hostname if isinstance(permalink, str) else None
        return {
            "id": None if value.get("id") is None else str(value["id"]),
            "group_id": None if value.get("group_id") is None else str(value["group_id"]),
            "account_id": None if value.get("account_id") is None else str(value["account_id"]),
            "permalink": permalink,
            "service": host,
            "service_icon_url": None,
        }

    def _set_hours(self, row: Row, hours: float) -> None:
        row["hours"] = money(hours)
        row["hours_without_timer"] = money(hours)
        row["rounded_hours"] = _rounded(hours)

    def _start_timer(self, row: Row) -> None:
        w = self.w
        other = w.running.get(row["user_id"])
        if other is not None and other != row["id"]:
            running = w.time_entries.get(other)
            if running is not None and running["is_running"]:
                self._stop(dict(running))
        epoch = self._now_epoch()
        row["is_running"] = True
        row["timer_started_at"] = fmt_ts(epoch)
        row["_timer_epoch"] = epoch
        w.running[row["user_id"]] = row["id"]

    def _stop(self, row: Row) -> Row:
        w = self.w
        elapsed = max(0.0, self._now_epoch() - (row["_timer_epoch"] or self._now_epoch()))
        self._set_hours(row, row["hours"] + elapsed / 3600)
        row["is_running"] = False
        row["timer_started_at"] = None
        row["_timer_epoch"] = None
        row["updated_at"] = self._stamp()
        if w.running.get(row["user_id"]) == row["id"]:
            del w.running[row["user_id"]]
        w.time_entries.put(row)
        return row

    def _check_times(self, d: dict[str, Any]) -> None:
        """422 for a ``started_time`` / ``ended_time`` that is not a time of day."""
        for key in ("started_time", "ended_time"):
            if d.get(key) is not None:
                parse_minutes(d[key], key)

    def _create_time_entries(self, d: dict[str, Any]) -> Row:
        require(d, "project_id", "task_id", "spent_date")
        self._check_times(d)
        w = self.w
        user, project, ua, ta = self._assignment(
            _pick(d, "user_id", w.me_id), d["project_id"], d["task_id"]
        )
        now = self._stamp()
        row: Row = {
            "id": w.time_entries.new_id(),
            "spent_date": d["spent_date"],
            "notes": d.get("notes"),
            "created_at": now,
            "updated_at": now,
            "is_locked": False,
            "locked_reason": None,
            "approval_status": "unsubmitted",
            "is_explicitly_locked": False,
            "is_closed": False,
            "is_billed": False,
            "timer_started_at": None,
            "started_time": d.get("started_time"),
            "ended_time": d.get("ended_time"),
            "is_running": False,
            "_timer_epoch": None,
            "invoice_id": None,
            "external_reference": self._external(d.get("external_reference")),
            "budgeted": project["budget"] is not None,
        }
        self._apply_assignment(row, user, project, ua, ta)
        if d.get("hours") is not None:
            self._set_hours(row, d["hours"])
        elif d.get("started_time") and d.get("ended_time"):
            minutes = parse_minutes(d["ended_time"], "ended_time") - parse_minutes(
                d["started_time"], "started_time"
            )
            self._set_hours(row, max(0, minutes) / 60)
        else:
            self._set_hours(row, 0.0)
            w.time_entries.insert(row)
            self._start_timer(row)
            return row
        return w.time_entries.insert(row)

    def _update_time_entries(self, row: Row, d: dict[str, Any]) -> Row:
        row = dict(row)
        for key in ("project_id", "task_id", "spent_date"):
            if key in d:
                require(d, key)
        self._check_times(d)
        if "project_id" in d or "task_id" in d:
            project_id: int = d["project_id"] if "project_id" in d else row["project_id"]
            task_id: int = d["task_id"] if "task_id" in d else row["task_id"]
            user, project, ua, ta = self._assignment(row["user_id"], project_id, task_id)
            self._apply_assignment(row, user, project, ua, ta)
        for key in ("spent_date", "notes", "started_time", "ended_time"):
            if key in d:
                row[key] = d[key]
        if "external_reference" in d:
            row["external_reference"] = self._external(d["external_reference"])
        if d.get("hours") is not None:
            self._set_hours(row, d["hours"])
        elif (
            ("started_time" in d or "ended_time" in d) and row["started_time"] and row["ended_time"]
        ):
            minutes = parse_minutes(row["ended_time"], "ended_time") - parse_minutes(
                row["started_time"], "started_time"
            )
            self._set_hours(row, max(0, minutes) / 60)
        row["updated_at"] = self._stamp()
        self.w.time_entries.put(row)
        return row

    def stop_timer(self, row: Row) -> Row:
        """``PATCH /time_entries/{id}/stop``."""
        if not row["is_running"]:
            raise Reject(422, "Time entry is not running")
        return self._stop(dict(row))

    def restart_timer(self, row: Row) -> Row:
        """``PATCH /time_entries/{id}/restart``."""
        if row["is_running"]:
            raise Reject(422, "Time entry is already running")
        row = dict(row)
        self._start_timer(row)
        row["updated_at"] = self._stamp()
        self.w.time_entries.put(row)
        return row

    def delete_external_reference(self, row: Row) -> Row:
        """``DELETE /time_entries/{id}/external_reference``."""
        row = dict(row)
        row["external_reference"] = None
        row["updated_at"] = self._stamp()
        self.w.time_entries.put(row)
        return row

    def _delete_time_entries(self, row: Row) -> None:
        w = self.w
        if w.running.get(row["user_id"]) == row["id"]:
            del w.running[row["user_id"]]
        w.time_entries.delete(row["id"])

    # ------------------------------------------------------------- expenses

    def _receipt(self, rid: int, upload: UploadedFile) -> dict[str, Any]:
        return {
            "url": f"{self.w.company['base_uri']}/expenses/{rid}/receipt",
            "file_name": upload.filename,
            "file_size": upload.size,
            "content_type": upload.content_type,
        }

    def _cost(self, row: Row, d: dict[str, Any], category: Row) -> None:
        unit_price = category["unit_price"]
        if unit_price is not None:
            units = d.get(
                "units",
                row.get("units")
                if "expense_category_id" not in d
                or row.get("expense_category_id") == category["id"]
                else None,
            )
            if units is None:
                raise Reject(422, "Units can't be blank for a unit-based expense category")
            row["units"] = units
            row["total_cost"] = money(units * unit_price)
        else:
            total = d.get("total_cost", row.get("total_cost"))
            if total is None:
                raise Reject(422, "Total cost can't be blank")
            row["total_cost"] = total
            row["units"] = _pick(d, "units", row.get("units") or 1.0)

    def _create_expenses(self, d: dict[str, Any]) -> Row:
        require(d, "project_id", "expense_category_id", "spent_date")
        w = self.w
        user = self._get("users", _pick(d, "user_id", w.me_id), "User")
        project = self._get("projects", d["project_id"], "Project")
        category = self._get("expense_categories", d["expense_category_id"], "Expense category")
        ua = w.find_ua(user["id"], project["id"])
        if ua is None:
            raise Reject(422, "User is not assigned to the project")
        now = self._stamp()
        rid = w.expenses.new_id()
        row: Row = {
            "id": rid,
            "spent_date": d["spent_date"],
            "user_id": user["id"],
            "client_id": project["client_id"],
            "project_id": project["id"],
            "user_assignment_id": ua["id"],
            "expense_category_id": category["id"],
            "notes": d.get("notes"),
            "billable": _pick(d, "billable", True),
            "receipt": None,
            "is_closed": False,
            "is_locked": False,
            "is_billed": False,
            "locked_reason": None,
            "invoice_id": None,
            "created_at": now,
            "updated_at": now,
        }
        self._cost(row, d, category)
        if isinstance(d.get("receipt"), UploadedFile):
            row["receipt"] = self._receipt(rid, d["receipt"])
        return w.expenses.insert(row)

    def _update_expenses(self, row: Row, d: dict[str, Any]) -> Row:
        w = self.w
        row = dict(row)
        for key in ("project_id", "expense_category_id", "spent_date"):
            if key in d:
                require(d, key)
        if "project_id" in d:
            project = self._get("projects", d["project_id"], "Project")
            ua = w.find_ua(row["user_id"], project["id"])
            if ua is None:
                raise Reject(422, "User is not assigned to the project")
            row.update(
                project_id=project["id"],
                client_id=project["client_id"],
                user_assignment_id=ua["id"],
            )
        category = self._get(
            "expense_categories",
            d.get("expense_category_id", row["expense_category_id"]),
            "Expense category",
        )
        if {"units", "total_cost", "expense_category_id"} & d.keys():
            self._cost(row, d, category)
            row["expense_category_id"] = category["id"]
        for key in ("spent_date", "notes", "billable"):
            if key in d:
                row[key] = d[key]
        if d.get("delete_receipt"):
            row["receipt"] = None
        if isinstance(d.get("receipt"), UploadedFile):
            row["receipt"] = self._receipt(row["id"], d["receipt"])
        row["updated_at"] = self._stamp()
        w.expenses.put(row)
        return row

    def _delete_expenses(self, row: Row) -> None:
        self.w.expenses.delete(row["id"])

    # ------------------------------------------------------------- invoices, estimates

    def _lines(self, current: list[Row], given: list[dict[str, Any]], invoice: bool) -> list[Row]:
        lines = [dict(li) for li in current]
        for raw in given:
            li = coerce_fields(LINE_FIELDS["invoices" if invoice else "estimates"], raw)
            if li.get("project_id") is not None:
                self._get("projects", li["project_id"], "Project")
            if li.get("id") is not None:
                match = next((x for x in lines if x["id"] == li["id"]), None)
                if match is None:
                    raise Reject(422, f"Line item {li['id']} not found")
                if li.get("_destroy"):
                    lines.remove(match)
                    continue
                match.update({k: v for k, v in li.items() if k not in ("id", "_destroy")})
                match["amount"] = money(match["quantity"] * match["unit_price"])
                continue
            require(li, "kind", "unit_price")
            quantity = _pick(li, "quantity", 1.0)
            lines.append(
                {
                    "id": self.w.line_item_ids.new_id(),
                    "kind": li["kind"],
                    "description": _pick(li, "description", ""),
                    "quantity": quantity,
                    "unit_price": li["unit_price"],
                    "amount": money(quantity * li["unit_price"]),
                    "taxed": _pick(li, "taxed", False),
                    "taxed2": _pick(li, "taxed2", False),
                    "project_id": li.get("project_id") if invoice else None,
                }
            )
        return lines

    def paid_total(self, invoice_id: int) -> float:
        """Sum of an invoice's payments."""
        return money(
            sum(
                p["amount"]
                for p in self.w.invoice_payments.values()
                if p["invoice_id"] == invoice_id
            )
        )

    def _due_date(self, issue: str, term: str, given: str | None) -> str:
        if given is not None:
            return given
        days = {"upon receipt": 0, "net 15": 15, "net 30": 30, "net 45": 45, "net 60": 60}.get(
            term, 0
        )
        return fmt_date(_ordinal(issue) + days)

    def _create_invoices(self, d: dict[str, Any]) -> Row:
        require(d, "client_id")
        w = self.w
        client = self._get("clients", d["client_id"], "Client")
        if d.get("estimate_id") is not None:
            self._get("estimates", d["estimate_id"], "Estimate")
        now = self._stamp()
        issue = _pick(d, "issue_date", fmt_date(w.clock.today()))
        term = _pick(d, "payment_term", "custom" if d.get("due_date") else "upon receipt")
        numbers = [int(i["number"]) for i in w.invoices.values() if i["number"].isdigit()]
        row: Row = {
            "id": w.invoices.new_id(),
            "client_key": f"{w.invoices.next_id:040x}",
            "number": _pick(d, "number", str(max(numbers, default=999) + 1)),
            "purchase_order": _pick(d, "purchase_order", ""),
            "amount": 0.0,
            "due_amount": 0.0,
            "tax": d.get("tax"),
            "tax_amount": 0.0,
            "tax2": d.get("tax2"),
            "tax2_amount": 0.0,
            "discount": d.get("discount"),
            "discount_amount": 0.0,
            "subject": _pick(d, "subject", ""),
            "notes": _pick(d, "notes", ""),
            "state": "draft",
            "period_start": None,
            "period_end": None,
            "issue_date": issue,
            "due_date": self._due_date(issue, term, d.get("due_date")),
            "payment_term": term,
            "payment_options": _pick(d, "payment_options", []),
            "sent_at": None,
            "paid_at": None,
            "paid_date": None,
            "closed_at": None,
            "recurring_invoice_id": None,
            "created_at": now,
            "updated_at": now,
            "currency": _pick(d, "currency", client["currency"]),
            "client_id": client["id"],
            "estimate_id": d.get("estimate_id"),
            "retainer_id": d.get("retainer_id"),
            "creator_id": w.me_id,
            "line_items": self._lines([], _pick(d, "line_items", []), True),
        }
        compute_invoice_amounts(row, 0.0)
        return w.invoices.insert(row)

    def _update_invoices(self, row: Row, d: dict[str, Any]) -> Row:
        if "client_id" in d:
            require(d, "client_id")
            self._get("clients", d["client_id"], "Client")
        lines = d.pop("line_items", None)
        if lines is not None:
            row["line_items"] = self._lines(row["line_items"], lines, True)
        row.update(d)
        compute_invoice_amounts(row, self.paid_total(row["id"]))
        row["updated_at"] = self._stamp()
        return row

    def _delete_invoices(self, row: Row) -> None:
        w = self.w
        for table in (w.invoice_messages, w.invoice_payments):
            for child in [c for c in table.values() if c["invoice_id"] == row["id"]]:
                table.delete(child["id"])
        w.invoices.delete(row["id"])

    def _create_estimates(self, d: dict[str, Any]) -> Row:
        require(d, "client_id")
        w = self.w
        client = self._get("clients", d["client_id"], "Client")
        now = self._stamp()
        numbers = [int(e["number"]) for e in w.estimates.values() if e["number"].isdigit()]
        row: Row = {
            "id": w.estimates.new_id(),
            "client_key": f"{w.estimates.next_id:040x}",
            "number": _pick(d, "number", str(max(numbers, default=0) + 1)),
            "purchase_order": _pick(d, "purchase_order", ""),
            "amount": 0.0,
            "tax": d.get("tax"),
            "tax_amount": 0.0,
            "tax2": d.get("tax2"),
            "tax2_amount": 0.0,
            "discount": d.get("discount"),
            "discount_amount": 0.0,
            "subject": _pick(d, "subject", ""),
            "notes": _pick(d, "notes", ""),
            "state": "draft",
            "issue_date": _pick(d, "issue_date", fmt_date(w.clock.today())),
            "sent_at": None,
            "created_at": now,
            "updated_at": now,
            "accepted_at": None,
            "declined_at": None,
            "currency": _pick(d, "currency", client["currency"]),
            "client_id": client["id"],
            "creator_id": w.me_id,
            "line_items": self._lines([], _pick(d, "line_items", []), False),
        }
        compute_estimate_amounts(row)
        return w.estimates.insert(row)

    def _update_estimates(self, row: Row, d: dict[str, Any]) -> Row:
        if "client_id" in d:
            require(d, "client_id")
            self._get("clients", d["client_id"], "Client")
        lines = d.pop("line_items", None)
        if lines is not None:
            row["line_items"] = self._lines(row["line_items"], lines, False)
        row.update(d)
        compute_estimate_amounts(row)
        row["updated_at"] = self._stamp()
        return row

    def _delete_estimates(self, row: Row) -> None:
        w = self.w
        for m in [m for m in w.estimate_messages.values() if m["estimate_id"] == row["id"]]:
            w.estimate_messages.delete(m["id"])
        w.estimates.delete(row["id"])

    def _recipients(self, d: dict[str, Any]) -> list[dict[str, Any]]:
        out = []
        for r in d.get("recipients") or []:
            if not isinstance(r.get("email"), str) or not r["email"]:
                raise Reject(422, "Recipient email can't be blank")
            out.append({"name": r.get("name"), "email": r["email"]})
        return out

    def _message_event(
        self, d: dict[str, Any], events: tuple[str, ...]
    ) -> tuple[str | None, list[dict[str, Any]], str]:
        """The event type (None: a sent message), its recipients and the write stamp."""
        event = d.get("event_type")
        if event is not None and event not in events:
            raise Reject(422, "Event type is not included in the list")
        recipients = self._recipients(d)
        if event is None and not recipients:
            raise Reject(422, "Recipients can't be blank")
        return event, recipients, self._stamp()

    def _create_invoice_messages(self, d: dict[str, Any], invoice: Row) -> Row:
        w = self.w
        event, recipients, now = self._message_event(d, ("close", "draft", "re-open", "send"))
        if event in (None, "send"):
            if invoice["state"] == "draft":
                invoice["state"] = "open"
            invoice["sent_at"] = invoice["sent_at"] or now
        elif event == "close":
            invoice["state"] = "closed"
            invoice["closed_at"] = now
        elif event == "re-open":
            invoice["state"] = "open"
            invoice["closed_at"] = None
        elif event == "draft":
            invoice["state"] = "draft"
            invoice["sent_at"] = None
        compute_invoice_amounts(invoice, self.paid_total(invoice["id"]))
        if invoice["state"] == "open" and invoice["due_amount"] == 0 and invoice["amount"]:
            invoice["state"] = "paid"
        invoice["updated_at"] = now
        w.touch_refs("invoices", invoice["id"])
        row = w.message_row(
            "invoice",
            invoice,
            event,
            now,
            recipients,
            subject=d.get("subject"),
            body=d.get("body"),
            include_link_to_client_invoice=d.get("include_link_to_client_invoice"),
            attach_pdf=d.get("attach_pdf"),
            send_me_a_copy=d.get("send_me_a_copy"),
            thank_you=d.get("thank_you"),
        )
        return w.invoice_messages.insert(row)

    def _create_estimate_messages(self, d: dict[str, Any], estimate: Row) -> Row:
        w = self.w
        event, recipients, now = self._message_event(d, ("accept", "decline", "re-open", "send"))
        if event in (None, "send"):
            if estimate["state"] == "draft":
                estimate["state"] = "sent"
            estimate["sent_at"] = estimate["sent_at"] or now
        elif event == "accept":
            estimate["state"] = "accepted"
            estimate["accepted_at"] = now
            estimate["declined_at"] = None
        elif event == "decline":
            estimate["state"] = "declined"
            estimate["declined_at"] = now
            estimate["accepted_at"] = None
        elif event == "re-open":
            estimate["state"] = "sent"
            estimate["accepted_at"] = None
            estimate["declined_at"] = None
        estimate["updated_at"] = now
        row = w.message_row(
            "estimate",
            estimate,
            event,
            now,
            recipients,
            subject=d.get("subject"),
            body=d.get("body"),
            send_me_a_copy=d.get("send_me_a_copy"),
        )
        return w.estimate_messages.insert(row)

    def _settle(self, invoice: Row) -> None:
        paid = self.paid_total(invoice["id"])
        compute_invoice_amounts(invoice, paid)
        payments = [p for p in self.w.invoice_payments.values() if p["invoice_id"] == invoice["id"]]
        if invoice["state"] in ("open", "draft") and invoice["due_amount"] == 0 and payments:
            last = max(payments, key=lambda p: p["paid_at"])
            invoice.update(state="paid", paid_at=last["paid_at"], paid_date=last["paid_date"])
        elif invoice["state"] == "paid" and invoice["due_amount"] > 0:
            invoice.update(state="open", paid_at=None, paid_date=None)
        invoice["updated_at"] = self._stamp()
        self.w.touch_refs("invoices", invoice["id"])

    def _create_invoice_payments(self, d: dict[str, Any], invoice: Row) -> Row:
        require(d, "amount")
        if d["amount"] <= 0:
            raise Reject(422, "Amount must be greater than 0")
        if invoice["state"] == "closed":
            raise Reject(422, "Payments cannot be recorded on a closed invoice")
        w = self.w
        now = self._stamp()
        me = w.me()
        if d.get("paid_at") is not None:
            paid_at = d["paid_at"]
            paid_date = d.get("paid_date") or paid_at[:10]
        else:
            paid_date = d.get("paid_date") or fmt_date(w.clock.today())
            paid_at = f"{paid_date}T00:00:00Z"
        row = w.invoice_payments.insert(
            {
                "id": w.invoice_payments.new_id(),
                "invoice_id": invoice["id"],
                "amount": d["amount"],
                "paid_at": paid_at,
                "paid_date": paid_date,
                "recorded_by": w.user_name(me),
                "recorded_by_email": me["email"],
                "notes": _pick(d, "notes", ""),
                "transaction_id": None,
                "created_at": now,
                "updated_at": now,
                "payment_gateway": {"id": None, "name": None},
            }
        )
        self._settle(invoice)
        return row

    def delete_payment(self, invoice: Row, payment: Row) -> None:
        """Delete a payment and re-open the invoice if it is no longer paid."""
        self.w.invoice_payments.delete(payment["id"])
        self._settle(invoice)
