"""A worker of a run: claim a free or expired segment, do it page by page, repeat.

Each page ends with a checkpoint that also extends the lease; it names the fencing token the
claim returned, so a worker that stalled past its lease and lost the segment to another is
refused and goes back to claiming (its last page is redone by the new owner: harmless, the
writes are version-guarded and the counts only move with a checkpoint). When every segment
is done, the worker that sees it first finishes the run (`finish.finish_run`).
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta

from mystira_data.errors import StoreUnavailable
from mystira_data.polyglot.controls.throttle import Pacer
from mystira_data.polyglot.runs.budget import Budget
from mystira_data.polyglot.runs.jobs import Job, Step
from mystira_data.polyglot.runs.record import Run, RunStatus, Segment, SegmentCounts
from mystira_data.polyglot.runs.store import RunStore

__all__ = ["MAX_DIFFS", "Worker", "worker_name"]

MAX_DIFFS = 1000  # differences kept per segment (all are counted)
POLL_S = 0.5  # how often a worker with nothing to claim looks again

Finisher = Callable[[Run, list[Segment]], Awaitable[None]]


class LeaseLost(Exception):
    """A newer claim fenced this worker out of its segment."""


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class Worker:
    store: RunStore
    run: Run
    job: Job
    budget: Budget
    finisher: Finisher
    owner: str = field(default_factory=worker_name)
    poll_s: float = POLL_S
    on_page: Callable[[Step], None] | None = None
    # The operator's controls (pause, rate, lag bound) for the run's task, when it has one.
    pacer: Pacer | None = None
    _last_read: int = 0  # the documents of the page before, counted against the rate

    @property
    def ttl(self) -> timedelta:
        return timedelta(seconds=self.run.lease_ttl_s)

    async def work(self) -> None:
        """Until the run is done (by this worker or others)."""
        while True:
            run = await self.store.run(self.run.id)
            if run is None or run.status is RunStatus.DONE:
                return
            segments = await self.store.segments(run.id)
            if all(s.done for s in segments):
                await self.finisher(run, segments)
                return
            mine = await self._claim(segments)
            if mine is None:  # all taken by live workers: wait for them to end or expire
                await asyncio.sleep(self.poll_s)
                continue
            try:
                await self._segment(mine)
            except LeaseLost:
                continue

    async def _claim(self, segments: list[Segment]) -> Segment | None:
        now = datetime.now(UTC)
        free = [s for s in segments if not s.done and s.free(now)]
        free.sort(key=lambda s: s.owner is not None)  # never-claimed first, then expired
        for s in free:
            if (taken := await self.store.claim(s, self.owner, now + self.ttl)) is not None:
                return taken
        return None

    async def _segment(self, seg: Segment) -> None:
        while not seg.done:
            if self.pacer is not None:
                await self.pacer.before_batch(self._last_read)
            await self.budget.take(self.job.requests)
            seg = await self._renewed(seg)
            try:
                step = await self.job.step(seg.remaining())
            except StoreUnavailable as exc:
                # A 429, an open breaker or an outage outlasting the store's own retries:
                # the whole run waits it out (as `replicate` does), the page is redone.
                await self.budget.refused(exc)
                continue
            self.budget.ok()
            self._last_read = step.counts.read
            seg = await self._save(seg, step)
            if self.on_page is not None:
                self.on_page(step)

    async def _renewed(self, seg: Segment) -> Segment:
        """The segment with its lease extended if less than half of it is left."""
        now = datetime.now(UTC)
        if seg.expires_at is not None and seg.expires_at - now > self.ttl / 2:
            return seg
        renewed = await self.store.claim(seg, self.owner, now + self.ttl)
        if renewed is None:
            raise LeaseLost(seg.seq)
        return renewed

    async def _save(self, seg: Segment, step: Step) -> Segment:
        counts = _added(seg.counts, step.counts)
        diffs = (seg.diffs + step.diffs)[:MAX_DIFFS] if step.diffs else None
        saved = await self.store.checkpoint(
            seg,
            step.last,
            counts,
            diffs=diffs,
            done=step.done,
            until=datetime.now(UTC) + self.ttl,
        )
        if saved is None:
            raise LeaseLost(seg.seq)
        return saved


def _added(a: SegmentCounts, b: SegmentCounts) -> SegmentCounts:
    return SegmentCounts(**{f.name: getattr(a, f.name) + getattr(b, f.name) for f in fields(a)})
