"""`PhaseStore`: the SQL record (SQLite, PostgreSQL) and its memory twin behave alike.

Every change is a compare-and-set on the record's version; a pending switch's times count from
the store's own clock, so the tests schedule fences and expiries already past or far ahead
instead of waiting.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from mystira_data.polyglot.phase.record import MemoryPhaseStore, PhaseStore, Transition
from mystira_data.polyglot.state.phases import RelationalPhaseStore
from mystira_data.relational import RelationalStore
from mystira_data.settings import Phase

C = "GameSessions"
COSMOS, DUAL = Phase.COSMOS_ONLY, Phase.DUAL_WRITE_COSMOS_READ
DUAL_PG = Phase.DUAL_WRITE_POSTGRES_READ
AHEAD = 3600.0  # seconds: far enough that no test sees it pass
PAST = -60.0


@pytest.fixture
def phases(state_backend: RelationalStore | None) -> PhaseStore:
    if state_backend is None:
        return MemoryPhaseStore()
    return RelationalPhaseStore(state_backend)


def move(to: Phase, frm: Phase = COSMOS, reason: str = "test", forced: bool = False) -> Transition:
    return Transition(C, frm, to, datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), reason, forced)


async def test_no_record_until_the_first_save(phases: PhaseStore) -> None:
    assert await phases.load() == {}
    assert await phases.history() == []
    assert await phases.save(move(DUAL), 0)
    (record,) = (await phases.load()).values()
    assert (record.phase, record.version, record.pending, record.held) == (DUAL, 1, None, False)


async def test_a_save_wins_only_at_the_version_it_read(phases: PhaseStore) -> None:
    assert await phases.save(move(DUAL), 0)
    assert not await phases.save(move(DUAL_PG, DUAL), 0)
    assert not await phases.save(move(DUAL_PG, DUAL), 2)
    assert await phases.save(move(DUAL_PG, DUAL), 1)
    assert (await phases.load())[C].version == 2


async def test_of_concurrent_saves_at_one_version_exactly_one_wins(phases: PhaseStore) -> None:
    assert await phases.save(move(DUAL), 0)
    won = await asyncio.gather(*(phases.save(move(DUAL_PG, DUAL), 1) for _ in range(4)))
    assert won.count(True) == 1
    assert (await phases.load())[C].version == 2


async def test_history_keeps_each_move_in_order(phases: PhaseStore) -> None:
    await phases.save(move(DUAL, reason="first"), 0)
    await phases.save(move(DUAL_PG, DUAL, reason="second", forced=True), 1)
    await phases.save(Transition("Accounts", COSMOS, DUAL, move(DUAL).at, "other", False), 0)
    mine = await phases.history(C)
    assert [(t.from_phase, t.to_phase, t.reason, t.forced) for t in mine] == [
        (COSMOS, DUAL, "first", False),
        (DUAL, DUAL_PG, "second", True),
    ]
    assert mine[0].at == move(DUAL).at
    assert [t.container for t in await phases.history()] == [C, C, "Accounts"]


async def test_a_scheduled_switch_shows_as_pending_then_flips(phases: PhaseStore) -> None:
    assert await phases.schedule(C, DUAL, DUAL_PG, 0, PAST, AHEAD)
    record = (await phases.load())[C]
    assert (record.phase, record.version) == (DUAL, 1)
    assert record.pending is not None
    assert (record.pending.target, record.pending.state) == (DUAL_PG, "fenced")
    assert record.pending.fence_in_s <= 0 < record.pending.expires_in_s
    assert record.unsettled
    assert not await phases.flip(move(Phase.POSTGRES_ONLY, DUAL), 1)  # not the target
    assert not await phases.flip(move(DUAL_PG, DUAL), 0)  # stale version
    assert await phases.flip(move(DUAL_PG, DUAL), 1)
    record = (await phases.load())[C]
    assert (record.phase, record.version, record.pending) == (DUAL_PG, 2, None)
    assert [t.to_phase for t in await phases.history(C)] == [DUAL_PG]


async def test_a_switch_not_yet_fenced_is_scheduled(phases: PhaseStore) -> None:
    assert await phases.save(move(DUAL), 0)
    assert await phases.schedule(C, DUAL, DUAL_PG, 1, AHEAD, 2 * AHEAD)
    pending = (await phases.load())[C].pending
    assert pending is not None
    assert pending.state == "scheduled"
    assert 0 < pending.fence_in_s < pending.expires_in_s


async def test_an_expired_switch_cannot_flip_and_may_be_abandoned(phases: PhaseStore) -> None:
    assert await phases.schedule(C, DUAL, DUAL_PG, 0, PAST, PAST)
    pending = (await phases.load())[C].pending
    assert pending is not None
    assert pending.state == "expired"
    assert not await phases.flip(move(DUAL_PG, DUAL), 1)
    assert await phases.abandon(C, 1, expired_only=True)
    record = (await phases.load())[C]
    assert record.version == 2
    assert record.pending is not None
    assert (record.pending.state, record.unsettled) == ("abandoned", False)
    assert not await phases.abandon(C, 2, expired_only=False)  # already abandoned


async def test_abandoning_a_live_switch_needs_expired_only_off(phases: PhaseStore) -> None:
    assert not await phases.abandon(C, 0, expired_only=False)  # nothing pending
    assert await phases.schedule(C, DUAL, DUAL_PG, 0, PAST, AHEAD)
    assert not await phases.abandon(C, 1, expired_only=True)
    assert not await phases.abandon(C, 0, expired_only=False)  # stale version
    assert await phases.abandon(C, 1, expired_only=False)
    assert not await phases.flip(move(DUAL_PG, DUAL), 2)


async def test_a_save_clears_an_abandoned_switch(phases: PhaseStore) -> None:
    assert await phases.schedule(C, DUAL, DUAL_PG, 0, PAST, AHEAD)
    assert await phases.abandon(C, 1, expired_only=False)
    assert await phases.save(move(COSMOS, DUAL), 2)
    record = (await phases.load())[C]
    assert (record.phase, record.version, record.pending) == (COSMOS, 3, None)
