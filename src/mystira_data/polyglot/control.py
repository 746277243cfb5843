"""The live phase of every container: durable record + history, cached per process.

The record lives in a `PhaseStore` (the relational store's `_polyglot_phase` tables in
production, memory in unit tests). Every process re-reads it at most ``refresh_s`` old, so a
change reaches all instances within a few seconds. Inside one process a switch waits for
in-flight writes of that container (a readers-writer gate) so no write straddles two routings.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from mystira_data import catalog
from mystira_data.errors import PhaseTransitionRefused, StoreUnavailable
from mystira_data.polyglot import phases
from mystira_data.settings import Phase, PolyglotPersistence

log = logging.getLogger(__name__)
UNAVAILABLE_PAUSE_S = 1.0


@dataclass(frozen=True)
class Transition:
    container: str
    from_phase: Phase
    to_phase: Phase
    at: datetime
    reason: str
    forced: bool


class PhaseStore(Protocol):
    async def load(self) -> dict[str, Phase]: ...
    async def save(self, transition: Transition) -> None: ...
    async def history(self, container: str | None = None) -> list[Transition]: ...


@dataclass
class MemoryPhaseStore:
    """A `PhaseStore` for unit tests and single-process tools."""

    phases: dict[str, Phase] = field(default_factory=dict)
    transitions: list[Transition] = field(default_factory=list)

    async def load(self) -> dict[str, Phase]:
        return dict(self.phases)

    async def save(self, transition: Transition) -> None:
        self.phases[transition.container] = transition.to_phase
        self.transitions.append(transition)

    async def history(self, container: str | None = None) -> list[Transition]:
        return [t for t in self.transitions if container in (None, t.container)]


class Gate:
    """Many writers or one switcher (an asyncio readers-writer lock)."""

    def __init__(self) -> None:
        self._writers = 0
        self._switching = False
        self._cond = asyncio.Condition()

    @asynccontextmanager
    async def write(self) -> AsyncIterator[None]:
        async with self._cond:
            await self._cond.wait_for(lambda: not self._switching)
            self._writers += 1
        try:
            yield
        finally:
            async with self._cond:
                self._writers -= 1
                self._cond.notify_all()

    @asynccontextmanager
    async def switch(self) -> AsyncIterator[None]:
        async with self._cond:
            await self._cond.wait_for(lambda: not self._switching)
            self._switching = True
            await self._cond.wait_for(lambda: self._writers == 0)
        try:
            yield
        finally:
            async with self._cond:
                self._switching = False
                self._cond.notify_all()


# A guard inspects a forward move into a guarded phase; returns a reason to refuse, or None.
Guard = Callable[[str, Phase], Awaitable[str | None]]
CatchUp = Callable[[str, Phase, Phase], Awaitable[None]]


class PhaseControl:
    """Reads and changes phases; see the module docstring for the consistency story."""

    def __init__(
        self,
        store: PhaseStore,
        config: PolyglotPersistence,
        *,
        refresh_s: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.config = config
        self.refresh_s = refresh_s
        self.clock = clock
        self._cache: dict[str, Phase] = {}
        self._loaded_at: float | None = None
        self._gates: dict[str, Gate] = {}
        self.guards: list[Guard] = []
        self.catch_up: CatchUp | None = None

    def gate(self, container: str) -> Gate:
        return self._gates.setdefault(container, Gate())

    async def phase(self, container: str) -> Phase:
        """The live phase (durable record, else configuration; CosmosOnly if not relational)."""
        if self._loaded_at is None or self.clock() - self._loaded_at >= self.refresh_s:
            await self._reload()
        if not catalog.get(container).is_relational:
            return Phase.COSMOS_ONLY
        return self._cache.get(container, self.config.phase_for(container))

    async def _reload(self) -> None:
        try:
            self._cache = await self.store.load()
            self._loaded_at = self.clock()
        except StoreUnavailable as exc:
            # The record's store is down: keep routing by the last known phases (a switch
            # cannot happen meanwhile, it needs that store) and retry after a pause.
            log.warning("phase record unavailable, using last known phases: %s", exc)
            self._loaded_at = self.clock() + max(UNAVAILABLE_PAUSE_S - self.refresh_s, 0)

    async def all_phases(self) -> dict[str, Phase]:
        return {c.name: await self.phase(c.name) for c in catalog.CONTAINERS}

    async def set(
        self, container: str, target: Phase, *, force: bool = False, reason: str = ""
    ) -> Transition:
        """Move one step; forward into a guarded phase needs every guard to pass or --force."""
        if force and not reason.strip():
            raise PhaseTransitionRefused("--force needs a --reason to record")
        async with self.gate(container).switch():
            self._loaded_at = None
            current = await self.phase(container)
            if current is target:
                raise PhaseTransitionRefused(f"{container} is already {target.value}")
            phases.check_step(container, current, target)
            phases.check_parent_order(container, target, await self.all_phases())
            await self._check_guards(container, current, target, force)
            if self.catch_up is not None:
                await self.catch_up(container, current, target)
            transition = Transition(container, current, target, datetime.now(UTC), reason, force)
            await self.store.save(transition)
            self._cache[container] = target
            return transition

    async def _check_guards(
        self, container: str, current: Phase, target: Phase, force: bool
    ) -> None:
        if not phases.is_forward(current, target) or target not in phases.GUARDED or force:
            return
        reasons = [r for g in self.guards if (r := await g(container, target))]
        if not self.guards:
            reasons.append("no consistency proof is available (verify has not run)")
        if reasons:
            raise PhaseTransitionRefused(
                f"{container} → {target.value} refused: {'; '.join(reasons)} "
                "(use --force --reason to override)"
            )
