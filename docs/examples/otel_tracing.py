"""Tracing harvest_async with OpenTelemetry.

Two sources of spans, both without the token or any query value:

- aiohttp's client instrumentation, through the client's session: one span per HTTP
  request on the wire (retries included), its URL stripped of the query;
- the client's ``on_request`` hook: one span per call, with the limiter wait, the
  attempts, the status and the lane as attributes.

Run it with $HARVEST_ACCESS_TOKEN and $HARVEST_ACCOUNT_ID set (or against the
simulator: see docs/testing.md), after
``pip install opentelemetry-sdk opentelemetry-instrumentation-aiohttp-client``:

    python docs/examples/otel_tracing.py     # spans printed to the console
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import aiohttp
from opentelemetry.instrumentation.aiohttp_client import create_trace_config
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.trace import Status, StatusCode, Tracer
from yarl import URL

import harvest_async as ha


def without_query(url: URL) -> str:
    """The URL a span records: no query (filters may hold names, dates, ids)."""
    return str(url.with_query(None))


def call_spans(tracer: Tracer) -> Callable[[ha.RequestStats], None]:
    """An ``on_request`` hook that records each finished call as a span."""

    def on_request(stats: ha.RequestStats) -> None:
        end = time.time_ns()
        span = tracer.start_span(
            f"harvest {stats.method} {stats.path}",
            start_time=end - int(stats.duration * 1e9),
            attributes={
                "http.request.method": stats.method,
                "url.path": stats.path,
                "harvest.query_keys": list(stats.query_keys),
                "harvest.priority": stats.priority,
                "harvest.attempts": stats.attempts,
                "harvest.limiter_wait_s": stats.limiter_wait,
                "http.response.status_code": stats.status or 0,
            },
        )
        if stats.error is not None:
            span.set_status(Status(StatusCode.ERROR, stats.error))
        span.end(end_time=end)

    return on_request


async def main(exporter: SpanExporter | None = None) -> None:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter or ConsoleSpanExporter()))
    tracing = create_trace_config(url_filter=without_query, tracer_provider=provider)
    # A session of our own carries the instrumentation; the client uses it as is.
    async with (
        aiohttp.ClientSession(trace_configs=[tracing]) as session,
        ha.HarvestClient(
            session=session,
            user_agent="Tracing example (ops@example.com)",
            on_request=call_spans(provider.get_tracer("harvest_async.example")),
        ) as harvest,
    ):
        me = await harvest.users.me()
        print(f"signed in as {me.first_name} {me.last_name}")
        recent = harvest.time_entries.list(per_page=10, is_running=False)
        async for page in recent.with_options(prefetch=0).pages():
            print(f"{len(page.items)} time entries on the first page")
            break  # one page is enough here
    provider.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
