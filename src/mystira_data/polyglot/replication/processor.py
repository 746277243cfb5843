"""Replication: tail the primary's durable log and converge the secondary.

One `Processor` per (container, direction): document → relational tails the document
store's change feed; relational → document tails the relational outbox (exposed through the
same ``feed_ranges``/``changes`` verbs). Delivery is at least once: a checkpoint is saved only
after its batch is applied, and applies are version-guarded, so redelivery is harmless.

A batch is applied in one call when the target can (``apply_many``: one transaction for the
relational store); if that fails for a non-transient reason the batch is replayed change by
change, so one bad change is isolated. A change that keeps failing is retried; after
`POISON_ATTEMPTS` it goes to the dead-letter record (with the reason) so the range keeps
moving. A change whose parent row is missing (foreign key) is not poison at first: it waits
up to ``parent_wait_s`` from its first failure, then is dead-lettered the same way. Attempts
are counted in `Attempts` (a table in production), so the bounds hold whichever process or
poll made them; transient errors (`StoreUnavailable`) never count. A replayed batch goes on
past a change that must wait and is redelivered as a whole until nothing in it waits, so
several bad changes of one batch wait out their bounds together, not one after another.

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
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from mystira_data.errors import ForeignKeyViolation, MystiraError, StoreUnavailable, Throttled
from mystira_data.polyglot.controls.throttle import Held
from mystira_data.polyglot.replication.attempts import Attempt, Attempts, Key, MemoryAttempts
from mystira_data.polyglot.replication.dead_letters import DeadLetter, DeadLetters
from mystira_data.polyglot.replication.leases import Lease, LeaseStore, balance
from mystira_data.polyglot.write.guarded import ApplyMany
from mystira_data.query import ChangeBatch
from mystira_data.relational import filing_version
from mystira_data.types import JsonDoc

if TYPE_CHECKING:
    from mystira_data.polyglot.controls.throttle import Pacer

log = logging.getLogger(__name__)

POISON_ATTEMPTS = 5
PARENT_WAIT_S = 30.0  # the default of the setting PolyglotPersistence:ParentWaitMs


class ChangeSource(Protocol):
    async def feed_ranges(self, container: str) -> list[str]: ...
    async def changes(
        self, container: str, feed_range: str, checkpoint: str | None, *, max_items: int = 100
    ) -> ChangeBatch: ...


Apply = Callable[[str, JsonDoc], Awaitable[Any]]


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
        attempts: Attempts | None = None,
        parent_wait_s: float = PARENT_WAIT_S,
        pacer: Pacer | None = None,
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
        self.attempts = attempts or MemoryAttempts()
        self.parent_wait_s = parent_wait_s
        self.pacer = pacer  # operator controls: pause, rate, batch size, concurrency
        self._failing: set[Key] = set()  # keys this worker saw fail (to forget on success)
        # Applied while a change of the same batch waits: not written again at each redelivery
        # (harmless, being version-guarded, but a statement each, every poll of the wait).
        self._replayed: set[Key] = set()
        self._ranges: frozenset[str] | None = None
        self._owned: dict[str, Lease] = {}
        self._renew_at = 0.0  # time.monotonic() after which the leases are renewed

    async def run_once(self) -> int:
        """Claim leases, drain each owned range to its end once; returns changes applied.

        Ranges are drained concurrently: each is its own ordered stream, and a busy range
        must not hold back the changes waiting in the others.
        """
        leases = await self._current_leases()
        at_once = self.pacer.concurrency(len(leases)) if self.pacer else len(leases)
        gate = asyncio.Semaphore(max(1, at_once))

        async def drain(lease: Lease) -> int:
            async with gate:
                return await self._drain(lease)

        drains = [drain(lease) for lease in leases]
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
                if isinstance(exc, Throttled) and self.pacer is not None:
                    self.pacer.throttled(exc)  # the next rounds wait, saying why
                log.warning("replication of %s paused: %s", self.container, exc)
                await asyncio.sleep(idle_s)

    async def _drain(self, lease: Lease) -> int:
        applied, checkpoint = 0, lease.checkpoint
        while True:
            size = self.pacer.batch_size(self.batch_size) if self.pacer else self.batch_size
            batch = await self.source.changes(
                self.container, lease.feed_range, checkpoint, max_items=size
            )
            if not batch.items:
                return applied
            try:
                if self.pacer is not None:
                    await self.pacer.before_batch(len(batch.items))
            except Held:
                return applied  # paused: this batch is redelivered once resumed
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

    async def _apply_batch(self, items: list[JsonDoc]) -> int:
        if self.apply_many is not None and len(items) > 1:
            try:
                await self.apply_many(self.container, items)
            except MystiraError as exc:
                if _transient(exc):
                    raise
                # Replay one by one below: isolates the bad change, waits for a parent.
            else:
                await self._forget([_key(doc) for doc in items if _key(doc) in self._failing])
                self.stats.applied += len(items)
                return len(items)
        applied, waiting = 0, False
        settled: list[Key] = []  # applied
        lettered: list[Key] = []  # dead-lettered
        for doc in items:
            if _key(doc) in self._replayed:
                continue  # went in at an earlier replay of this batch while another waited
            outcome = await self._apply_one(doc)
            if outcome is None:
                waiting = True
                continue
            applied += outcome
            (settled if outcome else lettered).append(_key(doc))
        await self._forget(settled)  # including what another worker counted
        if waiting:
            # A dead-lettered change keeps its attempts until the batch is past: a worker
            # that meets it again (a new one knows no `_replayed`) dead-letters it at once
            # instead of waiting anew, or two changes could take turns waiting for ever.
            self._replayed.update(settled + lettered)
            raise RetryLater  # redelivered whole until nothing in it waits
        await self._forget(lettered)
        self._replayed.clear()
        self.stats.applied += applied
        return applied

    async def _apply_one(self, doc: JsonDoc) -> bool | None:
        """True: applied; False: dead-lettered; None: failed, to be retried later."""
        try:
            await self.apply(self.container, doc)
        except MystiraError as exc:
            if _transient(exc):
                raise
            return await self._failed(doc, exc)
        return True

    async def _failed(self, doc: JsonDoc, exc: MystiraError) -> bool | None:
        key = _key(doc)
        reason = f"{type(exc).__name__}: {exc}"
        attempt = await self.attempts.failed(self.container, key, reason)
        if isinstance(exc, ForeignKeyViolation):
            give_up = attempt.failing_for_s >= self.parent_wait_s
        else:
            give_up = attempt.count >= POISON_ATTEMPTS
        if not give_up:
            self._failing.add(key)
            self.stats.retried += 1
            return None
        await self._dead_letter(doc, key, reason, attempt)
        return False

    async def _forget(self, keys: list[Key]) -> None:
        if keys:
            await self.attempts.forget(self.container, keys)
            self._failing.difference_update(keys)

    async def _dead_letter(self, doc: JsonDoc, key: Key, reason: str, attempt: Attempt) -> None:
        letter = DeadLetter(
            self.container, key[0], key[1], reason, attempt.count, datetime.now(UTC), doc
        )
        await self.dead_letters.add(letter)
        self.stats.dead_lettered += 1
        log.error("dead-lettered %s/%s v%s: %s", self.container, key[0], key[1], letter.error)


def _transient(exc: MystiraError) -> bool:
    """Not the change's fault, so never counted as an attempt: the store could not be
    reached (an open breaker or a throttle is not retried at once, but is no verdict)."""
    return exc.transient or isinstance(exc, StoreUnavailable)


def _key(doc: JsonDoc) -> Key:
    return str(doc.get("id")), filing_version(doc)
