"""Verify: prove that two stores hold the same documents for a container.

Both sides are streamed ordered by id (bounded memory: two pages each, the next one being
fetched while this one is compared) and merge-joined. Each pair is first compared as stored
(sorted JSON without store-made fields); only pairs that differ there get the canonical form
and hash (a codec pass), and differing documents their differing field paths. Differences may
be writes in flight, so each one is re-read from both stores at the end (after ``settle_s``)
and reported only if it persists.

With ``segments`` (PostgreSQL: `segments.SegmentChecksums`) most of the container is
compared by one checksum query per segment instead; only ranges whose checksums differ are
merge-joined as above, so the shortcut can cost time but never hide a difference.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from mystira_data.gc_tuning import relaxed_gc
from mystira_data.polyglot.consistency.compare import (
    canonical,
    content_hash,
    differing_paths,
    same_stored,
)
from mystira_data.polyglot.consistency.segments import SegmentChecksums
from mystira_data.polyglot.consistency.streams import PAGE, IdRange, by_id, prefetched
from mystira_data.polyglot.ports import EntityStore
from mystira_data.polyglot.write.guarded import current
from mystira_data.query import Page, Query
from mystira_data.types import JsonDoc, PartitionKey

# Told how many documents are compared so far (progress bars); called every `TICK` and at
# the end, never per document.
OnScanned = Callable[[int], None]
TICK = 1000


@dataclass
class Difference:
    id: str
    partition_key: PartitionKey
    kind: str  # missing (in secondary) | extra (only in secondary) | different
    primary_version: int | None = None
    secondary_version: int | None = None
    paths: list[str] = field(default_factory=list)


@dataclass
class VerifyReport:
    container: str
    primary: str
    secondary: str
    scanned: int = 0
    differences: list[Difference] = field(default_factory=list)
    rechecked: int = 0
    shortcut: dict[str, int] | None = None  # segment-checksum counters, when it ran
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    finished_at: datetime | None = None

    @property
    def clean(self) -> bool:
        return not self.differences

    def counts(self) -> dict[str, int]:
        kinds = ("missing", "extra", "different")
        return {k: sum(d.kind == k for d in self.differences) for k in kinds}

    def as_json(self) -> dict[str, Any]:
        return {
            "container": self.container,
            "primary": self.primary,
            "secondary": self.secondary,
            "scanned": self.scanned,
            "clean": self.clean,
            **self.counts(),
            "rechecked": self.rechecked,
            "shortcut": self.shortcut,
            "startedAt": self.started_at.isoformat(),
            "finishedAt": self.finished_at.isoformat() if self.finished_at else None,
            "differences": [asdict(d) for d in self.differences],
        }


def compare_pair(
    container: str, p: JsonDoc | None, s: JsonDoc | None, pk: str
) -> Difference | None:
    """None when both sides agree (a tombstone and a missing row agree too)."""
    if p is not None and s is not None:
        if same_stored(p, s):
            return None
        cp, cs = canonical(container, p), canonical(container, s)
        if content_hash(cp) == content_hash(cs):
            return None
        return Difference(
            p["id"], p[pk], "different", cp["_version"], cs["_version"], differing_paths(cp, cs)
        )
    if p is not None and not p.get("_deleted"):
        return Difference(p["id"], p[pk], "missing", p.get("_version"), None)
    if s is not None and not s.get("_deleted"):
        return Difference(s["id"], s[pk], "extra", None, s.get("_version"))
    return None


async def merge_join(
    container: str,
    primary: EntityStore,
    secondary: EntityStore,
    pk: str,
    report: VerifyReport,
    ids: IdRange = (None, None),
    on_scanned: OnScanned | None = None,
) -> None:
    """Compare the documents of both stores in the id range ``ids``."""
    query = by_id(*ids)
    left, right = prefetched(primary, container, query), prefetched(secondary, container, query)
    try:
        await _join(container, left, right, pk, report, on_scanned)
    finally:
        await left.aclose()
        await right.aclose()


async def compare_page(
    container: str,
    primary: EntityStore,
    secondary: EntityStore,
    pk: str,
    report: VerifyReport,
    ids: IdRange,
    page_size: int = PAGE,
) -> tuple[str | None, bool]:
    """Compare one page of the range ``ids`` (a run's segment) from both stores, read at
    once; returns the id compared up to and whether ``ids`` is done.

    A page that has more after it covers every id up to its last one, so both pages are
    complete up to the lower of those ids (the bound); what lies beyond is read again with
    the next page (nothing, when both stores agree: their pages end at the same id).
    """
    query = replace(by_id(*ids), page_size=page_size)
    left, right = await asyncio.gather(
        first_page(primary, container, query), first_page(secondary, container, query)
    )
    ends = [str(p.items[-1]["id"]) for p in (left, right) if p.continuation is not None]
    bound = min(ends) if ends else ids[1]
    await _join(container, _upto(left.items, bound), _upto(right.items, bound), pk, report)
    return bound, not ends


async def first_page(store: EntityStore, container: str, query: Query) -> Page:
    page = await store.query(container, query)
    while not page.items and page.continuation is not None:  # an empty page mid-query
        page = await store.query(container, query, continuation=page.continuation)
    return page


async def _upto(docs: list[JsonDoc], bound: str | None) -> AsyncIterator[JsonDoc]:
    for doc in docs:
        if bound is not None and doc["id"] > bound:
            return
        yield doc


async def _join(
    container: str,
    left: AsyncIterator[JsonDoc],
    right: AsyncIterator[JsonDoc],
    pk: str,
    report: VerifyReport,
    on_scanned: OnScanned | None = None,
) -> None:
    p, s = await anext(left, None), await anext(right, None)
    pair: tuple[JsonDoc | None, JsonDoc | None]
    while p is not None or s is not None:
        if s is None or (p is not None and p["id"] < s["id"]):
            pair, p = (p, None), await anext(left, None)
        elif p is None or s["id"] < p["id"]:
            pair, s = (None, s), await anext(right, None)
        else:
            pair = (p, s)
            p, s = await anext(left, None), await anext(right, None)
        report.scanned += 1
        if on_scanned is not None and report.scanned % TICK == 0:
            on_scanned(report.scanned)
        if (diff := compare_pair(container, pair[0], pair[1], pk)) is not None:
            report.differences.append(diff)


async def verify(
    container: str,
    primary: EntityStore,
    secondary: EntityStore,
    pk_field: str,
    *,
    settle_s: float = 1.0,
    segments: SegmentChecksums | None = None,
    on_scanned: OnScanned | None = None,
) -> VerifyReport:
    """Compare the container in both stores; differences are re-checked once after settling."""
    report = VerifyReport(container, primary.name, secondary.name)
    with relaxed_gc():  # a bulk pass: millions of short-lived documents
        if segments is None:
            await merge_join(container, primary, secondary, pk_field, report, on_scanned=on_scanned)
        else:
            await _by_segments(
                container, primary, secondary, pk_field, report, segments, on_scanned
            )
    if on_scanned is not None:
        on_scanned(report.scanned)
    if report.differences:
        await asyncio.sleep(settle_s)
        report.differences = await recheck(container, primary, secondary, pk_field, report)
    report.finished_at = datetime.now(UTC)
    return report


async def _by_segments(
    container: str,
    primary: EntityStore,
    secondary: EntityStore,
    pk: str,
    report: VerifyReport,
    segments: SegmentChecksums,
    on_scanned: OnScanned | None,
) -> None:
    """Merge-join only the ranges whose checksums differ; the clean ones count as scanned."""

    def told(n: int) -> None:  # progress: compared row by row, plus the clean segments
        if on_scanned is not None:
            on_scanned(n + segments.stats.clean_documents)

    async for ids in segments.dirty_ranges(container, lambda: told(report.scanned)):
        await merge_join(container, primary, secondary, pk, report, ids, told)
    report.scanned += segments.stats.clean_documents
    report.shortcut = segments.stats.as_dict()


async def recheck(
    container: str, primary: EntityStore, secondary: EntityStore, pk: str, report: VerifyReport
) -> list[Difference]:
    still: list[Difference] = []
    for d in report.differences:
        report.rechecked += 1
        p = await current(primary, container, d.id, d.partition_key)
        s = await current(secondary, container, d.id, d.partition_key)
        if (again := compare_pair(container, p, s, pk)) is not None:
            still.append(again)
    return still
