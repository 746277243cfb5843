"""Per-container status: catalog facts, live phase, counts per store, replication health."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

from mystira_data import catalog
from mystira_data.cache.repository import CachedRepository
from mystira_data.catalog import ContainerSpec
from mystira_data.errors import StoreUnavailable
from mystira_data.health import Health, check
from mystira_data.polyglot.controls.record import Control
from mystira_data.polyglot.controls.store import RelationalControlStore, by_container
from mystira_data.polyglot.layer import Polyglot
from mystira_data.polyglot.ports import EntityStore
from mystira_data.polyglot.state.dead_letters import RelationalDeadLetters
from mystira_data.query import Query, every

T = TypeVar("T")


@dataclass
class ContainerStatus:
    container: str
    area: str
    partition_key: str
    placement: str
    phase: str
    counts: dict[str, int | str] = field(default_factory=dict)  # "unavailable": store down
    lag: dict[str, Any] | None = None
    dead_letters: int = 0
    dead_letter_reasons: list[dict[str, Any]] = field(default_factory=list)  # newest first
    controls: dict[str, Control] | None = None  # task → control (relational containers)

    def as_json(self) -> dict[str, Any]:
        return {
            "container": self.container,
            "area": self.area,
            "partitionKey": self.partition_key,
            "placement": self.placement,
            "phase": self.phase,
            "counts": self.counts,
            "lag": self.lag,
            "deadLetters": self.dead_letters,
            "deadLetterList": self.dead_letter_reasons,
            "controls": None
            if self.controls is None
            else {task: c.as_json() for task, c in self.controls.items()},
        }

    def holds(self) -> list[str]:
        """ "task: reason" for each task paused or throttled now."""
        tasks = (self.controls or {}).items()
        return [f"{task}: {why}" for task, c in tasks if (why := c.holding()) is not None]


@dataclass
class SystemStatus:
    containers: list[ContainerStatus]
    breakers: dict[str, str]
    cache: dict[str, Any]
    shadow_reads: dict[str, Any]
    sync_failures: int
    phase_source: str = "record"  # record | mirror | local: where this process read phases
    health: Health | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "phaseSource": self.phase_source,
            "breakers": self.breakers,
            "cache": self.cache,
            "shadowReads": self.shadow_reads,
            "syncFailures": self.sync_failures,
            "health": None if self.health is None else self.health.as_json(),
        }


async def live_count(store: EntityStore, spec: ContainerSpec) -> int:
    """Live documents; for embedded sets, the embedded items across the parent's documents."""
    field = spec.embedded_field
    if spec.embedded_in is None or field is None:
        return await store.count(spec.name, Query(cross_partition=True))
    q = Query(cross_partition=True, page_size=500)
    return sum([len(d.get(field) or []) async for d in every(store, spec.embedded_in, q)])


def relational_label(poly: Polyglot) -> str:
    """The relational store's name in counts, distinct from the document store's."""
    name = poly.raw_relational.name
    return f"{name}-relational" if name == poly.stores.documents.name else name


UNAVAILABLE = "unavailable"


async def _or_unavailable(work: Awaitable[T], fallback: T) -> T:
    """A store that is down shows as such in its column; the other store's side still shows."""
    try:
        return await work
    except StoreUnavailable:
        return fallback


async def container_status(
    poly: Polyglot,
    spec: ContainerSpec,
    dead: dict[str, int],
    letters: dict[str, list[dict[str, Any]]] | None = None,
) -> ContainerStatus:
    counts: dict[str, int | str] = {
        poly.stores.documents.name: await _or_unavailable(
            live_count(poly.documents, spec), UNAVAILABLE
        )
    }
    row = ContainerStatus(
        spec.name,
        spec.area,
        spec.partition_key,
        spec.placement.value,
        (await poly.control.phase(spec.name)).value,
        counts,
        dead_letters=dead.get(spec.name, 0),
        dead_letter_reasons=(letters or {}).get(spec.name, []),
    )
    if spec.is_relational:
        counts[relational_label(poly)] = await _or_unavailable(
            live_count(poly.relational, spec), UNAVAILABLE
        )
        row.lag = await _or_unavailable(lag_json(poly, spec.name), {"pending": UNAVAILABLE})
    return row


async def lag_json(poly: Polyglot, container: str) -> dict[str, Any]:
    """The container's replication lag as status, the API and the console show it."""
    lag = await poly.lag(container)
    return {
        "direction": lag.direction,
        "pending": lag.pending,
        "oldestAgeSeconds": lag.oldest_age_s,
    }


async def collect(poly: Polyglot) -> SystemStatus:
    """Status of every catalog container plus the process-wide health signals."""
    health = await check(poly)  # first: the probes make the cache mode and breakers current
    letters = RelationalDeadLetters(poly.raw_relational, "")
    dead = await _or_unavailable(letters.open_count(), {})
    reasons = await _or_unavailable(letters.open_letters(), {})
    rows = [await container_status(poly, spec, dead, reasons) for spec in catalog.CONTAINERS]
    controls = await _or_unavailable(by_container(RelationalControlStore(poly.raw_relational)), {})
    for row in rows:
        row.controls = controls.get(row.container)
    return SystemStatus(
        rows,
        {name: b.state.value for name, b in poly.breakers.items()},
        await cache_status(poly),
        poly.router.shadow.snapshot() if poly.router.shadow else {"enabled": False},
        poly.router.secondary.sync_log.failed,
        poly.control.source.value,
        health,
    )


async def cache_status(poly: Polyglot) -> dict[str, Any]:
    """The cache game reads go through, as it is now: Redis is probed first, so "redis"
    means it answered just now; "summary" is the line `mystira status` prints."""
    cache = poly.repository.cache if isinstance(poly.repository, CachedRepository) else None
    if cache is None:
        return {"mode": "off", "summary": "off (Caching:Enabled is false)"}
    await cache.probe()
    info = asdict(cache.stats())
    info["summary"] = _summary(info["mode"], info["reason"])
    return info


def _summary(mode: str, reason: str) -> str:
    if mode == "fallback":
        return f"in-memory fallback (Redis unreachable: {reason or 'breaker open'})"
    if mode == "memory":
        return "in-memory (no Redis connection string)"
    return mode
