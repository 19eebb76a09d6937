"""Public knobs and records of the simulator: scale, faults, request log, counters."""

from __future__ import annotations

import dataclasses
import random
from collections import Counter, deque
from collections.abc import Callable
from typing import Any, Literal

__all__ = [
    "DEFAULT_PAGE_BASED",
    "FAULT_KINDS",
    "Counters",
    "FaultKind",
    "Faults",
    "RequestRecord",
    "SimulatorScale",
]

#: Lists answered page-based by default (the rest are cursor-based, like Harvest today).
DEFAULT_PAGE_BASED: frozenset[str] = frozenset({"invoices", "estimates", "reports"})

FaultKind = Literal["reset", "truncate", "server_error", "throttle"]
FAULT_KINDS: tuple[str, ...] = ("reset", "truncate", "server_error", "throttle")


@dataclasses.dataclass(frozen=True, kw_only=True)
class SimulatorScale:
    """How much seeded data the simulator starts with.

    Time entries and expenses are generated lazily from their index, so millions of them
    cost no memory until changed; everything else is built when the simulator is made.
    ``HarvestSimulator(scale=5)`` means ``SimulatorScale().times(5)``.

    Attributes:
        users: Users, the first being the token's owner (``/users/me``, an administrator).
        clients: Clients.
        contacts_per_client: Contacts of each client.
        projects: Projects, spread over the clients.
        tasks: Tasks.
        tasks_per_project: Task assignments per project.
        users_per_project: User assignments per project.
        roles: Roles.
        time_entries: Time entries (lazy), spread over ``history_days``.
        expenses: Expenses (lazy), spread over ``history_days``.
        invoices: Invoices (with line items, messages and payments).
        estimates: Estimates (with line items and messages).
        history_days: Days of history before the simulator's start date.
    """

    users: int = 10
    clients: int = 8
    contacts_per_client: int = 2
    projects: int = 20
    tasks: int = 10
    tasks_per_project: int = 4
    users_per_project: int = 4
    roles: int = 4
    time_entries: int = 2000
    expenses: int = 200
    invoices: int = 30
    estimates: int = 10
    history_days: int = 730

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"SimulatorScale.{f.name} must be an int >= 0, got {value!r}")
        if self.users < 1:
            raise ValueError("SimulatorScale.users must be >= 1 (the token's owner)")
        if self.history_days < 1:
            raise ValueError("SimulatorScale.history_days must be >= 1")
        if self.projects and not self.clients:
            raise ValueError("projects need at least one client")
        if (self.invoices or self.estimates) and not self.clients:
            raise ValueError("invoices and estimates need at least one client")

    def times(self, factor: int) -> SimulatorScale:
        """Counts of records multiplied by ``factor`` (per-parent ratios unchanged)."""
        if isinstance(factor, bool) or not isinstance(factor, int) or factor < 1:
            raise ValueError(f"scale factor must be an int >= 1, got {factor!r}")
        return dataclasses.replace(
            self,
            users=self.users * factor,
            clients=self.clients * factor,
            projects=self.projects * factor,
            tasks=self.tasks * factor,
            roles=self.roles * factor,
            time_entries=self.time_entries * factor,
            expenses=self.expenses * factor,
            invoices=self.invoices * factor,
            estimates=self.estimates * factor,
        )


@dataclasses.dataclass(frozen=True, slots=True)
class RequestRecord:
    """One request the simulator received.

    Attributes:
        method: HTTP method.
        path: URL path (``/v2/time_entries``; Harvest ID paths start with ``/api/v2``).
        query: The raw query string.
        status: Status sent, or ``None`` when the connection was reset without one.
        started: Event-loop time (``loop.time()``) at arrival.
        ended: Event-loop time when the response was handed over (or the reset).
        fault: The fault injected (``"reset"``, ``"truncate"``, ``"server_error"``,
            ``"throttle"``), or ``None``.
    """

    method: str
    path: str
    query: str
    status: int | None
    started: float
    ended: float
    fault: str | None = None

    @property
    def params(self) -> dict[str, str]:
        """The query parameters (last value wins)."""
        from urllib.parse import parse_qsl

        return dict(parse_qsl(self.query, keep_blank_values=True))


@dataclasses.dataclass
class Counters:
    """Running totals since start (or the last `reset`).

    Attributes:
        requests: Requests received (both sides).
        throttled: 429 answers (rate limit and injected storms).
        by_status: Answers by status code.
        faults: Injected faults by kind.
        creates: Records created, by resource (``"time_entries"``, ``"invoice_payments"``...).
        updates: Records updated (including actions such as timer stop), by resource.
        deletes: Records deleted, by resource.
    """

    requests: int = 0
    throttled: int = 0
    by_status: Counter[int] = dataclasses.field(default_factory=Counter)
    faults: Counter[str] = dataclasses.field(default_factory=Counter)
    creates: Counter[str] = dataclasses.field(default_factory=Counter)
    updates: Counter[str] = dataclasses.field(default_factory=Counter)
    deletes: Counter[str] = dataclasses.field(default_factory=Counter)

    def reset(self) -> None:
        """Zero everything."""
        self.requests = 0
        self.throttled = 0
        for c in (self.by_status, self.faults, self.creates, self.updates, self.deletes):
            c.clear()


