"""`LeaseStore`: the SQL store (SQLite, PostgreSQL) and its memory twin behave alike.

Leases are compare-and-set on their fencing token: of two claims made from one read, exactly
one wins, and a worker that lost its lease can neither checkpoint nor release it.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from mystira_data.polyglot.replication.leases import Lease, LeaseStore, MemoryLeaseStore
from mystira_data.polyglot.state.leases import RelationalLeaseStore
from mystira_data.relational import RelationalStore

UNTIL = datetime(2030, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)


@pytest.fixture
def leases(state_backend: RelationalStore | None) -> LeaseStore:
    if state_backend is None:
        return MemoryLeaseStore()
    return RelationalLeaseStore(state_backend)


async def _one(store: LeaseStore, container: str = "GameSessions") -> Lease:
    (lease,) = await store.leases(container)
    return lease


async def test_ensure_creates_free_rows_once_in_range_order(leases: LeaseStore) -> None:
    assert await leases.leases("GameSessions") == []
    await leases.ensure("GameSessions", ["r2", "r1"])
    await leases.ensure("GameSessions", ["r1", "r3"])
    rows = await leases.leases("GameSessions")
    assert [r.feed_range for r in rows] == ["r1", "r2", "r3"]
    assert all(r.owner is None and r.checkpoint is None and r.token == 0 for r in rows)
    assert all(r.free(datetime.now(UTC)) for r in rows)
    assert await leases.leases("Accounts") == []


async def test_claim_takes_the_lease_as_read_and_bumps_the_token(leases: LeaseStore) -> None:
    await leases.ensure("GameSessions", ["r1"])
    taken = await leases.claim(await _one(leases), "w1", UNTIL)
    assert taken is not None
    assert (taken.owner, taken.expires_at, taken.token) == ("w1", UNTIL, 1)
    assert await _one(leases) == taken
    assert not taken.free(UNTIL - timedelta(seconds=1))
    assert taken.free(UNTIL)


async def test_of_two_claims_from_one_read_exactly_one_wins(leases: LeaseStore) -> None:
    await leases.ensure("GameSessions", ["r1"])
    seen = await _one(leases)
    results = await asyncio.gather(*(leases.claim(seen, f"w{n}", UNTIL) for n in range(4)))
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    assert await _one(leases) == winners[0]
    assert await leases.claim(seen, "late", UNTIL) is None


async def test_checkpoints_are_kept_only_for_the_owner(leases: LeaseStore) -> None:
    await leases.ensure("GameSessions", ["r1"])
    mine = await leases.claim(await _one(leases), "w1", UNTIL)
    assert mine is not None
    assert await leases.save_checkpoint(mine, "cp1")
    assert (await _one(leases)).checkpoint == "cp1"
    stolen = await leases.claim(await _one(leases), "w2", UNTIL)
    assert stolen is not None
    assert stolen.checkpoint == "cp1"
    assert not await leases.save_checkpoint(mine, "cp-lost")
    assert await leases.save_checkpoint(stolen, None)
    assert (await _one(leases)).checkpoint is None


async def test_a_renewal_returns_the_stored_checkpoint(leases: LeaseStore) -> None:
    await leases.ensure("GameSessions", ["r1"])
    mine = await leases.claim(await _one(leases), "w1", UNTIL)
    assert mine is not None
    assert await leases.save_checkpoint(mine, "cp1")
    renewed = await leases.claim(mine, "w1", UNTIL + timedelta(seconds=30))
    assert renewed is not None
    assert renewed.checkpoint == "cp1"
    assert await _one(leases) == renewed


async def test_release_frees_the_lease_and_fences_the_old_owner(leases: LeaseStore) -> None:
    await leases.ensure("GameSessions", ["r1"])
    mine = await leases.claim(await _one(leases), "w1", UNTIL)
    assert mine is not None
    await leases.save_checkpoint(mine, "cp1")
    await leases.release(mine)
    freed = await _one(leases)
    assert (freed.owner, freed.expires_at, freed.checkpoint, freed.token) == (None, None, "cp1", 2)
    assert not await leases.save_checkpoint(mine, "cp2")
    await leases.release(mine)  # a stale release changes nothing
    assert await _one(leases) == freed


async def test_a_lease_without_a_row_cannot_be_claimed_or_checkpointed(
    leases: LeaseStore,
) -> None:
    ghost = Lease("GameSessions", "never-ensured", None, None, None)
    assert await leases.claim(ghost, "w1", UNTIL) is None
    assert not await leases.save_checkpoint(ghost, "cp")
    await leases.release(ghost)
    assert await leases.leases("GameSessions") == []
