"""The console's traffic numbers, read from this process's metrics registry (`metrics`).

Per container × store: p50 and p99 of store-call latency (estimated from the histogram's
buckets the way Prometheus' ``histogram_quantile`` does: linear within a bucket), call count
and error rate; per container: the shadow-read consistency rate. Like ``/metrics`` these are
this process's numbers only (each worker of ``serve --workers N`` counts its own calls).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry
from prometheus_client.samples import Sample

from mystira_data.metrics import REGISTRY

__all__ = ["StoreNumbers", "Traffic", "quantile", "traffic"]

CALLS = "mystira_store_call_seconds"
ERRORS = "mystira_store_call_errors_total"
SHADOW = "mystira_shadow_reads_total"
MISMATCHES = "mystira_shadow_read_mismatches_total"


@dataclass
class StoreNumbers:
    """One container's calls to one store, all operations together."""

    calls: int = 0
    errors: int = 0
    buckets: dict[float, float] = field(default_factory=lambda: defaultdict(float))

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.calls if self.calls else None

    def p(self, q: float) -> float | None:
        return quantile(q, sorted(self.buckets.items()))


@dataclass
class Traffic:
    """Every container's numbers; ``stores[container][store]``, ``shadow[container]``."""

    stores: dict[str, dict[str, StoreNumbers]]
    shadow: dict[str, tuple[int, int]]  # container: (comparisons, mismatches)

    def consistency(self, container: str) -> float | None:
        total, mismatched = self.shadow.get(container, (0, 0))
        return (total - mismatched) / total if total else None


def quantile(q: float, buckets: Sequence[tuple[float, float]]) -> float | None:
    """The ``q`` quantile from cumulative ``(upper bound, count)`` buckets (``+Inf`` last);
    None without observations. Past the last finite bound, that bound is the answer."""
    if not buckets or buckets[-1][1] <= 0:
        return None
    rank = q * buckets[-1][1]
    lower, below = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if math.isinf(bound):
                return lower
            inside = count - below
            return lower + (bound - lower) * ((rank - below) / inside if inside else 1.0)
        lower, below = bound, count
    return lower


def traffic(registry: CollectorRegistry = REGISTRY) -> Traffic:
    """This process's numbers now."""
    stores: dict[str, dict[str, StoreNumbers]] = defaultdict(lambda: defaultdict(StoreNumbers))
    shadow: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for sample in _samples(registry):
        container = sample.labels.get("container", "")
        if sample.name == f"{CALLS}_bucket":
            numbers = stores[container][sample.labels["store"]]
            numbers.buckets[float(sample.labels["le"])] += sample.value
        elif sample.name == f"{CALLS}_count":
            stores[container][sample.labels["store"]].calls += int(sample.value)
        elif sample.name == ERRORS:
            stores[container][sample.labels["store"]].errors += int(sample.value)
        elif sample.name == SHADOW:
            shadow[container][0] += int(sample.value)
        elif sample.name == MISMATCHES:
            shadow[container][1] += int(sample.value)
    return Traffic(
        {c: dict(by_store) for c, by_store in stores.items()},
        {c: (total, bad) for c, (total, bad) in shadow.items()},
    )


def _samples(registry: CollectorRegistry) -> Iterable[Sample]:
    for family in registry.collect():
        yield from family.samples
