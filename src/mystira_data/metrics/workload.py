"""What each container's traffic looks like: the evidence behind `mystira placement`.

Counted at the polyglot repository (the door every game read and write goes through, so
replication, backfill and verify traffic is left out): reads, cross-partition queries,
inserts, updates and deletes, and per written document its JSON size and nesting depth.
Each observation moves a Prometheus family (label ``container`` only) and a pending count
that `EvidenceRecorder` appends to ``_polyglot_evidence``, so a short-lived CLI process can
read the serving processes' numbers.
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Mapping
from typing import Any, Generic, TypeVar

from prometheus_client import Counter, Histogram
from pydantic_core import to_json

from mystira_data.metrics import REGISTRY, container_label

__all__ = [
    "COUNTS",
    "DEPTH",
    "DEPTH_CAP",
    "KINDS",
    "SIZE",
    "SIZE_BOUNDS",
    "WorkloadRecorder",
    "document_bytes",
    "nesting_depth",
    "size_bound",
]

# The evidence kinds this module persists; the ``store`` column holds the measure.
COUNTS = "workload"  # measures: reads, cross-partition, inserts, updates, deletes
SIZE = "doc-size"  # measure: the size bucket's upper bound in bytes
DEPTH = "doc-depth"  # measure: the nesting depth (DEPTH_CAP and deeper as DEPTH_CAP)
KINDS = (COUNTS, SIZE, DEPTH)
READS, CROSS, INSERTS, UPDATES, DELETES = (
    "reads",
    "cross-partition",
    "inserts",
    "updates",
    "deletes",
)

# Powers of two from 128 B to the 2 MiB document limit: p50/p99 within a factor of two,
# interpolated inside the bucket like Prometheus' histogram_quantile.
SIZE_BOUNDS: tuple[int, ...] = tuple(2**n for n in range(7, 22))
DEPTH_CAP = 64

_LABELS = ("container",)
M = TypeVar("M", Counter, Histogram)


class _ByContainer(Generic[M]):
    """A family's children by container label, made once: ``labels()`` takes a lock and
    validates on every call, and these run on every read and write."""

    def __init__(self, family: M) -> None:
        self._family: M = family
        self._children: dict[str, M] = {}

    def __call__(self, label: str) -> M:
        child = self._children.get(label)
        if child is None:
            child = self._children.setdefault(label, self._family.labels(label))
        return child


_READS = _ByContainer(
    Counter(
        "mystira_container_reads",
        "Reads (point reads, query pages, counts) through the polyglot repository.",
        _LABELS,
        registry=REGISTRY,
    )
)
_CROSS = _ByContainer(
    Counter(
        "mystira_cross_partition_queries",
        "Queries and counts through the polyglot repository that named no partition key.",
        _LABELS,
        registry=REGISTRY,
    )
)
_WRITES = {
    kind: _ByContainer(
        Counter(
            f"mystira_container_{kind}",
            f"Acknowledged {kind} through the polyglot repository.",
            _LABELS,
            registry=REGISTRY,
        )
    )
    for kind in (INSERTS, UPDATES, DELETES)
}
_SIZE = _ByContainer(
    Histogram(
        "mystira_document_size_bytes",
        "Compact JSON size of each document written through the polyglot repository.",
        _LABELS,
        buckets=SIZE_BOUNDS,
        registry=REGISTRY,
    )
)
_DEPTH = _ByContainer(
    Histogram(
        "mystira_document_nesting_depth",
        "Nesting depth of each document written (a flat document is 1).",
        _LABELS,
        buckets=(1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 24, 32),
        registry=REGISTRY,
    )
)

Key = tuple[str, str, str]  # (kind, container, measure)
_NESTED = (dict, list)  # what JSON nests in (exact types: decoded JSON has no subclasses)


def document_bytes(doc: Mapping[str, Any]) -> int:
    """Compact UTF-8 JSON size of ``doc`` (pydantic-core serialises in Rust: cheap)."""
    return len(to_json(doc))


def nesting_depth(doc: Any) -> int:
    """Levels of objects and arrays: a scalar is 0, ``{}`` 1, ``{"a": [{}]}`` 3. Walked level
    by level, without recursion (a pathological document cannot exhaust the stack) and with
    no per-node bookkeeping (a few dozen microseconds for a whole scenario)."""
    level = [doc] if type(doc) in _NESTED else []
    depth = 0
    while level:
        depth += 1
        below: list[Any] = []
        for node in level:
            items = node.values() if type(node) is dict else node
            below.extend([v for v in items if type(v) in _NESTED])
        level = below
    return depth


def size_bound(size: int) -> int:
    """The upper bound of the size bucket ``size`` falls in (the last bound beyond it)."""
    for bound in SIZE_BOUNDS:
        if size <= bound:
            return bound
    return SIZE_BOUNDS[-1]


class WorkloadRecorder:
    """This process's workload counts not yet persisted (see the module docstring)."""

    def __init__(self) -> None:
        self._pending: Tally[Key] = Tally()

    def read(self, container: str, *, cross_partition: bool = False) -> None:
        label = container_label(container)
        _READS(label).inc()
        self._pending[(COUNTS, label, READS)] += 1
        if cross_partition:
            _CROSS(label).inc()
            self._pending[(COUNTS, label, CROSS)] += 1

    def written(self, container: str, body: Mapping[str, Any], *, inserted: bool) -> None:
        """An acknowledged insert or update of ``body``: counted, sized, its depth taken."""
        label = container_label(container)
        kind = INSERTS if inserted else UPDATES
        size, depth = document_bytes(body), nesting_depth(body)
        _WRITES[kind](label).inc()
        _SIZE(label).observe(size)
        _DEPTH(label).observe(depth)
        pending = self._pending
        pending[(COUNTS, label, kind)] += 1
        pending[(SIZE, label, str(size_bound(size)))] += 1
        pending[(DEPTH, label, str(min(depth, DEPTH_CAP)))] += 1

    def deleted(self, container: str) -> None:
        label = container_label(container)
        _WRITES[DELETES](label).inc()
        self._pending[(COUNTS, label, DELETES)] += 1

    def take(self) -> dict[Key, int]:
        """The counts since the last take (they are this caller's to persist or give back)."""
        taken = dict(self._pending)
        self._pending.clear()
        return taken

    def give_back(self, taken: Mapping[Key, int]) -> None:
        """Counts a failed flush could not persist, kept for the next one."""
        self._pending.update(taken)
