"""Segment checksums: verify's shortcut for a PostgreSQL side (as data-diff does).

The document side is streamed in id order and cut into segments of ``segment`` documents.
Each document is mapped to its row (as `TableMapping.to_row` does; straight from the
document when it is already canonical, skipping the codec) and rendered as the text
PostgreSQL gives for its row (`row_text`). One query per segment computes the same checksum
over the stored rows of the segment's id range: equal checksums (and counts) make the
segment clean. Otherwise the range is halved, down to ``leaf`` documents, and what still
differs is handed back for the row-by-row compare.

Never a false "clean": the rendering is injective (JSON text, typed values), so equal texts
mean equal rows, and equal rows map back to equal documents. A rendering Python and SQL do
not agree on for clean data (say a float PostgreSQL prints without an exponent) only costs
the row-by-row compare of that range.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import asdict, dataclass

import sqlalchemy as sa

from mystira_data.errors import InvalidQuery
from mystira_data.polyglot.consistency.row_text import (
    DIRTY,
    Column,
    RowMaker,
    checksum_sql,
    combine,
)
from mystira_data.polyglot.consistency.streams import IdRange, by_id, prefetched
from mystira_data.polyglot.ports import EntityStore
from mystira_data.relational import RelationalStore, TableMapping, mapping_for
from mystira_data.types import JsonDoc

SEGMENT = 10_000
LEAF = 64


@dataclass
class SegmentStats:
    segments: int = 0
    clean_segments: int = 0
    queries: int = 0
    clean_documents: int = 0
    compared_ranges: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


# -- segments and bisection ------------------------------------------------------------------


Keyed = list[tuple[str, str]]  # (id, digest) in id order
Judged = tuple[IdRange, Keyed, "asyncio.Task[tuple[int, str | None]]"]  # a segment in flight


class SegmentChecksums:
    """Checksums of id ranges, in Python over the document side and in PostgreSQL."""

    def __init__(
        self,
        relational: RelationalStore,
        documents: EntityStore,
        *,
        segment: int = SEGMENT,
        leaf: int = LEAF,
    ) -> None:
        self.relational = relational
        self.documents = documents
        self.segment = segment
        self.leaf = leaf
        self.stats = SegmentStats()

    @classmethod
    def usable(cls, relational: RelationalStore, container: str) -> bool:
        """Only PostgreSQL renders as `render` does (SQLite has no jsonb text form)."""
        try:
            m = mapping_for(container)
        except InvalidQuery:
            return False
        # A split container's rows hold a part of each document (and child rows): compared
        # document by document.
        return relational.dialect == "postgresql" and not m.children

    async def dirty_ranges(
        self, container: str, on_judged: Callable[[], None] | None = None
    ) -> AsyncIterator[IdRange]:
        """The id ranges whose checksums differ, each up to ``leaf`` documents (or extra rows).

        ``on_judged`` is called once each segment is settled (`stats` then count it), so a
        verify that finds every segment clean still shows its progress.
        """
        maker = RowMaker(mapping_for(container))
        mapping, columns = maker.mapping, maker.columns
        batch: Keyed = []
        after: str | None = None
        pending: list[Judged] = []
        try:
            async for doc in prefetched(self.documents, container, by_id()):
                batch.append((doc["id"], maker.digest(doc)))
                if len(batch) < self.segment:
                    continue
                # Start this segment's query, and judge the previous one while it runs.
                pending.append(self._start(mapping, columns, (after, batch[-1][0]), batch))
                if len(pending) > 1:
                    async for ids in self._judge(mapping, columns, *pending.pop(0), on_judged):
                        yield ids
                after, batch = batch[-1][0], []
            pending.append(self._start(mapping, columns, (after, None), batch))  # extra rows
            while pending:
                async for ids in self._judge(mapping, columns, *pending.pop(0), on_judged):
                    yield ids
        finally:
            for _, _, task in pending:  # stopped early: no query left running
                task.cancel()

    def _start(
        self, mapping: TableMapping, columns: Sequence[Column], ids: IdRange, batch: Keyed
    ) -> Judged:
        self.stats.segments += 1
        return ids, batch, asyncio.ensure_future(self._checksum(mapping, columns, ids))

    async def _judge(
        self,
        mapping: TableMapping,
        columns: Sequence[Column],
        ids: IdRange,
        batch: Keyed,
        task: asyncio.Task[tuple[int, str | None]],
        on_judged: Callable[[], None] | None,
    ) -> AsyncIterator[IdRange]:
        if self._matches(batch, await task):
            self.stats.clean_segments += 1
            self.stats.clean_documents += len(batch)
        else:
            async for piece in self._bisect(mapping, columns, ids, batch):
                yield piece
        if on_judged is not None:
            on_judged()

    async def _bisect(
        self, mapping: TableMapping, columns: Sequence[Column], ids: IdRange, batch: Keyed
    ) -> AsyncIterator[IdRange]:
        """Halve a differing range until it is small, skipping halves that match."""
        if len(batch) <= self.leaf:
            self.stats.compared_ranges += 1
            yield ids
            return
        mid = len(batch) // 2
        cut = batch[mid - 1][0]
        for half, part in (((ids[0], cut), batch[:mid]), ((cut, ids[1]), batch[mid:])):
            if self._matches(part, await self._checksum(mapping, columns, half)):
                self.stats.clean_documents += len(part)
                continue
            async for piece in self._bisect(mapping, columns, half, part):
                yield piece

    async def clean(self, container: str, ids: IdRange, docs: Sequence[JsonDoc]) -> bool:
        """True when PostgreSQL's rows in ``ids`` are exactly ``docs`` (the document side's
        documents of that range): one checksum query, no rows moved. A run's verify worker
        asks this per page and merge-joins only a page that is not clean."""
        maker = RowMaker(mapping_for(container))
        batch = [(str(d["id"]), maker.digest(d)) for d in docs]
        if self._matches(batch, await self._checksum(maker.mapping, maker.columns, ids)):
            self.stats.clean_documents += len(batch)
            return True
        return False

    @staticmethod
    def _matches(batch: Keyed, found: tuple[int, str | None]) -> bool:
        count, checksum = found
        if count != len(batch) or any(d == DIRTY for _, d in batch):
            return False
        return count == 0 or checksum == combine([d for _, d in batch])

    async def _checksum(
        self, mapping: TableMapping, columns: Sequence[Column], ids: IdRange
    ) -> tuple[int, str | None]:
        self.stats.queries += 1
        stmt = checksum_sql(mapping, columns, ids)
        async with self.relational.reading(mapping.container) as conn:
            # Timestamps are rendered as epoch microseconds anyway; UTC pins anything else.
            await conn.execute(sa.text("SET LOCAL TIME ZONE 'UTC'"))
            count, checksum = (await conn.execute(stmt)).one()
        return int(count), checksum
