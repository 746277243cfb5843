"""The live phase of every container: durable record + history, cached per process.

The record (`phase.record`) lives in a `PhaseStore` (the relational store's
``_polyglot_phase`` tables in production, memory in unit tests). Every process re-reads it at
most ``refresh_s`` old, so a change reaches all instances within a few seconds. Inside one
process a switch waits for in-flight writes of that container (a readers-writer `gate.Gate`)
so no write straddles two routings.

Switching the primary: a scheduled, fenced switch
-------------------------------------------------
Between processes the refresh interval alone is not enough when a step changes the primary
(`phases.needs_fence`): an instance still on the old phase and one already on the new one
would both hand out ``_version`` numbers, from different stores, and one acknowledged write
would be lost. Such a step takes four moves:

1. *Schedule.* The switcher saves a pending switch on the record (compare-and-set on its
   ``version``): the target, a fence start T1 = now + ``refresh_s`` + ``PhaseSwitchMarginMs``
   and an expiry T1 + ``PhaseSwitchMaxFreezeMs``. Both are taken on ONE clock, the record
   store's (the database server's ``now``), and every load reports them as seconds left, so
   machine clocks never need to agree. Each process turns those into its own monotonic clock,
   rounding towards safety: a reader counts from before its query went out (its fence starts
   a little early), the switcher from after its save came back (it waits a little long).
2. *Fence.* Every process re-reads the record within ``refresh_s``, so by T1 each one knows
   of the switch. From T1 no write of that container starts (`writing`): it waits,
   re-reading the record every ``poll_s`` (0.1 s), for the flip and then routes by the new
   phase, or fails with `StoreUnavailable` after ``PhaseSwitchWriteWaitMs``; it never writes
   under a stale routing. The first paused write also drains this process's async secondary
   queue (`on_fence`), so no write for the old secondary stays queued. Reads never pause.
3. *Drain, then catch up.* The switcher waits until T1 + ``PhaseSwitchDrainMs`` so writes
   that started before T1 have landed in the old primary, then runs ``catch_up`` while nobody
   writes, repeating it until ``caught_up`` reports nothing pending (a replicator elsewhere
   may hold a range's lease, which catch-up then skips): both stores then hold every
   acknowledged write. The drain bound has to exceed the slowest primary write (store
   timeouts and retries); a write holding its routing longer is logged. A late *secondary*
   apply is harmless: it is version-guarded and its version is already in the log that
   catch-up replayed.
4. *Flip.* The switcher saves the new phase (compare-and-set on the version, and only while
   the switch has neither expired nor been abandoned), clearing the pending switch. Paused
   writers see it at their next poll.

A switcher that dies between schedule and flip leaves a switch that expires: the first
process that loads it expired marks it abandoned (compare-and-set, so the flip and the
abandonment cannot both win) and every process resumes under the old phase. ``mystira phase
get`` shows pending, expired and abandoned switches; a new ``set`` may then be issued. A
switcher that fails on its own abandons its switch at once.

Steps that keep the primary switch at once, as before (why: `phases`).

When the record's store is unavailable, the store behind `PhaseControl` (`phase_copies`)
answers from the record's mirror in the document store, which every move announces itself in
before it starts: a container whose copy cannot rule out a move is *held* (its writes wait as
at a fence; reads go on). A view older than ``refresh_s`` + margin (every source failed since)
holds writes the same way: a switch scheduled after it could have fenced by then. A write that
outlasts the drain bound and a record-store clock that jumps are outside the guarantee.

Configuration names only the phase of a container that has no record yet. The first time a
process reads the record itself, a configured phase beyond it is refused (`ConfigError`
naming `mystira phase set`), except on a truly empty container, where the configured phase
becomes its first record (`adopt`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from enum import Enum

from mystira_data import catalog
from mystira_data.errors import ConfigError, StoreUnavailable
from mystira_data.polyglot.phase import rules as phases
from mystira_data.polyglot.phase.gate import Gate
from mystira_data.polyglot.phase.gate_check import GateCheck
from mystira_data.polyglot.phase.record import (
    PhaseRecord,
    PhaseStore,
    Source,
    Transition,
)
from mystira_data.polyglot.phase.switch import Switcher
from mystira_data.polyglot.state.audit_log import AuditEntry
from mystira_data.settings import Phase, PolyglotPersistence

log = logging.getLogger(__name__)
UNAVAILABLE_PAUSE_S = 1.0
# How often a paused writer re-reads the record: the delay between the flip and its write.
FENCE_POLL_S = 0.1

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class SwitchTiming:
    """The fenced switch's bounds, in seconds (settings ``PolyglotPersistence:PhaseSwitch*``)."""

    margin_s: float
    drain_s: float
    max_freeze_s: float
    write_wait_s: float
    poll_s: float = FENCE_POLL_S

    @classmethod
    def of(cls, config: PolyglotPersistence) -> SwitchTiming:
        return cls(
            margin_s=config.phase_switch_margin_ms / 1000,
            drain_s=config.phase_switch_drain_ms / 1000,
            max_freeze_s=config.phase_switch_max_freeze_ms / 1000,
            write_wait_s=config.phase_switch_write_wait_ms / 1000,
        )


