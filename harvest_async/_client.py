"""``HarvestClient``: wires transport, limiters, retries and resources together."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from ._aiohttp import AiohttpTransport
from ._auth import StaticToken, TokenProvider
from ._closing import AsyncClosing
from ._errors import ConfigurationError
from ._http import DEFAULT_MAX_RESPONSE_BYTES, Transport, check_base_url, check_header_value
from ._options import CallOptions, RequestObserver, check_options
from ._ratelimit import Priority, SupportsAcquire, TokenBucket, as_rate_limiter
from ._requester import Requester
from ._version import USER_AGENT_ENV, default_user_agent
from .resources.assignments import TaskAssignmentsResource, UserAssignmentsResource
from .resources.clients import Clients
from .resources.company import CompanyResource
from .resources.contacts import Contacts
from .resources.estimate_item_categories import EstimateItemCategories
from .resources.estimates import Estimates
from .resources.expense_categories import ExpenseCategories
from .resources.expenses import Expenses
from .resources.invoice_item_categories import InvoiceItemCategories
from .resources.invoices import Invoices
from .resources.projects import Projects
from .resources.reports import Reports
from .resources.roles import Roles
from .resources.tasks import Tasks
from .resources.time_entries import TimeEntries
from .resources.users import Users

if TYPE_CHECKING:
    from ._aiohttp import ClientSession

__all__ = ["ACCOUNT_ENV", "DEFAULT_BASE_URL", "TOKEN_ENV", "USER_AGENT_ENV", "HarvestClient"]

_UNSET: Any = object()

DEFAULT_BASE_URL = "https://api.harvestapp.com/v2"
TOKEN_ENV = "HARVEST_ACCESS_TOKEN"
ACCOUNT_ENV = "HARVEST_ACCOUNT_ID"
BASE_URL_ENV = "HARVEST_BASE_URL"


class HarvestClient(AsyncClosing):
    """An asyncio client for the Harvest API v2.

    Use it as an async context manager (or call `aclose`)::

        async with HarvestClient() as harvest:   # token and account from the env
            me = await harvest.users.me()

    Args:
        access_token: Personal access token or OAuth2 token; default
            ``$HARVEST_ACCESS_TOKEN``.
        account_id: Harvest account id; default ``$HARVEST_ACCOUNT_ID``.
        user_agent: Sent as ``User-Agent``; default ``$HARVEST_USER_AGENT``, then
            ``harvest_async/<version> (<project URL>)``.
        base_url: API root; https, or http on a loopback address only. Default
            ``$HARVEST_BASE_URL``, then ``https://api.harvestapp.com/v2`` (point it at
            ``python -m harvest_async.testing serve`` to run an app unchanged against
            the simulator).
        rate_limiter: Admits general requests; default ``TokenBucket(100, 15.0)``.
        reports_rate_limiter: Admits ``/reports/...``; default ``TokenBucket(100, 900.0)``.
        max_retries: Retries after the first attempt of a request.
        timeout: Seconds allowed per attempt.
        session: An ``aiohttp.ClientSession`` you own (left open by `aclose`).
        token_provider: Where an OAuth2 token comes from (see `from_oauth`).
        allow_insecure_http: Accept a plain ``http://`` ``base_url`` on any host (the
            token then travels in clear text: a trusted proxy or test network only).
            Without it, http is accepted on loopback addresses only.
        max_response_bytes: Larger responses fail with a ``TransportError`` (checked on
            ``Content-Length`` and while reading; never retried).
        transport: What sends each request instead of the aiohttp transport (tests:
            any object with ``async send(request) -> RawResponse`` and ``async
            aclose()``, see ``harvest_async._http.Transport``); exclusive with
            ``session``.
        max_wait: Seconds a call may wait for rate-limit slots (all its attempts
            together); past it `RateLimitTimeout` is raised and nothing is sent.
            Default ``None``: wait as long as it takes. See `with_options`.
        on_request: Called with a `RequestStats` as each call ends (limiter
            wait, attempts, status, duration; never the token or query values).

    Raises:
        ConfigurationError: a missing token or account id (naming the environment
            variable), a bad base URL, or a header value with CR/LF.
    """

    def __init__(
        self,
        access_token: str | None = None,
        account_id: str | int | None = None,
        *,
        user_agent: str | None = None,
        base_url: str | None = None,
        rate_limiter: SupportsAcquire | None = None,
        reports_rate_limiter: SupportsAcquire | None = None,
        max_retries: int = 5,
        timeout: float = 30.0,
        session: ClientSession | None = None,
        token_provider: TokenProvider | None = None,
        allow_insecure_http: bool = False,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        transport: Transport | None = None,
        max_wait: float | None = None,
        on_request: RequestObserver | None = None,
    ) -> None:
        if token_provider is not None:
            if access_token is not None:
                raise ConfigurationError("give access_token or token_provider, not both")
            if not all(callable(getattr(token_provider, m, None)) for m in ("token", "refresh")):
                raise ConfigurationError("token_provider must have token() and refresh()")
        else:
            given = access_token if access_token is not None else os.environ.get(TOKEN_ENV)
            if not given:
                raise ConfigurationError(f"no access token: pass access_token= or set ${TOKEN_ENV}")
            if not isinstance(given, str):
                raise ConfigurationError("access_token must be a string")
            token_provider = StaticToken(given)
        account = account_id if account_id is not None else os.environ.get(ACCOUNT_ENV)
        if account is None or account == "":
            raise ConfigurationError(f"no account id: pass account_id= or set ${ACCOUNT_ENV}")
        if isinstance(account, bool) or not isinstance(account, (str, int)):
            raise ConfigurationError("account_id must be a str or int")
        account_text = str(account).strip()
        if not account_text.isdigit():
            raise ConfigurationError(
                f"account_id must be the numeric Harvest account id, got {account_text!r}"
            )
        agent = user_agent or os.environ.get(USER_AGENT_ENV) or default_user_agent()
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ConfigurationError(f"max_retries must be an int >= 0, got {max_retries!r}")
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
            raise ConfigurationError(f"timeout must be a positive number, got {timeout!r}")
        check_options(max_wait=max_wait)
        if on_request is not None and not callable(on_request):
            raise ConfigurationError("on_request must be a callable taking a RequestStats")
        if base_url is None:
            base_url = os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL
        general = as_rate_limiter(
            rate_limiter if rate_limiter is not None else TokenBucket(100, 15.0)
        )
        reports = as_rate_limiter(
            reports_rate_limiter if reports_rate_limiter is not None else TokenBucket(100, 900.0),
            name="reports_rate_limiter",
        )
        if not isinstance(allow_insecure_http, bool):
            raise ConfigurationError("allow_insecure_http must be True or False")
        url = check_base_url(base_url, allow_insecure_http=allow_insecure_http)
        check_header_value("User-Agent", agent)
        if transport is not None and session is not None:
            raise ConfigurationError("give session or transport, not both")

        self.account_id = account_text
        self.user_agent = agent
        self.base_url = str(url)
        self.rate_limiter: SupportsAcquire = rate_limiter if rate_limiter is not None else general
        self.reports_rate_limiter: SupportsAcquire = (
            reports_rate_limiter if reports_rate_limiter is not None else reports
        )
        self._transport: Transport = transport or AiohttpTransport(
            timeout=float(timeout), session=session, max_response_bytes=max_response_bytes
        )
        self._requester = Requester(
            self._transport,
            base_url=url,
            limiters={"general": general, "reports": reports},
            max_retries=max_retries,
            headers={
                "Harvest-Account-Id": account_text,
                "User-Agent": agent,
                "Accept": "application/json",
            },
            auth=token_provider,
            max_wait=None if max_wait is None else float(max_wait),
            observer=on_request,
        )
        self._attach(self._requester)

    def _attach(self, r: Requester) -> None:
        """Make the resources, each sending through ``r``."""
        self._requester = r
        self.time_entries = TimeEntries(r)
        self.projects = Projects(r)
        self.clients = Clients(r)
        self.tasks = Tasks(r)
        self.users = Users(r)
        self.company = CompanyResource(r)
        self.reports = Reports(r)
        self.invoices = Invoices(r)
        self.invoice_item_categories = InvoiceItemCategories(r)
        self.estimates = Estimates(r)
        self.estimate_item_categories = EstimateItemCategories(r)
        self.expenses = Expenses(r)
        self.expense_categories = ExpenseCategories(r)
        self.contacts = Contacts(r)
        self.roles = Roles(r)
        self.task_assignments = TaskAssignmentsResource(r)
        self.user_assignments = UserAssignmentsResource(r)

    @classmethod
    def from_oauth(
        cls, session: TokenProvider, account_id: str | int | None = None, **kwargs: Any
    ) -> HarvestClient:
        """A client whose token comes from ``session`` (an ``OAuthSession``): refreshed
        before it expires, and once after a 401 (the request is then re-sent once).
        """
        return cls(account_id=account_id, token_provider=session, **kwargs)

    def with_options(
        self,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
        max_wait: float | None = _UNSET,
        priority: Priority | None = None,
    ) -> HarvestClient:
        """A light view of this client with other per-call options.

        The view shares this client's session, connection pool, limiters and token (no
        new connection is made); every resource method and `Paginator` of the view
        uses its options. Closing the view does nothing: close the client. Keywords
        left out keep this client's value.

        Example:
            >>> fast = harvest.with_options(timeout=5.0, max_wait=2.0)
            >>> me = await fast.users.me()

        Args:
            timeout: Seconds allowed per attempt.
            max_retries: Retries after the first attempt.
            max_wait: Seconds a call may wait for rate-limit slots; ``None`` removes a
                limit set on the client.
            priority: ``"interactive"`` or ``"bulk"`` for every request of the view
                (default: interactive, bulk inside the library's bulk work).

        Raises:
            ConfigurationError: a value out of range.
        """
        changes: dict[str, Any] = {
            "timeout": timeout,
            "max_retries": max_retries,
            "priority": priority,
        }
        requester = self._requester.with_options(**changes)
        if max_wait is None:
            requester = requester.without_max_wait()
        elif max_wait is not _UNSET:
            requester = requester.with_options(max_wait=max_wait)
        view: HarvestClient = object.__new__(_ClientView)
        view.__dict__.update(self.__dict__)
        view._attach(requester)
        return view

    @property
    def options(self) -> CallOptions:
        """The per-call options of this client (or view): see `with_options`."""
        return self._requester.options

    def __repr__(self) -> str:
        return (
            f"HarvestClient(account_id={self.account_id!r}, base_url={self.base_url!r}, "
            "access_token=<redacted>)"
        )

    def __reduce__(self) -> Any:
        raise TypeError("HarvestClient cannot be pickled (it holds a connection and a token)")

    async def aclose(self) -> None:
        """Stop requests in flight, then close the HTTP session the client opened.

        A request still running (on the wire, backing off before a retry, or waiting for
        a rate-limit slot) is cancelled: its caller gets
        `TransportError` (``ClientClosedError``, "the client was
        closed"), its limiter slot is released, and it has ended before the session
        closes. Later calls raise the same error at once. A caller's session is left
        open.
        """
        await self._requester.aclose()


class _ClientView(HarvestClient):
    """A `HarvestClient.with_options` view: the client's session, other options."""

    def __repr__(self) -> str:
        return f"{super().__repr__()[:-1]}, options={self.options!r})"

    async def aclose(self) -> None:
        """Nothing to close: the view's session belongs to the client it came from."""
