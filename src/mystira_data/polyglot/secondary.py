"""Writing the secondary store: inline (bounded by a timeout) or via a bounded queue.

A secondary failure never fails the caller and never loses the write: the primary's durable
log (change feed or outbox) still holds it and replication converges the secondary. The
failure is recorded in the sync log so operators can see it.

The async queue is drained in batches: whatever has queued up while the previous batch was
being written goes to the secondary in one call (one transaction on the relational store),
so the background work per write — which shares the event loop with the callers — shrinks
as the write rate grows. The worker lingers ``linger_s`` after the first write so a batch
can form even when writes arrive one by one. A batch that fails for a transient reason
(store down, timeout) is recorded as failed as a whole; any other failure replays it write
by write so one bad document does not take its neighbours down with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from mystira_data.documents.port import Document
from mystira_data.errors import MystiraError
from mystira_data.polyglot.versions import ApplyMany

log = logging.getLogger(__name__)

Apply = Callable[[str, Document], Awaitable[object]]
BATCH_MAX = 200
# How long the async worker waits for more writes before sending a batch: a few ms of extra
# secondary delay buys one transaction per batch instead of one per write.
LINGER_S = 0.01


@dataclass(frozen=True)
class _Queued:
    apply: Apply
    apply_many: ApplyMany | None
    container: str
    doc: Document
    target: str


@dataclass(frozen=True)
class SyncFailure:
    """A secondary write that did not happen inline; replication will repair it."""

    container: str
    entity_id: str
    version: int
    target: str
    error: str
    at: datetime


@dataclass
class SyncLog:
    """Recent secondary failures (bounded) and counters; flushed to `_polyglot_sync_log`."""

    capacity: int = 10_000
    failures: list[SyncFailure] = field(default_factory=list)
    applied: int = 0
    failed: int = 0

    def record(self, container: str, doc: Document, target: str, error: str) -> None:
        self.failed += 1
        failure = SyncFailure(
            container,
            str(doc.get("id")),
            int(doc.get("_version", 0)),
            target,
            error,
            datetime.now(UTC),
        )
        self.failures.append(failure)
        del self.failures[: max(0, len(self.failures) - self.capacity)]
        log.warning(
            "secondary write to %s failed for %s/%s: %s",
            target,
            container,
            failure.entity_id,
            error,
        )

    def drain(self) -> list[SyncFailure]:
        """Hand the recorded failures to a persister, forgetting them here."""
        out, self.failures = self.failures, []
        return out


class SecondaryWriter:
    """Applies writes to the secondary inline or in the background, recording failures."""

    def __init__(
        self,
        *,
        timeout_s: float,
        mode: str,
        sync_log: SyncLog,
        queue_size: int = 10_000,
        linger_s: float = LINGER_S,
    ) -> None:
        self.timeout_s = timeout_s
        self.linger_s = linger_s
        self.mode = mode
        self.sync_log = sync_log
        self._queue: asyncio.Queue[_Queued] = asyncio.Queue(queue_size)
        self._worker: asyncio.Task[None] | None = None

    async def write(
        self,
        apply: Apply,
        container: str,
        doc: Document,
        target: str,
        apply_many: ApplyMany | None = None,
    ) -> None:
        """Apply ``doc`` to the secondary; ``apply_many`` lets the async queue batch writes."""
        if self.mode == "async":
            self._enqueue(_Queued(apply, apply_many, container, doc, target))
        else:
            await self._apply(apply, container, doc, target)

    async def _apply(self, apply: Apply, container: str, doc: Document, target: str) -> None:
        try:
            # asyncio.timeout, not wait_for: no extra task per write on the inline path.
            async with asyncio.timeout(self.timeout_s):
                await apply(container, doc)
        except (MystiraError, TimeoutError, OSError) as exc:
            self.sync_log.record(container, doc, target, f"{type(exc).__name__}: {exc}")
        else:
            self.sync_log.applied += 1

    def _enqueue(self, item: _Queued) -> None:
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(self._run())
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            self.sync_log.record(item.container, item.doc, item.target, "secondary queue full")

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            if self.linger_s > 0 and self._queue.qsize() < BATCH_MAX:
                await asyncio.sleep(self.linger_s)  # let a batch form: one statement, not many
            while len(batch) < BATCH_MAX and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                for group in _groups(batch):
                    await self._apply_group(group)
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _apply_group(self, group: list[_Queued]) -> None:
        """One call for writes to the same (target, container), in queue order."""
        first = group[0]
        if first.apply_many is None or len(group) == 1:
            for item in group:
                await self._apply(item.apply, item.container, item.doc, item.target)
            return
        docs = [item.doc for item in group]
        try:
            await asyncio.wait_for(first.apply_many(first.container, docs), self.timeout_s)
        except (MystiraError, TimeoutError, OSError) as exc:
            if isinstance(exc, MystiraError) and not exc.transient:
                for item in group:  # isolate the bad one(s)
                    await self._apply(item.apply, item.container, item.doc, item.target)
                return
            error = f"{type(exc).__name__}: {exc}"
            for doc in docs:
                self.sync_log.record(first.container, doc, first.target, error)
        else:
            self.sync_log.applied += len(docs)

    async def drain(self) -> None:
        """Wait until every queued secondary write has been attempted."""
        if self._worker is not None:
            await self._queue.join()

    async def close(self) -> None:
        await self.drain()
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None


def _groups(batch: list[_Queued]) -> list[list[_Queued]]:
    """Consecutive runs of the same (target, container); order across runs is kept."""
    groups: list[list[_Queued]] = []
    for item in batch:
        last = groups[-1][0] if groups else None
        if last is not None and (last.target, last.container) == (item.target, item.container):
            groups[-1].append(item)
        else:
            groups.append([item])
    return groups
