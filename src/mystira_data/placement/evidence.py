"""One container's recorded workload as the numbers `mystira placement` shows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mystira_data.placement.recorded import Workload, bucket_quantile, exact_quantile

__all__ = ["Evidence"]


@dataclass(frozen=True)
class Evidence:
    """Rates are per minute over the covered window; sizes in bytes of compact JSON."""

    counts: Workload
    minutes: float

    def per_min(self, n: int) -> float:
        return n / self.minutes

    @property
    def reads_per_min(self) -> float:
        return self.per_min(self.counts.reads)

    @property
    def writes_per_min(self) -> float:
        return self.per_min(self.counts.writes)

    @property
    def cross_partition_per_min(self) -> float:
        return self.per_min(self.counts.cross_partition)

    @property
    def update_share(self) -> float | None:
        """Updates among all writes (inserts, updates, deletes); None with no writes."""
        writes = self.counts.writes
        return self.counts.updates / writes if writes else None

    @property
    def documents(self) -> int:
        """Documents sized and measured (every insert and update)."""
        return sum(self.counts.sizes.values())

    @property
    def samples(self) -> int:
        """Every observation behind these numbers: reads and writes."""
        return self.counts.reads + self.counts.writes

    def size(self, q: float) -> int | None:
        return bucket_quantile(q, self.counts.sizes)

    @property
    def depth_p50(self) -> int | None:
        return exact_quantile(0.5, self.counts.depths)

    @property
    def depth_max(self) -> int | None:
        return max(self.counts.depths) if self.counts.depths else None

    def as_json(self) -> dict[str, Any]:
        c = self.counts
        share = self.update_share
        return {
            "readsPerMin": round(self.reads_per_min, 2),
            "writesPerMin": round(self.writes_per_min, 2),
            "docSizeP50": self.size(0.5),
            "docSizeP99": self.size(0.99),
            "nestingDepth": {"p50": self.depth_p50, "max": self.depth_max},
            "updateShare": None if share is None else round(share, 3),
            "crossPartitionQueriesPerMin": round(self.cross_partition_per_min, 2),
            "samples": self.samples,
            "counts": {
                "reads": c.reads,
                "crossPartitionQueries": c.cross_partition,
                "inserts": c.inserts,
                "updates": c.updates,
                "deletes": c.deletes,
                "documentsMeasured": self.documents,
            },
        }