class _Fence(Enum):
    OPEN = "open"  # writes may start
    CLOSED = "closed"  # a switch is fenced: wait for the flip
    EXPIRED = "expired"  # the switch ran out of time: abandon it, then write
    HELD = "held"  # our view cannot rule out a switch: wait for a trustworthy one


# A guard inspects a forward move into a guarded phase; returns a reason to refuse, or None.
Guard = Callable[[str, Phase], Awaitable[str | None]]
CatchUp = Callable[[str, Phase, Phase], Awaitable[None]]
CaughtUp = Callable[[str, Phase, Phase], Awaitable[bool]]
OnFence = Callable[[str], Awaitable[None]]
# Makes ``phase`` the first record of an empty container, or raises `ConfigError`.
Adopt = Callable[[str, Phase], Awaitable[None]]
# The evidence gates' verdicts on a move (`gates.EvidenceGates.check`).
CheckGates = Callable[[str, Phase, Phase], Awaitable[list[GateCheck]]]
Audit = Callable[[AuditEntry], Awaitable[object]]


class PhaseControl:
    """Reads and changes phases; see the module docstring for the consistency story."""

    def __init__(
        self,
        store: PhaseStore,
        config: PolyglotPersistence,
        *,
        refresh_s: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.store = store
        self.config = config
        self.refresh_s = refresh_s
        self.timing = SwitchTiming.of(config)
        self.clock = clock
        self.sleep = sleep
        self._records: dict[str, PhaseRecord] = {}
        self._fence_starts: dict[str, float] = {}  # on our clock: writes pause from here
        self._view_at: float | None = None  # when the cached view's load was sent
        self._retry_at = float("-inf")  # after a failed load, not before this
        self._poll_lock = asyncio.Lock()
        self._gates: dict[str, Gate] = {}
        self._drained: set[tuple[str, int]] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.guards: list[Guard] = []
        self.gates: CheckGates | None = None
        self.audit: Audit | None = None  # told every move, with its actor and evidence
        self.catch_up: CatchUp | None = None
        self.caught_up: CaughtUp | None = None
        self.on_fence: OnFence | None = None
        self.adopt: Adopt | None = None
        self._config_checked = False
        # Told (container, seconds until writes pause) once a switch of the primary is
        # scheduled, i.e. after every guard passed: `phase set` says so only then.
        self.on_scheduled: Callable[[str, float], None] | None = None
        # Told each container whose phase this process sees change (its own move, or
        # another's on reload), before anything routes by the new phase: the cache drops
        # the container's entries, which the old read store may have filled.
        self.on_change: Callable[[str], None] | None = None

    def gate(self, container: str) -> Gate:
        return self._gates.setdefault(container, Gate())

    # -- reading -------------------------------------------------------------------------
    async def phase(self, container: str) -> Phase:
        """The live phase (durable record, else configuration; CosmosOnly if not relational)."""
        await self._refresh(self.refresh_s)
        if not catalog.get(container).is_relational:
            return Phase.COSMOS_ONLY
        return self.cached(container).phase

    async def record(self, container: str) -> PhaseRecord:
        """The live record, pending switch included (what `mystira phase get` shows)."""
        phase = await self.phase(container)
        return self._records.get(container) or PhaseRecord(phase)

    @property
    def source(self) -> Source:
        """Where the current view came from (the record, or one of its copies)."""
        return next((r.source for r in self._records.values()), Source.RECORD)

    async def all_phases(self) -> dict[str, Phase]:
        return {c.name: await self.phase(c.name) for c in catalog.CONTAINERS}

    def cached(self, container: str) -> PhaseRecord:
        return self._records.get(container) or PhaseRecord(self.config.phase_for(container))

    async def _refresh(self, max_age: float) -> None:
        now = self.clock()
        if now >= self._retry_at and (self._view_at is None or now - self._view_at >= max_age):
            await self.reload()

    async def reload(self, *, strict: bool = False) -> None:
        sent = self.clock()  # the view is at least this old: fences computed from it start early
        try:
            records = await self.store.load()
        except StoreUnavailable as exc:
            if strict:
                raise
            # The record's store is down: keep routing by the last known phases (a switch
            # cannot happen meanwhile, it needs that store) and retry after a pause.
            log.warning("phase record unavailable, using last known phases: %s", exc)
            self._retry_at = self.clock() + max(UNAVAILABLE_PAUSE_S, self.refresh_s)
            return
        if self._view_at is not None and sent < self._view_at:
            return  # a newer view arrived while this load was in flight
        if not self._config_checked and _authoritative(records):
            if await self._check_config(records):  # raises until the configuration fits
                records = await self.store.load()
            self._config_checked = True
        if self._view_at is not None:  # the first load changes nothing anyone routed by
            self._announce({c: r.phase for c, r in records.items()})
        self._records = records
        self._fence_starts = {
            c: sent + r.pending.fence_in_s for c, r in records.items() if r.pending is not None
        }
        self._view_at = sent

    async def _check_config(self, records: dict[str, PhaseRecord]) -> bool:
        """Refuse a configured phase beyond the record; True if one was adopted."""
        adopted = False
        for spec in catalog.relational_containers():
            configured = self.config.phase_for(spec.name)
            record = records.get(spec.name) or PhaseRecord(Phase.COSMOS_ONLY)
            if phases.index(configured) <= phases.index(record.phase):
                continue
            if record.version == 0 and self.adopt is not None:
                await self.adopt(spec.name, configured)
                adopted = True
                continue
            raise ConfigError(
                "PolyglotPersistence:Phase",
                f"{spec.name} is configured {configured.value} but its phase record says "
                f"{record.phase.value}; the record wins and moves only with `mystira phase "
                f"set {spec.name} PHASE` (remove the setting or set it to "
                f"{record.phase.value})",
            )
        return adopted

    def remember(self, container: str, record: PhaseRecord, fence_start: float | None) -> None:
        """Our own change, before the next load shows it."""
        self._announce({container: record.phase})
        self._records[container] = record
        if fence_start is None:
            self._fence_starts.pop(container, None)
        else:
            self._fence_starts[container] = fence_start

    def _announce(self, phases: dict[str, Phase]) -> None:
        if self.on_change is None:
            return
        for container, phase in phases.items():
            if phase is not self.cached(container).phase:
                self.on_change(container)

    # -- writing -------------------------------------------------------------------------
    @asynccontextmanager
    async def writing(self, container: str) -> AsyncIterator[Phase]:
        """Hold a write of ``container``: yields the phase to route it by.

        Waits while a switch of the primary is fenced (at most ``PhaseSwitchWriteWaitMs``,
        then `StoreUnavailable`), and keeps a switch in this process out while it runs.
        """
        deadline = self.clock() + self.timing.write_wait_s
        while True:
            await self._wait_unfenced(container, deadline)
            async with self.gate(container).write(max(deadline - self.clock(), 0.0)):
                phase = await self.phase(container)  # the view within refresh_s
                if self._fence(container) is _Fence.OPEN:
                    started = self.clock()
                    try:
                        yield phase
                    finally:
                        self._warn_if_slow(container, started)
                    return

    async def _wait_unfenced(self, container: str, deadline: float) -> None:
        """Wait while the view shows a fence (the caller re-checks under the gate)."""
        while (state := self._fence(container)) is not _Fence.OPEN:
            if state is _Fence.EXPIRED and await self._abandon_expired(container):
                continue
            seen = self._view_at
            async with self._poll_lock:  # one load per poll, however many writers wait
                await self._refresh(self.timing.poll_s)
            if self._view_at != seen:
                continue  # a newer view: look again before waiting
            self._drain_once(container)
            left = deadline - self.clock()
            if left <= 0:
                raise StoreUnavailable(self._paused(container))
            await self.sleep(min(self.timing.poll_s, left))

    def _fence(self, container: str) -> _Fence:
        if catalog.get(container).is_relational and (
            self.cached(container).held or self._stale()
        ):
            return _Fence.HELD
        pending = self.cached(container).pending
        if pending is None or pending.abandoned:
            return _Fence.OPEN
        if pending.expires_in_s <= 0:
            return _Fence.EXPIRED
        if self.clock() < self._fence_starts.get(container, float("-inf")):
            return _Fence.OPEN
        return _Fence.CLOSED

    def _stale(self) -> bool:
        """No view, or one so old that a switch scheduled after it could have fenced."""
        if self._view_at is None:
            return True
        return self.clock() - self._view_at > self.refresh_s + self.timing.margin_s

    async def _abandon_expired(self, container: str) -> bool:
        """Mark an expired switch abandoned (or see who beat us); True once re-read."""
        record = self.cached(container)
        try:
            if await self.store.abandon(container, record.version, expired_only=True):
                log.warning(
                    "%s: the pending switch expired; writes resume under %s",
                    container,
                    record.phase.value,
                )
            await self.reload(strict=True)
        except StoreUnavailable as exc:
            log.warning("%s: cannot settle an expired switch yet: %s", container, exc)
            return False
        return self.cached(container).version != record.version

    def _drain_once(self, container: str) -> None:
        """At the fence, empty this process's async secondary queue (once per switch)."""
        key = (container, self.cached(container).version)
        if self.on_fence is None or key in self._drained:
            return
        self._drained.add(key)
        task = asyncio.get_running_loop().create_task(self._drain(self.on_fence, container))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _drain(on_fence: OnFence, container: str) -> None:
        try:
            await on_fence(container)
        except Exception:
            log.exception("%s: draining the secondary queue at the fence failed", container)

    def _paused(self, container: str) -> str:
        if self._fence(container) is _Fence.HELD:
            return (
                f"{container}: writes are held: the phase record is unreachable and its copy "
                f"cannot rule out a switch under way (waited {self.timing.write_wait_s:g}s, "
                "PhaseSwitchWriteWaitMs)"
            )
        pending = self.cached(container).pending
        target = pending.target.value if pending is not None else "?"
        return (
            f"{container}: writes are paused for the switch to {target}, which did not "
            f"complete within {self.timing.write_wait_s:g}s (PhaseSwitchWriteWaitMs)"
        )

    def _warn_if_slow(self, container: str, started: float) -> None:
        took = self.clock() - started
        if took > self.timing.drain_s:
            log.warning(
                "%s: a write held its routing %.1fs, longer than PhaseSwitchDrainMs (%.1fs); "
                "a concurrent switch of the primary would not have waited for it: run verify",
                container,
                took,
                self.timing.drain_s,
            )

    # -- switching (`switch.Switcher`) ---------------------------------------------------
    async def set(
        self,
        container: str,
        target: Phase,
        *,
        force: bool = False,
        reason: str = "",
        actor: str = "internal",
    ) -> Transition:
        """Move one step (see `switch.Switcher.set`); ``actor`` goes into the audit log."""
        return await Switcher(self).set(container, target, force=force, reason=reason, actor=actor)

    def forget_view(self) -> None:
        """Make the next read load the record again."""
        self._view_at = None

def _authoritative(records: dict[str, PhaseRecord]) -> bool:
    """Read from the record itself (not a copy); an empty answer is the record's too."""
    return all(r.source is Source.RECORD for r in records.values())
