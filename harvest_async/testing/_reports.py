"""Reports computed from the simulated data.

Generated time entries and expenses are aggregated from their compact "core" (combo,
hours or cost, billed) without building full rows, so a report over a million entries
stays quick; changed and created rows are added from their stored form. Results are
cached until the next write.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import attrs

from ._fields import Reject, parse_bool, parse_date
from ._params import REPORT_GROUPS, REPORTS_SERVED_AS
from ._store import Row, fmt_date
from ._world import World

__all__ = ["Reports", "report_window"]

# A report row carries the values its report and group compute, in Harvest's order; a
# field of the report's model (`REPORTS_SERVED_AS`) that no group of the report computes
# (a field added to the model) is served as null in every row, while one that only
# other groups compute (``project_id`` in a report by client) is left out, as Harvest
# does.

# Aggregation keys: (user_id, project_id, task_id, client_id) for time,
# (user_id, project_id, category_id, client_id) for expenses.
_Key = tuple[int, int, int, int]


class _TimeAgg:
    __slots__ = ("bill_amt", "bill_hh", "total_hh", "uninv_amt", "uninv_hh")

    def __init__(self) -> None:
        self.total_hh = 0  # hundredths of an hour
        self.bill_hh = 0
        self.bill_amt = 0  # hundredths of an hour x cents
        self.uninv_hh = 0
        self.uninv_amt = 0


class _CostAgg:
    __slots__ = ("billable", "total", "uninvoiced")

    def __init__(self) -> None:
        self.total = 0  # cents
        self.billable = 0
        self.uninvoiced = 0


def _cents(x: float | None) -> int:
    return 0 if x is None else round(x * 100)


def _hours(hh: int) -> float:
    return hh / 100


def _amount(units: int, scale: int) -> float:
    """``units / scale`` to the cent, halves rounded away from zero on exact integers."""
    cents, rest = divmod(abs(units) * 100, scale)
    if rest * 2 >= scale:
        cents += 1
    return (cents if units >= 0 else -cents) / 100


def report_window(params: dict[str, str]) -> tuple[dt.date, dt.date]:
    """``from``/``to`` of a report: required, ``YYYYMMDD`` or ISO, ``to - from <= 365`` days.

    As Harvest: ``20210101..20220101`` is answered, ``20200101..20210101`` (366 days
    apart, over a leap year) is a 400.
    """
    if not params.get("from") or not params.get("to"):
        raise Reject(422, "from and to are required")
    start = parse_date(params["from"], "from")
    end = parse_date(params["to"], "to")
    if end < start:
        raise Reject(422, "to must not be before from")
    if (end - start).days > 365:
        raise Reject(400, "Invalid timeframe: must not exceed 1 year")
    return start, end


def _unclaimed(report: str, claimed: set[str]) -> dict[str, None]:
    """The fields of a report's model that none of its rows computes, as nulls."""
    model = REPORTS_SERVED_AS[report]
    return {f.name: None for f in attrs.fields(model) if f.name not in claimed}


def _served(report: str, rows: list[Row]) -> list[Row]:
    """Rows of a report of one shape, with the fields of its model none of them computes."""
    extra = _unclaimed(report, set(rows[0])) if rows else {}
    return [{**r, **extra} for r in rows] if extra else rows


