"""Where the recorded workload contradicts a container's catalog placement.

Each rule looks at one placement and one kind of evidence, judges only past
``MinSamples`` observations of that kind, and says what it saw in numbers:

* a **document** container that is *update-heavy* (``UpdateHeavyShare`` of its writes are
  updates, at ``UpdateHeavyWritesPerMin`` or more) or whose reads *fan out* over every
  partition (``CrossPartitionShare`` of them, at ``CrossPartitionPerMin`` or more) argues
  for rows;
* a **relational candidate** whose documents are *deeply nested* (depth p50 at least
  ``DeepNestingDepth``) or *large* (p99 at least ``LargeDocumentBytes``) argues for a
  document. Being read-heavy argues for neither: a cache serves reads in every placement.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mystira_data.catalog import Placement
from mystira_data.placement.evidence import Evidence
from mystira_data.placement_settings import PlacementThresholds

__all__ = ["Flag", "flags"]


@dataclass(frozen=True)
class Flag:
    code: str
    message: str
    suggests: Placement

    def as_json(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "suggests": self.suggests.value}


Rule = Callable[[Evidence, PlacementThresholds], Flag | None]


def num(x: float) -> str:
    """1,200 / 45 / 2.5: whole numbers from 10 up, one decimal below."""
    return f"{x:,.0f}" if abs(x) >= 10 else f"{x:,.1f}".removesuffix(".0")


def update_heavy(ev: Evidence, limits: PlacementThresholds) -> Flag | None:
    share = ev.update_share
    if ev.counts.writes < limits.min_samples or share is None:
        return None
    if share < limits.update_heavy_share or ev.writes_per_min < limits.update_heavy_writes_per_min:
        return None
    return Flag(
        "update-heavy",
        f"update-heavy: {share:.2f} of {num(ev.writes_per_min)} writes/min are updates; "
        "consider relational",
        Placement.RELATIONAL,
    )


def cross_partition(ev: Evidence, limits: PlacementThresholds) -> Flag | None:
    reads = ev.counts.reads
    if reads < limits.min_samples:
        return None
    per_min, share = ev.cross_partition_per_min, ev.counts.cross_partition / reads
    if share < limits.cross_partition_share or per_min < limits.cross_partition_per_min:
        return None
    return Flag(
        "cross-partition",
        f"cross-partition: {num(per_min)} of {num(ev.reads_per_min)} reads/min fan out over "
        "every partition; consider relational (indexed columns) or another partition key",
        Placement.RELATIONAL,
    )


def deeply_nested(ev: Evidence, limits: PlacementThresholds) -> Flag | None:
    p50 = ev.depth_p50
    if ev.documents < limits.min_samples or p50 is None or p50 < limits.deep_nesting_depth:
        return None
    return Flag(
        "deeply-nested",
        f"deeply nested: depth p50 {p50} (max {ev.depth_max}) of {num(ev.documents)} "
        f"documents written; consider document",
        Placement.DOCUMENT,
    )


def large_documents(ev: Evidence, limits: PlacementThresholds) -> Flag | None:
    p99 = ev.size(0.99)
    if ev.documents < limits.min_samples or p99 is None or p99 < limits.large_document_bytes:
        return None
    return Flag(
        "large-documents",
        f"large documents: p99 {p99:,} bytes (p50 {ev.size(0.5) or 0:,}); consider document",
        Placement.DOCUMENT,
    )


RULES: dict[Placement, tuple[Rule, ...]] = {
    Placement.DOCUMENT: (update_heavy, cross_partition),
    Placement.RELATIONAL: (deeply_nested, large_documents),
}


def flags(placement: Placement, ev: Evidence, limits: PlacementThresholds) -> list[Flag]:
    """Every rule of ``placement`` that the evidence trips."""
    found = (rule(ev, limits) for rule in RULES.get(placement, ()))
    return [f for f in found if f is not None]
