"""Id reconciliation: hard deletes of the document store reach PostgreSQL.

Our deletes are tombstones and travel through the change feed. A foreign writer (the C# app)
deletes for real, and Cosmos DB's latest-version change feed does not show deletes, so while
the document store is primary (DualWriteCosmosRead) a row whose document is gone would stay
in PostgreSQL for ever. `reconcile` finds those rows (ids PostgreSQL holds live that the
document store holds in no form) and turns each into a tombstone.

The race with our own dual write: in DualWriteCosmosRead the document write always completes
before its row is written, so the relational ids are listed *first* and the document ids
after: a row seen in the first listing had its document written before, so the second
listing holds it unless it was deleted since. Each candidate is then confirmed by a point
read, and its tombstone is version-guarded one version above the row seen (a row written
again meanwhile is newer and is left alone). Each tombstone is written inside the phase
gate, like a repository write, so it never runs across a switch of the primary, and only in
DualWriteCosmosRead. If the document came back between the confirmation and the tombstone,
a read after the tombstone finds it and copies it over again (in the document store's order,
`store_order`), so a re-created document wins.

Tombstones, not SQL deletes: a ``DELETE`` would fire V002's ``ON DELETE CASCADE`` / ``SET
NULL`` on child rows that may still be live in the document store; the primary's own state
decides for each child (a child the foreign writer deleted too is reconciled in its turn).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from mystira_data import catalog
from mystira_data.polyglot.phase.control import PhaseControl
from mystira_data.polyglot.ports import EntityStore
from mystira_data.polyglot.write.guarded import current
from mystira_data.query import Query, every
from mystira_data.relational.limits import filing_version
from mystira_data.settings import Phase
from mystira_data.types import JsonDoc, PartitionKey

Progress = Callable[[str, int, int], None]  # container, ids checked, rows tombstoned
PROGRESS_EVERY = 1000


class Copier(Protocol):
    async def apply(self, container: str, doc: JsonDoc) -> None: ...


class GuardedRows(Protocol):
    async def upsert_if_newer(self, container: str, docs: Any, *, outbox: bool) -> int: ...


@dataclass
class ReconcileReport:
    container: str
    checked: int = 0
    tombstoned: list[str] = field(default_factory=list)
    came_back: list[str] = field(default_factory=list)
    skipped: str | None = None  # why nothing was done (the phase)


@dataclass
class Reconciler:
    control: PhaseControl
    documents: EntityStore
    relational: EntityStore
    rows: GuardedRows  # the raw relational store: version-guarded, no outbox row
    copier: Copier  # copies a document that came back (`StoreOrder`)
    progress: Progress | None = None

    async def run(self, container: str) -> ReconcileReport:
        report = ReconcileReport(container)
        if not await self._document_primary(container, report):
            return report
        pk_field = catalog.get(container).pk_field
        # Ids only (bounded by the container's id count, not its documents' size).
        rows = [(str(r["id"]), r[pk_field]) async for r in every(self.relational, container, _LIVE)]
        doc_ids = {str(d["id"]) async for d in every(self.documents, container, _ALL)}
        for n, (id, pk) in enumerate(rows, 1):
            report.checked = n
            if id not in doc_ids and not await self._tombstone(id, pk, report):
                break  # the phase moved on
            if self.progress is not None and n % PROGRESS_EVERY == 0:
                self.progress(container, n, len(report.tombstoned))
        if self.progress is not None:
            self.progress(container, report.checked, len(report.tombstoned))
        return report

    async def _document_primary(self, container: str, report: ReconcileReport) -> bool:
        phase = await self.control.phase(container)
        if phase is not Phase.DUAL_WRITE_COSMOS_READ:
            report.skipped = f"{container} is {phase.value}: only DualWriteCosmosRead reconciles"
        return report.skipped is None

    async def _tombstone(self, id: str, pk: PartitionKey, report: ReconcileReport) -> bool:
        """Tombstone row ``id`` if its document is still gone; False if the phase moved on."""
        container = report.container
        async with self.control.writing(container) as phase:
            if phase is not Phase.DUAL_WRITE_COSMOS_READ:
                report.skipped = f"{container} moved to {phase.value} during the pass"
                return False
            if await current(self.documents, container, id, pk) is not None:
                return True  # written meanwhile: replication brings it
            row = await current(self.relational, container, id, pk)
            if row is None or row.get("_deleted"):
                return True  # deleted meanwhile
            tomb = {**row, "_deleted": True, "_version": filing_version(row) + 1}
            if await self.rows.upsert_if_newer(container, [tomb], outbox=False):
                report.tombstoned.append(id)
        back = await current(self.documents, container, id, pk)
        if back is not None:
            await self.copier.apply(container, back)
            report.came_back.append(id)
        return True


_LIVE = Query(cross_partition=True, page_size=500)
_ALL = Query(cross_partition=True, include_deleted=True, page_size=500)
