"""The durable phase record on PostgreSQL and SQLite: compare-and-set, pending switches timed by
the database's clock, and the flip/abandon race decided by the record's version."""

from __future__ import annotations

from datetime import UTC, datetime

from mystira_data.polyglot.phase.record import Transition
from mystira_data.polyglot.state.phases import RelationalPhaseStore
from mystira_data.relational import RelationalStore
from mystira_data.settings import Phase

C = "Accounts"
COSMOS_READ, POSTGRES_READ = Phase.DUAL_WRITE_COSMOS_READ, Phase.DUAL_WRITE_POSTGRES_READ


def step(current: Phase, target: Phase) -> Transition:
    return Transition(C, current, target, datetime.now(UTC), "test", False)


async def test_every_change_is_a_compare_and_set_on_the_version(store: RelationalStore) -> None:
    records = RelationalPhaseStore(store)
    assert await records.save(step(Phase.COSMOS_ONLY, COSMOS_READ), 0)  # first row
    assert not await records.save(step(Phase.COSMOS_ONLY, COSMOS_READ), 0)  # lost the race
    assert not await records.save(step(COSMOS_READ, Phase.COSMOS_ONLY), 7)
    assert (await records.load())[C].version == 1
    assert not await records.schedule(C, COSMOS_READ, POSTGRES_READ, 0, 30, 90)
    assert await records.schedule(C, COSMOS_READ, POSTGRES_READ, 1, 30, 90)
    assert [t.to_phase for t in await records.history(C)] == [COSMOS_READ]


async def test_a_pending_switch_is_timed_on_the_database_clock(store: RelationalStore) -> None:
    records = RelationalPhaseStore(store)
    assert await records.schedule(C, COSMOS_READ, POSTGRES_READ, 0, 30, 90)
    record = (await records.load())[C]
    assert (record.phase, record.version) == (COSMOS_READ, 1)
    pending = record.pending
    assert pending is not None
    assert (pending.target, pending.state) == (POSTGRES_READ, "scheduled")
    assert 25 < pending.fence_in_s <= 30
    assert 85 < pending.expires_in_s <= 90
    assert 55 < (pending.expires_at - pending.fence_at).total_seconds() < 65

    assert not await records.flip(step(COSMOS_READ, Phase.COSMOS_ONLY), 1)  # not the target
    assert not await records.flip(step(COSMOS_READ, POSTGRES_READ), 0)  # stale version
    assert await records.flip(step(COSMOS_READ, POSTGRES_READ), 1)
    flipped = (await records.load())[C]
    assert (flipped.phase, flipped.version, flipped.pending) == (POSTGRES_READ, 2, None)
    assert [t.to_phase for t in await records.history(C)] == [POSTGRES_READ]


async def test_an_expired_switch_cannot_flip_and_is_abandoned_once(
    store: RelationalStore,
) -> None:
    records = RelationalPhaseStore(store)
    assert await records.schedule(C, COSMOS_READ, POSTGRES_READ, 0, -2, -1)  # already expired
    pending = (await records.load())[C].pending
    assert pending is not None
    assert pending.state == "expired"
    assert not await records.flip(step(COSMOS_READ, POSTGRES_READ), 1)
    assert await records.abandon(C, 1, expired_only=True)
    assert not await records.abandon(C, 2, expired_only=True)  # nothing live to abandon
    record = (await records.load())[C]
    assert record.pending is not None
    assert (record.phase, record.version, record.pending.state) == (COSMOS_READ, 2, "abandoned")
    assert await records.history(C) == []
    assert await records.save(step(COSMOS_READ, Phase.COSMOS_ONLY), 2)  # clears it
    assert (await records.load())[C].pending is None


async def test_a_live_switch_is_abandoned_only_when_asked_and_then_never_flips(
    store: RelationalStore,
) -> None:
    records = RelationalPhaseStore(store)
    assert await records.schedule(C, COSMOS_READ, POSTGRES_READ, 0, 30, 90)
    assert not await records.abandon(C, 1, expired_only=True)  # not expired yet
    assert await records.abandon(C, 1, expired_only=False)  # its switcher gave up
    assert not await records.flip(step(COSMOS_READ, POSTGRES_READ), 1)
    assert not await records.flip(step(COSMOS_READ, POSTGRES_READ), 2)
    assert (await records.load())[C].phase is COSMOS_READ
