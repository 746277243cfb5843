"""Writing the secondary store: inline (bounded by a timeout) or via a bounded queue.

A secondary failure never fails the caller and never loses the write: the primary's durable
log (change feed or outbox) still holds it and replication converges the secondary. The
failure is recorded in the sync log so operators can see it.
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

log = logging.getLogger(__name__)

Apply = Callable[[str, Document], Awaitable[object]]


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
        self, *, timeout_s: float, mode: str, sync_log: SyncLog, queue_size: int = 10_000
    ) -> None:
        self.timeout_s = timeout_s
        self.mode = mode
        self.sync_log = sync_log
        self._queue: asyncio.Queue[tuple[Apply, str, Document, str]] = asyncio.Queue(queue_size)
        self._worker: asyncio.Task[None] | None = None

    async def write(self, apply: Apply, container: str, doc: Document, target: str) -> None:
        if self.mode == "async":
            self._enqueue(apply, container, doc, target)
        else:
            await self._apply(apply, container, doc, target)

    async def _apply(self, apply: Apply, container: str, doc: Document, target: str) -> None:
        try:
            await asyncio.wait_for(apply(container, doc), self.timeout_s)
        except (MystiraError, TimeoutError, OSError) as exc:
            self.sync_log.record(container, doc, target, f"{type(exc).__name__}: {exc}")
        else:
            self.sync_log.applied += 1

    def _enqueue(self, apply: Apply, container: str, doc: Document, target: str) -> None:
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(self._run())
        try:
            self._queue.put_nowait((apply, container, doc, target))
        except asyncio.QueueFull:
            self.sync_log.record(container, doc, target, "secondary queue full")

    async def _run(self) -> None:
        while True:
            apply, container, doc, target = await self._queue.get()
            try:
                await self._apply(apply, container, doc, target)
            finally:
                self._queue.task_done()

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
