"""``HarvestSimulator``: an in-process Harvest API v2 (and Harvest ID) server."""

from __future__ import annotations

import datetime as dt
import itertools
from collections import deque
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .. import AsyncClosing
from ._app import build_api_app, build_id_app
from ._auth import TokenStore
from ._config import DEFAULT_PAGE_BASED, Counters, Faults, RequestRecord, SimulatorScale
from ._ops import Ops
from ._ratelimit import RetryAfterFormat, RollingWindow
from ._reports import Reports
from ._world import World

if TYPE_CHECKING:
    from .. import HarvestClient, TokenBucket

__all__ = ["DEFAULT_START", "HarvestSimulator"]

#: The simulator's default "now": fixed, so the same seed always gives the same data.
DEFAULT_START = dt.datetime(2025, 1, 15, 9, 0, tzinfo=dt.UTC)

_LAZY = ("time_entries", "expenses")


class HarvestSimulator(AsyncClosing):
    """A Harvest API v2 server on 127.0.0.1 with seeded data, rate limits and faults.

    Use it as an async context manager::

        async with HarvestSimulator(seed=0) as sim:
            async with sim.client() as harvest:
                me = await harvest.users.me()

    Args:
        seed: Seeds the data, ids of tokens and the fault RNG: the same seed gives the
            same account.
        scale: A `SimulatorScale`, or an int multiplying the default one.
        start: The simulated "now" when the server starts (UTC); the seeded history
            ends the day before. Default `DEFAULT_START` (fixed).
        account_id: The Harvest account id (default derived from ``seed``).
        rate_limit: ``(capacity, period)`` of the general window (Harvest: 100 per 15 s).
        reports_rate_limit: ``(capacity, period)`` for ``/reports/...`` (100 per 900 s).
        retry_after: How ``Retry-After`` is written: ``"int"`` (whole seconds, rounded up,
            at least 1, like Harvest), ``"float"`` (milliseconds, e.g. ``"0.137"``), or
            ``"auto"``: int for windows of whole seconds, float for scaled-down ones.
        page_based: Lists answered page-based (``"invoices"``, ``"estimates"``,
            ``"reports"``, ``"time_entries"``, ... or ``"*"`` for all); the others are
            cursor-based.
        token_lifetime: Seconds an OAuth2 access token stays valid (Harvest: 14 days).
        faults: A `Faults`; or give ``latency``, ``server_error_rate``,
            ``reset_rate``, ``truncate_rate`` directly.
        latency: ``(mean, jitter)`` seconds added to each API answer.
        server_error_rate: Share of API requests answered with a 5xx.
        reset_rate: Share of API requests whose connection is dropped unanswered.
        truncate_rate: Share of API answers cut short of their ``Content-Length``.
        max_log: Requests kept in `requests` (the oldest are dropped).
        host: Interface to listen on.
        port: Port of the API server (0: a free one); the Harvest ID server always
            takes a free port.

    Attributes:
        base_url: ``http://127.0.0.1:PORT/v2`` once started.
        id_base_url: The Harvest ID root (``http://127.0.0.1:PORT2``) once started.
        access_token: A personal access token that never expires.
        account_id: The account id to send as ``Harvest-Account-Id``.
        client_id: OAuth2 client id of the simulated app.
        client_secret: OAuth2 client secret of the simulated app.
        requests: The last ``max_log`` `RequestRecord` s.
        counters: `Counters`.
        faults: `Faults`, changeable at run time.
        errors: Exceptions raised by simulator bugs (answered 500); empty in a good run.
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        scale: int | SimulatorScale = 1,
        start: dt.datetime | None = None,
        account_id: int | None = None,
        rate_limit: tuple[int, float] = (100, 15.0),
        reports_rate_limit: tuple[int, float] = (100, 900.0),
        retry_after: RetryAfterFormat = "auto",
        page_based: Iterable[str] = DEFAULT_PAGE_BASED,
        token_lifetime: float = 14 * 86400.0,
        faults: Faults | None = None,
        latency: tuple[float, float] | float | None = None,
        server_error_rate: float = 0.0,
        reset_rate: float = 0.0,
        truncate_rate: float = 0.0,
        max_log: int = 100_000,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        if isinstance(scale, int) and not isinstance(scale, bool):
            scale = SimulatorScale().times(scale)
        if not isinstance(scale, SimulatorScale):
            raise TypeError(f"scale must be an int or a SimulatorScale, got {scale!r}")
        if retry_after not in ("auto", "int", "float"):
            raise ValueError(f"retry_after must be 'auto', 'int' or 'float', got {retry_after!r}")
        if not token_lifetime > 0:
            raise ValueError("token_lifetime must be > 0 seconds")
        if max_log < 0:
            raise ValueError("max_log must be >= 0")
        if faults is not None and (
            latency is not None or server_error_rate or reset_rate or truncate_rate
        ):
            raise ValueError("give faults= or the individual fault settings, not both")
        self.seed = seed
        self.scale = scale
        self.world = World(
            seed=seed, scale=scale, start=start or DEFAULT_START, account_id=account_id
        )
        self.account_id: int = self.world.account_id
        self.ops = Ops(self.world)
        self.reports = Reports(self.world)
        self.general_window = RollingWindow(*rate_limit)
        self.reports_window = RollingWindow(*reports_rate_limit)
        self.rate_limit = (self.general_window.capacity, self.general_window.period)
        self.reports_rate_limit = (self.reports_window.capacity, self.reports_window.period)
        self.retry_after: RetryAfterFormat = retry_after
        self.page_based = frozenset(page_based)
        self.tokens = TokenStore(
            seed=seed,
            account_id=self.account_id,
            lifetime=float(token_lifetime),
            now=self.world.clock.now,
        )
        self.access_token = self.tokens.personal_token
        self.client_id = self.tokens.client_id
        self.client_secret = self.tokens.client_secret
        self.faults = (
            faults
            if faults is not None
            else Faults(
                seed=seed,
                latency=latency,
                server_error_rate=server_error_rate,
                reset_rate=reset_rate,
                truncate_rate=truncate_rate,
            )
        )
        self.requests: deque[RequestRecord] = deque(maxlen=max_log)
        #: Called with each `RequestRecord` as its response goes out (tests use
        #: this to act at a chosen point of a run, e.g. kill a syncing process).
        self.request_hooks: list[Callable[[RequestRecord], None]] = []
        self.counters = Counters()
        self.errors: list[BaseException] = []
        self.host = host
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ValueError(f"port must be an int from 0 to 65535, got {port!r}")
        self.port = port
        self.base_url = ""
        self.id_base_url = ""
        #: Further accounts Harvest ID lists for the token, after this one (``id``,
        #: ``name``, ``product``: ``"harvest"`` or ``"forecast"``); the CLI's demo lists
        #: a second Harvest account (another simulator) and a Forecast account.
        self.id_accounts: list[dict[str, Any]] = []
        self._runners: list[web.AppRunner] = []

    def __repr__(self) -> str:
        state = self.base_url or "not started"
        return f"<HarvestSimulator seed={self.seed} {state}>"

    # ------------------------------------------------------------ lifecycle

    @property
    def started(self) -> bool:
        """Whether the servers are listening."""
        return bool(self._runners)

    async def start(self) -> None:
        """Start both servers on free ports of ``host``."""
        if self._runners:
            raise RuntimeError("the simulator is already started")
        import asyncio

        loop = asyncio.get_running_loop()
        self.world.clock.bind(loop.time)
        self.faults.bind(loop.time)
        urls = []
        try:
            for app, port in ((build_api_app(self), self.port), (build_id_app(self), 0)):
                runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
                await runner.setup()
                self._runners.append(runner)
                site = web.TCPSite(runner, self.host, port)
                await site.start()
                port = runner.addresses[0][1]
                urls.append(f"http://{self.host}:{port}")
        except BaseException:
            await self.aclose()
            raise
        self.base_url = f"{urls[0]}/v2"
        self.id_base_url = urls[1]

    async def aclose(self) -> None:
        """Stop the servers (the data stays; `start` serves it again)."""
        runners, self._runners = self._runners, []
        for runner in runners:
            await runner.cleanup()
        self.world.clock.unbind()

    async def _open(self) -> None:
        await self.start()

    # ------------------------------------------------------------ helpers

    def client(self, **kwargs: Any) -> HarvestClient:
        """A `harvest_async.HarvestClient` for this simulator.

        Token, account id and base URL are filled in, and limiters matching the
        simulator's windows (``TokenBucket(capacity, period)``); any keyword overrides.
        """
        from .. import HarvestClient

        if not self.base_url:
            raise RuntimeError("start the simulator before making a client")
        if kwargs.get("token_provider") is None:
            kwargs.setdefault("access_token", self.access_token)
        kwargs.setdefault("account_id", self.account_id)
        kwargs.setdefault("base_url", self.base_url)
        if kwargs.get("rate_limiter") is None:
            kwargs["rate_limiter"] = self.new_rate_limiter()
        if kwargs.get("reports_rate_limiter") is None:
            kwargs["reports_rate_limiter"] = self.new_reports_rate_limiter()
        return HarvestClient(**kwargs)

    def new_rate_limiter(self) -> TokenBucket:
        """A ``TokenBucket`` matching the general window (``rate_limit``)."""
        from .. import TokenBucket

        return TokenBucket(*self.rate_limit)

    def new_reports_rate_limiter(self) -> TokenBucket:
        """A ``TokenBucket`` matching the reports window (``reports_rate_limit``)."""
        from .. import TokenBucket

        return TokenBucket(*self.reports_rate_limit)

    def issue_authorization_code(self) -> str:
        """A single-use OAuth2 code, as Harvest's authorize page would redirect with."""
        return self.tokens.issue_code()

    def revoke_token(self, token: str) -> None:
        """Invalidate an access or refresh token."""
        self.tokens.revoke(token)

    def log_request(self, record: RequestRecord) -> None:
        """Keep ``record`` in the bounded log and tell the request hooks."""
        self.requests.append(record)
        for hook in self.request_hooks:
            hook(record)

    def advance(self, seconds: float) -> None:
        """Move the simulated clock forward: running timers, token expiry, timestamps.

        Rate-limit windows and storms follow the event loop's clock, not this one.
        """
        self.world.clock.advance(seconds)

    def now(self) -> dt.datetime:
        """The simulated current time (UTC)."""
        return dt.datetime.fromtimestamp(self.world.clock.now(), dt.UTC)

    def reset_rate_limits(self) -> None:
        """Empty both rate-limit windows."""
        self.general_window.reset()
        self.reports_window.reset()

    @property
    def materialized(self) -> int:
        """Generated time entries and expenses built so far (laziness check)."""
        return self.world.time_entries.materialized + self.world.expenses.materialized

    def record(self, kind: str, rid: int) -> dict[str, Any] | None:
        """A record as the API would serve it (``kind`` like ``"projects"``), or ``None``."""
        w = self.world
        if kind in _LAZY:
            table = w.time_entries if kind == "time_entries" else w.expenses
            row = table.get(rid)
        else:
            row = w.table(kind).get(rid)
        return None if row is None else w.render(kind, row)

    def records(self, kind: str, limit: int | None = None) -> list[dict[str, Any]]:
        """Records of a kind as served, newest first (``limit`` of them if given)."""
        w = self.world
        if kind in _LAZY:
            table = w.time_entries if kind == "time_entries" else w.expenses
            ids = table.ids_desc()
            rows = (table.get(i) for i in ids)
        else:
            rows = (w.table(kind).get(i) for i in w.table(kind).ids_desc())
        live = (w.render(kind, r) for r in rows if r is not None)
        return list(itertools.islice(live, limit))

    def count(self, kind: str) -> int:
        """How many records of a kind exist now."""
        w = self.world
        if kind in _LAZY:
            return len(w.time_entries if kind == "time_entries" else w.expenses)
        return len(w.table(kind))
