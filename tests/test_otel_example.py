"""docs/examples/otel_tracing.py against the simulator, spans kept by the in-memory
exporter: one HTTP span per request on the wire (from aiohttp's instrumentation,
through the client's session) and one span per call from ``on_request``; none holds
the token or a query value.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip(
    "opentelemetry.sdk", reason="needs opentelemetry-sdk: pip install opentelemetry-sdk"
)
pytest.importorskip(
    "opentelemetry.instrumentation.aiohttp_client",
    reason="needs pip install opentelemetry-instrumentation-aiohttp-client",
)
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)

from harvest_async.testing import HarvestSimulator

EXAMPLE = Path(__file__).resolve().parent.parent / "docs" / "examples" / "otel_tracing.py"


def load_example() -> Any:
    spec = importlib.util.spec_from_file_location("docs_otel_tracing", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_otel_example_traces_requests_and_calls(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    example = load_example()
    exporter = InMemorySpanExporter()
    async with HarvestSimulator(seed=5) as sim:
        monkeypatch.setenv("HARVEST_ACCESS_TOKEN", sim.access_token)
        monkeypatch.setenv("HARVEST_ACCOUNT_ID", str(sim.account_id))
        monkeypatch.setenv("HARVEST_BASE_URL", sim.base_url)
        await example.main(exporter)
        sent = sim.counters.requests
    assert "signed in as" in capsys.readouterr().out
    spans = exporter.get_finished_spans()
    calls = [s for s in spans if s.name.startswith("harvest ")]
    wire = [s for s in spans if not s.name.startswith("harvest ")]
    assert [s.name for s in calls] == ["harvest GET /v2/users/me", "harvest GET /v2/time_entries"]
    assert len(wire) == sent == 2  # one span per request the simulator saw
    listed = calls[1].attributes
    assert listed is not None
    assert listed["harvest.attempts"] == 1
    assert listed["http.response.status_code"] == 200
    assert listed["harvest.priority"] == "interactive"
    assert set(listed["harvest.query_keys"]) == {"per_page", "is_running"}  # type: ignore[arg-type]
    assert listed["harvest.limiter_wait_s"] >= 0  # type: ignore[operator]
    for span in spans:
        text = repr(dict(span.attributes or {})) + span.name
        assert sim.access_token not in text
        assert "per_page=" not in text
        assert "is_running=" not in text
