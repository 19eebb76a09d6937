"""The aiohttp applications: the API v2 side and the Harvest ID side."""

from __future__ import annotations

import asyncio
import base64
import functools
import json
from collections.abc import Awaitable, Callable
from typing import Any, Protocol
from urllib.parse import unquote

from aiohttp import BodyPartReader, web

from .. import models as m
from ._auth import INVALID_TOKEN, TokenStore
from ._config import Counters, Faults, RequestRecord
from ._fields import (
    Reject,
    UploadedFile,
    coerce_fields,
    parse_bool,
    parse_date,
    parse_datetime,
)
from ._ops import Ops
from ._pagination import paginate
from ._params import CREATE_FIELDS, FILTERS, REPORT_GROUPS, UPDATE_FIELDS, UPDATED_SINCE
from ._ratelimit import RetryAfterFormat, RollingWindow, retry_after_value
from ._render import encode
from ._reports import Reports
from ._store import Row, Source, StaticSource
from ._world import World

__all__ = ["Simulated", "build_api_app", "build_id_app"]


class Simulated(Protocol):
    """What the applications use of the simulator that serves them (`HarvestSimulator`)."""

    account_id: int
    world: World
    ops: Ops
    reports: Reports
    general_window: RollingWindow
    reports_window: RollingWindow
    retry_after: RetryAfterFormat
    page_based: frozenset[str]
    tokens: TokenStore
    faults: Faults
    counters: Counters
    errors: list[BaseException]
    id_accounts: list[dict[str, Any]]

    def log_request(self, record: RequestRecord) -> None: ...


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

NOT_FOUND = {"status": 404, "error": "Not Found"}
THROTTLED = "This request has been throttled."

#: Top-level resources with list/get/create/update/delete.
TOP_LEVEL = (
    "clients",
    "contacts",
    "projects",
    "tasks",
    "users",
    "roles",
    "expense_categories",
    "invoice_item_categories",
    "estimate_item_categories",
    "time_entries",
    "expenses",
    "invoices",
    "estimates",
)

#: The stored date a list's ``from``/``to`` range applies to (Harvest's rule).
DATE_FIELD = {
    "time_entries": "spent_date",
    "expenses": "spent_date",
    "invoices": "issue_date",
    "estimates": "issue_date",
}


