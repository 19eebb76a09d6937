"""One request value through auth -> limiter slot -> retry -> transport, on a mock transport.

Every test here runs the real client (resources, requester, retries, redaction,
decoding) over `MockTransport`: no socket, no aiohttp, no mocked library internals.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import attrs
import pytest

import harvest_async as ha
from harvest_async._auth import StaticToken, TokenProvider, with_token_refresh
from harvest_async._errors import ConnectionNotMadeError, RequestMayHaveBeenSent
from harvest_async._http import FormFile, Request
from harvest_async._ratelimit import RateLimiter, as_rate_limiter
from harvest_async._requester import _Wait

from .conftest import ACCOUNT, BASE, TOKEN
from .mock_transport import Answer, MockTransport
from .records import record, required_values

ME = {**required_values(ha.models.User), "id": 7, "first_name": "Ada"}
ENTRY = {
    **required_values(ha.models.TimeEntry),
    "id": 5,
    "hours": 1.5,
    "spent_date": "2024-01-02",
}


def client(transport: MockTransport, **options: Any) -> ha.HarvestClient:
    harvest = ha.HarvestClient(TOKEN, ACCOUNT, transport=transport, **options)
    harvest._requester._wait = _Wait(0.0, 0.0)
    return harvest


class Counting:
    """A full RateLimiter that counts what the requester asked of it."""

    def __init__(self) -> None:
        self.acquired = 0
        self.released: list[Any] = []
        self.paused: list[float] = []

    async def acquire(self, *, priority: Any = None, max_wait: float | None = None) -> int:
        self.acquired += 1
        return self.acquired

    async def release(self, handle: Any) -> None:
        self.released.append(handle)

    async def pause(self, seconds: float) -> None:
        self.paused.append(seconds)


# --- the value ---------------------------------------------------------------------


def test_a_request_is_frozen_and_says_its_limiter_and_replay_safety() -> None:
    get = Request("GET", "users/me")
    assert (get.limiter, get.replay_safe, get.raw_json) == ("general", True, False)
    assert Request("POST", "time_entries").replay_safe is False
    assert Request("GET", "reports/time/clients").limiter == "reports"
    assert Request("GET", "reports").limiter == "reports"
    assert Request("GET", "reports_of_mine").limiter == "general"
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        get.method = "DELETE"  # type: ignore[misc]
    with pytest.raises(ValueError, match="not both"):
        Request("POST", "expenses", json={"a": 1}, form={"b": "2"})


def test_a_next_page_keeps_method_limiter_and_options_but_not_the_query() -> None:
    first = Request("GET", "reports/time/clients", query=[("from", "20240101")], raw_json=True)
    nxt = first.following(f"{BASE}/reports/time/clients?page=2")
    assert (nxt.method, nxt.limiter, nxt.raw_json, nxt.query) == ("GET", "reports", True, ())
    assert nxt.url == f"{BASE}/reports/time/clients?page=2"


def test_repr_of_a_request_shows_no_body_header_or_token() -> None:
    secret = "client-SECRET-0123456789"
    request = Request(
        "POST",
        "oauth2/token",
        form={"client_secret": secret},
        headers={"Authorization": f"Bearer {TOKEN}"},
        auth=StaticToken(TOKEN),
    )
    shown = repr(request) + repr(Request("PATCH", "x", json={"token": secret}))
    assert secret not in shown
    assert TOKEN not in shown
    assert "oauth2/token" in shown


# --- auth, one place ----------------------------------------------------------------


async def test_every_request_carries_the_static_token_and_the_client_headers() -> None:
    transport = MockTransport(lambda request: (200, ME))
    async with client(transport, user_agent="tests (dev@example.com)") as harvest:
        await harvest.users.me()
    [sent] = transport.sent
    assert sent.url == f"{BASE}/users/me"
    assert sent.headers["Authorization"] == f"Bearer {TOKEN}"
    assert sent.headers["Harvest-Account-Id"] == ACCOUNT
    assert sent.headers["User-Agent"] == "tests (dev@example.com)"
    assert transport.closed


async def test_a_static_token_rejected_is_raised_at_once_not_resent() -> None:
    transport = MockTransport(lambda request: (401, {"error": "invalid_token"}))
    async with client(transport) as harvest:
        with pytest.raises(ha.AuthenticationError):
            await harvest.users.me()
    assert len(transport.sent) == 1  # the same token again would only get a 401 again


class Rotating:
    """A token provider with a new token on each refresh."""

    def __init__(self) -> None:
        self.current = "first-token-0123456789"
        self.refreshed: list[str | None] = []

    async def token(self) -> str:
        return self.current

    async def refresh(self, *, stale: str | None = None) -> str:
        self.refreshed.append(stale)
        self.current = f"fresh-token-{len(self.refreshed)}-0123456789"
        return self.current


async def test_after_a_401_a_provider_token_is_refreshed_once_and_even_a_post_resent() -> None:
    provider = Rotating()
    assert isinstance(provider, TokenProvider)

    def answer(request: Request) -> tuple[int, Any]:
        if request.headers["Authorization"] == "Bearer first-token-0123456789":
            return 401, {"message": "expired"}
        return 201, ENTRY

    transport = MockTransport(answer)
    async with ha.HarvestClient.from_oauth(provider, ACCOUNT, transport=transport) as harvest:
        entry = await harvest.time_entries.create(
            project_id=1, task_id=2, spent_date="2024-01-02", hours=1.5
        )
    assert entry.id == 5
    assert provider.refreshed == ["first-token-0123456789"]
    assert [r.headers["Authorization"] for r in transport.sent] == [
        "Bearer first-token-0123456789",
        "Bearer fresh-token-1-0123456789",
    ]


async def test_with_token_refresh_raises_a_second_401() -> None:
    provider = Rotating()
    calls: list[str] = []

    async def send(token: str) -> None:
        calls.append(token)
        raise ha.AuthenticationError("no", status=401, method="GET", url="x")

    with pytest.raises(ha.AuthenticationError):
        await with_token_refresh(provider, send)
    assert len(calls) == 2


def test_static_token_refuses_header_breaking_values_and_hides_itself() -> None:
    with pytest.raises(ha.ConfigurationError):
        StaticToken("abc\r\nX-Evil: 1")
    with pytest.raises(ha.ConfigurationError):
        StaticToken("")
    assert TOKEN not in repr(StaticToken(TOKEN))


async def test_a_request_may_bring_its_own_token_provider() -> None:
    transport = MockTransport(lambda request: (200, ME))
    async with client(transport) as harvest:
        other = Request("GET", "users/me", auth=StaticToken("other-token-0123456789"))
        await harvest._requester.send(other)
    assert transport.sent[0].headers["Authorization"] == "Bearer other-token-0123456789"


# --- the limiter protocol ------------------------------------------------------------


def test_a_full_limiter_is_used_as_is_and_an_acquire_only_one_is_adapted_once() -> None:
    full = Counting()
    assert as_rate_limiter(full) is full

    class AcquireOnly:
        async def acquire(self) -> None:
            return None

    adapted = as_rate_limiter(AcquireOnly())
    assert isinstance(adapted, RateLimiter)
    assert as_rate_limiter(adapted) is adapted  # adapted once, never wrapped twice
    with pytest.raises(ha.ConfigurationError, match="reports_rate_limiter"):
        as_rate_limiter(object(), name="reports_rate_limiter")
    with pytest.raises(ha.ConfigurationError, match="rate_limiter must have"):
        ha.HarvestClient(TOKEN, ACCOUNT, rate_limiter=object())  # type: ignore[arg-type]


async def test_each_attempt_takes_and_gives_back_a_slot_of_the_limiter_it_names() -> None:
    general, reports = Counting(), Counting()
    answers: Iterator[Answer] = iter([(503, {}), (200, ME), (200, {"results": []})])
    transport = MockTransport(lambda request: next(answers))
    async with client(transport, rate_limiter=general, reports_rate_limiter=reports) as harvest:
        await harvest.users.me()
        await harvest._requester.send(Request("GET", "reports/project_budget"))
    assert (general.acquired, general.released) == (2, [1, 2])
    assert (reports.acquired, reports.released) == (1, [1])


async def test_a_429_pauses_the_limiter_that_admitted_the_request() -> None:
    general = Counting()
    answers: Iterator[Answer] = iter([(429, {}, {"Retry-After": "7"}), (200, ME)])
    transport = MockTransport(lambda request: next(answers))
    async with client(transport, rate_limiter=general) as harvest:
        await harvest.users.me()
    assert general.paused == [7.0]


async def test_an_acquire_only_limiter_gets_acquire_calls_only() -> None:
    class AcquireOnly:
        def __init__(self) -> None:
            self.calls = 0

        async def acquire(self) -> None:
            self.calls += 1

    limiter = AcquireOnly()
    answers: Iterator[Answer] = iter([(429, {}, {"Retry-After": "0"}), (200, ME)])
    transport = MockTransport(lambda request: next(answers))
    async with client(transport, rate_limiter=limiter) as harvest:
        assert harvest.rate_limiter is limiter
        await harvest.users.me()
    assert limiter.calls == 2


# --- retries and safety ----------------------------------------------------------------


async def test_a_post_that_may_have_been_processed_is_never_sent_again() -> None:
    def answer(request: Request) -> tuple[int, Any]:
        raise RequestMayHaveBeenSent("connection reset after sending")

    transport = MockTransport(answer)
    async with client(transport) as harvest:
        with pytest.raises(ha.TransportError, match="reset"):
            await harvest.clients.create(name="Acme")
    assert len(transport.sent) == 1


async def test_a_post_is_resent_where_it_certainly_did_not_arrive() -> None:
    outcomes: list[Exception | Answer] = [
        ConnectionNotMadeError("refused"),
        (201, record(ha.models.Client, id=3, name="A")),
    ]

    def answer(request: Request) -> Answer:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    transport = MockTransport(answer)
    async with client(transport) as harvest:
        created = await harvest.clients.create(name="A")
    assert created.id == 3
    assert len(transport.sent) == 2


async def test_an_echoed_token_is_redacted_whatever_the_transport() -> None:
    transport = MockTransport(lambda request: (400, {"message": request.headers["Authorization"]}))
    async with client(transport) as harvest:
        with pytest.raises(ha.BadRequestError) as info:
            await harvest.users.me()
    assert TOKEN not in str(info.value)
    assert TOKEN not in repr(info.value.body)
    assert "<redacted>" in info.value.message


async def test_a_form_body_reaches_the_transport_as_given() -> None:
    transport = MockTransport(
        lambda request: (201, record(ha.models.Expense, id=9, total_cost=1.0))
    )
    async with client(transport) as harvest:
        await harvest.expenses.create(
            project_id=1,
            expense_category_id=2,
            spent_date="2024-01-02",
            total_cost="1.00",
            receipt=b"%PDF-1.4",
            receipt_filename="r.pdf",
        )
    [sent] = transport.sent
    assert sent.form is not None
    assert sent.json is None
    receipt = sent.form["receipt"]
    assert isinstance(receipt, FormFile)
    assert receipt.filename == "r.pdf"


async def test_a_closed_client_sends_nothing() -> None:
    transport = MockTransport(lambda request: (200, ME))
    harvest = client(transport)
    await harvest.aclose()
    with pytest.raises(ha.ClientClosedError):
        await harvest.users.me()
    assert transport.sent == []


def test_transport_and_session_are_exclusive() -> None:
    with pytest.raises(ha.ConfigurationError, match="not both"):
        ha.HarvestClient(
            TOKEN,
            ACCOUNT,
            transport=MockTransport(lambda request: (200, ME)),
            session=object(),  # type: ignore[arg-type]
        )
