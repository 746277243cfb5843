"""The document store's request budget, shared by every worker of a run, and 429 backoff.

The budget is a clock on the run record (`RunStore.reserve`): each worker books the time its
requests cost at ``per_second`` and sleeps until its slot, so N workers together stay under
the budget wherever they run. A 429 books its retry-after (or a growing backoff) on the same
clock, so every worker of the run slows down, not only the one that was refused, and marks
the run "throttled: 429" for that long.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from mystira_data.errors import StoreUnavailable, Throttled
from mystira_data.polyglot.runs.store import RunStore

__all__ = ["THROTTLED", "UNAVAILABLE", "Budget"]

THROTTLED = "throttled: 429"
UNAVAILABLE = "waiting: store unavailable"
BACKOFF_S = 0.5  # the first backoff when the server gave no retry-after; doubled each time
MAX_BACKOFF_S = 30.0
US = 1_000_000


class Budget:
    """``per_second`` requests (None: unlimited, but 429 pauses are still shared)."""

    def __init__(
        self,
        store: RunStore,
        run_id: str,
        per_second: float | None,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.run_id = run_id
        self.per_second = per_second
        self.sleep = sleep
        self.clock = clock
        self.backoffs = 0  # consecutive refusals; reset by `ok`

    async def take(self, requests: int) -> float:
        """Wait for the slot of ``requests`` document-store requests; returns the wait (s)."""
        now = int(self.clock() * US)
        cost = 0 if not self.per_second else int(requests * US / self.per_second)
        start = await self.store.reserve(self.run_id, cost, now)
        wait = (start - now) / US
        if wait > 0:
            await self.sleep(wait)
        return max(wait, 0.0)

    async def refused(self, exc: StoreUnavailable) -> float:
        """Book a pause for the whole run after a 429 (or an outage: an open breaker, a store
        that stopped answering); returns it (s)."""
        retry_after = exc.retry_after if isinstance(exc, Throttled) else None
        delay = retry_after or min(MAX_BACKOFF_S, BACKOFF_S * 2**self.backoffs)
        self.backoffs += 1
        state = THROTTLED if isinstance(exc, Throttled) else UNAVAILABLE
        until = datetime.now(UTC) + timedelta(seconds=delay)
        await self.store.note(self.run_id, state, until, throttled=int(state == THROTTLED))
        await self.store.reserve(self.run_id, int(delay * US), int(self.clock() * US))
        return delay

    def ok(self) -> None:
        self.backoffs = 0
