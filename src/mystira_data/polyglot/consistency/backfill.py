"""Backfill: copy a container from one store to the other, in bulk, resumably, while live.

The source is streamed in id order; each page is validated once (bad documents are
quarantined as dead letters and reported, never dropped silently), then written
version-guarded — COPY + merge into PostgreSQL, conditional upserts into the document store —
so a live write that raced the backfill always wins. After each page is written the source
continuation is saved, so a killed run resumes where it stopped; re-applying a page is
harmless. The next page is read and validated while the current one is written (two pages
in memory at most).

Operator controls (`polyglot.controls`) are obeyed per page: ``pacer.before_batch(n)`` waits
while the backfill is paused, the container's replication lag is above its bound, or the
rate limit asks; the batch size applies from the next page read, the concurrency to the
document writes of a page (pages themselves are chained by continuation tokens).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mystira_data import catalog, metrics
from mystira_data.documents.port import JsonPages
from mystira_data.errors import InvalidDocument, Throttled
from mystira_data.gc_tuning import relaxed_gc
from mystira_data.polyglot.consistency.streams import IdRange, by_id
from mystira_data.polyglot.controls.record import Task
from mystira_data.polyglot.layer import Polyglot
from mystira_data.polyglot.phase.rules import Side
from mystira_data.polyglot.replication.dead_letters import DeadLetter
from mystira_data.polyglot.state.dead_letters import RelationalDeadLetters
from mystira_data.polyglot.state.verify_log import read_checkpoint, write_checkpoint
from mystira_data.polyglot.write import split
from mystira_data.polyglot.write.guarded import apply_if_newer
from mystira_data.polyglot.write.repository import validated
from mystira_data.query import MAX_PAGE_SIZE, Query
from mystira_data.relational import BulkBatch, filing_version
from mystira_data.types import JsonDoc

if TYPE_CHECKING:
    from mystira_data.polyglot.controls.throttle import Pacer

CONCURRENCY = 16
DONE = "done"


@dataclass
class BackfillReport:
    container: str
    target: str
    read: int = 0
    written: int = 0
    quarantined: list[tuple[str, str]] = field(default_factory=list)
    resumed: bool = False
    done: bool = False

    def as_json(self) -> dict[str, object]:
        return {
            "container": self.container,
            "target": self.target,
            "read": self.read,
            "written": self.written,
            "quarantined": len(self.quarantined),
            "quarantine": [{"id": i, "reason": r} for i, r in self.quarantined],
            "resumed": self.resumed,
            "done": self.done,
        }


def checkpoint_name(target: Side) -> str:
    return f"backfill:{target.value}"


async def backfill(
    poly: Polyglot,
    container: str,
    target: Side,
    *,
    batch_size: int = MAX_PAGE_SIZE,
    on_page: Callable[[int], None] | None = None,
    restart: bool = False,
    max_pages: int | None = None,
    pacer: Pacer | None = None,
) -> BackfillReport:
    """Copy every document of ``container`` into ``target`` from the other store.

    ``max_pages``: stop (not done, checkpoint kept) once that many pages are written; the
    next run resumes there. For operators pacing a large copy, and for resume tests that
    need no kill. ``pacer``: the controls to obey (default: this process's for the container).
    """
    pacer = pacer or poly.pacer(container, Task.BACKFILL)
    options = _Options(batch_size, on_page, restart, max_pages, pacer)
    report = BackfillReport(container, target.value)
    with relaxed_gc():
        try:
            while True:
                try:
                    return await _backfill(poly, container, target, options, report)
                except Throttled as exc:  # a 429: wait as the store asks, go on from the page
                    pacer.throttled(exc)
                    options = replace(options, restart=False, retried=True)
        finally:
            await pacer.finish()


@dataclass(frozen=True)
class _Options:
    batch_size: int
    on_page: Callable[[int], None] | None
    restart: bool
    max_pages: int | None
    pacer: Pacer
    retried: bool = False  # after a 429: the same run going on, not a resumed one

    def page_size(self) -> int:
        return min(self.pacer.batch_size(self.batch_size), MAX_PAGE_SIZE)


async def _backfill(
    poly: Polyglot, container: str, target: Side, options: _Options, report: BackfillReport
) -> BackfillReport:
    rel = poly.raw_relational
    name = checkpoint_name(target)
    token = None if options.restart else await read_checkpoint(rel, container, name)
    if token == DONE:
        token = None  # the last run finished: a new run starts over (it is idempotent)
    if not options.retried:
        report.resumed = token is not None
    reader = _Reader(poly, container, target)
    pacer = options.pacer
    await pacer.before_batch(0)  # not even a read while paused
    # One page ahead: the next page is read and validated while this one is written.
    ahead = asyncio.ensure_future(reader.next(token, options.page_size()))
    pages = 0
    try:
        while True:
            page = await ahead
            token = page.continuation
            await pacer.before_batch(page.read)
            if token is not None:
                ahead = asyncio.ensure_future(reader.next(token, options.page_size()))
            await _quarantine(poly, container, page.rejected, report)
            at_once = pacer.concurrency(CONCURRENCY)
            report.written += await _write(poly, container, target, page, report, at_once)
            report.read += page.read
            # Only now is the page durable: a run killed before this line redoes it.
            await write_checkpoint(rel, container, name, token or DONE)
            pages += 1
            metrics.backfill_page(container, target.value, page.read, done=token is None)
            if options.on_page is not None:
                options.on_page(page.read)
            if token is None:
                report.done = True
                return report
            if pages == options.max_pages:
                return report  # stopped on request; the next run resumes after this page
    finally:
        if not ahead.done():
            ahead.cancel()  # a page read ahead that will not be written
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await ahead


@dataclass
class _Page:
    """A source page, validated: what to write, what to quarantine."""

    read: int
    continuation: str | None
    rejected: list[tuple[Mapping[str, Any], InvalidDocument]]
    batch: BulkBatch | None = None  # target relational
    bodies: list[JsonDoc] = field(default_factory=list)  # target document
    last_id: str | None = None  # the highest id read (pages come in id order)


class _Reader:
    """Reads the source in id order and validates each page."""

    def __init__(
        self, poly: Polyglot, container: str, target: Side, ids: IdRange = (None, None)
    ) -> None:
        self.poly = poly
        self.container = container
        self.target = target
        self.source = poly.relational if target is Side.DOCUMENT else poly.documents
        self.query = by_id(*ids)  # the page size is set per read (operators may change it)

    async def next(self, token: str | None, page_size: int) -> _Page:
        self.query = replace(self.query, page_size=page_size)
        rel = self.poly.raw_relational
        if (
            self.target is Side.RELATIONAL
            and rel.dialect == "postgresql"
            and isinstance(self.source, JsonPages)
            # Child rows (a split container's too) are built the general way.
            and not catalog.get(self.container).child_tables
        ):
            return await self._next_from_text(token)
        page = await self.source.query(self.container, self.query, continuation=token)
        docs = page.items
        rejected: list[tuple[Mapping[str, Any], InvalidDocument]] = []
        out = _Page(len(docs), page.continuation, rejected)
        out.last_id = str(docs[-1]["id"]) if docs else None
        if self.target is Side.RELATIONAL:
            # Validated once, straight into the rows the bulk merge writes.
            versioned = [d if "_version" in d else {**d, "_version": 0} for d in docs]
            rel = self.poly.raw_relational
            out.batch = await rel.bulk_prepare(self.container, versioned, rejected=rejected)
        else:
            out.bodies = _bodies(self.container, docs, rejected)
        return out

    async def _next_from_text(self, token: str | None) -> _Page:
        # The source hands over stored JSON text: parsed and validated in one pass.
        assert isinstance(self.source, JsonPages)
        page = await self.source.query_json(self.container, self.query, continuation=token)
        rejected: list[tuple[Mapping[str, Any], InvalidDocument]] = []
        out = _Page(len(page.items), page.continuation, rejected)
        out.last_id = str(json.loads(page.items[-1])["id"]) if page.items else None
        out.batch = await self.poly.raw_relational.bulk_prepare_json(
            self.container, page.items, rejected=rejected
        )
        return out


@dataclass(frozen=True)
class RangePage:
    """One page of an id range copied (`copy_page`)."""

    read: int
    written: int
    quarantined: int
    last_id: str | None  # where the range's next page starts
    exhausted: bool  # no documents left in the range


async def copy_page(
    poly: Polyglot, container: str, target: Side, ids: IdRange, *, page_size: int = MAX_PAGE_SIZE
) -> RangePage:
    """Copy the first page of the ids ``after < id <= upto`` (a run's segment); like a
    `backfill` page: validated, quarantined, written version-guarded."""
    reader, size = _Reader(poly, container, target, ids), min(page_size, MAX_PAGE_SIZE)
    page = await reader.next(None, size)
    while page.read == 0 and page.continuation is not None:  # an empty page mid-query
        page = await reader.next(page.continuation, size)
    report = BackfillReport(container, target.value)
    await _quarantine(poly, container, page.rejected, report)
    written = await _write(poly, container, target, page, report)
    done = page.continuation is None
    return RangePage(page.read, written, len(report.quarantined), page.last_id, done)


def _bodies(
    container: str,
    docs: list[JsonDoc],
    rejected: list[tuple[Mapping[str, Any], InvalidDocument]],
) -> list[JsonDoc]:
    """The canonical bodies of the valid ``docs``, with their system fields."""
    good: list[JsonDoc] = []
    for doc in docs:
        try:
            body = validated(container, doc)
        except InvalidDocument as exc:
            rejected.append((doc, exc))
            continue
        body["_version"] = doc.get("_version", 0)
        if doc.get("_deleted"):
            body["_deleted"] = True
        good.append(body)
    return good


async def pending_total(poly: Polyglot, container: str, target: Side) -> int:
    source = poly.relational if target is Side.DOCUMENT else poly.documents
    return await source.count(container, Query(cross_partition=True, include_deleted=True))


async def _quarantine(
    poly: Polyglot,
    container: str,
    rejected: list[tuple[Mapping[str, Any], InvalidDocument]],
    report: BackfillReport,
) -> None:
    """Report and dead-letter each rejected document (kept for repair, never dropped)."""
    letters = RelationalDeadLetters(poly.raw_relational, "backfill")
    for doc, exc in rejected:
        report.quarantined.append((str(doc.get("id")), str(exc)))
        await letters.add(
            DeadLetter(
                container,
                str(doc.get("id")),
                filing_version(doc),
                str(exc),
                1,
                datetime.now(UTC),
                dict(doc),
            )
        )


async def _one_by_one(
    poly: Polyglot, container: str, docs: Sequence[Mapping[str, Any]], report: BackfillReport
) -> int:
    """Write ``docs`` singly; a refused one is quarantined (a child whose parent is in
    neither store names it) and the rest go on."""
    written, rejected = 0, []
    for doc in docs:
        try:
            written += bool(await poly.apply_to_relational(container, dict(doc)))
        except InvalidDocument as exc:
            rejected.append((doc, exc))
    await _quarantine(poly, container, rejected, report)
    return written


async def _write(
    poly: Polyglot,
    container: str,
    target: Side,
    page: _Page,
    report: BackfillReport,
    concurrency: int = CONCURRENCY,
) -> int:
    if target is Side.RELATIONAL:
        assert page.batch is not None
        try:
            return await poly.raw_relational.bulk_write(page.batch)
        except InvalidDocument:
            # A missing parent (maybe written live after its own backfill) or a value the
            # database refused: one by one, copying parents, quarantining what still fails.
            return await _one_by_one(poly, container, page.batch.docs, report)
    if not page.bodies:
        return 0
    gate = asyncio.Semaphore(concurrency)

    # A split container's source is its relational core: the document part stays.
    apply = split.apply_core if split.is_split(container) else apply_if_newer

    async def one(doc: JsonDoc) -> bool:
        async with gate:
            return await apply(poly.documents, container, doc)

    return sum(await asyncio.gather(*(one(d) for d in page.bodies)))
