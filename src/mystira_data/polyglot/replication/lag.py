"""Replication lag: changes of the active direction not yet applied, and the oldest's age."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from mystira_data.documents.port import DocumentStore
from mystira_data.polyglot.phase.control import PhaseControl
from mystira_data.polyglot.phase.rules import Side, route_for
from mystira_data.polyglot.state.leases import RelationalLeaseStore
from mystira_data.polyglot.state.outbox import OutboxSource
from mystira_data.relational import RelationalStore

FEED_PEEK = 1000  # changes read ahead per feed range to count the pending ones


@dataclass
class Lag:
    container: str
    direction: str
    pending: int
    oldest_age_s: float | None


@dataclass
class LagMeter:
    """Measures lag from the primary's log: the change feed or the outbox."""

    control: PhaseControl
    documents: DocumentStore
    relational: RelationalStore

    async def lag(self, container: str) -> Lag:
        """Unapplied changes of the active direction and the age of the oldest."""
        route = route_for(container, await self.control.phase(container))
        if route.secondary is Side.DOCUMENT:
            count, oldest = await OutboxSource(self.relational).pending(container)
            return Lag(container, "relational→document", count, _age(oldest))
        if route.secondary is Side.RELATIONAL:
            return await self.feed_lag(container)
        return Lag(container, "-", 0, None)

    async def feed_lag(self, container: str) -> Lag:
        """Changes in the document store's feed after the replication leases' checkpoints."""
        pending, oldest = 0, None
        held = await RelationalLeaseStore(self.relational).leases(container)
        leases = {le.feed_range: le for le in held}
        for feed_range in await self.documents.feed_ranges(container):
            cp = leases[feed_range].checkpoint if feed_range in leases else None
            batch = await self.documents.changes(container, feed_range, cp, max_items=FEED_PEEK)
            pending += len(batch.items)
            stamps = [int(d["_ts"]) for d in batch.items if isinstance(d.get("_ts"), int)]
            if stamps:
                first = datetime.fromtimestamp(min(stamps), UTC)
                oldest = first if oldest is None else min(oldest, first)
        return Lag(container, "document→relational", pending, _age(oldest))


def _age(oldest: datetime | None) -> float | None:
    return (datetime.now(UTC) - oldest).total_seconds() if oldest else None
