"""Health that tells the truth: one model rendered by `status`, `status --json` and `/readyz`.

Per store (documents, relational, cache, blobs): reachable or not, *since when* (the first
failure of the current outage), the breaker's state and, for the cache, its mode (Redis, the
in-memory fallback with the reason, memory only, off). Plus where this process read its phases
(the record, a mirror copy, the local copy) and the secondary writer (inline, the async queue,
the writer process with its pid and backlog).

"Since" comes from a `HealthTracker` fed two ways: every store call through the resilience
layer (`Policy.observers`) and the cheap probe `check` runs (one call per store, bounded by
``PROBE_TIMEOUT_S``), so an idle process still notices an outage.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mystira_data.cache.port import Cache
from mystira_data.cache.tiered import TieredCache
from mystira_data.catalog import CONTROL_CONTAINER
from mystira_data.errors import MystiraError, StoreUnavailable
from mystira_data.polyglot.write.writer_process import WriterProcess
from mystira_data.query import Query
from mystira_data.resilience import CallEvent

if TYPE_CHECKING:  # the layer holds a tracker: importing it here at run time would cycle
    from mystira_data.polyglot.layer import Polyglot

PROBE_TIMEOUT_S = 3.0
BLOB_PROBE = "readiness-probe"  # a blob name looked up (never written)
_CREDENTIALS = re.compile(r"://[^/@\s]*@")  # user:password@ in a URL an error may quote


@dataclass
class _Track:
    failing_since: datetime | None = None
    error: str = ""


class HealthTracker:
    """Remembers, per store, when its current outage began and the error it gave."""

    def __init__(self, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._clock = clock
        self._stores: dict[str, _Track] = {}

    def observe(self, event: CallEvent) -> None:
        """The resilience layer's call hook: a store that answered (even "not found") is up."""
        if event.unavailable:
            self.failed(event.backend, event.error or "StoreUnavailable")
        else:
            self.succeeded(event.backend)

    def failed(self, store: str, error: str) -> None:
        track = self._stores.setdefault(store, _Track())
        track.failing_since = track.failing_since or self._clock()
        track.error = error

    def succeeded(self, store: str) -> None:
        track = self._stores.get(store)
        if track is not None and track.failing_since is not None:  # cheap on the hot path
            self._stores[store] = _Track()

    def since(self, store: str) -> datetime | None:
        track = self._stores.get(store)
        return None if track is None else track.failing_since

    def error(self, store: str) -> str:
        track = self._stores.get(store)
        return "" if track is None else track.error


@dataclass
class StoreHealth:
    """One store as this process sees it now."""

    store: str  # documents | relational | cache | blobs
    reachable: bool
    needed: bool  # readiness depends on it (the cache is not: its fallback serves)
    since: datetime | None = None  # first failure of the current outage
    breaker: str | None = None  # closed | open | half-open; None where there is none
    error: str = ""  # why it is unreachable (our error type and message, no credentials)
    mode: str | None = None  # the cache only: redis | fallback | memory | disabled | off

    def as_json(self) -> dict[str, Any]:
        return {
            "store": self.store,
            "reachable": self.reachable,
            "needed": self.needed,
            "since": None if self.since is None else self.since.isoformat(),
            "breaker": self.breaker,
            "error": self.error or None,
            **({} if self.mode is None else {"mode": self.mode}),
        }


@dataclass
class WriterHealth:
    """Where secondary writes go: inline, the in-process queue, or the writer process."""

    mode: str  # inline | async
    process: bool  # async writes go to a child process
    alive: bool | None = None  # the child is running (None: no child configured)
    pid: int | None = None
    queued: int = 0  # writes waiting in this process's queue
    in_flight: int = 0  # writes handed to the child and not yet acknowledged

    def as_json(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "process": self.process,
            "alive": self.alive,
            "pid": self.pid,
            "queued": self.queued,
            "inFlight": self.in_flight,
        }


@dataclass
class Health:
    stores: list[StoreHealth]
    phase_source: str  # record | mirror | local
    phases_loaded: bool
    writer: WriterHealth
    checked_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def ready(self) -> bool:
        return self.phases_loaded and all(s.reachable for s in self.stores if s.needed)

    def store(self, name: str) -> StoreHealth:
        return next(s for s in self.stores if s.store == name)

    @property
    def fallbacks(self) -> list[str]:
        """Every degraded mode now serving, in words (shown, never hidden)."""
        found = []
        cache = next((s for s in self.stores if s.store == "cache"), None)
        if cache is not None and cache.mode == "fallback":
            found.append(f"cache: in-memory fallback ({cache.error or 'Redis breaker open'})")
        if self.phase_source != "record":
            found.append(f"phases: read from the {self.phase_source} copy")
        return found

    def as_json(self) -> dict[str, Any]:
        return {
            "ready": self.ready,
            "checkedAt": self.checked_at.isoformat(),
            "stores": {s.store: s.as_json() for s in self.stores},
            "phaseSource": self.phase_source,
            "phasesLoaded": self.phases_loaded,
            "writer": self.writer.as_json(),
            "fallbacks": self.fallbacks,
        }


