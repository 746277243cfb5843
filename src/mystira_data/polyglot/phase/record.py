"""The durable phase record of each container: its types, and the store port it lives in.

`PhaseStore` is implemented over the relational store's ``_polyglot_phase`` tables
(`state.phases.RelationalPhaseStore`) and in memory (`MemoryPhaseStore`, for unit tests and
single-process tools). `control.PhaseControl` reads and changes records through it; every
change is a compare-and-set on the record's version.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Protocol

from mystira_data.settings import Phase


@dataclass(frozen=True)
class Transition:
    container: str
    from_phase: Phase
    to_phase: Phase
    at: datetime
    reason: str
    forced: bool


@dataclass(frozen=True)
class PendingSwitch:
    """A scheduled switch as loaded: its times on the store's clock, and how far off they were."""

    target: Phase
    fence_at: datetime
    expires_at: datetime
    fence_in_s: float  # load → fence (≤ 0: writes are paused)
    expires_in_s: float  # load → expiry (≤ 0: expired)
    abandoned: bool = False

    @property
    def state(self) -> str:
        if self.abandoned:
            return "abandoned"
        if self.expires_in_s <= 0:
            return "expired"
        return "fenced" if self.fence_in_s <= 0 else "scheduled"

    def as_json(self) -> dict[str, object]:
        """As `phase get --json` and the admin API show it."""
        return {
            "target": self.target.value,
            "state": self.state,
            "fenceAt": self.fence_at.isoformat(),
            "expiresAt": self.expires_at.isoformat(),
        }


class Source(StrEnum):
    """Where a process read its phase records from (`phase_copies`)."""

    RECORD = "record"  # the durable record itself (relational store)
    MIRROR = "mirror"  # its copy in the document store
    LOCAL = "local"  # the last records this host saw (a file under the data dir)


@dataclass(frozen=True)
class PhaseRecord:
    """One container's durable record; ``version`` 0: none yet (configuration applies).

    ``held``: the copy it came from cannot rule out a switch this process does not see, so
    writes of the container wait (reads route by ``phase``).
    """

    phase: Phase
    version: int = 0
    pending: PendingSwitch | None = None
    held: bool = False
    source: Source = Source.RECORD

    @property
    def unsettled(self) -> bool:
        """A move may be under way: a pending switch that is not abandoned."""
        return self.pending is not None and not self.pending.abandoned


class PhaseStore(Protocol):
    """The durable record. Each change is a compare-and-set on the record's ``version``
    (0: no record yet) and answers whether it won; the new version is ``version + 1``."""

    async def load(self) -> dict[str, PhaseRecord]: ...

    async def save(self, transition: Transition, version: int) -> bool:
        """Move at once (clears a pending switch that was abandoned), with history."""
        ...

    async def schedule(
        self,
        container: str,
        current: Phase,
        target: Phase,
        version: int,
        fence_in_s: float,
        expires_in_s: float,
    ) -> bool:
        """Record a pending switch; both times count from the store's own ``now``."""
        ...

    async def flip(self, transition: Transition, version: int) -> bool:
        """Complete the pending switch, only while it is neither expired nor abandoned."""
        ...

    async def abandon(self, container: str, version: int, *, expired_only: bool) -> bool:
        """Mark the pending switch abandoned (with ``expired_only``: only once expired)."""
        ...

    async def history(self, container: str | None = None) -> list[Transition]: ...


@dataclass
class _Scheduled:
    target: Phase
    fence_at: float
    expires_at: float
    abandoned: bool = False


@dataclass
class MemoryPhaseStore:
    """A `PhaseStore` for unit tests and single-process tools; ``clock`` plays the server's."""

    phases: dict[str, Phase] = field(default_factory=dict)
    transitions: list[Transition] = field(default_factory=list)
    clock: Callable[[], float] = time.monotonic
    versions: dict[str, int] = field(default_factory=dict)
    scheduled: dict[str, _Scheduled] = field(default_factory=dict)

    async def load(self) -> dict[str, PhaseRecord]:
        return {
            c: PhaseRecord(p, self._version(c), self._pending(c)) for c, p in self.phases.items()
        }

    async def save(self, transition: Transition, version: int) -> bool:
        if not self._cas(transition.container, version, transition.to_phase):
            return False
        self.transitions.append(transition)
        return True

    async def schedule(
        self,
        container: str,
        current: Phase,
        target: Phase,
        version: int,
        fence_in_s: float,
        expires_in_s: float,
    ) -> bool:
        if not self._cas(container, version, current):
            return False
        now = self.clock()
        self.scheduled[container] = _Scheduled(target, now + fence_in_s, now + expires_in_s)
        return True

    async def flip(self, transition: Transition, version: int) -> bool:
        s = self.scheduled.get(transition.container)
        if s is None or s.abandoned or s.target is not transition.to_phase:
            return False
        if self.clock() >= s.expires_at:
            return False
        return await self.save(transition, version)

    async def abandon(self, container: str, version: int, *, expired_only: bool) -> bool:
        s = self.scheduled.get(container)
        if s is None or s.abandoned or self._version(container) != version:
            return False
        if expired_only and self.clock() < s.expires_at:
            return False
        s.abandoned = True
        self.versions[container] = version + 1
        return True

    async def history(self, container: str | None = None) -> list[Transition]:
        return [t for t in self.transitions if container in (None, t.container)]

    def _version(self, container: str) -> int:
        # Tests may set ``phases`` directly: such a record counts as version 1.
        return self.versions.get(container, 1) if container in self.phases else 0

    def _cas(self, container: str, version: int, phase: Phase) -> bool:
        if self._version(container) != version:
            return False
        self.phases[container] = phase
        self.versions[container] = version + 1
        self.scheduled.pop(container, None)
        return True

    def _pending(self, container: str) -> PendingSwitch | None:
        s = self.scheduled.get(container)
        if s is None:
            return None
        now, wall = self.clock(), datetime.now(UTC)
        return PendingSwitch(
            s.target,
            wall + timedelta(seconds=s.fence_at - now),
            wall + timedelta(seconds=s.expires_at - now),
            s.fence_at - now,
            s.expires_at - now,
            s.abandoned,
        )
