"""A run and its segments as stored: what every worker of one run reads and fences on."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the CLI reads this module for its options: no asyncio at `--help`
    from mystira_data.polyglot.consistency.streams import IdRange

__all__ = ["LEASE_TTL_S", "Run", "RunKind", "RunStatus", "Segment", "SegmentCounts"]


LEASE_TTL_S = 30.0  # a segment's lease unless the run says otherwise


class RunKind(StrEnum):
    BACKFILL = "backfill"
    VERIFY = "verify"


class RunStatus(StrEnum):
    RUNNING = "running"  # segments left to claim or finish
    DONE = "done"  # every segment done and the result recorded


@dataclass(frozen=True)
class Run:
    id: str
    kind: RunKind
    container: str
    direction: str  # backfill: the target side; verify: "primary→secondary" store names
    status: RunStatus = RunStatus.RUNNING
    created_at: datetime | None = None
    lease_ttl_s: float = LEASE_TTL_S
    position: dict[str, Any] | None = None  # verify: where the logs stood at the start
    state: str | None = None  # e.g. "throttled: 429", meaningful until ``state_until``
    state_until: datetime | None = None
    throttled: int = 0  # 429s seen by all workers
    finished_at: datetime | None = None
    report: dict[str, Any] | None = None  # the aggregated result, once done

    def state_now(self, now: datetime) -> str | None:
        """The transient state while it holds (a backoff in progress), else None."""
        if self.state_until is None or self.state_until <= now:
            return None
        return self.state


@dataclass(frozen=True)
class SegmentCounts:
    """Work done up to the checkpoint (never beyond: a redone page is not counted twice)."""

    read: int = 0
    written: int = 0
    compared: int = 0
    differences: int = 0
    quarantined: int = 0


@dataclass(frozen=True)
class Segment:
    """The ids ``after < id <= upto`` of a run, owned by one worker at a time.

    ``token`` is bumped on every claim (a renewal too): a worker whose write names an older
    token lost the segment and is refused.
    """

    run_id: str
    seq: int
    after: str | None
    upto: str | None
    total: int = 0  # documents counted in the range when the run was split
    owner: str | None = None
    expires_at: datetime | None = None
    token: int = 0
    checkpoint: str | None = None  # the last id done
    counts: SegmentCounts = field(default_factory=SegmentCounts)
    diffs: list[dict[str, Any]] = field(default_factory=list)  # verify: differences found
    done: bool = False

    def free(self, now: datetime) -> bool:
        return self.owner is None or self.expires_at is None or self.expires_at <= now

    def remaining(self) -> IdRange:
        """The ids still to do: after the checkpoint, up to the segment's end."""
        return (self.checkpoint if self.checkpoint is not None else self.after, self.upto)