_RATES = ("server_error_rate", "reset_rate", "truncate_rate")


def _latency(value: Any) -> tuple[float, float] | None:
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = (float(value), 0.0)
    if (
        not isinstance(value, tuple)
        or len(value) != 2
        or any(isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0 for v in value)
    ):
        raise ValueError(f"latency must be (mean, jitter) seconds >= 0, got {value!r}")
    return (float(value[0]), float(value[1]))


class Faults:
    """Injected misbehaviour, decided by a seeded RNG (off by default).

    Every attribute may be changed while the simulator runs
    (``sim.faults.server_error_rate = 0.1``). Faults apply to the API side only (not
    to Harvest ID). For each request, in order: an active 429 storm; a queued fault
    (`inject`); then one random draw against ``reset_rate``, ``truncate_rate``
    and ``server_error_rate`` (their sum must be <= 1). Latency is added to every API
    answer, faulty or not.

    Args:
        latency: ``(mean, jitter)`` seconds, drawn uniformly from ``mean ± jitter``
            (or a plain number of seconds); ``None`` for none.
        server_error_rate: Share of requests answered with a 5xx (not processed).
        server_error_statuses: Statuses to pick a 5xx from.
        reset_rate: Share of requests whose connection is closed without an answer.
        truncate_rate: Share of requests answered with a body shorter than its
            ``Content-Length`` (processed, then cut off).
        reset_after_processing: Whether a reset happens after the request was
            processed (its changes stay), like a response lost on the way back.
        seed: Seed of the fault RNG.
    """

    latency: tuple[float, float] | None

    def __init__(
        self,
        *,
        latency: tuple[float, float] | float | None = None,
        server_error_rate: float = 0.0,
        server_error_statuses: tuple[int, ...] = (500, 502, 503),
        reset_rate: float = 0.0,
        truncate_rate: float = 0.0,
        reset_after_processing: bool = False,
        seed: int = 0,
    ) -> None:
        self.latency = _latency(latency)
        self.server_error_rate = server_error_rate
        self.server_error_statuses = server_error_statuses
        self.reset_rate = reset_rate
        self.truncate_rate = truncate_rate
        self.reset_after_processing = reset_after_processing
        self.rng = random.Random(seed)
        self.storm_until = float("-inf")
        self.queued: deque[str] = deque()
        self._now: Callable[[], float] | None = None

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _RATES:
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not (0.0 <= value <= 1.0)
            ):
                raise ValueError(f"{name} must be a number in [0, 1], got {value!r}")
            value = float(value)
        elif name == "latency":
            value = _latency(value)
        elif name == "server_error_statuses" and (
            not value or any(not isinstance(s, int) or not 500 <= s <= 599 for s in value)
        ):
            raise ValueError(f"server_error_statuses must be 5xx codes, got {value!r}")
        super().__setattr__(name, value)

    def __repr__(self) -> str:
        return (
            f"Faults(latency={self.latency}, server_error_rate={self.server_error_rate}, "
            f"reset_rate={self.reset_rate}, truncate_rate={self.truncate_rate}, "
            f"queued={list(self.queued)})"
        )

    def bind(self, now: Callable[[], float]) -> None:
        """Use this clock (the event loop's) for storms."""
        self._now = now

    def storm(self, seconds: float) -> None:
        """Answer every API request with 429 for ``seconds`` from now."""
        if self._now is None:
            raise RuntimeError("start the simulator before calling storm()")
        self.storm_until = self._now() + float(seconds)

    def inject(self, *kinds: str) -> None:
        """Queue exact faults for the next API requests, one each, in order.

        Kinds: ``"reset"``, ``"truncate"``, ``"server_error"``, ``"throttle"`` (a 429).
        """
        for kind in kinds:
            if kind not in FAULT_KINDS:
                raise ValueError(f"unknown fault {kind!r}; expected one of {FAULT_KINDS}")
        self.queued.extend(kinds)

    def clear(self) -> None:
        """Turn every fault off (latency included) and drop queued ones."""
        self.latency = None
        self.server_error_rate = 0.0
        self.reset_rate = 0.0
        self.truncate_rate = 0.0
        self.storm_until = float("-inf")
        self.queued.clear()

    def draw_latency(self) -> float:
        """Seconds of latency for one answer."""
        if self.latency is None:
            return 0.0
        mean, jitter = self.latency
        if jitter <= 0:
            return mean
        return max(0.0, self.rng.uniform(mean - jitter, mean + jitter))

    def draw(self, now: float) -> str | None:
        """The fault for a request arriving at loop time ``now``, if any."""
        if now < self.storm_until:
            return "throttle"
        if self.queued:
            return self.queued.popleft()
        total = self.reset_rate + self.truncate_rate + self.server_error_rate
        if total <= 0.0:
            return None
        r = self.rng.random()
        if r < self.reset_rate:
            return "reset"
        if r < self.reset_rate + self.truncate_rate:
            return "truncate"
        if r < total:
            return "server_error"
        return None

    def server_error_status(self) -> int:
        """A 5xx status to answer with."""
        statuses = self.server_error_statuses
        return statuses[0] if len(statuses) == 1 else self.rng.choice(statuses)