class Reports:
    """Computes report rows for a `World`."""

    def __init__(self, world: World) -> None:
        self.w = world
        self._cache: dict[tuple[Any, ...], Any] = {}
        self._version = -1
        # what every group computes, from rows of nothing (an id that is no record's)
        self._unclaimed_time = _unclaimed(
            "time", {k for g in REPORT_GROUPS["time"] for k in self._time_row(g, 0, "", _TimeAgg())}
        )
        self._unclaimed_expenses = _unclaimed(
            "expenses",
            {k for g in REPORT_GROUPS["expenses"] for k in self._expense_row(g, 0, "", _CostAgg())},
        )

    def _cached(self, key: tuple[Any, ...], build: Callable[[], Any]) -> Any:
        if self._version != self.w.version:
            self._cache.clear()
            self._version = self.w.version
        if key not in self._cache:
            self._cache[key] = build()
        return self._cache[key]

    # ---------------------------------------------------------------- aggregation

    def time_agg(self, lo: int | None, hi: int | None) -> dict[_Key, _TimeAgg]:
        """Time aggregated by (user, project, task, client) over date ordinals [lo, hi]."""
        return self._cached(("time", lo, hi), lambda: self._time_agg(lo, hi))  # type: ignore[no-any-return]

    def _time_agg(self, lo: int | None, hi: int | None) -> dict[_Key, _TimeAgg]:
        w = self.w
        table = w.time_entries
        combos = w.te_combos
        agg: dict[_Key, _TimeAgg] = defaultdict(_TimeAgg)
        n = table.generated_count
        if n:
            i0, i1 = w.index_range(
                table,
                None if lo is None else dt.date.fromordinal(lo),
                None if hi is None else dt.date.fromordinal(hi),
                None,
            )
            per_combo_total = [0] * len(combos)
            per_combo_billed = [0] * len(combos)
            deleted, overrides, hidden = table.deleted, table.overrides, table.hidden
            first = table.first_id
            core = w.te_core
            for i in range(i0, i1):
                rid = first + i
                if rid in overrides or rid in deleted or (hidden is not None and hidden(i)):
                    continue
                c, hh, billed = core(i)
                per_combo_total[c] += hh
                if billed:
                    per_combo_billed[c] += hh
            for c, combo in enumerate(combos):
                total = per_combo_total[c]
                if not total:
                    continue
                a = agg[(combo.user_id, combo.project_id, combo.task_id, combo.client_id)]
                a.total_hh += total
                if combo.billable:
                    rate = _cents(combo.billable_rate)
                    a.bill_hh += total
                    a.bill_amt += total * rate
                    unbilled = total - per_combo_billed[c]
                    a.uninv_hh += unbilled
                    a.uninv_amt += unbilled * rate
        lo_s = None if lo is None else fmt_date(lo)
        hi_s = None if hi is None else fmt_date(hi)
        for r in table.changed_rows():
            if (lo_s is not None and r["spent_date"] < lo_s) or (
                hi_s is not None and r["spent_date"] > hi_s
            ):
                continue
            hh = round(r["hours"] * 100)
            a = agg[(r["user_id"], r["project_id"], r["task_id"], r["client_id"])]
            a.total_hh += hh
            if r["billable"]:
                rate = _cents(r["billable_rate"])
                a.bill_hh += hh
                a.bill_amt += hh * rate
                if not r["is_billed"]:
                    a.uninv_hh += hh
                    a.uninv_amt += hh * rate
        return dict(agg)

    def cost_agg(self, lo: int | None, hi: int | None) -> dict[_Key, _CostAgg]:
        """Expenses aggregated by (user, project, category, client) over [lo, hi]."""
        return self._cached(("cost", lo, hi), lambda: self._cost_agg(lo, hi))  # type: ignore[no-any-return]

    def _cost_agg(self, lo: int | None, hi: int | None) -> dict[_Key, _CostAgg]:
        w = self.w
        table = w.expenses
        agg: dict[_Key, _CostAgg] = defaultdict(_CostAgg)
        if table.generated_count:
            i0, i1 = w.index_range(
                table,
                None if lo is None else dt.date.fromordinal(lo),
                None if hi is None else dt.date.fromordinal(hi),
                None,
            )
            deleted, overrides, hidden = table.deleted, table.overrides, table.hidden
            first = table.first_id
            combos, cats = w.ex_combos, w.ex_cats
            for i in range(i0, i1):
                rid = first + i
                if rid in overrides or rid in deleted or (hidden is not None and hidden(i)):
                    continue
                c, cat, _units, total, billed = w.ex_core(i)
                combo = combos[c]
                a = agg[(combo.user_id, combo.project_id, cats[cat][0], combo.client_id)]
                cents = _cents(total)
                a.total += cents
                if combo.billable:
                    a.billable += cents
                    if not billed:
                        a.uninvoiced += cents
        lo_s = None if lo is None else fmt_date(lo)
        hi_s = None if hi is None else fmt_date(hi)
        for r in table.changed_rows():
            if (lo_s is not None and r["spent_date"] < lo_s) or (
                hi_s is not None and r["spent_date"] > hi_s
            ):
                continue
            a = agg[(r["user_id"], r["project_id"], r["expense_category_id"], r["client_id"])]
            cents = _cents(r["total_cost"])
            a.total += cents
            if r["billable"]:
                a.billable += cents
                if not r["is_billed"]:
                    a.uninvoiced += cents
        return dict(agg)

    # ---------------------------------------------------------------- reports

    def _fixed_fee_filter(self, params: dict[str, str]) -> Callable[[int], bool]:
        include = (
            parse_bool(params["include_fixed_fee"], "include_fixed_fee")
            if "include_fixed_fee" in params
            else True
        )
        if include:
            return lambda pid: True

        def keep(pid: int) -> bool:
            p = self.w.live_or_tomb("projects", pid)
            return not (p and p["is_fixed_fee"])

        return keep

    def _currency(self, client_id: int) -> str:
        c = self.w.live_or_tomb("clients", client_id)
        return str(c["currency"]) if c else str(self.w.company["currency"])

    def _name(self, kind: str, rid: int) -> str | None:
        row = self.w.live_or_tomb(kind, rid)
        if row is None:
            return None
        if kind == "users":
            return self.w.user_name(row)
        return str(row["name"])

    def _time_row(self, group: str, gid: int, currency: str, g: _TimeAgg) -> Row:
        """One row of a time report by ``group`` (Harvest's keys, in Harvest's order)."""
        w = self.w
        totals = {
            "total_hours": _hours(g.total_hh),
            "billable_hours": _hours(g.bill_hh),
            "currency": currency,
            "billable_amount": _amount(g.bill_amt, 10000),
        }
        if group == "clients":
            return {"client_id": gid, "client_name": self._name("clients", gid), **totals}
        if group == "projects":
            p = w.live_or_tomb("projects", gid) or {}
            return {
                "project_id": gid,
                "project_name": p.get("name"),
                "client_id": p.get("client_id"),
                "client_name": self._name("clients", p.get("client_id") or 0),
                **totals,
            }
        if group == "tasks":
            return {"task_id": gid, "task_name": self._name("tasks", gid), **totals}
        u = w.live_or_tomb("users", gid) or {}
        return {
            "user_id": gid,
            "user_name": self._name("users", gid),
            "is_contractor": u.get("is_contractor"),
            **totals,
            "weekly_capacity": u.get("weekly_capacity"),
            "avatar_url": u.get("avatar_url"),
        }

    def _expense_row(self, group: str, gid: int, currency: str, g: _CostAgg) -> Row:
        """One row of an expense report by ``group`` (Harvest's keys, in Harvest's order)."""
        w = self.w
        totals = {
            "total_amount": _amount(g.total, 100),
            "billable_amount": _amount(g.billable, 100),
            "currency": currency,
        }
        if group == "clients":
            return {"client_id": gid, "client_name": self._name("clients", gid), **totals}
        if group == "projects":
            p = w.live_or_tomb("projects", gid) or {}
            return {
                "client_id": p.get("client_id"),
                "client_name": self._name("clients", p.get("client_id") or 0),
                "project_id": gid,
                "project_name": p.get("name"),
                **totals,
            }
        if group == "categories":
            return {
                "expense_category_id": gid,
                "expense_category_name": self._name("expense_categories", gid),
                **totals,
            }
        u = w.live_or_tomb("users", gid) or {}
        return {
            "user_id": gid,
            "user_name": self._name("users", gid),
            "is_contractor": u.get("is_contractor"),
            **totals,
        }

    def time_report(self, group: str, params: dict[str, str]) -> list[Row]:
        """Rows of ``/reports/time/{clients,projects,tasks,team}``."""
        start, end = report_window(params)
        keep = self._fixed_fee_filter(params)
        agg = self.time_agg(start.toordinal(), end.toordinal())
        groups: dict[tuple[int, str], _TimeAgg] = defaultdict(_TimeAgg)
        for (user_id, project_id, task_id, client_id), a in agg.items():
            if not keep(project_id):
                continue
            gid = {"clients": client_id, "projects": project_id, "tasks": task_id, "team": user_id}[
                group
            ]
            g = groups[(gid, self._currency(client_id))]
            g.total_hh += a.total_hh
            g.bill_hh += a.bill_hh
            g.bill_amt += a.bill_amt
        unclaimed = self._unclaimed_time
        rows = [
            {**self._time_row(group, gid, currency, g), **unclaimed}
            for (gid, currency), g in groups.items()
        ]
        name_key = {
            "clients": "client_name",
            "projects": "project_name",
            "tasks": "task_name",
            "team": "user_name",
        }[group]
        rows.sort(key=lambda r: (str(r[name_key] or ""), r["currency"]))
        return rows

    def expense_report(self, group: str, params: dict[str, str]) -> list[Row]:
        """Rows of ``/reports/expenses/{clients,projects,categories,team}``."""
        start, end = report_window(params)
        agg = self.cost_agg(start.toordinal(), end.toordinal())
        groups: dict[tuple[int, str], _CostAgg] = defaultdict(_CostAgg)
        for (user_id, project_id, category_id, client_id), a in agg.items():
            gid = {
                "clients": client_id,
                "projects": project_id,
                "categories": category_id,
                "team": user_id,
            }[group]
            g = groups[(gid, self._currency(client_id))]
            g.total += a.total
            g.billable += a.billable
        unclaimed = self._unclaimed_expenses
        rows = [
            {**self._expense_row(group, gid, currency, g), **unclaimed}
            for (gid, currency), g in groups.items()
        ]
        name_key = {
            "clients": "client_name",
            "projects": "project_name",
            "categories": "expense_category_name",
            "team": "user_name",
        }[group]
        rows.sort(key=lambda r: (str(r[name_key] or ""), r["currency"]))
        return rows

    def uninvoiced(self, params: dict[str, str]) -> list[Row]:
        """Rows of ``/reports/uninvoiced``: per billable project with activity."""
        start, end = report_window(params)
        keep = self._fixed_fee_filter(params)
        lo, hi = start.toordinal(), end.toordinal()
        per: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
        for (_u, pid, _t, _c), a in self.time_agg(lo, hi).items():
            v = per[pid]
            v[0] += a.total_hh
            v[1] += a.uninv_hh
            v[2] += a.uninv_amt  # hundredths x cents
        for (_u, pid, _cat, _c), e in self.cost_agg(lo, hi).items():
            per[pid][3] += e.uninvoiced  # cents
        w = self.w
        rows: list[Row] = []
        for pid, (total_hh, uninv_hh, uninv_amt, uninv_exp) in per.items():
            p = w.live_or_tomb("projects", pid)
            if p is None or not p["is_billable"] or not keep(pid):
                continue
            rows.append(
                {
                    "client_id": p["client_id"],
                    "client_name": self._name("clients", p["client_id"]),
                    "project_id": pid,
                    "project_name": p["name"],
                    "currency": self._currency(p["client_id"]),
                    "total_hours": _hours(total_hh),
                    "uninvoiced_hours": _hours(uninv_hh),
                    "uninvoiced_expenses": _amount(uninv_exp, 100),
                    "uninvoiced_amount": _amount(uninv_amt + uninv_exp * 100, 10000),
                }
            )
        rows.sort(key=lambda r: (str(r["client_name"] or ""), str(r["project_name"])))
        return _served("uninvoiced", rows)

    def project_budget(self, params: dict[str, str]) -> list[Row]:
        """Rows of ``/reports/project_budget``: projects with a budget, over all time."""
        active = parse_bool(params["is_active"], "is_active") if "is_active" in params else None
        spent_hh: dict[int, int] = defaultdict(int)
        spent_amt: dict[int, int] = defaultdict(int)
        for (_u, pid, _t, _c), a in self.time_agg(None, None).items():
            spent_hh[pid] += a.total_hh
            spent_amt[pid] += a.bill_amt
        w = self.w
        rows: list[Row] = []
        for p in w.projects.values():
            if p["budget_by"] == "none" or p["budget"] is None:
                continue
            if active is not None and p["is_active"] != active:
                continue
            by_money = p["budget_by"] in ("project_cost", "task_fees")
            spent = _amount(spent_amt[p["id"]], 10000) if by_money else _hours(spent_hh[p["id"]])
            rows.append(
                {
                    "project_id": p["id"],
                    "project_name": p["name"],
                    "client_id": p["client_id"],
                    "client_name": self._name("clients", p["client_id"]),
                    "budget_is_monthly": p["budget_is_monthly"],
                    "budget_by": p["budget_by"],
                    "is_active": p["is_active"],
                    "budget": p["budget"],
                    "budget_spent": spent,
                    "budget_remaining": round(p["budget"] - spent, 2),
                }
            )
        return _served("project_budget", rows)
