"""Replication: tail the primary's durable log and converge the secondary.

One `Processor` per (container, direction): document → relational tails the document
store's change feed; relational → document tails the relational outbox (exposed through the
same ``feed_ranges``/``changes`` verbs). Delivery is at least once: a checkpoint is saved only
after its batch is applied, and applies are version-guarded, so redelivery is harmless.

A batch is applied in one call when the target can (``apply_many``: one transaction for the
relational store); if that fails for a non-transient reason the batch is replayed change by
change, so one bad change is isolated. A change that keeps failing is retried; after
``poison_attempts`` it goes to the dead-letter record so the range keeps moving. A change
whose parent row has not arrived yet (foreign key) is not poison: the batch is retried later,
up to a much larger budget.

Leases are renewed every half TTL rather than on every poll: a renewal is a write per range,
and polling an idle feed every few milliseconds would otherwise write hundreds of times a
second. A lease lost in between (stolen or expired) shows as a refused checkpoint.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from mystira_data.documents.port import Document
from mystira_data.errors import ForeignKeyViolation, MystiraError
from mystira_data.polyglot.leases import Lease, LeaseStore, balance
from mystira_data.polyglot.versions import ApplyMany
from mystira_data.query import ChangeBatch

log = logging.getLogger(__name__)

POISON_ATTEMPTS = 5
PARENT_WAIT_ATTEMPTS = 200


class ChangeSource(Protocol):
    async def feed_ranges(self, container: str) -> list[str]: ...
    async def changes(
        self, container: str, feed_range: str, checkpoint: str | None, *, max_items: int = 100
    ) -> ChangeBatch: ...


Apply = Callable[[str, Document], Awaitable[Any]]


@dataclass(frozen=True)
class DeadLetter:
    container: str
    entity_id: str
    version: int
    error: str
    attempts: int
    at: datetime
    document: Document


class DeadLetters(Protocol):
    async def add(self, letter: DeadLetter) -> None: ...


@dataclass
class MemoryDeadLetters:
    letters: list[DeadLetter] = field(default_factory=list)

    async def add(self, letter: DeadLetter) -> None:
        self.letters.append(letter)


@dataclass
class Stats:
    applied: int = 0
    batches: int = 0
    retried: int = 0
    dead_lettered: int = 0


class RetryLater(Exception):
    """Internal: stop this batch without a checkpoint; it is redelivered next round."""


class Processor:
    """Moves one container's changes from ``source`` to a target through ``apply``."""

    def __init__(
        self,
        container: str,
        source: ChangeSource,
        apply: Apply,
        leases: LeaseStore,
        dead_letters: DeadLetters,
        *,
        owner: str | None = None,
        lease_ttl: timedelta = timedelta(seconds=10),
        batch_size: int = 200,
        apply_many: ApplyMany | None = None,
    ) -> None:
        self.container = container
        self.source = source
        self.apply = apply
        self.apply_many = apply_many
        self.leases = leases
        self.dead_letters = dead_letters
        self.owner = owner or f"worker-{uuid.uuid4().hex[:8]}"
        self.lease_ttl = lease_ttl
        self.batch_size = batch_size
        self.stats = Stats()
        self._attempts: dict[tuple[str, int], int] = {}
        self._ranges: frozenset[str] | None = None
        self._owned: dict[str, Lease] = {}
        self._renew_at = 0.0  # time.monotonic() after which the leases are renewed

    async def run_once(self) -> int:
        """Claim leases, drain each owned range to its end once; returns changes applied.

        Ranges are drained concurrently: each is its own ordered stream, and a busy range
        must not hold back the changes waiting in the others.
        """
        drains = [self._drain(lease) for lease in await self._current_leases()]
        results = await asyncio.gather(*drains, return_exceptions=True)
        for result in results:  # all settled first, then the first failure surfaces
            if isinstance(result, BaseException):
                raise result
        return sum(r for r in results if isinstance(r, int))

    async def _current_leases(self) -> list[Lease]:
        """The leases held, renewed (and rebalanced) once half their TTL has gone by."""
        if self._owned and time.monotonic() < self._renew_at:
            return list(self._owned.values())
        if self._ranges is None:
            ranges = await self.source.feed_ranges(self.container)
            await self.leases.ensure(self.container, ranges)
            self._ranges = frozenset(ranges)
        renewed_at = time.monotonic()
        owned = await balance(
            self.leases, self.container, self.owner, self.lease_ttl, ranges=self._ranges
        )
        self._owned = {lease.feed_range: lease for lease in owned}
        self._renew_at = renewed_at + self.lease_ttl.total_seconds() / 2
        return owned

    async def release(self) -> None:
        """Give up every lease this worker holds (a clean stop: others take over at once)."""
        self._owned.clear()
        for lease in await self.leases.leases(self.container):
            if lease.owner == self.owner:
                await self.leases.release(lease)

    async def run_forever(self, idle_s: float = 0.2, stop: asyncio.Event | None = None) -> None:
        stop = stop or asyncio.Event()
        while not stop.is_set():
            try:
                if await self.run_once() == 0:
                    await asyncio.wait_for(stop.wait(), idle_s)
            except TimeoutError:
                continue
            except MystiraError as exc:
                log.warning("replication of %s paused: %s", self.container, exc)
                await asyncio.sleep(idle_s)

    async def _drain(self, lease: Lease) -> int:
        applied, checkpoint = 0, lease.checkpoint
        while True:
            batch = await self.source.changes(
                self.container, lease.feed_range, checkpoint, max_items=self.batch_size
            )
            if not batch.items:
                return applied
            try:
                applied += await self._apply_batch(batch.items)
            except RetryLater:
                return applied
            if not await self.leases.save_checkpoint(lease, batch.checkpoint):
                self._owned.pop(lease.feed_range, None)  # taken over; the new owner redelivers
                return applied
            checkpoint = batch.checkpoint
            lease = self._owned[lease.feed_range] = replace(lease, checkpoint=checkpoint)
            self.stats.batches += 1
            if time.monotonic() >= self._renew_at:
                return applied  # renew before the lease can expire under a long backlog

    async def _apply_batch(self, items: list[Document]) -> int:
        if self.apply_many is not None and len(items) > 1:
            try:
                await self.apply_many(self.container, items)
            except MystiraError as exc:
                if exc.transient:
                    raise
                # Replay one by one below: isolates the bad change, waits for a parent.
            else:
                for doc in items if self._attempts else ():
                    self._attempts.pop(_key(doc), None)
                self.stats.applied += len(items)
                return len(items)
        applied = 0
        for doc in items:
            if await self._apply_one(doc):
                applied += 1
        self.stats.applied += applied
        return applied

    async def _apply_one(self, doc: Document) -> bool:
        key = _key(doc)
        try:
            await self.apply(self.container, doc)
        except ForeignKeyViolation as exc:
            if self._count(key) < PARENT_WAIT_ATTEMPTS:
                self.stats.retried += 1
                raise RetryLater from exc
            await self._dead_letter(doc, key, exc)
            return False
        except MystiraError as exc:
            if exc.transient:
                raise
            if self._count(key) < POISON_ATTEMPTS:
                self.stats.retried += 1
                raise RetryLater from exc
            await self._dead_letter(doc, key, exc)
            return False
        self._attempts.pop(key, None)
        return True

    def _count(self, key: tuple[str, int]) -> int:
        self._attempts[key] = self._attempts.get(key, 0) + 1
        return self._attempts[key]

    async def _dead_letter(self, doc: Document, key: tuple[str, int], exc: Exception) -> None:
        letter = DeadLetter(
            self.container,
            key[0],
            key[1],
            f"{type(exc).__name__}: {exc}",
            self._attempts.pop(key, 0),
            datetime.now(UTC),
            doc,
        )
        await self.dead_letters.add(letter)
        self.stats.dead_lettered += 1
        log.error("dead-lettered %s/%s v%s: %s", self.container, key[0], key[1], letter.error)


def _key(doc: Document) -> tuple[str, int]:
    return str(doc.get("id")), int(doc.get("_version", 0))
