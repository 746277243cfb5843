"""What ``/metrics`` answers: the traffic families of `mystira_data.metrics` plus gauges read
from the shared state at scrape time (health, phases, lag, outbox, dead letters, cache).

A store that is down at scrape time leaves out the families that need it (lag, backlog, dead
letters); ``mystira_store_up`` then says which store and why the gap.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from prometheus_client import generate_latest
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric

from mystira_data import catalog, health
from mystira_data.errors import MystiraError
from mystira_data.metrics import REGISTRY
from mystira_data.polyglot.controls.record import REASON_KINDS, reason_kind
from mystira_data.polyglot.controls.store import RelationalControlStore, by_container
from mystira_data.polyglot.phase.rules import route_for
from mystira_data.polyglot.state.dead_letters import RelationalDeadLetters
from mystira_data.polyglot.state.outbox import OutboxSource
from mystira_data.resilience import BreakerState
from mystira_data.settings import Phase

if TYPE_CHECKING:
    from mystira_data.polyglot.layer import Polyglot

PHASE_NUMBER = {phase: n for n, phase in enumerate(Phase)}  # forward order: 0..3
BREAKER_NUMBER = {BreakerState.CLOSED: 0, BreakerState.HALF_OPEN: 1, BreakerState.OPEN: 2}


class _Scrape:
    """One scrape: the registry's families, then this scrape's own."""

    def __init__(self, extra: list[Metric]) -> None:
        self._extra = extra

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()
        yield from self._extra


async def render(poly: Polyglot) -> bytes:
    """The Prometheus text exposition for this process."""
    found = await health.check(poly)
    families = [*_health(found), *_cache(poly), _writer(found)]
    for part in (_phases, _replication, _dead_letters, _controls):
        try:
            families.extend(await part(poly))
        except MystiraError:
            continue  # a store is down: mystira_store_up says which; the rest still answers
    return generate_latest(_Scrape(families))


def _gauge(name: str, doc: str, labels: Iterable[str] = ()) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, labels=list(labels))


def _health(found: health.Health) -> list[Metric]:
    up = _gauge("mystira_store_up", "1 if the store answered the last probe.", ["store"])
    since = _gauge(
        "mystira_store_down_since_seconds",
        "Unix time of the first failure of a store's current outage (absent when up).",
        ["store"],
    )
    for s in found.stores:
        up.add_metric([s.store], int(s.reachable))
        if s.since is not None:
            since.add_metric([s.store], s.since.timestamp())
    breaker = _gauge(
        "mystira_breaker_state", "Circuit breaker: 0 closed, 1 half-open, 2 open.", ["store"]
    )
    for s in found.stores:  # the stores' breakers and the cache's Redis breaker
        if s.breaker is not None:
            breaker.add_metric([s.store], BREAKER_NUMBER[BreakerState(s.breaker)])
    cache = next((s for s in found.stores if s.store == "cache"), None)
    fallback = _gauge("mystira_cache_fallback_active", "1 while the in-memory fallback serves.")
    fallback.add_metric([], int(cache is not None and cache.mode == "fallback"))
    copy = _gauge(
        "mystira_phase_record_fallback",
        "1 while this process reads phases from a copy (mirror or local), not the record.",
    )
    copy.add_metric([], int(found.phase_source != "record"))
    ready = _gauge("mystira_ready", "1 if /readyz would answer 200.")
    ready.add_metric([], int(found.ready))
    return [up, since, breaker, fallback, copy, ready]


def _cache(poly: Polyglot) -> list[Metric]:
    cache = poly.stores.cache
    if cache is None:
        return []
    stats = cache.stats()
    out: list[Metric] = []
    for name, value, doc in (
        ("hits", stats.hits, "Cache hits (L1 and L2)."),
        ("misses", stats.misses, "Cache misses."),
        ("fallbacks", stats.fallbacks, "Cache operations served without Redis."),
        ("errors", stats.errors, "Redis errors seen by the cache."),
    ):
        family = CounterMetricFamily(f"mystira_cache_{name}", doc)
        family.add_metric([], value)
        out.append(family)
    return out


def _writer(found: health.Health) -> Metric:
    queued = _gauge(
        "mystira_secondary_writes_queued",
        "Secondary writes waiting in this process (queue + handed to the writer process).",
    )
    queued.add_metric([], found.writer.queued + found.writer.in_flight)
    return queued


async def _phases(poly: Polyglot) -> list[Metric]:
    doc = "Phase per container: 0 CosmosOnly .. 3 PostgresOnly."
    phase = _gauge("mystira_phase", doc, ["container"])
    for name, current in (await poly.control.all_phases()).items():
        phase.add_metric([name], PHASE_NUMBER[current])
    return [phase]


async def _replication(poly: Polyglot) -> list[Metric]:
    phases = await poly.control.all_phases()
    labels = ["container", "direction"]
    changes = _gauge("mystira_replication_lag_changes", "Changes not yet replicated.", labels)
    seconds = _gauge(
        "mystira_replication_lag_seconds", "Age of the oldest unreplicated change.", labels
    )
    backlog = _gauge("mystira_outbox_backlog", "Outbox rows not yet relayed.", ["container"])
    outbox = OutboxSource(poly.raw_relational)
    for name, current in phases.items():
        side = route_for(name, current).secondary
        if not catalog.get(name).is_relational:
            continue
        backlog.add_metric([name], (await outbox.pending(name))[0])
        if side is None:
            continue
        lag = await poly.lag(name)
        changes.add_metric([name, side.value], lag.pending)
        seconds.add_metric([name, side.value], lag.oldest_age_s or 0.0)
    return [changes, seconds, backlog]


async def _dead_letters(poly: Polyglot) -> list[Metric]:
    counts = await RelationalDeadLetters(poly.raw_relational, "").open_count()
    doc = "Open dead letters (changes given up on)."
    family = _gauge("mystira_dead_letters", doc, ["container"])
    for spec in catalog.CONTAINERS:
        if spec.is_relational:
            family.add_metric([spec.name], counts.get(spec.name, 0))
    return [family]


async def _controls(poly: Polyglot) -> list[Metric]:
    """Operator holds: 1 while a task is paused or throttled, and the kind of reason (a
    bounded label: paused, rate, lag, 429, budget, other; never the operator's text)."""
    found = await by_container(RelationalControlStore(poly.raw_relational))
    throttled = _gauge(
        "mystira_throttled", "1 while the task is paused or throttled.", ["container", "task"]
    )
    doc = "1 for the kind of reason holding the task (absent while it runs freely)."
    reasons = _gauge("mystira_throttle_reason", doc, ["container", "task", "reason"])
    for name, tasks in found.items():
        for task, control in tasks.items():
            why = control.holding()
            throttled.add_metric([name, task], int(why is not None))
            if why is not None:
                kind = reason_kind(why)
                reasons.add_metric([name, task, kind if kind in REASON_KINDS else "other"], 1)
    return [throttled, reasons]