def json_response(
    obj: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """A JSON answer (compact, encoded once; rendered references are spliced in as is)."""
    return web.Response(
        body=encode(obj),
        status=status,
        headers=headers,
        content_type="application/json",
        charset="utf-8",
    )


def _equals(field: str, value: Any) -> Callable[[Row], bool]:
    return lambda r: bool(r.get(field) == value)


def _compare(field: str, bound: str, at_least: bool) -> Callable[[Row], bool]:
    if at_least:
        return lambda r: bool(r[field] >= bound)
    return lambda r: bool(r[field] <= bound)


def _int_param(text: str, name: str) -> int:
    t = text.strip()
    if not t.isdigit():
        raise Reject(422, f"{name} must be an integer")
    return int(t)


def _match_id(request: web.Request, name: str = "id") -> int:
    return int(request.match_info[name])


async def read_body(request: web.Request) -> tuple[dict[str, Any], bool]:
    """The body as a dict and whether it was a form (JSON, urlencoded or multipart)."""
    ctype = request.content_type
    if ctype == "multipart/form-data":
        data: dict[str, Any] = {}
        reader = await request.multipart()
        while True:
            part = await reader.next()
            if part is None:
                break
            if not isinstance(part, BodyPartReader) or part.name is None:
                continue
            if part.filename:
                content = await part.read()
                data[part.name] = UploadedFile(
                    part.filename,
                    part.headers.get("Content-Type", "application/octet-stream"),
                    len(content),
                )
            else:
                data[part.name] = await part.text()
        return data, True
    if ctype == "application/x-www-form-urlencoded":
        post = await request.post()
        return {k: v for k, v in post.items() if isinstance(v, str)}, True
    raw = await request.read()
    if not raw.strip():
        return {}, False
    try:
        obj = json.loads(raw)
    except ValueError:
        raise Reject(400, "Problems parsing JSON") from None
    if not isinstance(obj, dict):
        raise Reject(400, "Problems parsing JSON")
    return obj, False


class Api:
    """Handlers of the API v2 side."""

    def __init__(self, sim: Simulated) -> None:
        self.sim = sim
        self.w: World = sim.world

    # ------------------------------------------------------------ plumbing

    def _page_based(self, name: str) -> bool:
        pb = self.sim.page_based
        return "*" in pb or name in pb

    def _base(self, request: web.Request) -> str:
        return str(request.url.with_query(None))

    def _list(
        self,
        request: web.Request,
        key: str,
        source: Source,
        render: Callable[[Row], Any],
        predicate: Callable[[Row], bool] | None,
        mode_name: str | None = None,
    ) -> web.Response:
        envelope = paginate(
            key=key,
            source=source,
            render=render,
            params=request.query,
            base_url=self._base(request),
            page_based=self._page_based(mode_name or key),
            predicate=predicate,
        )
        return json_response(envelope)

    def _predicate(
        self, kind: str, params: Any, extra: list[Callable[[Row], bool]] | None = None
    ) -> tuple[Callable[[Row], bool] | None, dict[str, Any]]:
        checks: list[Callable[[Row], bool]] = list(extra or [])
        hints: dict[str, Any] = {}
        for param, (field, typ) in FILTERS.get(kind, {}).items():
            text = params.get(param)
            if text is None or text == "":
                continue
            value: Any
            if typ == "int":
                value = _int_param(text, param)
            elif typ == "bool":
                value = parse_bool(text, param)
            else:
                value = text
            checks.append(_equals(field, value))
        if kind in UPDATED_SINCE and params.get("updated_since"):
            since = parse_datetime(params["updated_since"], "updated_since")
            since_s = since.strftime("%Y-%m-%dT%H:%M:%SZ")
            hints["since"] = since.timestamp()
            checks.append(lambda r: r["updated_at"] >= since_s)
        date_field = DATE_FIELD.get(kind)
        if date_field is not None:
            for param, op in (("from", "ge"), ("to", "le")):
                if params.get(param):
                    d = parse_date(params[param], param)
                    hints[param] = d
                    s = d.isoformat()
                    checks.append(_compare(date_field, s, op == "ge"))
        if kind == "time_entries" and params.get("external_reference_id"):
            ref = params["external_reference_id"]
            checks.append(
                lambda r: bool(r["external_reference"]) and r["external_reference"].get("id") == ref
            )
        if kind == "invoices" and params.get("project_id"):
            pid = _int_param(params["project_id"], "project_id")
            checks.append(lambda r: any(li["project_id"] == pid for li in r["line_items"]))
        if not checks:
            return None, hints
        if len(checks) == 1:
            return checks[0], hints
        return (lambda r: all(c(r) for c in checks)), hints

    def _source(self, kind: str, hints: dict[str, Any]) -> Source:
        if kind in ("time_entries", "expenses"):
            table = self.w.time_entries if kind == "time_entries" else self.w.expenses
            if hints:
                return table.view(
                    self.w.index_range(
                        table, hints.get("from"), hints.get("to"), hints.get("since")
                    )
                )
            return table.view(None)
        return self.w.table(kind)

    def _row(self, kind: str, rid: int) -> Row:
        w = self.w
        if kind == "time_entries":
            row = w.time_entries.get(rid)
        elif kind == "expenses":
            row = w.expenses.get(rid)
        else:
            row = w.table(kind).get(rid)
        if row is None:
            raise Reject(404, body=NOT_FOUND)
        return row

    def _child(self, kind: str, parent_field: str, parent_id: int, rid: int) -> Row:
        row = self._row(kind, rid)
        if row[parent_field] != parent_id:
            raise Reject(404, body=NOT_FOUND)
        return row

    async def _fields(self, request: web.Request, spec: dict[str, str]) -> dict[str, Any]:
        body, form = await read_body(request)
        return coerce_fields(spec, body, form=form)

    def _render(self, kind: str) -> Callable[[Row], Any]:
        return self.w.wire(kind)

    def _answer(self, kind: str, row: Row, status: int = 200) -> web.Response:
        return json_response(self.w.wire(kind)(row), status)

    def _count(self, what: str, kind: str) -> None:
        getattr(self.sim.counters, what)[kind] += 1

    # ------------------------------------------------------------ generic CRUD

    def list_handler(self, kind: str) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            predicate, hints = self._predicate(kind, request.query)
            return self._list(
                request, kind, self._source(kind, hints), self._render(kind), predicate
            )

        return handler

    def get_handler(self, kind: str) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            return self._answer(kind, self._row(kind, _match_id(request)))

        return handler

    def create_handler(self, kind: str) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            data = await self._fields(request, CREATE_FIELDS[kind])
            row = self.sim.ops.create(kind, data)
            self._count("creates", kind)
            return self._answer(kind, row, 201)

        return handler

    def update_handler(self, kind: str) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            row = self._row(kind, _match_id(request))
            data = await self._fields(request, UPDATE_FIELDS[kind])
            if data:
                row = self.sim.ops.update(kind, row, data)
                self._count("updates", kind)
            return self._answer(kind, row)

        return handler

    def delete_handler(self, kind: str) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            row = self._row(kind, _match_id(request))
            self.sim.ops.delete(kind, row)
            self._count("deletes", kind)
            return web.Response(status=200)

        return handler

    # ------------------------------------------------------------ special routes

    async def company_get(self, request: web.Request) -> web.StreamResponse:
        return self._answer("company", self.w.company)

    async def company_patch(self, request: web.Request) -> web.StreamResponse:
        data = await self._fields(request, UPDATE_FIELDS["company"])
        if data:
            self.sim.ops.update_company(data)
            self._count("updates", "company")
        return self._answer("company", self.w.company)

    async def me(self, request: web.Request) -> web.StreamResponse:
        return self._answer("users", self.w.me())

    def _user_id(self, request: web.Request) -> int:
        uid = request.match_info.get("id", "me")
        if uid == "me":
            return self.w.me_id
        self._row("users", int(uid))
        return int(uid)

    async def project_assignments(self, request: web.Request) -> web.StreamResponse:
        uid = self._user_id(request)
        predicate, _ = self._predicate(
            "project_assignments", request.query, [lambda r: r["user_id"] == uid]
        )
        return self._list(
            request,
            "project_assignments",
            self.w.user_assignments,
            self._render("project_assignments"),
            predicate,
        )

    async def rates_list(self, request: web.Request) -> web.StreamResponse:
        kind = request.match_info["rates"]
        uid = self._user_id(request)
        return self._list(
            request, kind, self.w.table(kind), self._render(kind), lambda r: r["user_id"] == uid
        )

    async def rates_get(self, request: web.Request) -> web.StreamResponse:
        kind = request.match_info["rates"]
        uid = self._user_id(request)
        row = self._child(kind, "user_id", uid, _match_id(request, "rid"))
        return self._answer(kind, row)

    async def rates_create(self, request: web.Request) -> web.StreamResponse:
        kind = request.match_info["rates"]
        user = self._row("users", self._user_id(request))
        data = await self._fields(request, CREATE_FIELDS[kind])
        row = self.sim.ops.create(kind, data, user)
        self._count("creates", kind)
        return self._answer(kind, row, 201)

    async def teammates(self, request: web.Request) -> web.StreamResponse:
        user = self._row("users", self._user_id(request))
        rows = [r for r in (self.w.users.get(i) for i in user["teammate_ids"]) if r]
        return self._list(request, "teammates", StaticSource(rows), self._render("teammates"), None)

    async def teammates_patch(self, request: web.Request) -> web.StreamResponse:
        user = self._row("users", self._user_id(request))
        data = await self._fields(request, UPDATE_FIELDS["teammates"])
        rows = self.sim.ops.update_teammates(user, data)
        self._count("updates", "teammates")
        render = self._render("teammates")
        return json_response({"teammates": [render(r) for r in rows]})

    # nested project assignments

    def _project(self, request: web.Request) -> Row:
        return self._row("projects", _match_id(request, "pid"))

    def nested_list(self, kind: str) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            pid = self._project(request)["id"]
            predicate, _ = self._predicate(kind, request.query, [lambda r: r["project_id"] == pid])
            return self._list(request, kind, self.w.table(kind), self._render(kind), predicate)

        return handler

    def nested_get(self, kind: str) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            pid = self._project(request)["id"]
            row = self._child(kind, "project_id", pid, _match_id(request))
            return self._answer(kind, row)

        return handler

    def nested_create(self, kind: str) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            project = self._project(request)
            data = await self._fields(request, CREATE_FIELDS[kind])
            row = self.sim.ops.create(kind, data, project)
            self._count("creates", kind)
            return self._answer(kind, row, 201)

        return handler

    def nested_update(self, kind: str) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            pid = self._project(request)["id"]
            row = self._child(kind, "project_id", pid, _match_id(request))
            data = await self._fields(request, UPDATE_FIELDS[kind])
            if data:
                row = self.sim.ops.update(kind, row, data)
                self._count("updates", kind)
            return self._answer(kind, row)

        return handler

    def nested_delete(self, kind: str) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            pid = self._project(request)["id"]
            row = self._child(kind, "project_id", pid, _match_id(request))
            self.sim.ops.delete(kind, row)
            self._count("deletes", kind)
            return web.Response(status=200)

        return handler

    def account_wide(self, kind: str) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            predicate, _ = self._predicate(kind, request.query)
            return self._list(request, kind, self.w.table(kind), self._render(kind), predicate)

        return handler

    # time entry actions

    def timer_action(self, action: str) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            row = self._row("time_entries", _match_id(request))
            ops = self.sim.ops
            row = ops.stop_timer(row) if action == "stop" else ops.restart_timer(row)
            self._count("updates", "time_entries")
            return self._answer("time_entries", row)

        return handler

    async def delete_external_reference(self, request: web.Request) -> web.StreamResponse:
        row = self._row("time_entries", _match_id(request))
        self.sim.ops.delete_external_reference(row)
        self._count("updates", "time_entries")
        return web.Response(status=200)

    # invoice / estimate children

    def child_list(self, parent: str, kind: str) -> Handler:
        field = "invoice_id" if parent == "invoices" else "estimate_id"

        async def handler(request: web.Request) -> web.StreamResponse:
            parent_id = self._row(parent, _match_id(request, "pid"))["id"]
            predicate, _ = self._predicate(kind, request.query, [lambda r: r[field] == parent_id])
            return self._list(request, kind, self.w.table(kind), self._render(kind), predicate)

        return handler

    def child_create(self, parent: str, kind: str) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            parent_row = self._row(parent, _match_id(request, "pid"))
            data = await self._fields(request, CREATE_FIELDS[kind])
            row = self.sim.ops.create(kind, data, parent_row)
            self._count("creates", kind)
            self._count("updates", parent)
            return self._answer(kind, row, 201)

        return handler

    def child_delete(self, parent: str, kind: str) -> Handler:
        field = "invoice_id" if parent == "invoices" else "estimate_id"

        async def handler(request: web.Request) -> web.StreamResponse:
            parent_row = self._row(parent, _match_id(request, "pid"))
            row = self._child(kind, field, parent_row["id"], _match_id(request))
            if kind == "invoice_payments":
                self.sim.ops.delete_payment(parent_row, row)
            else:
                self.sim.ops.delete(kind, row)
            self._count("deletes", kind)
            return web.Response(status=200)

        return handler

    async def message_template(self, request: web.Request) -> web.StreamResponse:
        invoice = self._row("invoices", _match_id(request, "pid"))
        q = request.query
        thank_you = parse_bool(q["thank_you"], "thank_you") if "thank_you" in q else False
        reminder = parse_bool(q["reminder"], "reminder") if "reminder" in q else False
        company = self.w.company["name"]
        number = invoice["number"]
        if thank_you:
            subject = f"Invoice #{number} from {company}: thank you for your payment"
        elif reminder:
            subject = f"Past due invoice reminder: #{number} from {company}"
        else:
            subject = f"Invoice #{number} from {company}"
        body = (
            f"Invoice ID: {number}\nIssue Date: {invoice['issue_date']}\n"
            f"Amount: {invoice['amount']}\nDue: {invoice['due_date']}\n\nThank you!\n"
        )
        template = {
            "invoice_id": invoice["id"],
            "subject": subject,
            "body": body,
            "reminder": reminder,
            "thank_you": thank_you,
        }
        return json_response(self.w.renderer.render(m.InvoiceMessageSubjectAndBody, template))

    # reports

    def report(self, compute: Callable[[dict[str, str]], list[Row]]) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            params = dict(request.query)
            rows = compute(params)
            return self._list(
                request, "results", StaticSource(rows), lambda r: r, None, mode_name="reports"
            )

        return handler

    async def not_found(self, request: web.Request) -> web.StreamResponse:
        raise Reject(404, body=NOT_FOUND)

    # ------------------------------------------------------------ middleware

    def _auth(self, request: web.Request) -> None:
        headers = request.headers
        if not headers.get("User-Agent", "").strip():
            raise Reject(
                400,
                "Missing User-Agent header: name your application and give "
                "a contact (Harvest requires it)",
            )
        auth = headers.get("Authorization", "")
        scheme, _, token = auth.partition(" ")
        problem = (
            INVALID_TOKEN
            if scheme.lower() != "bearer" or not token.strip()
            else self.sim.tokens.check(token.strip())
        )
        if problem is not None:
            raise Reject(401, body={"error": "invalid_token", "error_description": problem})
        account = headers.get("Harvest-Account-Id")
        if account is None or not account.strip():
            raise Reject(401, body={"error": "invalid_token", "error_description": INVALID_TOKEN})
        if account.strip() != str(self.sim.account_id):
            raise Reject(
                403,
                body={
                    "error": "forbidden",
                    "error_description": f"The token cannot access account {account.strip()}.",
                },
            )

    def _throttle(self, wait: float, period: float) -> web.Response:
        value = retry_after_value(wait, self.sim.retry_after, period)
        return json_response(
            {"message": THROTTLED, "retry_after": value}, 429, headers={"Retry-After": str(value)}
        )

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        sim = self.sim
        loop = asyncio.get_running_loop()
        started = loop.time()
        sim.counters.requests += 1
        fault: str | None = None
        status: int | None = None
        try:
            try:
                self._auth(request)
                faults = sim.faults
                is_report = request.path.startswith("/v2/reports/")
                window = sim.reports_window if is_report else sim.general_window
                fault = faults.draw(started)
                response: web.StreamResponse
                if fault == "throttle":
                    wait = (
                        faults.storm_until - started
                        if started < faults.storm_until
                        else min(1.0, window.period)
                    )
                    response = self._throttle(wait, window.period)
                else:
                    wait_for = window.admit(started)
                    if wait_for is not None:
                        fault = None
                        response = self._throttle(wait_for, window.period)
                    else:
                        response = await self._serve(request, handler, fault)
                delay = faults.draw_latency()
                if delay > 0:
                    await asyncio.sleep(delay)
            except Reject as exc:
                response = json_response(exc.body, exc.status, exc.headers or None)
            except web.HTTPException as exc:
                response = json_response({"message": exc.reason}, exc.status)
            except Exception as exc:  # a simulator bug: answer 500, keep it for tests
                sim.errors.append(exc)
                response = json_response({"message": f"simulator error: {exc!r}"}, 500)
            if fault == "reset":
                status = None
                _close(request)
                return web.Response(status=500)
            if fault == "truncate":
                status = response.status
                return await _truncate(request, response)
            status = response.status
            return response
        finally:
            if fault is not None:
                sim.counters.faults[fault] += 1
            if status is not None:
                sim.counters.by_status[status] += 1
                if status == 429:
                    sim.counters.throttled += 1
            if request.method != "GET":
                self.w.version += 1
            sim.log_request(
                RequestRecord(
                    request.method,
                    request.path,
                    request.query_string,
                    status,
                    started,
                    loop.time(),
                    fault,
                )
            )

    async def _serve(
        self, request: web.Request, handler: Handler, fault: str | None
    ) -> web.StreamResponse:
        if fault == "server_error":
            status = self.sim.faults.server_error_status()
            return json_response({"status": status, "error": "Internal Server Error"}, status)
        if fault == "reset" and not self.sim.faults.reset_after_processing:
            return web.Response(status=500)
        try:
            return await handler(request)
        except Reject as exc:
            return json_response(exc.body, exc.status, exc.headers or None)


def _close(request: web.Request) -> None:
    transport = request.transport
    if transport is not None:
        transport.close()


async def _truncate(request: web.Request, response: web.StreamResponse) -> web.StreamResponse:
    body = response.body if isinstance(response, web.Response) else b""
    data = bytes(body) if isinstance(body, (bytes, bytearray)) else b""
    stream = web.StreamResponse(status=response.status)
    stream.content_type = response.content_type
    stream.content_length = len(data) + 64 if len(data) < 2 else len(data)
    await stream.prepare(request)
    await stream.write(data[: len(data) // 2])
    _close(request)
    return stream


def build_api_app(sim: Simulated) -> web.Application:
    """The API v2 application (paths under ``/v2``)."""
    api = Api(sim)
    app = web.Application(middlewares=[api.middleware], client_max_size=64 * 1024 * 1024)
    r = app.router
    v = "/v2"
    r.add_get(f"{v}/company", api.company_get)
    r.add_patch(f"{v}/company", api.company_patch)
    r.add_get(f"{v}/users/me", api.me)
    r.add_get(f"{v}/users/me/project_assignments", api.project_assignments)
    r.add_get(f"{v}/users/{{id:\\d+}}/project_assignments", api.project_assignments)
    rates = "{rates:billable_rates|cost_rates}"
    r.add_get(f"{v}/users/{{id:\\d+}}/{rates}", api.rates_list)
    r.add_post(f"{v}/users/{{id:\\d+}}/{rates}", api.rates_create)
    r.add_get(f"{v}/users/{{id:\\d+}}/{rates}/{{rid:\\d+}}", api.rates_get)
    r.add_get(f"{v}/users/{{id:\\d+}}/teammates", api.teammates)
    r.add_patch(f"{v}/users/{{id:\\d+}}/teammates", api.teammates_patch)
    r.add_patch(f"{v}/time_entries/{{id:\\d+}}/stop", api.timer_action("stop"))
    r.add_patch(f"{v}/time_entries/{{id:\\d+}}/restart", api.timer_action("restart"))
    r.add_delete(f"{v}/time_entries/{{id:\\d+}}/external_reference", api.delete_external_reference)
    for kind in ("user_assignments", "task_assignments"):
        base = f"{v}/projects/{{pid:\\d+}}/{kind}"
        r.add_get(base, api.nested_list(kind))
        r.add_post(base, api.nested_create(kind))
        r.add_get(f"{base}/{{id:\\d+}}", api.nested_get(kind))
        r.add_patch(f"{base}/{{id:\\d+}}", api.nested_update(kind))
        r.add_delete(f"{base}/{{id:\\d+}}", api.nested_delete(kind))
        r.add_get(f"{v}/{kind}", api.account_wide(kind))
    r.add_get(f"{v}/invoices/{{pid:\\d+}}/messages/new", api.message_template)
    for parent, sub, kind in (
        ("invoices", "messages", "invoice_messages"),
        ("invoices", "payments", "invoice_payments"),
        ("estimates", "messages", "estimate_messages"),
    ):
        base = f"{v}/{parent}/{{pid:\\d+}}/{sub}"
        r.add_get(base, api.child_list(parent, kind))
        r.add_post(base, api.child_create(parent, kind))
        r.add_delete(f"{base}/{{id:\\d+}}", api.child_delete(parent, kind))
    reports = sim.reports
    for group in REPORT_GROUPS["time"]:
        r.add_get(
            f"{v}/reports/time/{group}", api.report(functools.partial(reports.time_report, group))
        )
    for group in REPORT_GROUPS["expenses"]:
        r.add_get(
            f"{v}/reports/expenses/{group}",
            api.report(functools.partial(reports.expense_report, group)),
        )
    r.add_get(f"{v}/reports/uninvoiced", api.report(reports.uninvoiced))
    r.add_get(f"{v}/reports/project_budget", api.report(reports.project_budget))
    for kind in TOP_LEVEL:
        r.add_get(f"{v}/{kind}", api.list_handler(kind))
        r.add_post(f"{v}/{kind}", api.create_handler(kind))
        r.add_get(f"{v}/{kind}/{{id:\\d+}}", api.get_handler(kind))
        r.add_patch(f"{v}/{kind}/{{id:\\d+}}", api.update_handler(kind))
        r.add_delete(f"{v}/{kind}/{{id:\\d+}}", api.delete_handler(kind))
    r.add_route("*", "/{tail:.*}", api.not_found)
    return app


# ---------------------------------------------------------------- Harvest ID


def build_id_app(sim: Simulated) -> web.Application:
    """The Harvest ID application: OAuth2 token endpoint, accounts, authorize."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        loop = asyncio.get_running_loop()
        started = loop.time()
        sim.counters.requests += 1
        status: int | None = None
        try:
            try:
                response = await handler(request)
            except Reject as exc:
                response = json_response(exc.body, exc.status, exc.headers or None)
            except web.HTTPException as exc:
                status = exc.status
                raise
            status = response.status
            return response
        finally:
            if status is not None:
                sim.counters.by_status[status] += 1
            sim.log_request(
                RequestRecord(
                    request.method,
                    request.path,
                    request.query_string,
                    status,
                    started,
                    loop.time(),
                    None,
                )
            )

    async def token(request: web.Request) -> web.StreamResponse:
        body, _form = await read_body(request)
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "basic":  # client credentials may come as HTTP Basic too
            try:
                pair = base64.b64decode(value.strip(), validate=True).decode()
            except (ValueError, UnicodeDecodeError):
                pair = ""
            client_id, _, secret = pair.partition(":")
            body.setdefault("client_id", unquote(client_id))
            body.setdefault("client_secret", unquote(secret))
        answer = sim.tokens.token_endpoint(body)
        return json_response(sim.world.renderer.render(m.OAuthToken, answer))

    async def accounts(request: web.Request) -> web.StreamResponse:
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        problem = (
            INVALID_TOKEN
            if scheme.lower() != "bearer" or not value.strip()
            else sim.tokens.check(value.strip())
        )
        if problem is not None:
            raise Reject(401, body={"error": "invalid_token", "error_description": problem})
        own = {"id": sim.account_id, "name": sim.world.company["name"], "product": "harvest"}
        row = {
            "user_id": sim.world.me_id,
            "accounts": [{"google_sign_in_required": False, **a} for a in [own, *sim.id_accounts]],
        }
        return json_response(sim.world.renderer.render(m.Accounts, row))

    async def authorize(request: web.Request) -> web.StreamResponse:
        q = request.query
        if q.get("client_id") != sim.tokens.client_id:
            raise Reject(
                400, body={"error": "invalid_client", "error_description": "Unknown client_id."}
            )
        redirect = q.get("redirect_uri")
        if not redirect:
            raise Reject(
                400,
                body={"error": "invalid_request", "error_description": "redirect_uri is missing."},
            )
        from yarl import URL

        params = {"code": sim.tokens.issue_code(), "scope": f"harvest:{sim.account_id}"}
        if "state" in q:
            params["state"] = q["state"]
        raise web.HTTPFound(str(URL(redirect).update_query(params)))

    async def not_found(request: web.Request) -> web.StreamResponse:
        raise Reject(404, body=NOT_FOUND)

    app = web.Application(middlewares=[middleware])
    app.router.add_post("/api/v2/oauth2/token", token)
    app.router.add_get("/api/v2/accounts", accounts)
    app.router.add_get("/oauth2/authorize", authorize)
    app.router.add_route("*", "/{tail:.*}", not_found)
    return app
