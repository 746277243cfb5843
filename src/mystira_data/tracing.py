"""OpenTelemetry traces of store calls, when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set.

One span per call through the resilience layer (retries included), named ``<store>
<operation>`` and labelled with the store, the operation, the container (catalog names only,
like the metrics) and the container's phase as this process last read it. Spans are made from
the `CallEvent` hook after the call, with the call's own start time, so tracing adds nothing
to a call's path when it is off and no context manager when it is on. The exporter is OTLP
over HTTP; the SDK reads its other ``OTEL_*`` variables (headers, timeout) itself.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Status, StatusCode, Tracer

from mystira_data.metrics import OTHER, container_label
from mystira_data.resilience import CallEvent

ENDPOINT_VARIABLE = "OTEL_EXPORTER_OTLP_ENDPOINT"
SERVICE_NAME = "mystira-data"
_provider: TracerProvider | None = None  # one exporter per process, made on first use


class StoreCallSpans:
    """The resilience layer's call hook that records each store call as a span."""

    def __init__(self, tracer: Tracer, phase_of: Callable[[str], str]) -> None:
        self._tracer = tracer
        self._phase_of = phase_of

    def __call__(self, event: CallEvent) -> None:
        end = time.time_ns()
        container = container_label(event.target)
        span = self._tracer.start_span(
            f"{event.backend} {event.operation}",
            start_time=end - int(event.seconds * 1e9),
            attributes={
                "mystira.store": event.backend,
                "mystira.operation": event.operation,
                "mystira.container": container,
                "mystira.phase": OTHER if container == OTHER else self._phase_of(container),
            },
        )
        if event.error is not None:
            span.set_status(Status(StatusCode.ERROR, event.error))
        span.end(end_time=end)


def _exporting_tracer() -> Tracer:
    global _provider
    if _provider is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        _provider = TracerProvider(resource=Resource.create({"service.name": SERVICE_NAME}))
        _provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return _provider.get_tracer("mystira_data")


def store_call_spans(
    phase_of: Callable[[str], str], env: Mapping[str, str] = os.environ
) -> StoreCallSpans | None:
    """The span hook when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set, else None (no tracing)."""
    if not env.get(ENDPOINT_VARIABLE):
        return None
    return StoreCallSpans(_exporting_tracer(), phase_of)
