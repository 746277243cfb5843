"""Store-call spans: one per call through the resilience layer, named and labelled by store,
operation, container and phase; errors marked; off unless OTEL_EXPORTER_OTLP_ENDPOINT is set."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from mystira_data.errors import StoreUnavailable
from mystira_data.resilience import CircuitBreaker, Policy
from mystira_data.tracing import StoreCallSpans, store_call_spans


async def answer() -> dict[str, Any]:
    return {"id": "gs-1"}


async def refuse() -> dict[str, Any]:
    raise StoreUnavailable("connection refused")


async def test_each_store_call_is_a_span_labelled_by_store_and_phase() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    spans = StoreCallSpans(provider.get_tracer("test"), lambda c: f"phase-of-{c}")
    policy = Policy(CircuitBreaker("relational"), attempts=1)
    policy.observers.append(spans)
    await policy.call(answer, "read", "GameSessions")
    with pytest.raises(StoreUnavailable):
        await policy.call(refuse, "read", "someone@example.org")
    ok, failed = exporter.get_finished_spans()
    assert ok.name == "relational read"
    assert dict(ok.attributes or {}) == {
        "mystira.store": "relational",
        "mystira.operation": "read",
        "mystira.container": "GameSessions",
        "mystira.phase": "phase-of-GameSessions",
    }
    assert ok.start_time is not None
    assert ok.end_time is not None
    assert ok.start_time <= ok.end_time
    assert (failed.attributes or {})["mystira.container"] == "-"  # never an id or an email
    assert failed.status.status_code is StatusCode.ERROR


def test_tracing_is_off_without_an_endpoint() -> None:
    assert store_call_spans(lambda c: "", env={}) is None
    hook = store_call_spans(
        lambda c: "", env={"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}
    )
    assert isinstance(hook, StoreCallSpans)
