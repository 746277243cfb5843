"""The pacer a worker consults before each batch: pause, rate, replication lag, 429s.

``await pacer.before_batch(n)`` returns once a batch of ``n`` documents may go: it re-reads
the control record (at most every ``refresh_s``, so it is cheap), waits while a *hold* says
so (paused by an operator; backfill also while the container's replication lag is above
``maxLagSeconds``), then paces to ``rateLimit`` documents per second. Batch size and
concurrency are read per batch (`batch_size`, `concurrency`), so a change applies to the
next batch. ``state`` says why the worker is waiting ("paused by operator",
"throttled: rate 50/s", "throttled: lag 12.0s > 5.0s") or "running"; it is written into the
record every few seconds for `mystira status`, the API and the metrics.

Holds are pluggable (`add_hold`): a document-store 429 or request-unit budget throttle adds
one returning its reason ("throttled: 429 from documents") while it wants the worker to wait.

A replication pacer has ``hold_s``: instead of waiting indefinitely it raises `Held` after
that long, so a worker serving several containers moves on to the others.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from mystira_data.errors import MystiraError, Throttled
from mystira_data.polyglot.controls.record import Control, Task
from mystira_data.polyglot.controls.store import ControlStore

__all__ = [
    "PAUSED",
    "RUNNING",
    "THROTTLED_429",
    "Held",
    "Hold",
    "LagAge",
    "Pacer",
    "Pacers",
    "writer_id",
]

log = logging.getLogger(__name__)

RUNNING = "running"
PAUSED = "paused by operator"
POLL_S = 0.2  # how often a waiting worker looks again
REPORT_S = 3.0  # a state is re-written this often (the record calls it stale after 15 s)
MIN_REPORT_S = 0.5  # a changed state is written at most this often
RETRY_AFTER_S = 1.0  # a 429 without the server's retry-after holds this long
THROTTLED_429 = "throttled: 429 from documents"

# Why a worker should wait now (a reason string), or None: consulted before each batch.
Hold = Callable[[Control], Awaitable[str | None]]
# The age in seconds of the container's oldest unreplicated change (None: nothing pending).
LagAge = Callable[[], Awaitable[float | None]]


def writer_id() -> str:
    """Who reports a state: this host and process (no personal data)."""
    return f"{socket.gethostname()}:{os.getpid()}"


class Held(MystiraError):
    """A replication pacer waited ``hold_s`` and still may not go: stop this round."""


@dataclass
class Pacer:
    container: str
    task: Task
    store: ControlStore
    lag: LagAge | None = None
    writer: str = field(default_factory=writer_id)
    refresh_s: float = 1.0
    hold_s: float | None = None  # None: wait as long as a hold says so
    clock: Callable[[], float] = time.monotonic
    state: str = RUNNING
    control: Control | None = None
    holds: list[Hold] = field(default_factory=list)
    _read_at: float = -1e9
    _lag_at: float = -1e9
    _lag_s: float | None = None
    _last_at: float | None = None  # when the previous batch went
    _last_n: int = 0
    _reported: tuple[str | None, float] = (None, -1e9)
    _429_until: float = -1e9  # the document store asked us to wait until then
    # Concurrent drains of one container (a feed range each) share the rate: one at a time.
    _turn: asyncio.Lock = field(default_factory=asyncio.Lock)

    def __post_init__(self) -> None:
        self.holds[:0] = [self._hold_paused, self._hold_lag, self._hold_429]

    def add_hold(self, hold: Hold) -> None:
        """Another reason to wait (e.g. a 429 budget), consulted after pause and lag."""
        self.holds.append(hold)

    def throttled(self, exc: Throttled) -> None:
        """The document store answered 429 (after the driver's retries): the next batches
        wait for its retry-after, with the state saying so."""
        self._429_until = self.clock() + (exc.retry_after or RETRY_AFTER_S)

    def batch_size(self, default: int) -> int:
        """The batch size to use now: the operator's, else ``default``."""
        size = self.control.batch_size if self.control else None
        return size or default

    def concurrency(self, default: int) -> int:
        value = self.control.concurrency if self.control else None
        return value or default

    async def before_batch(self, n: int) -> Control:
        """Wait until a batch of ``n`` documents may go; returns the control in force."""
        async with self._turn:
            return await self._wait_for_turn(n)

    async def _wait_for_turn(self, n: int) -> Control:
        started, paced = self.clock(), None
        while True:
            control = await self._current()
            reason = await self._held(control)
            if reason is not None:
                await self._set_state(reason)
                if self.hold_s is not None and self.clock() - started >= self.hold_s:
                    raise Held(f"{self.container} {self.task.value}: {reason}")
                await asyncio.sleep(POLL_S)
                continue
            wait = self._rate_wait(control)
            if wait <= 0:
                break
            paced = f"throttled: rate {control.rate_limit:g}/s"
            await self._set_state(paced)
            await asyncio.sleep(min(wait, POLL_S))
        self._last_at, self._last_n = self.clock(), n
        # Paced for this batch: still throttled (not "running" between two waits).
        await self._set_state(paced or RUNNING)
        return control

    async def finish(self) -> None:
        """The worker stopped: its state is no longer live."""
        self._reported = (None, -1e9)
        await self._report(None)

    async def _current(self) -> Control:
        now = self.clock()
        if self.control is None or now - self._read_at >= self.refresh_s:
            try:
                self.control = await self.store.get(self.container, self.task)
            except MystiraError as exc:  # keep obeying the last record read
                log.warning("controls of %s not read (%s)", self.container, exc)
                if self.control is None:
                    self.control = Control(self.container, self.task)
            self._read_at = now
        return self.control

    async def _held(self, control: Control) -> str | None:
        for hold in self.holds:
            reason = await hold(control)
            if reason is not None:
                return reason
        return None

    async def _hold_paused(self, control: Control) -> str | None:
        return PAUSED if control.paused else None

    async def _hold_lag(self, control: Control) -> str | None:
        bound = control.max_lag_s
        if bound is None or self.lag is None or self.task is not Task.BACKFILL:
            return None
        now = self.clock()
        if now - self._lag_at >= self.refresh_s:
            self._lag_at = now
            try:
                self._lag_s = await self.lag()
            except MystiraError as exc:  # unknown lag does not stop a backfill
                log.warning("lag of %s not read (%s)", self.container, exc)
                self._lag_s = None
        if self._lag_s is None or self._lag_s <= bound:
            return None
        return f"throttled: lag {self._lag_s:.1f}s > {bound:.1f}s"

    async def _hold_429(self, control: Control) -> str | None:
        return THROTTLED_429 if self.clock() < self._429_until else None

    def _rate_wait(self, control: Control) -> float:
        """Seconds until the previous batch has been paid for at the current rate."""
        if control.rate_limit is None or self._last_at is None:
            return 0.0
        return self._last_at + self._last_n / control.rate_limit - self.clock()

    async def _set_state(self, state: str) -> None:
        self.state = state
        last, at = self._reported
        since = self.clock() - at
        if since >= REPORT_S or (state != last and since >= MIN_REPORT_S):
            await self._report(state)

    async def _report(self, state: str | None) -> None:
        self._reported = (state, self.clock())
        try:
            await self.store.report(self.container, self.task, state, self.writer)
        except MystiraError as exc:
            log.warning("state of %s %s not saved (%s)", self.container, self.task, exc)


@dataclass
class Pacers:
    """This process's pacers, one per (container, task), kept across runs."""

    store: ControlStore
    lag: Callable[[str], LagAge] | None = None  # the lag reader of a container
    writer: str = field(default_factory=writer_id)
    refresh_s: float = 1.0
    replication_hold_s: float = 1.0
    _pacers: dict[tuple[str, Task], Pacer] = field(default_factory=dict)

    def get(self, container: str, task: Task) -> Pacer:
        pacer = self._pacers.get((container, task))
        if pacer is None:
            pacer = self._pacers[(container, task)] = Pacer(
                container,
                task,
                self.store,
                lag=self.lag(container) if self.lag and task is Task.BACKFILL else None,
                writer=self.writer,
                refresh_s=self.refresh_s,
                hold_s=self.replication_hold_s if task is Task.REPLICATION else None,
            )
        return pacer