def describe(exc: BaseException) -> str:
    """Our error's type and message, with any URL credentials blanked; one line, bounded."""
    return describe_text(f"{type(exc).__name__}: {exc}")


def describe_text(text: str) -> str:
    """``text`` on one line, bounded, with any URL credentials blanked."""
    first = text.splitlines()[0] if text else ""
    return _CREDENTIALS.sub("://***@", first)[:200]


async def probe(tracker: HealthTracker, store: str, work: Awaitable[Any]) -> bool:
    """Run one cheap call against ``store``; record the outcome; True if it answered."""
    try:
        await asyncio.wait_for(work, PROBE_TIMEOUT_S)
    except (MystiraError, TimeoutError) as exc:
        if isinstance(exc, MystiraError) and not isinstance(exc, StoreUnavailable):
            tracker.succeeded(store)  # it answered, with an error of ours: reachable
            return True
        tracker.failed(store, describe(exc) if isinstance(exc, MystiraError) else "timeout")
        return False
    tracker.succeeded(store)
    return True


def documents_probe(documents: Any) -> Awaitable[Any]:
    # The control container always exists: counting it touches the store and nothing else.
    result: Awaitable[Any] = documents.count(CONTROL_CONTAINER, Query(cross_partition=True))
    return result


async def cache_health(tracker: HealthTracker, cache: Cache | None) -> StoreHealth:
    """The cache's mode, made current by its probe (one short Redis timeout at most)."""
    if cache is None:
        return StoreHealth("cache", True, False, mode="off")
    if not isinstance(cache, TieredCache):
        return StoreHealth("cache", True, False, mode=cache.mode)
    await cache.probe()
    stats = cache.stats()
    up = stats.mode == "redis"
    if up:
        tracker.succeeded("cache")
    else:
        tracker.failed("cache", describe_text(stats.reason or "Redis breaker open"))
    breaker = cache.breaker.state.value
    error = "" if up else tracker.error("cache")
    return StoreHealth("cache", up, False, tracker.since("cache"), breaker, error, stats.mode)


def writer_health(secondary: Any) -> WriterHealth:
    offload = secondary.offload
    health = WriterHealth(secondary.mode, isinstance(offload, WriterProcess))
    health.queued = secondary.queued
    if isinstance(offload, WriterProcess):
        health.pid = offload.pid
        health.alive = offload.pid is not None
        health.in_flight = offload.pending
    return health


async def check(poly: Polyglot) -> Health:
    """Probe every store once (concurrently) and assemble this process's health."""
    tracker = poly.health
    documents, relational, phases, cache, blobs = await asyncio.gather(
        probe(tracker, "documents", documents_probe(poly.stores.documents)),
        probe(tracker, "relational", poly.raw_relational.ping()),
        _phases_loaded(poly),
        cache_health(tracker, poly.stores.cache),
        _blobs(poly),
    )
    stores = [
        _store(poly, "documents", documents),
        _store(poly, "relational", relational),
        cache,
        *([] if blobs is None else [_store(poly, "blobs", blobs)]),
    ]
    writer = writer_health(poly.router.secondary)
    return Health(stores, poly.control.source.value, phases, writer)


def _store(poly: Polyglot, name: str, up: bool) -> StoreHealth:
    breaker = poly.breakers.get(name)
    tracker = poly.health
    return StoreHealth(
        name,
        up,
        True,
        tracker.since(name),
        None if breaker is None else breaker.state.value,
        "" if up else tracker.error(name),
    )


async def _phases_loaded(poly: Polyglot) -> bool:
    try:
        await asyncio.wait_for(poly.control.all_phases(), PROBE_TIMEOUT_S)
    except (MystiraError, TimeoutError):
        return False
    return True


async def _blobs(poly: Polyglot) -> bool | None:
    blobs = poly.stores.blobs
    if blobs is None:
        return None
    return await probe(poly.health, "blobs", blobs.exists(BLOB_PROBE))
