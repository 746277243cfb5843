"""The store-shape checks a phase move needs (`rules.needs_proof`), and the configured first
phase.

Each guard returns the reason to refuse, or None: the completeness of the store a move makes
the read side, and foreign writers (another app still writing the container's documents,
which a PostgreSQL primary would never see). The evidence gates (lag, verify position,
shadow consistency, error rate) are in `gates`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from mystira_data.documents.port import DocumentStore
from mystira_data.errors import ConfigError
from mystira_data.polyglot.phase.control import PhaseControl
from mystira_data.polyglot.phase.record import Transition
from mystira_data.polyglot.phase.rules import GUARDED, ROUTES, Side
from mystira_data.polyglot.replication.foreign import foreign_writes
from mystira_data.polyglot.replication.lag import LagMeter
from mystira_data.query import Query
from mystira_data.relational import RelationalStore
from mystira_data.settings import Phase

FOREIGN_WINDOW = timedelta(minutes=15)
LIVE = Query(cross_partition=True)
ALL = Query(cross_partition=True, include_deleted=True)


@dataclass
class Guards:
    control: PhaseControl
    documents: DocumentStore
    relational: RelationalStore
    meter: LagMeter
    foreign_window: timedelta = FOREIGN_WINDOW
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def install(self) -> None:
        """Make ``control`` ask these guards, and adopt configured first phases through us."""
        self.control.guards.extend((self.completeness_guard, self.foreign_guard))
        self.control.adopt = self.adopt_configured_phase

    async def completeness_guard(self, container: str, target: Phase) -> str | None:
        """The store a move makes the read side holds at least what the other holds, minus
        what replication still has to bring (a store that came back empty is not read)."""
        current = await self.control.phase(container)
        new_reads = ROUTES[target].reads
        if new_reads is ROUTES[current].reads:
            return None
        counts = {Side.DOCUMENT: self.documents.count, Side.RELATIONAL: self.relational.count}
        other = Side.RELATIONAL if new_reads is Side.DOCUMENT else Side.DOCUMENT
        have = await counts[new_reads](container, LIVE)
        want = await counts[other](container, LIVE)
        pending = (await self.meter.lag(container)).pending
        if have + pending >= want:
            return None
        to = "document" if new_reads is Side.DOCUMENT else "relational"
        return (
            f"the {new_reads.value} store holds {have} of the {want} live documents the "
            f"{other.value} store holds ({pending} pending replication); run `mystira backfill "
            f"{container} --to {to}`, then `mystira verify {container}`"
        )

    async def foreign_guard(self, container: str, target: Phase) -> str | None:
        """No move into a PostgreSQL-primary phase while another app still writes the
        container's documents: its writes would never reach the new primary."""
        if target not in GUARDED:
            return None
        since = self.clock() - self.foreign_window
        found = await foreign_writes(self.documents, container, since)
        if not found.count or found.newest is None:
            return None
        return (
            f"{container}: {found.count} document(s) written in the last {self.foreign_window} "
            f"not through this platform, the newest at {found.newest:%Y-%m-%d %H:%M:%S} UTC; "
            "another app (the C# app?) still writes it: stop it first"
        )

    async def adopt_configured_phase(self, container: str, phase: Phase) -> None:
        """A configured phase becomes the first record of a truly empty container only."""
        held = [
            name
            for name, count in (
                ("the document store", self.documents.count),
                ("the relational store", self.relational.count),
            )
            if await count(container, ALL)
        ]
        if held:
            raise ConfigError(
                "PolyglotPersistence:Phase",
                f"{container} is configured {phase.value} but has no phase record and holds "
                f"data in {', '.join(held)}; it starts CosmosOnly: remove the setting and move "
                f"it with `mystira phase set {container} PHASE`",
            )
        first = Transition(
            container,
            Phase.COSMOS_ONLY,
            phase,
            datetime.now(UTC),
            "initial phase from configuration (empty container)",
            False,
        )
        await self.control.store.save(first, 0)
