"""`RunStore`: durable runs and segments, compare-and-set on each segment's fencing token."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any, Protocol

from mystira_data.polyglot.runs.record import Run, RunStatus, Segment, SegmentCounts

__all__ = ["MemoryRunStore", "RunStore"]


class RunStore(Protocol):
    async def create(self, run: Run, segments: list[Segment]) -> None: ...

    async def run(self, run_id: str) -> Run | None: ...

    async def segments(self, run_id: str) -> list[Segment]:
        """The run's segments in id order."""

    async def claim(self, segment: Segment, owner: str, until: datetime) -> Segment | None:
        """Take (or renew) ``segment`` if its token is still as read; the token is bumped."""

    async def checkpoint(
        self,
        segment: Segment,
        checkpoint: str | None,
        counts: SegmentCounts,
        *,
        diffs: list[dict[str, Any]] | None = None,
        done: bool = False,
        until: datetime | None = None,
    ) -> Segment | None:
        """Save progress (and extend the lease to ``until``) if ``segment.token`` still
        holds; None when a newer claim fenced this owner out."""

    async def release(self, segment: Segment) -> None: ...

    async def note(self, run_id: str, state: str, until: datetime, *, throttled: int = 0) -> None:
        """Set the run's transient state (``until``) and add to its 429 count."""

    async def reserve(self, run_id: str, cost_us: int, not_before_us: int) -> int:
        """Book ``cost_us`` of the run's shared budget clock, starting no earlier than
        ``not_before_us`` (epoch µs); returns the booked start."""

    async def finish(self, run_id: str, report: dict[str, Any], at: datetime) -> bool:
        """Mark the run done with ``report``; False if another worker already did."""


class MemoryRunStore:
    """A `RunStore` in one process (unit tests)."""

    def __init__(self) -> None:
        self.runs: dict[str, Run] = {}
        self.rows: dict[tuple[str, int], Segment] = {}
        self.budget: dict[str, int] = {}

    async def create(self, run: Run, segments: list[Segment]) -> None:
        self.runs[run.id] = run
        for s in segments:
            self.rows[(run.id, s.seq)] = s

    async def run(self, run_id: str) -> Run | None:
        return self.runs.get(run_id)

    async def segments(self, run_id: str) -> list[Segment]:
        return [v for (r, _), v in sorted(self.rows.items()) if r == run_id]

    async def claim(self, segment: Segment, owner: str, until: datetime) -> Segment | None:
        row = self._as_read(segment)
        if row is None:
            return None
        taken = replace(row, owner=owner, expires_at=until, token=row.token + 1)
        self.rows[(segment.run_id, segment.seq)] = taken
        return taken

    async def checkpoint(
        self,
        segment: Segment,
        checkpoint: str | None,
        counts: SegmentCounts,
        *,
        diffs: list[dict[str, Any]] | None = None,
        done: bool = False,
        until: datetime | None = None,
    ) -> Segment | None:
        row = self._as_read(segment)
        if row is None:
            return None
        saved = replace(
            row,
            checkpoint=checkpoint,
            counts=counts,
            diffs=row.diffs if diffs is None else list(diffs),
            done=done,
            expires_at=until or row.expires_at,
        )
        self.rows[(segment.run_id, segment.seq)] = saved
        return saved

    async def release(self, segment: Segment) -> None:
        row = self._as_read(segment)
        if row is not None:
            self.rows[(segment.run_id, segment.seq)] = replace(
                row, owner=None, expires_at=None, token=row.token + 1
            )

    async def note(self, run_id: str, state: str, until: datetime, *, throttled: int = 0) -> None:
        run = self.runs[run_id]
        self.runs[run_id] = replace(
            run, state=state, state_until=until, throttled=run.throttled + throttled
        )

    async def reserve(self, run_id: str, cost_us: int, not_before_us: int) -> int:
        start = max(self.budget.get(run_id, 0), not_before_us)
        self.budget[run_id] = start + cost_us
        return start

    async def finish(self, run_id: str, report: dict[str, Any], at: datetime) -> bool:
        run = self.runs[run_id]
        if run.status is RunStatus.DONE:
            return False
        self.runs[run_id] = replace(run, status=RunStatus.DONE, report=report, finished_at=at)
        return True

    def _as_read(self, segment: Segment) -> Segment | None:
        row = self.rows.get((segment.run_id, segment.seq))
        return row if row is not None and row.token == segment.token else None
