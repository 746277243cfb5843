"""Lease balancing: fair share, takeover of expired leases, stealing when a worker joins."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from mystira_data.polyglot.replication.leases import MemoryLeaseStore, balance

T0 = datetime(2026, 1, 1, tzinfo=UTC)
TTL = timedelta(seconds=10)
RANGES = [f"r{i}" for i in range(4)]


def owners(store: MemoryLeaseStore) -> Counter[str | None]:
    return Counter(lease.owner for lease in store.rows.values())


async def test_single_worker_takes_every_range() -> None:
    store = MemoryLeaseStore()
    await store.ensure("C", RANGES)
    mine = await balance(store, "C", "a", TTL, T0)
    assert sorted(lease.feed_range for lease in mine) == RANGES


async def test_second_worker_rebalances_to_half() -> None:
    store = MemoryLeaseStore()
    await store.ensure("C", RANGES)
    await balance(store, "C", "a", TTL, T0)
    for step in range(1, 4):
        now = T0 + timedelta(seconds=step)
        await balance(store, "C", "b", TTL, now)
        await balance(store, "C", "a", TTL, now)
    assert owners(store) == Counter({"a": 2, "b": 2})


async def test_dead_worker_ranges_are_taken_over_after_expiry() -> None:
    store = MemoryLeaseStore()
    await store.ensure("C", RANGES)
    await balance(store, "C", "a", TTL, T0)
    assert await balance(store, "C", "b", TTL, T0 + timedelta(seconds=1)) != []
    later = T0 + timedelta(seconds=30)  # a stopped renewing
    mine = await balance(store, "C", "b", TTL, later)
    assert len(mine) == 4
    assert owners(store) == Counter({"b": 4})


async def test_checkpoint_only_saved_by_current_owner() -> None:
    store = MemoryLeaseStore()
    await store.ensure("C", ["r0"])
    (lease,) = await balance(store, "C", "a", TTL, T0)
    assert await store.save_checkpoint(lease, "7")
    await balance(store, "C", "b", TTL, T0 + timedelta(seconds=60))
    assert not await store.save_checkpoint(lease, "9")
    assert store.rows[("C", "r0")].checkpoint == "7"
