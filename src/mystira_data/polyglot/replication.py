"""Replication: tail the primary's durable log and converge the secondary.

One `Processor` per (container, direction): document → relational tails the document
store's change feed; relational → document tails the relational outbox (exposed through the
same ``feed_ranges``/``changes`` verbs). Delivery is at least once: a checkpoint is saved only
after its batch is applied, and applies are version-guarded, so redelivery is harmless.

A change that keeps failing is retried; after ``poison_attempts`` it goes to the dead-letter
record so the range keeps moving. A change whose parent row has not arrived yet (foreign key)
is not poison: the batch is retried later, up to a much larger budget.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from mystira_data.documents.port import Document
from mystira_data.errors import ForeignKeyViolation, MystiraError
from mystira_data.polyglot.leases import Lease, LeaseStore, balance
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
    ) -> None:
        self.container = container
        self.source = source
        self.apply = apply
        self.leases = leases
        self.dead_letters = dead_letters
        self.owner = owner or f"worker-{uuid.uuid4().hex[:8]}"
        self.lease_ttl = lease_ttl
        self.batch_size = batch_size
        self.stats = Stats()
        self._attempts: dict[tuple[str, int], int] = {}
        self._ranges: frozenset[str] | None = None

    async def run_once(self) -> int:
        """Claim leases, drain each owned range to its end once; returns changes applied."""
        applied = 0
        if self._ranges is None:
            ranges = await self.source.feed_ranges(self.container)
            await self.leases.ensure(self.container, ranges)
            self._ranges = frozenset(ranges)
        owned = await balance(
            self.leases, self.container, self.owner, self.lease_ttl, ranges=self._ranges
        )
        for lease in owned:
            applied += await self._drain(lease)
        return applied

    async def release(self) -> None:
        """Give up every lease this worker holds (a clean stop: others take over at once)."""
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
                return applied  # another worker took the range; it will redeliver
            checkpoint = batch.checkpoint
            self.stats.batches += 1

    async def _apply_batch(self, items: list[Document]) -> int:
        applied = 0
        for doc in items:
            if await self._apply_one(doc):
                applied += 1
        self.stats.applied += applied
        return applied

    async def _apply_one(self, doc: Document) -> bool:
        key = (str(doc.get("id")), int(doc.get("_version", 0)))
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
