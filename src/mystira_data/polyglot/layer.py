"""Wires the polyglot layer from opened `Stores`: resilience, phases, repository, replication.

`Polyglot` is what the CLI, the API and the tests hold: the repository for game data, the
phase control, the replication processors of both directions, and the lag/guard reports.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from mystira_data import catalog, metrics
from mystira_data.bootstrap import Stores
from mystira_data.cache.port import Cache
from mystira_data.cache.repository import CachedRepository
from mystira_data.domain.base import stored_defaults
from mystira_data.errors import ConfigError, ForeignKeyViolation, StoreUnavailable
from mystira_data.health import HealthTracker
from mystira_data.metrics.workload import WorkloadRecorder
from mystira_data.polyglot.consistency.reconcile import Progress, Reconciler, ReconcileReport
from mystira_data.polyglot.consistency.segments import SegmentChecksums
from mystira_data.polyglot.consistency.verify import OnScanned, VerifyReport, verify
from mystira_data.polyglot.controls.record import Task
from mystira_data.polyglot.controls.store import RelationalControlStore
from mystira_data.polyglot.controls.throttle import PAUSED, Held, LagAge, Pacer, Pacers
from mystira_data.polyglot.phase.control import PhaseControl
from mystira_data.polyglot.phase.copies import (
    LOCAL_FILE,
    DocumentMirror,
    LocalCopy,
    MirroredPhaseStore,
)
from mystira_data.polyglot.phase.gates import EvidenceGates, shadow_evidence
from mystira_data.polyglot.phase.guards import Guards
from mystira_data.polyglot.phase.rules import Side, route_for
from mystira_data.polyglot.ports import EntityStore
from mystira_data.polyglot.replication.attempts import RelationalAttempts
from mystira_data.polyglot.replication.lag import Lag, LagMeter
from mystira_data.polyglot.replication.processor import Apply, ChangeSource, Processor
from mystira_data.polyglot.replication.stamped import Stamped
from mystira_data.polyglot.replication.store_order import StoreOrder
from mystira_data.polyglot.resilient import resilient_store
from mystira_data.polyglot.state import audit_log
from mystira_data.polyglot.state.dead_letters import RelationalDeadLetters, persist_sync_failures
from mystira_data.polyglot.state.evidence import EvidenceRecorder
from mystira_data.polyglot.state.leases import RelationalLeaseStore
from mystira_data.polyglot.state.outbox import OutboxSource
from mystira_data.polyglot.state.phases import RelationalPhaseStore
from mystira_data.polyglot.state.verify_log import log_position, record_verify
from mystira_data.polyglot.write.guarded import ApplyMany, apply_if_newer, batch_apply
from mystira_data.polyglot.write.repository import PolyglotRepository
from mystira_data.polyglot.write.secondary import SecondaryWriter, SyncLog
from mystira_data.polyglot.write.shadow import ShadowReader
from mystira_data.polyglot.write.writer_process import WriterProcess
from mystira_data.query import Filter, Op, Query
from mystira_data.relational import RelationalStore
from mystira_data.resilience import CallHook, CircuitBreaker, Policy
from mystira_data.settings import Caching, Phase
from mystira_data.tracing import store_call_spans
from mystira_data.types import JsonDoc

log = logging.getLogger(__name__)


# The door to game data: the cache in front of the routing repository, or the routing
# repository itself when caching is off.
GameData = CachedRepository | PolyglotRepository


@dataclass
class Polyglot:
    """The opened layer.

    ``repository`` is the one door to game data for every consumer (CLI, demo, simulator,
    API, tests, benchmarks): cached when `Caching` says so. ``router`` is the same routing
    repository without the cache; it and the raw stores (``documents``, ``relational``,
    ``raw_relational``) are for the operations that must see the stores themselves: verify,
    backfill, repair, replication, status counts, the phase guards. They write only the side
    reads do not use (or compare both), and a phase move that changes the read side drops
    the container's cache entries, so the cache never hides what they did.
    """

    stores: Stores
    documents: Stamped  # the document store, our writes marked (`replication.marker`)
    relational: EntityStore
    control: PhaseControl
    router: PolyglotRepository
    guards: Guards
    breakers: dict[str, CircuitBreaker] = field(default_factory=dict)
    gates: EvidenceGates | None = None
    evidence: EvidenceRecorder = field(default_factory=EvidenceRecorder)
    health: HealthTracker = field(default_factory=HealthTracker)
    pacers: Pacers | None = None  # operator controls (`polyglot.controls`)
    repository: GameData = field(init=False)

    def __post_init__(self) -> None:
        self.repository = self.router

    @property
    def raw_relational(self) -> RelationalStore:
        assert self.stores.relational is not None
        return self.stores.relational

    def pacer(self, container: str, task: Task) -> Pacer:
        """The pacer ``task`` workers of ``container`` consult before each batch."""
        if self.pacers is None:
            self.pacers = Pacers(RelationalControlStore(self.raw_relational), lag=self._lag_age)
        return self.pacers.get(container, task)

    def _lag_age(self, container: str) -> LagAge:
        async def age() -> float | None:
            return (await self.lag(container)).oldest_age_s

        return age

    def processor(
        self,
        container: str,
        direction: Side,
        *,
        owner: str | None = None,
        batch_size: int = 200,
        pacer: Pacer | None = None,
    ) -> Processor:
        """A replication processor into ``direction`` (the side being caught up)."""
        rel = self.raw_relational
        if direction is Side.RELATIONAL:
            source: ChangeSource = self.stores.documents
            order = self.store_order()
            apply: Apply = order.apply
            apply_many: ApplyMany = order.apply_many
            log = "change-feed"
        else:
            source = OutboxSource(rel)
            apply, apply_many = self.apply_to_documents, self.apply_many_to_documents
            log = "outbox"
        pp = self.stores.settings.polyglot_persistence
        return Processor(
            container,
            source,
            apply,
            RelationalLeaseStore(rel),
            RelationalDeadLetters(rel, log),
            owner=owner,
            batch_size=batch_size,
            apply_many=apply_many,
            attempts=RelationalAttempts(rel, direction.value),
            parent_wait_s=pp.parent_wait_ms / 1000,
            pacer=pacer,
        )

    def store_order(self) -> StoreOrder:
        """The document → relational applies, ordered by the document store (`store_order`)."""
        return StoreOrder(
            self.documents,
            self.relational,
            self.apply_to_relational,
            self.apply_many_to_relational,
        )

    async def reconcile(
        self, container: str, *, progress: Progress | None = None
    ) -> ReconcileReport:
        """Hard deletes of the document store reach PostgreSQL (see `consistency.reconcile`)."""
        rec = Reconciler(
            self.control,
            self.documents,
            self.relational,
            self.raw_relational,
            self.store_order(),
            progress,
        )
        return await rec.run(container)

    async def apply_to_relational(self, container: str, doc: JsonDoc) -> Any:
        """Version-guarded apply; a parent that has not arrived yet is copied first.

        A parent in neither store is a `ForeignKeyViolation` naming it ("parent
        Accounts/<id> missing"): the reason a dead letter or a quarantine then shows.
        """
        with stored_defaults():  # copying a stored doc: absent fields must not read as "now"
            try:
                return await self.raw_relational.upsert_if_newer(container, [doc], outbox=False)
            except ForeignKeyViolation as exc:
                missing = await self._copy_parent(container, doc)
                if missing is not None:
                    raise missing from exc
                return await self.raw_relational.upsert_if_newer(container, [doc], outbox=False)

    async def apply_many_to_relational(self, container: str, docs: list[JsonDoc]) -> Any:
        """A whole change batch in one version-guarded transaction (no parent fix-up: a
        foreign-key failure makes the processor replay the batch through `apply_to_relational`)."""
        with stored_defaults():
            return await self.raw_relational.upsert_if_newer(container, docs, outbox=False)

    async def apply_many_to_documents(self, container: str, docs: list[JsonDoc]) -> Any:
        return await batch_apply(self.documents)(container, docs)

    async def _copy_parent(self, container: str, doc: JsonDoc) -> ForeignKeyViolation | None:
        """Copy ``doc``'s parent row (V002 foreign key) from the document store, if there;
        else the error naming the missing parent."""
        link = catalog.get(container).parent
        if link is None or not doc.get(link.field):
            return ForeignKeyViolation(f"{container}/{doc.get('id')}: a parent row is missing")
        parent_id = doc[link.field]
        q = Query(
            filters=(Filter("id", Op.EQ, parent_id),), cross_partition=True, include_deleted=True
        )
        found = (await self.documents.query(link.container, q)).items
        if not found:
            return ForeignKeyViolation(
                f"{container}/{doc.get('id')}: parent {link.container}/{parent_id} missing",
                path=link.field,
            )
        await self.apply_to_relational(link.container, found[0])
        return None

    async def apply_to_documents(self, container: str, doc: JsonDoc) -> Any:
        return await apply_if_newer(self.documents, container, doc)

    async def replicate_once(self, container: str, *, owner: str | None = None) -> int:
        """Catch the secondary of ``container``'s phase up from the primary's log.

        Without ``owner`` this is a one-off worker: it gives its leases back when done, so
        the next run (or another worker) is not locked out until they expire.
        """
        route = route_for(container, await self.control.phase(container))
        enabled = self.stores.settings.polyglot_persistence.enable_compensation
        if route.secondary is None or not enabled:
            return 0
        pacer = self.pacer(container, Task.REPLICATION)
        worker = self.processor(container, route.secondary, owner=owner, pacer=pacer)
        try:
            return await worker.run_once()
        finally:
            if owner is None:
                await worker.release()

    async def replicate_until_caught_up(
        self, container: str, *, owner: str | None = None, timeout_s: float = 120.0
    ) -> int:
        """Replicate until nothing is pending; waits out leases of a dead worker."""
        owner = owner or f"once-{id(self):x}"
        applied, deadline = 0, time.monotonic() + timeout_s
        while True:
            moved = await self.replicate_once(container, owner=owner)
            applied += moved
            if moved == 0 and (await self.lag(container)).pending == 0:
                return applied
            if moved == 0 and self.pacer(container, Task.REPLICATION).state == PAUSED:
                raise Held(f"{container}: replication is paused by an operator")
            if time.monotonic() > deadline:
                raise StoreUnavailable(f"{container}: replication did not catch up in time")
            if moved == 0:
                await asyncio.sleep(0.5)  # ranges still leased by another (maybe dead) worker

    async def catch_up(self, container: str, current: Phase, target: Phase) -> None:
        """Before a switch: drain queued secondary writes, then replicate both directions."""
        await self.router.secondary.drain()
        if not catalog.get(container).is_relational:
            return
        for side in (Side.RELATIONAL, Side.DOCUMENT):
            if side in (
                route_for(container, current).secondary,
                route_for(container, target).secondary,
            ):
                worker = self.processor(container, side)
                try:
                    while await worker.run_once():
                        pass
                finally:
                    await worker.release()  # so running replicators resume at once

    async def caught_up(self, container: str, current: Phase, target: Phase) -> bool:
        """Nothing left to apply in the directions `catch_up` covers, whoever leases them
        (before a flip, when writes are fenced and only replication still moves)."""
        if not catalog.get(container).is_relational:
            return True
        for side in (Side.RELATIONAL, Side.DOCUMENT):
            if side not in (
                route_for(container, current).secondary,
                route_for(container, target).secondary,
            ):
                continue
            if side is Side.RELATIONAL:
                pending = (await self.guards.meter.feed_lag(container)).pending
            else:
                pending, _ = await OutboxSource(self.raw_relational).pending(container)
            if pending:
                return False
        return True

    async def drain_secondary(self, container: str) -> None:
        """At a switch's fence: no write for the old secondary stays queued in this process."""
        await self.router.secondary.drain()

    async def close(self) -> None:
        """Drain the secondary queue (and stop its writer process), then record what failed."""
        if isinstance(self.repository, CachedRepository):
            await self.repository.close()
        await self.router.secondary.close()
        await self.flush_sync_log()
        await self.evidence.stop(self.raw_relational)

    async def flush_sync_log(self) -> None:
        """Record this process's failed secondary writes; with the relational store down they
        are only logged (each write is in the primary's log, which replication replays)."""
        failures = self.router.secondary.sync_log.drain()
        try:
            await persist_sync_failures(self.raw_relational, failures)
        except StoreUnavailable as exc:
            log.warning(
                "%d failed secondary write(s) not recorded in the sync log (%s); replication "
                "still copies them from the primary's log",
                len(failures),
                exc,
            )

    async def lag(self, container: str) -> Lag:
        """Unapplied changes of the active direction and the age of the oldest."""
        return await self.guards.meter.lag(container)

    async def pair(self, container: str) -> tuple[EntityStore, EntityStore]:
        """(primary, the other store) for ``container``'s live phase."""
        route = route_for(container, await self.control.phase(container))
        sides = {Side.DOCUMENT: self.documents, Side.RELATIONAL: self.relational}
        other = Side.RELATIONAL if route.primary is Side.DOCUMENT else Side.DOCUMENT
        return sides[route.primary], sides[other]

    async def verify_total(self, container: str) -> int:
        """About how many documents a verify of ``container`` compares (the primary's, with
        tombstones): the total of its progress."""
        primary, _ = await self.pair(container)
        return await primary.count(container, Query(cross_partition=True, include_deleted=True))

    async def verify(
        self,
        container: str,
        *,
        settle_s: float = 1.0,
        shortcut: bool = True,
        on_scanned: OnScanned | None = None,
    ) -> VerifyReport:
        """Verify ``container``'s two stores, record the result, return the report.

        ``shortcut``: on PostgreSQL, compare by segment checksums first (see `segments`).
        ``on_scanned``: told the documents compared so far, for progress.
        """
        position = await log_position(self.raw_relational, container)  # before it reads
        primary, secondary = await self.pair(container)
        segments = None
        if shortcut and SegmentChecksums.usable(self.raw_relational, container):
            segments = SegmentChecksums(self.raw_relational, self.documents)
        report = await verify(
            container,
            primary,
            secondary,
            catalog.get(container).pk_field,
            settle_s=settle_s,
            segments=segments,
            on_scanned=on_scanned,
        )
        await record_verify(self.raw_relational, report, position)
        metrics.verified(container, report.scanned, len(report.differences))
        return report


def resilient(
    store: EntityStore, name: str, stores: Stores, observers: Sequence[CallHook] = ()
) -> tuple[EntityStore, CircuitBreaker]:
    """``store`` behind retry + breaker; its calls feed the metrics and ``observers``."""
    pp = stores.settings.polyglot_persistence
    breaker = CircuitBreaker(name, pp.breaker_failure_threshold, pp.breaker_open_seconds)
    policy = Policy(breaker, attempts=pp.retry_attempts, base_delay=pp.retry_base_delay_ms / 1000)
    policy.observers.extend((metrics.observe_call, *observers))
    return resilient_store(store, policy), breaker


def _offload(stores: Stores) -> WriterProcess | None:
    """The async queue's writer process, where it can open the very same stores."""
    pp = stores.settings.polyglot_persistence
    if pp.secondary_write_mode != "async" or not pp.async_writer_process:
        return None
    return WriterProcess(stores.settings) if stores.from_settings else None


def build(stores: Stores, *, refresh_s: float = 2.0) -> Polyglot:
    """The polyglot layer over opened stores (the relational store must be open)."""
    if stores.relational is None:
        raise ValueError("the polyglot layer needs the relational store opened")
    check_caching(stores.settings.caching)
    pp = stores.settings.polyglot_persistence
    tracker = HealthTracker()
    control = PhaseControl(phase_store(stores), pp, refresh_s=refresh_s)
    spans = store_call_spans(lambda container: control.cached(container).phase.value)
    watch: list[CallHook] = [tracker.observe] if spans is None else [tracker.observe, spans]
    resilient_documents, doc_breaker = resilient(stores.documents, "documents", stores, watch)
    documents = Stamped(resilient_documents)  # our writes carry the writer mark
    relational, rel_breaker = resilient(stores.relational, "relational", stores, watch)
    writer = SecondaryWriter(
        timeout_s=pp.dual_write_timeout_ms / 1000,
        mode=pp.secondary_write_mode,
        sync_log=SyncLog(),
        offload=_offload(stores),
    )
    breakers = {"documents": doc_breaker, "relational": rel_breaker}
    workload = WorkloadRecorder()  # counted by the repository, flushed with the gate evidence
    recorder = EvidenceRecorder(breakers, workload)
    shadow = ShadowReader(pp.consistency_sample_rate) if pp.enable_consistency_validation else None
    if shadow is not None:
        shadow.on_result = shadow_evidence(control, recorder)
    repo = PolyglotRepository(documents, relational, control, writer, shadow, workload)
    meter = LagMeter(control, stores.documents, stores.relational)
    guards = Guards(control, stores.documents, stores.relational, meter)
    guards.install()
    gates = EvidenceGates(stores.relational, meter, stores.settings.gates, recorder)
    poly = Polyglot(
        stores, documents, relational, control, repo, guards, breakers, gates, recorder, tracker
    )
    control.gates = gates.check
    control.audit = partial(audit_log.append, stores.relational)
    control.catch_up = poly.catch_up
    control.caught_up = poly.caught_up
    control.on_fence = poly.drain_secondary
    if stores.cache is not None and stores.settings.caching.enabled:
        _put_cache_in_front(poly, stores.cache, stores.settings.caching)
    return poly


def check_caching(caching: Caching) -> None:
    """Refuse, before anything opens, a cache that could serve this process's own writes stale."""
    if caching.enabled and not (
        caching.enable_write_through or caching.enable_invalidation_on_change
    ):
        raise ConfigError(
            "Caching:EnableWriteThrough",
            "a cache that neither writes through nor invalidates would serve documents older "
            "than this process's own writes: enable one of EnableWriteThrough and "
            "EnableInvalidationOnChange, or set Caching:Enabled to false",
        )


def _put_cache_in_front(poly: Polyglot, cache: Cache, caching: Caching) -> None:
    """Cache-aside reads and write-through or invalidation on writes, as ``caching`` says;
    cascaded child writes go through the cache too, and a phase change drops the
    container's entries (here and, on their next reload, in every other process)."""
    cached = CachedRepository(poly.router, cache, caching, before_read=poly.control.phase)
    cached.on_hit = poly.router.workload.read  # cache hits are reads of the workload too
    poly.repository = poly.router.door = cached
    poly.control.on_change = cached.container_moved


def phase_store(stores: Stores) -> MirroredPhaseStore:
    """The phase record, mirrored into the document store and a local copy (`phase_copies`)."""
    assert stores.relational is not None
    return MirroredPhaseStore(
        RelationalPhaseStore(stores.relational),
        DocumentMirror(stores.documents),
        LocalCopy(stores.settings.data_dir / LOCAL_FILE),
        stores.settings.polyglot_persistence.phase_for,
    )
