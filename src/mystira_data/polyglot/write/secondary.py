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

With an `Offload` (the writer process of `writer_process`), each write is sent to another process
that batches and applies them, so their CPU (validation, parameter encoding, the driver) no
longer delays the callers sharing this loop. The bound stays here: at most ``queue_size``
writes unsettled. A write is settled — counted as applied, or recorded in the sync log — only
when that process acknowledges it; writes it had not acknowledged when it died go to the
in-process queue instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol, TypeVar

import pydantic_core

from mystira_data.errors import MystiraError
from mystira_data.polyglot.write.guarded import ApplyMany
from mystira_data.types import JsonDoc

log = logging.getLogger(__name__)

Apply = Callable[[str, JsonDoc], Awaitable[object]]
BATCH_MAX = 200
# How long the async worker waits for more writes before sending a batch: a few ms of extra
# secondary delay buys one transaction per batch instead of one per write.
LINGER_S = 0.01


@dataclass(frozen=True)
class _Queued:
    apply: Apply
    apply_many: ApplyMany | None
    container: str
    doc: JsonDoc
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

    def record(self, container: str, doc: JsonDoc, target: str, error: str) -> None:
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


@dataclass
class GroupResult:
    """How a group of writes went: how many applied, and (index, error) for each failure."""

    applied: int = 0
    failed: list[tuple[int, str]] = field(default_factory=list)


async def apply_group(
    apply: Apply,
    apply_many: ApplyMany | None,
    container: str,
    docs: list[JsonDoc],
    timeout_s: float,
) -> GroupResult:
    """Apply ``docs`` (one container, queue order) in one call where possible.

    A transient failure of the batch call fails the whole group (the store is down: no
    write-by-write retry against it); any other failure replays it write by write, so one
    bad document does not take its neighbours down with it.
    """
    if apply_many is not None and len(docs) > 1:
        try:
            async with asyncio.timeout(timeout_s):
                await apply_many(container, docs)
        except (MystiraError, TimeoutError, OSError) as exc:
            if not isinstance(exc, MystiraError) or exc.transient:
                return GroupResult(0, [(i, _describe(exc)) for i in range(len(docs))])
        else:
            return GroupResult(len(docs))
    result = GroupResult()
    for i, doc in enumerate(docs):
        try:
            # asyncio.timeout, not wait_for: no extra task per write on the inline path.
            async with asyncio.timeout(timeout_s):
                await apply(container, doc)
        except (MystiraError, TimeoutError, OSError) as exc:
            result.failed.append((i, _describe(exc)))
        else:
            result.applied += 1
    return result


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


# (error, or None if applied; the write's document as sent if it comes back unapplied)
Settled = Callable[[str | None, JsonDoc | None], None]


class Offload(Protocol):
    """Somewhere else to apply the queued writes (see `offload.WriterProcess`)."""

    @property
    def pending(self) -> int:
        """Writes sent and not yet settled."""
        ...

    def usable(self) -> bool:
        """Ready to take writes now (may start itself in the background and say no)."""
        ...

    def send(self, target: str, container: str, doc: JsonDoc, settled: Settled) -> None:
        """Send one write (a snapshot of ``doc`` is taken now); ``settled`` is called once
        with how it went, or with the snapshot if it comes back unapplied."""
        ...

    async def idle(self) -> None:
        """Until nothing sent is unsettled."""
        ...

    async def wait_ready(self, timeout_s: float) -> bool:
        """Start if needed and wait until it takes writes; False if it cannot."""
        ...

    async def close(self) -> None: ...


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
        offload: Offload | None = None,
    ) -> None:
        self.timeout_s = timeout_s
        self.offload = offload
        self.linger_s = linger_s
        self.mode = mode
        self.sync_log = sync_log
        self._queue: asyncio.Queue[_Queued] = asyncio.Queue(queue_size)
        self._worker: asyncio.Task[None] | None = None

    async def write(
        self,
        apply: Apply,
        container: str,
        doc: JsonDoc,
        target: str,
        apply_many: ApplyMany | None = None,
    ) -> None:
        """Apply ``doc`` to the secondary; ``apply_many`` lets the async queue batch writes."""
        if self.mode != "async":
            await self._apply(apply, container, doc, target)
            return
        item = _Queued(apply, apply_many, container, doc, target)
        if self.offload is not None and self.offload.usable():
            self._send(self.offload, item)
        else:
            # The caller gets ``doc`` back and may change it before the queue applies it.
            self._enqueue(dataclasses.replace(item, doc=snapshot(doc)))

    async def _apply(self, apply: Apply, container: str, doc: JsonDoc, target: str) -> None:
        result = await apply_group(apply, None, container, [doc], self.timeout_s)
        self._record(target, container, [doc], result)

    def _record(self, target: str, container: str, docs: list[JsonDoc], r: GroupResult) -> None:
        self.sync_log.applied += r.applied
        for i, error in r.failed:
            self.sync_log.record(container, docs[i], target, error)

    def _send(self, offload: Offload, item: _Queued) -> None:
        """To the offload, one write at a time: it batches on its side, so this process
        never pays a whole batch's serialisation at once."""
        if offload.pending >= self._queue.maxsize:  # the same bound as the in-process queue
            self.sync_log.record(item.container, item.doc, item.target, "secondary queue full")
            return

        def settled(error: str | None, returned: JsonDoc | None) -> None:
            if returned is not None:  # the writer process died first: apply it here instead
                self._enqueue(dataclasses.replace(item, doc=returned))
            elif error is None:
                self.sync_log.applied += 1
            else:
                self.sync_log.record(item.container, item.doc, item.target, error)

        offload.send(item.target, item.container, item.doc, settled)

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
                for group in runs(batch, lambda q: (q.target, q.container)):
                    await self._apply_group(group)
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _apply_group(self, group: list[_Queued]) -> None:
        """One call for writes to the same (target, container), in queue order."""
        first, docs = group[0], [item.doc for item in group]
        result = await apply_group(
            first.apply, first.apply_many, first.container, docs, self.timeout_s
        )
        self._record(first.target, first.container, docs, result)

    async def warm_up(self, timeout_s: float = 120.0) -> bool:
        """Async mode with an offload: start it now rather than at the first write (a
        cold start takes seconds, during which the queue applies in-process). True if the
        offload takes writes."""
        if self.mode != "async" or self.offload is None:
            return False
        return await self.offload.wait_ready(timeout_s)

    async def drain(self) -> None:
        """Wait until every queued secondary write has been attempted."""
        while True:
            if self.offload is not None:
                await self.offload.idle()
            if self._worker is not None:
                await self._queue.join()
            # A write the offload lost lands in the in-process queue: check both again.
            if (self.offload is None or not self.offload.pending) and self._queue.empty():
                return

    async def close(self) -> None:
        await self.drain()
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None
        if self.offload is not None:
            await self.offload.close()


T = TypeVar("T")


def snapshot(doc: JsonDoc) -> JsonDoc:
    """A deep copy of a JSON document (through pydantic-core's JSON: cheaper than deepcopy)."""
    copied: JsonDoc = pydantic_core.from_json(pydantic_core.to_json(doc))
    return copied


def runs(items: list[T], key: Callable[[T], object]) -> list[list[T]]:
    """Consecutive runs of items with the same key; order across runs is kept."""
    out: list[list[T]] = []
    for item in items:
        if out and key(out[-1][0]) == key(item):
            out[-1].append(item)
        else:
            out.append([item])
    return out
