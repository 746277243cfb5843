"""The `Placement` settings section: when the recorded workload contradicts the catalog.

`mystira placement` flags a container whose evidence argues against its catalog placement
(`placement.flags`); these are the numbers it judges by, e.g.
``"Placement": {"UpdateHeavyShare": 0.9, "UpdateHeavyWritesPerMin": 600}``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["MAX_WINDOW_MINUTES", "PlacementThresholds"]

# A week: far beyond any useful evidence window, and "that many minutes ago" stays a date.
MAX_WINDOW_MINUTES = 7 * 24 * 60


class PlacementThresholds(BaseModel):
    model_config = ConfigDict(
        extra="forbid", populate_by_name=True, frozen=True, allow_inf_nan=False
    )

    # A document container this update-heavy, this busy, wants rows updated in place.
    update_heavy_share: float = Field(default=0.8, ge=0.0, le=1.0, alias="UpdateHeavyShare")
    update_heavy_writes_per_min: float = Field(default=60.0, ge=0, alias="UpdateHeavyWritesPerMin")
    # A document container whose reads mostly fan out over every partition wants indexes.
    cross_partition_share: float = Field(default=0.5, ge=0.0, le=1.0, alias="CrossPartitionShare")
    cross_partition_per_min: float = Field(default=30.0, ge=0, alias="CrossPartitionPerMin")
    # A relational candidate whose documents nest this deep (p50), or are this big (p99),
    # would be scattered over many rows.
    deep_nesting_depth: int = Field(default=6, ge=1, alias="DeepNestingDepth")
    large_document_bytes: int = Field(default=64 * 1024, ge=1, alias="LargeDocumentBytes")
    # No verdict on fewer observations than this (reads for reads, writes for the rest).
    min_samples: int = Field(default=20, ge=1, alias="MinSamples")
    # The evidence window `mystira placement` reads without --window.
    window_minutes: float = Field(default=60.0, gt=0, le=MAX_WINDOW_MINUTES, alias="WindowMinutes")
