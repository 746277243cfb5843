"""The workload evidence persisted in ``_polyglot_evidence``, summed over a window.

Rows are deltas a serving process appends every `evidence.FLUSH_S` seconds, each counting
the flush period before it; so the window actually covered starts one period before the
oldest row in it (and never before the requested window).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa

from mystira_data.metrics import workload as wl
from mystira_data.polyglot.state.evidence import FLUSH_S
from mystira_data.relational import tables as t
from mystira_data.relational.store import RelationalStore

__all__ = ["Recorded", "Workload", "bucket_quantile", "exact_quantile", "recorded"]


@dataclass
class Workload:
    """One container's counts over the window."""

    reads: int = 0
    cross_partition: int = 0
    inserts: int = 0
    updates: int = 0
    deletes: int = 0
    sizes: dict[int, int] = field(default_factory=dict)  # size bucket bound → documents
    depths: dict[int, int] = field(default_factory=dict)  # nesting depth → documents

    @property
    def writes(self) -> int:
        return self.inserts + self.updates + self.deletes

    def add(self, kind: str, measure: str, n: int) -> None:
        if kind == wl.SIZE:
            self.sizes[int(measure)] = self.sizes.get(int(measure), 0) + n
        elif kind == wl.DEPTH:
            self.depths[int(measure)] = self.depths.get(int(measure), 0) + n
        elif measure == wl.CROSS:
            self.cross_partition += n
        elif measure in (wl.READS, wl.INSERTS, wl.UPDATES, wl.DELETES):
            setattr(self, measure, getattr(self, measure) + n)


@dataclass(frozen=True)
class Recorded:
    since: datetime  # where the covered window starts
    minutes: float  # its length: rates are counts / minutes
    containers: dict[str, Workload]

    def of(self, container: str) -> Workload:
        return self.containers.get(container) or Workload()


async def recorded(store: RelationalStore, *, window_minutes: float, now: datetime) -> Recorded:
    """Every container's workload flushed within ``window_minutes`` before ``now``."""
    start = now - timedelta(minutes=window_minutes)
    e = t.evidence
    in_window = sa.and_(e.c.kind.in_(wl.KINDS), e.c.at >= start)
    sums = (
        sa.select(e.c.kind, e.c.container, e.c.store, sa.func.sum(e.c.ok))
        .where(in_window)
        .group_by(e.c.kind, e.c.container, e.c.store)
    )
    async with store.reading() as conn:
        rows = (await conn.execute(sums)).all()
        oldest = (await conn.execute(sa.select(sa.func.min(e.c.at)).where(in_window))).scalar()
    containers: dict[str, Workload] = {}
    for kind, container, measure, n in rows:
        containers.setdefault(container, Workload()).add(kind, measure, int(n or 0))
    since = start
    if oldest is not None:  # the system recorded for less than the window: rate over that
        since = max(start, _aware(oldest, now) - timedelta(seconds=FLUSH_S))
    minutes = max((now - since).total_seconds() / 60, FLUSH_S / 60)
    return Recorded(since, minutes, containers)


def _aware(at: datetime, now: datetime) -> datetime:
    """SQLite hands timestamps back naive (they were written in UTC)."""
    return at if at.tzinfo is not None else at.replace(tzinfo=now.tzinfo)


def bucket_quantile(
    q: float, counts: Mapping[int, int], bounds: tuple[int, ...] = wl.SIZE_BOUNDS
) -> int | None:
    """The ``q`` quantile of observations counted per bucket upper bound (``bounds``),
    interpolated linearly inside its bucket as Prometheus' ``histogram_quantile`` does;
    None if nothing was observed."""
    total = sum(counts.values())
    if total == 0:
        return None
    rank, seen, lower = q * total, 0, 0
    for bound in sorted({*bounds, *counts}):
        n = counts.get(bound, 0)
        if n and seen + n >= rank:
            return round(lower + (bound - lower) * (rank - seen) / n)
        seen, lower = seen + n, bound
    return max(counts)


def exact_quantile(q: float, counts: Mapping[int, int]) -> int | None:
    """The smallest value with at least ``q`` of the observations at or below it."""
    total = sum(counts.values())
    if total == 0:
        return None
    seen = 0
    for value in sorted(counts):
        seen += counts[value]
        if seen >= q * total:
            return value
    return max(counts)
