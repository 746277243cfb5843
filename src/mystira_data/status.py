"""Per-container status: catalog facts, phase and document counts per store."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mystira_data import catalog
from mystira_data.bootstrap import Stores
from mystira_data.catalog import ContainerSpec
from mystira_data.query import Query
from mystira_data.settings import Phase


@dataclass
class ContainerStatus:
    container: str
    area: str
    partition_key: str
    placement: str
    phase: str
    counts: dict[str, int] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "container": self.container,
            "area": self.area,
            "partitionKey": self.partition_key,
            "placement": self.placement,
            "phase": self.phase,
            "counts": self.counts,
        }


def effective_phase(stores: Stores, spec: ContainerSpec) -> Phase:
    """Configured phase; containers without a relational mapping are always CosmosOnly."""
    if not spec.is_relational:
        return Phase.COSMOS_ONLY
    return stores.settings.polyglot_persistence.phase_for(spec.name)


async def document_count(stores: Stores, spec: ContainerSpec) -> int:
    """Live documents; for embedded sets, the embedded items across the parent's documents."""
    if spec.embedded_in is None:
        return await stores.documents.count(spec.name, Query(cross_partition=True))
    total = 0
    async for parent in stores.documents.read_all(spec.embedded_in):
        total += len(parent.get(_embedded_field(spec), []) or [])
    return total


def _embedded_field(spec: ContainerSpec) -> str:
    # UserBadges live in UserProfile.earnedBadges; the catalog records only the parent.
    return {"UserBadges": "earnedBadges"}[spec.name]


async def collect(stores: Stores) -> list[ContainerStatus]:
    """Status rows for every catalog container, in catalog order."""
    rows = []
    for spec in catalog.CONTAINERS:
        counts = {stores.documents.name: await document_count(stores, spec)}
        rows.append(
            ContainerStatus(
                container=spec.name,
                area=spec.area,
                partition_key=spec.partition_key,
                placement=spec.placement.value,
                phase=effective_phase(stores, spec).value,
                counts=counts,
            )
        )
    return rows
