"""The placement report: per container its phase, the catalog's placement and reasons, the
recorded evidence and the flags where they disagree (`mystira placement`, the admin API)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from mystira_data import catalog
from mystira_data.placement.evidence import Evidence
from mystira_data.placement.flags import Flag, flags
from mystira_data.placement.recorded import Recorded, recorded
from mystira_data.placement_settings import PlacementThresholds
from mystira_data.polyglot.layer import Polyglot

__all__ = ["ContainerPlacement", "PlacementReport", "collect"]


@dataclass(frozen=True)
class ContainerPlacement:
    spec: catalog.ContainerSpec
    phase: str
    evidence: Evidence
    flags: list[Flag]

    def as_json(self) -> dict[str, Any]:
        reasons = catalog.placement_reasons(self.spec.name)
        return {
            "container": self.spec.name,
            "area": self.spec.area,
            "phase": self.phase,
            "recommended": self.spec.placement.value,
            "reasons": {"codes": [c.value for c in reasons.codes], "summary": reasons.summary},
            "evidence": self.evidence.as_json(),
            "flags": [f.as_json() for f in self.flags],
        }


@dataclass(frozen=True)
class PlacementReport:
    window_minutes: float
    recorded: Recorded
    thresholds: PlacementThresholds
    containers: list[ContainerPlacement]

    def as_json(self) -> dict[str, Any]:
        return {
            "windowMinutes": self.window_minutes,
            "coveredMinutes": round(self.recorded.minutes, 2),
            "since": self.recorded.since.isoformat(timespec="seconds"),
            "thresholds": self.thresholds.model_dump(by_alias=True),
            "containers": [c.as_json() for c in self.containers],
        }


async def collect(
    poly: Polyglot, *, window_minutes: float | None = None, now: datetime | None = None
) -> PlacementReport:
    """Every catalog container, judged on the workload flushed within the window (this
    process's own counts flushed first)."""
    limits = poly.stores.settings.placement
    window = window_minutes if window_minutes is not None else limits.window_minutes
    await poly.evidence.flush(poly.raw_relational)
    found = await recorded(poly.raw_relational, window_minutes=window, now=now or datetime.now(UTC))
    rows = []
    for spec in catalog.CONTAINERS:
        ev = Evidence(found.of(spec.name), found.minutes)
        phase = (await poly.control.phase(spec.name)).value
        rows.append(ContainerPlacement(spec, phase, ev, flags(spec.placement, ev, limits)))
    return PlacementReport(window, found, limits, rows)
