"""Evidence for the phase gates, counted in serving processes and kept durably.

Why durable: `mystira phase set` runs in its own process, which serves no reads; the shadow
comparisons and store-call outcomes that matter happened in the API's processes. So each
process counts in memory (`EvidenceRecorder`) and appends its *deltas* to
``_polyglot_evidence`` every ``FLUSH_S`` seconds while it runs, at shutdown, and before it
evaluates gates itself. The gates then sum rows (`sums`): shadow comparisons of the current
phase since it began, store calls within the error-rate window. A process that dies loses at
most its last ``FLUSH_S`` of counts; the gates see less evidence, never invented evidence.

The same rows carry the workload evidence of `mystira placement` (`metrics.workload`: reads,
writes, document sizes and depths per container), flushed by the same loop. Workload and
store-call rows are useless past the longest window that reads them (a week: the placement
window and the gates' error-rate window are bounded by it), so a flush deletes those older,
at most once every ``PRUNE_EVERY_S``. Shadow rows stay: a gate counts them since its
phase began, however long ago.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

import sqlalchemy as sa

from mystira_data.errors import StoreUnavailable
from mystira_data.metrics.workload import KINDS as WORKLOAD_KINDS
from mystira_data.metrics.workload import WorkloadRecorder
from mystira_data.placement_settings import MAX_WINDOW_MINUTES
from mystira_data.relational import tables as t
from mystira_data.relational.store import RelationalStore

log = logging.getLogger(__name__)
FLUSH_S = 30.0
PRUNE_EVERY_S = 3600.0
SHADOW = "shadow"
CALLS = "calls"
# (kind, container, phase, store) → [ok, failed]
Key = tuple[str, str, str | None, str]


class CallCounts(Protocol):
    """What a store's resilience layer counted so far: calls that worked and that failed."""

    succeeded: int
    failed: int


@dataclass
class EvidenceRecorder:
    """This process's counts not yet flushed, and the flush loop."""

    calls: Mapping[str, CallCounts] = field(default_factory=dict)  # store name → breaker
    workload: WorkloadRecorder | None = None  # the repository's traffic, for `placement`
    _pending: Counter[tuple[Key, bool]] = field(default_factory=Counter)
    _seen_calls: dict[str, tuple[int, int]] = field(default_factory=dict)
    _task: asyncio.Task[None] | None = None
    _pruned_at: datetime | None = None

    def shadow(self, container: str, phase: str, store: str, matched: bool) -> None:
        """One shadow comparison in ``phase``, of ``store``'s answer with the other store."""
        self._pending[((SHADOW, container, phase, store), matched)] += 1

    def _take(self) -> dict[Key, list[int]]:
        out: dict[Key, list[int]] = {}
        for (key, ok), n in self._pending.items():
            out.setdefault(key, [0, 0])[0 if ok else 1] += n
        self._pending.clear()
        for store, counts in self.calls.items():
            seen_ok, seen_failed = self._seen_calls.get(store, (0, 0))
            d_ok, d_failed = counts.succeeded - seen_ok, counts.failed - seen_failed
            self._seen_calls[store] = (counts.succeeded, counts.failed)
            if d_ok or d_failed:
                out[(CALLS, "", None, store)] = [d_ok, d_failed]
        if self.workload is not None:
            for (kind, container, measure), n in self.workload.take().items():
                out[(kind, container, None, measure)] = [n, 0]
        return out

    async def flush(self, store: RelationalStore) -> None:
        """Append the deltas; with the database down they are kept for the next flush."""
        taken = self._take()
        at = datetime.now(UTC)  # our clock, like the phase history's (SQLite's default is
        # a differently formatted string that would not compare with it)
        rows = [
            {
                "kind": k,
                "container": c,
                "phase": p,
                "store": s,
                "ok": n[0],
                "failed": n[1],
                "at": at,
            }
            for (k, c, p, s), n in taken.items()
        ]
        if not rows:
            return
        try:
            async with store.transaction() as conn:
                await conn.execute(sa.insert(t.evidence), rows)
                if self._due_for_pruning(at):
                    await conn.execute(_prune(at))
        except StoreUnavailable as exc:
            log.warning("gate evidence not flushed, kept for the next try: %s", exc)
            for key, n in taken.items():
                if key[0] == SHADOW:
                    self._pending[(key, True)] += n[0]
                    self._pending[(key, False)] += n[1]
                elif key[0] in WORKLOAD_KINDS and self.workload is not None:
                    self.workload.give_back({(key[0], key[1], key[3]): n[0]})
                else:
                    ok, failed = self._seen_calls[key[3]]
                    self._seen_calls[key[3]] = (ok - n[0], failed - n[1])

    def _due_for_pruning(self, at: datetime) -> bool:
        if self._pruned_at is not None and (at - self._pruned_at).total_seconds() < PRUNE_EVERY_S:
            return False
        self._pruned_at = at
        return True

    def start(self, store: RelationalStore, every_s: float = FLUSH_S) -> None:
        """Flush every ``every_s`` seconds until `stop`."""

        async def loop() -> None:
            while True:
                await asyncio.sleep(every_s)
                await self.flush(store)

        self._task = asyncio.get_running_loop().create_task(loop())

    async def stop(self, store: RelationalStore) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        await self.flush(store)


def _prune(at: datetime) -> sa.Delete:
    """Workload and store-call rows older than the longest window reading them."""
    e = t.evidence
    cutoff = at - timedelta(minutes=MAX_WINDOW_MINUTES)
    return sa.delete(e).where(e.c.kind.in_((*WORKLOAD_KINDS, CALLS)), e.c.at < cutoff)


@dataclass(frozen=True)
class Tally:
    ok: int
    failed: int

    @property
    def total(self) -> int:
        return self.ok + self.failed


async def sums(
    store: RelationalStore,
    kind: str,
    *,
    container: str = "",
    phase: str | None = None,
    since: datetime | None = None,
) -> dict[str, Tally]:
    """Per store: the flushed counts of ``kind`` (for ``container`` and ``phase``) since."""
    e = t.evidence
    stmt = (
        sa.select(e.c.store, sa.func.sum(e.c.ok), sa.func.sum(e.c.failed))
        .where(e.c.kind == kind, e.c.container == container)
        .group_by(e.c.store)
    )
    if phase is not None:
        stmt = stmt.where(e.c.phase == phase)
    if since is not None:
        stmt = stmt.where(e.c.at >= since)
    async with store.reading() as conn:
        rows = (await conn.execute(stmt)).all()
    return {r[0]: Tally(int(r[1] or 0), int(r[2] or 0)) for r in rows}
