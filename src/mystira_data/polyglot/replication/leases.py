"""Leases on change-feed ranges: one owner per range, expiry, takeover, rebalancing.

Like Cosmos DB's change feed processor: each worker owns some ranges for ``ttl`` seconds and
renews while alive; an expired lease is free to take; a worker owning fewer than its fair
share (ranges ÷ live workers, rounded up) may steal one from a worker owning more. Checkpoints
live on the lease and are written only by its current owner.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Protocol


@dataclass(frozen=True)
class Lease:
    container: str
    feed_range: str
    owner: str | None
    expires_at: datetime | None
    checkpoint: str | None
    token: int = 0  # bumped on every claim: fences a worker that lost the lease

    def free(self, now: datetime) -> bool:
        return self.owner is None or self.expires_at is None or self.expires_at <= now


class LeaseStore(Protocol):
    """Durable lease rows with compare-and-set on (owner, expiry)."""

    async def leases(self, container: str) -> list[Lease]: ...

    async def ensure(self, container: str, ranges: list[str]) -> None:
        """Create missing lease rows (unowned, no checkpoint) for ``ranges``."""

    async def claim(self, lease: Lease, owner: str, until: datetime) -> Lease | None:
        """Take ``lease`` if it is still exactly as read (same owner and expiry)."""

    async def save_checkpoint(self, lease: Lease, checkpoint: str | None) -> bool:
        """Store the checkpoint if ``lease.owner`` still owns it; False if lost."""

    async def release(self, lease: Lease) -> None: ...


class MemoryLeaseStore:
    """A `LeaseStore` in one process (unit tests)."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], Lease] = {}

    async def leases(self, container: str) -> list[Lease]:
        return [v for (c, _), v in sorted(self.rows.items()) if c == container]

    async def ensure(self, container: str, ranges: list[str]) -> None:
        for r in ranges:
            self.rows.setdefault((container, r), Lease(container, r, None, None, None))

    async def claim(self, lease: Lease, owner: str, until: datetime) -> Lease | None:
        row = self._row_as_read(lease)
        if row is None:
            return None
        key = (lease.container, lease.feed_range)
        self.rows[key] = replace(row, owner=owner, expires_at=until, token=row.token + 1)
        return self.rows[key]

    async def save_checkpoint(self, lease: Lease, checkpoint: str | None) -> bool:
        row = self._row_as_read(lease)
        if row is None:
            return False
        self.rows[(lease.container, lease.feed_range)] = replace(row, checkpoint=checkpoint)
        return True

    async def release(self, lease: Lease) -> None:
        row = self._row_as_read(lease)
        if row is not None:
            self.rows[(lease.container, lease.feed_range)] = replace(
                row, owner=None, expires_at=None, token=row.token + 1
            )

    def _row_as_read(self, lease: Lease) -> Lease | None:
        """The stored row of ``lease`` if its token still matches (no row: never ensured)."""
        row = self.rows.get((lease.container, lease.feed_range))
        return row if row is not None and row.token == lease.token else None


async def balance(
    store: LeaseStore,
    container: str,
    owner: str,
    ttl: timedelta,
    now: datetime | None = None,
    *,
    ranges: frozenset[str] | None = None,
) -> list[Lease]:
    """Renew ours, take free ones up to a fair share, steal one if short; return ours.

    ``ranges`` limits the game to one source's ranges (other rows of the container belong to
    other processors or hold named checkpoints).
    """
    now = now or datetime.now(UTC)
    until = now + ttl
    rows = [r for r in await store.leases(container) if ranges is None or r.feed_range in ranges]
    live = Counter(r.owner for r in rows if not r.free(now) and r.owner is not None)
    live[owner] += 0
    share = math.ceil(len(rows) / len(live)) if rows else 0
    mine = [
        c
        for r in rows
        if r.owner == owner and not r.free(now)
        if (c := await store.claim(r, owner, until))
    ]
    for r in rows:
        if len(mine) >= share:
            break
        if r.free(now) and (taken := await store.claim(r, owner, until)):
            mine.append(taken)
    if len(mine) < share:
        mine.extend(await _steal_one(store, rows, live, share, owner, until, now))
    return mine


async def _steal_one(
    store: LeaseStore,
    rows: list[Lease],
    live: Counter[str],
    share: int,
    owner: str,
    until: datetime,
    now: datetime,
) -> list[Lease]:
    for r in rows:
        if r.owner not in (None, owner) and not r.free(now) and live[r.owner or ""] > share:
            taken = await store.claim(r, owner, until)
            return [taken] if taken else []
    return []
