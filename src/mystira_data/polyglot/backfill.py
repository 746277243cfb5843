"""Backfill: copy a container from one store to the other, in bulk, resumably, while live.

The source is streamed in id order (one page in memory); each page is validated (bad
documents are quarantined as dead letters and reported, never dropped silently), then written
version-guarded — COPY + merge into PostgreSQL, conditional upserts into the document store —
so a live write that raced the backfill always wins. After each page the source continuation
is saved, so a killed run resumes where it stopped; re-applying a page is harmless.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from mystira_data.documents.port import Document
from mystira_data.errors import ForeignKeyViolation, InvalidDocument
from mystira_data.polyglot.durable import (
    RelationalDeadLetters,
    read_checkpoint,
    write_checkpoint,
)
from mystira_data.polyglot.phases import Side
from mystira_data.polyglot.replication import DeadLetter
from mystira_data.polyglot.repository import validated
from mystira_data.polyglot.runtime import Polyglot
from mystira_data.polyglot.versions import apply_if_newer
from mystira_data.query import MAX_PAGE_SIZE, Order, Query

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
    batch_size: int = 500,
    on_page: Callable[[int], None] | None = None,
    restart: bool = False,
) -> BackfillReport:
    """Copy every document of ``container`` into ``target`` from the other store."""
    rel = poly.raw_relational
    name = checkpoint_name(target)
    source = poly.relational if target is Side.DOCUMENT else poly.documents
    token = None if restart else await read_checkpoint(rel, container, name)
    if token == DONE:
        token = None  # the last run finished: a new run starts over (it is idempotent)
    report = BackfillReport(container, target.value, resumed=token is not None)
    query = Query(
        order_by=(Order("id"),),
        cross_partition=True,
        include_deleted=True,
        page_size=min(batch_size, MAX_PAGE_SIZE),
    )
    while True:
        page = await source.query(container, query, continuation=token)
        good = await _screen(poly, container, page.items, report)
        report.written += await _write(poly, container, target, good)
        report.read += len(page.items)
        token = page.continuation
        await write_checkpoint(rel, container, name, token or DONE)
        if on_page is not None:
            on_page(len(page.items))
        if token is None:
            report.done = True
            return report


async def pending_total(poly: Polyglot, container: str, target: Side) -> int:
    source = poly.relational if target is Side.DOCUMENT else poly.documents
    return await source.count(container, Query(cross_partition=True, include_deleted=True))


async def _screen(
    poly: Polyglot, container: str, docs: list[Document], report: BackfillReport
) -> list[Document]:
    good: list[Document] = []
    letters = RelationalDeadLetters(poly.raw_relational, "backfill")
    for doc in docs:
        try:
            body = validated(container, doc)
        except InvalidDocument as exc:
            report.quarantined.append((str(doc.get("id")), str(exc)))
            await letters.add(
                DeadLetter(
                    container,
                    str(doc.get("id")),
                    int(doc.get("_version", 0) or 0),
                    str(exc),
                    1,
                    datetime.now(UTC),
                    doc,
                )
            )
            continue
        body["_version"] = doc.get("_version", 0)
        if doc.get("_deleted"):
            body["_deleted"] = True
        good.append(body)
    return good


async def _write(poly: Polyglot, container: str, target: Side, docs: list[Document]) -> int:
    if not docs:
        return 0
    if target is Side.RELATIONAL:
        try:
            return await poly.raw_relational.bulk_upsert_if_newer(container, docs, outbox=False)
        except ForeignKeyViolation:
            # A parent written live after its own backfill: go one by one, copying parents.
            return sum([bool(await poly.apply_to_relational(container, d)) for d in docs])
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(doc: Document) -> bool:
        async with gate:
            return await apply_if_newer(poly.documents, container, doc)

    return sum(await asyncio.gather(*(one(d) for d in docs)))
