"""Prometheus metrics: the families, and the hooks the rest of the code calls.

Every name starts with ``mystira_``. Labels are limited to container, store, operation,
phase and direction (never an id, an email or a key), so a scrape holds no personal data:
`container_label` drops anything that is not a catalog container name.

Counters and histograms move with traffic (store calls, shadow reads, backfill pages);
gauges about shared state (lag, backlog, dead letters, phases, breakers, health) are read at
scrape time by `metrics.scrape`. Values are per process: with ``uvicorn --workers N`` each
worker answers for itself (Prometheus multiprocess mode is not used).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from mystira_data import catalog
from mystira_data.resilience import CallEvent

__all__ = [
    "OTHER",
    "REGISTRY",
    "backfill_page",
    "container_label",
    "observe_call",
    "shadow_compared",
    "verified",
]

REGISTRY = CollectorRegistry(auto_describe=True)
OTHER = "-"  # the container label of calls that name no catalog container

STORE_CALL_SECONDS = Histogram(
    "mystira_store_call_seconds",
    "Store calls through the resilience layer (retries included), by container/store/op.",
    ("container", "store", "operation"),
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=REGISTRY,
)
STORE_CALL_ERRORS = Counter(
    "mystira_store_call_errors",
    "Store calls that failed because the store could not answer (down, breaker open, 429).",
    ("container", "store", "operation"),
    registry=REGISTRY,
)
SHADOW_READS = Counter(
    "mystira_shadow_reads",
    "Shadow-read comparisons of a read against the other store.",
    ("container",),
    registry=REGISTRY,
)
SHADOW_MISMATCHES = Counter(
    "mystira_shadow_read_mismatches",
    "Shadow-read comparisons where the other store differed or lacked the document.",
    ("container",),
    registry=REGISTRY,
)
BACKFILL_DOCUMENTS = Counter(
    "mystira_backfill_documents",
    "Documents read by backfill runs, per container and target store.",
    ("container", "direction"),
    registry=REGISTRY,
)
BACKFILL_DONE = Gauge(
    "mystira_backfill_done",
    "1 once this process finished a backfill of the container into the target, else 0.",
    ("container", "direction"),
    registry=REGISTRY,
)
VERIFY_COMPARED = Gauge(
    "mystira_verify_documents_compared",
    "Documents compared by this process's last verify of the container.",
    ("container",),
    registry=REGISTRY,
)
VERIFY_DIFFERENCES = Gauge(
    "mystira_verify_differences",
    "Missing, extra and different documents found by the last verify of the container.",
    ("container",),
    registry=REGISTRY,
)


def container_label(name: str) -> str:
    """``name`` if it is a catalog container, else "-" (ids must never become labels)."""
    return name if name in catalog.BY_NAME or name == catalog.CONTROL_CONTAINER else OTHER


# Labelled histogram children: `labels()` takes a lock and validates every time, and this
# runs once per store call. Keyed by label values, so it is bounded like the labels are.
_call_children: dict[tuple[str, str, str], Histogram] = {}


def observe_call(event: CallEvent) -> None:
    """The resilience layer's call hook (`Policy.observers`)."""
    labels = (container_label(event.target), event.backend, event.operation)
    child = _call_children.get(labels)
    if child is None:
        child = _call_children.setdefault(labels, STORE_CALL_SECONDS.labels(*labels))
    child.observe(event.seconds)
    if event.unavailable:
        STORE_CALL_ERRORS.labels(*labels).inc()


def shadow_compared(container: str, *, matched: bool) -> None:
    SHADOW_READS.labels(container_label(container)).inc()
    if not matched:
        SHADOW_MISMATCHES.labels(container_label(container)).inc()


def backfill_page(container: str, direction: str, read: int, *, done: bool) -> None:
    BACKFILL_DOCUMENTS.labels(container_label(container), direction).inc(read)
    BACKFILL_DONE.labels(container_label(container), direction).set(int(done))


def verified(container: str, compared: int, differences: int) -> None:
    VERIFY_COMPARED.labels(container_label(container)).set(compared)
    VERIFY_DIFFERENCES.labels(container_label(container)).set(differences)
