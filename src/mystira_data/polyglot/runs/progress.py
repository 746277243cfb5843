"""A run's progress, aggregated over its segments: done/total, rate, ETA and owners."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from mystira_data.polyglot.runs.record import Run, RunKind, RunStatus, Segment

__all__ = ["ETA_AFTER", "RunProgress"]

ETA_AFTER = 0.01  # an ETA only once 1% is done: before that the rate says little


@dataclass(frozen=True)
class RunProgress:
    run: Run
    segments: list[Segment]
    now: datetime

    @classmethod
    def of(cls, run: Run, segments: list[Segment]) -> RunProgress:
        return cls(run, segments, datetime.now(UTC))

    @property
    def done(self) -> int:
        """Documents done: read (backfill) or compared (verify)."""
        return sum(_done(self.run, s) for s in self.segments)

    @property
    def total(self) -> int:
        # Counted at the start: live writes may add more; never report less than done.
        return sum(max(s.total, _done(self.run, s)) for s in self.segments)

    @property
    def rate(self) -> float | None:
        """Documents per second since the run started."""
        end = self.run.finished_at or self.now
        if self.run.created_at is None or end <= self.run.created_at:
            return None
        return self.done / (end - self.run.created_at).total_seconds()

    @property
    def eta_s(self) -> float | None:
        if self.run.status is RunStatus.DONE:
            return 0.0
        rate, total = self.rate, self.total
        if not rate or not total or self.done < total * ETA_AFTER:
            return None
        return (total - self.done) / rate

    @property
    def state(self) -> str:
        if self.run.status is RunStatus.DONE:
            return "done"
        return self.run.state_now(self.now) or "running"

    def as_json(self) -> dict[str, Any]:
        run = self.run
        return {
            "run": run.id,
            "kind": run.kind.value,
            "container": run.container,
            "direction": run.direction,
            "status": run.status.value,
            "state": self.state,
            "throttled": run.throttled,
            "done": self.done,
            "total": self.total,
            "segmentsDone": sum(s.done for s in self.segments),
            "segments": len(self.segments),
            "docsPerSecond": self.rate,
            "etaSeconds": self.eta_s,
            "position": run.position,
            "report": run.report,
            "owners": [_segment_json(run, s, self.now) for s in self.segments],
        }

    def lines(self) -> list[str]:
        """The status as text: a summary line, then one line per segment."""
        run, rate, eta = self.run, self.rate, self.eta_s
        pct = f"{100 * self.done / self.total:.1f}%" if self.total else "-"
        head = (
            f"{run.id} {run.kind.value} {run.container} ({run.direction}): {self.state}; "
            f"{self.done}/{self.total} docs ({pct}), "
            f"{sum(s.done for s in self.segments)}/{len(self.segments)} segments, "
            f"{'-' if rate is None else f'{rate:,.0f}'} docs/s, "
            f"ETA {'-' if eta is None else f'{eta:,.0f}s'}"
        )
        if run.throttled:
            head += f", 429s {run.throttled}"
        return [head, *(_segment_line(run, s, self.now) for s in self.segments)]


def _done(run: Run, s: Segment) -> int:
    return s.counts.read if run.kind is RunKind.BACKFILL else s.counts.compared


def _owner(s: Segment, now: datetime) -> str:
    if s.done:
        return "done"
    if s.owner is None:
        return "unclaimed"
    return s.owner if not s.free(now) else f"{s.owner} (lease expired)"


def _segment_json(run: Run, s: Segment, now: datetime) -> dict[str, Any]:
    return {
        "seq": s.seq,
        "after": s.after,
        "upto": s.upto,
        "owner": _owner(s, now),
        "checkpoint": s.checkpoint,
        "done": _done(run, s),
        "total": s.total,
        "finished": s.done,
        "differences": s.counts.differences,
        "quarantined": s.counts.quarantined,
    }


def _segment_line(run: Run, s: Segment, now: datetime) -> str:
    extra = f", {s.counts.differences} differences" if run.kind is RunKind.VERIFY else ""
    return f"  #{s.seq} ({s.after or '…'}, {s.upto or '…'}]: {_done(run, s)}/{s.total} " + (
        f"{_owner(s, now)}{extra}"
    )
