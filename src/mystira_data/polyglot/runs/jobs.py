"""What a worker does with one page of a segment: copy it (backfill) or compare it (verify)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from mystira_data import catalog, metrics
from mystira_data.polyglot.consistency.backfill import copy_page
from mystira_data.polyglot.consistency.segments import SegmentChecksums
from mystira_data.polyglot.consistency.streams import IdRange, by_id
from mystira_data.polyglot.consistency.verify import (
    VerifyReport,
    compare_page,
    first_page,
    merge_join,
)
from mystira_data.polyglot.layer import Polyglot
from mystira_data.polyglot.phase.rules import Side
from mystira_data.polyglot.ports import EntityStore
from mystira_data.polyglot.runs.record import Run, RunKind, SegmentCounts
from mystira_data.query import MAX_PAGE_SIZE

__all__ = ["BackfillJob", "Job", "Step", "VerifyJob", "job_for"]


@dataclass(frozen=True)
class Step:
    """One page done: where the segment stands now and what the page counted."""

    last: str | None  # the id done up to (the new checkpoint)
    done: bool  # the segment has no documents left
    counts: SegmentCounts
    diffs: list[dict[str, Any]] = field(default_factory=list)


class Job(Protocol):
    requests: int  # document-store requests one page costs, for the shared budget

    async def step(self, ids: IdRange) -> Step: ...


class BackfillJob:
    def __init__(self, poly: Polyglot, container: str, target: Side, page_size: int) -> None:
        self.poly, self.container, self.target = poly, container, target
        self.page_size = min(page_size, MAX_PAGE_SIZE)
        # Into PostgreSQL a page is one document-store query; into the document store, a
        # conditional upsert per document.
        self.requests = 1 if target is Side.RELATIONAL else self.page_size

    async def step(self, ids: IdRange) -> Step:
        page = await copy_page(
            self.poly, self.container, self.target, ids, page_size=self.page_size
        )
        # This worker's share of the documents; "done" is the run's, known at its end only.
        metrics.backfill_page(self.container, self.target.value, page.read, done=False)
        counts = SegmentCounts(read=page.read, written=page.written, quarantined=page.quarantined)
        return Step(page.last_id or ids[0], page.exhausted, counts)


class VerifyJob:
    requests = 1  # one page of the document side (the other side is PostgreSQL)

    def __init__(self, poly: Polyglot, container: str) -> None:
        self.poly, self.container = poly, container
        self.pk = catalog.get(container).pk_field
        self.checksums = (
            SegmentChecksums(poly.raw_relational, poly.documents)
            if SegmentChecksums.usable(poly.raw_relational, container)
            else None
        )

    async def step(self, ids: IdRange) -> Step:
        primary, secondary = await self.poly.pair(self.container)
        report = VerifyReport(self.container, primary.name, secondary.name)
        if self.checksums is None:
            upto, done = await compare_page(
                self.container, primary, secondary, self.pk, report, ids
            )
        else:
            upto, done = await self._by_checksum(primary, secondary, report, ids)
        diffs = [asdict(d) for d in report.differences]
        counts = SegmentCounts(compared=report.scanned, differences=len(diffs))
        return Step(upto, done, counts, diffs)

    async def _by_checksum(
        self, primary: EntityStore, secondary: EntityStore, report: VerifyReport, ids: IdRange
    ) -> tuple[str | None, bool]:
        """A page of the document side against one checksum query over the same ids; only a
        page that differs is merge-joined (`segments`: never a false "clean")."""
        assert self.checksums is not None
        page = await first_page(self.poly.documents, self.container, by_id(*ids))
        done = page.continuation is None
        upto = ids[1] if done else str(page.items[-1]["id"])
        if await self.checksums.clean(self.container, (ids[0], upto), page.items):
            report.scanned += len(page.items)
        else:
            await merge_join(self.container, primary, secondary, self.pk, report, (ids[0], upto))
        return upto, done


def job_for(poly: Polyglot, run: Run, page_size: int = MAX_PAGE_SIZE) -> Job:
    if run.kind is RunKind.BACKFILL:
        return BackfillJob(poly, run.container, Side(run.direction), page_size)
    return VerifyJob(poly, run.container)
