"""Progress of a long copy: done, total, the recent rate and an ETA.

The rate is taken over a sliding window (``window_s``), so a run that was paused or
throttled shows what it does now, not its lifetime average. The ETA is only given once at
least 1% is done (before that the rate says little) and while documents are moving.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ETA_AFTER", "Progress"]

ETA_AFTER = 0.01  # the share done before an ETA is given


@dataclass
class Progress:
    total: int | None
    window_s: float = 30.0
    clock: Callable[[], float] = time.monotonic
    done: int = 0
    _marks: deque[tuple[float, int]] = field(default_factory=deque)  # (time, done then)

    def __post_init__(self) -> None:
        self._marks.append((self.clock(), 0))

    def add(self, n: int) -> None:
        self.done += n
        now = self.clock()
        self._marks.append((now, self.done))
        # Keep one mark at or before the window's start, so the rate spans the whole window.
        while len(self._marks) > 2 and self._marks[1][0] <= now - self.window_s:
            self._marks.popleft()

    def reach(self, done: int) -> None:
        """`add` given the new total done (callers that count from the start)."""
        self.add(done - self.done)

    @property
    def rate(self) -> float:
        """Documents per second over the recent window (0 before any moved)."""
        (start, first), now = self._marks[0], self.clock()
        return (self.done - first) / (now - start) if now > start else 0.0

    @property
    def eta_s(self) -> float | None:
        """Seconds left at the recent rate; None before 1% is done or while nothing moves."""
        if not self.total or self.done < self.total * ETA_AFTER:
            return None
        rate = self.rate
        if rate <= 0:
            return None
        return max(0, self.total - self.done) / rate

    def as_json(self) -> dict[str, Any]:
        eta = self.eta_s
        return {
            "done": self.done,
            "total": self.total,
            "rate": round(self.rate, 1),
            "etaSeconds": None if eta is None else round(eta, 1),
        }
