"""The scheduled, fenced switch between two `PhaseControl`s sharing one record store.

Time is a manual clock that moves only when a test advances it; each control sees it with a
different offset (machine clocks that disagree) and the store with another (the server's).
Timings: refresh 2 s, margin 0.5 s → the fence starts 2.5 s after the switch is scheduled;
drain 2 s → the flip comes at 4.5 s; the switch expires 10 s after the fence (12.5 s);
a paused write gives up after 5 s.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import replace
from typing import Any, TypeVar

import pytest

from mystira_data.errors import PhaseTransitionRefused, StoreUnavailable
from mystira_data.polyglot.phase.control import PhaseControl
from mystira_data.polyglot.phase.record import MemoryPhaseStore, PhaseRecord
from mystira_data.settings import Phase, PolyglotPersistence

C = "Accounts"
REFRESH_S = 2.0
FENCE_AT, FLIP_AT, EXPIRES_AT = 2.5, 4.5, 12.5
CONFIG = PolyglotPersistence(
    PhaseSwitchMarginMs=500,
    PhaseSwitchDrainMs=2000,
    PhaseSwitchMaxFreezeMs=10_000,
    PhaseSwitchWriteWaitMs=5000,
)
COSMOS_READ, POSTGRES_READ = Phase.DUAL_WRITE_COSMOS_READ, Phase.DUAL_WRITE_POSTGRES_READ
T = TypeVar("T")


async def settle() -> None:
    """Let every runnable task run until it waits on the clock again."""
    for _ in range(50):
        await asyncio.sleep(0)


class ManualClock:
    """Moves only in `advance_to`, waking each sleeper exactly at its deadline, in order."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def seen_from(self, offset: float) -> Callable[[], float]:
        return lambda: self.now + offset

    def sleep_from(self, offset: float) -> Callable[[float], asyncio.Future[None]]:
        def sleep(seconds: float) -> asyncio.Future[None]:
            wake: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._sleepers.append((self.now + max(seconds, 0.0), wake))
            return wake

        return sleep

    async def advance_to(self, when: float) -> None:
        await settle()
        while True:
            pending = [d for d, w in self._sleepers if not w.done() and d <= when]
            self.now = min(pending, default=max(when, self.now))
            for deadline, wake in self._sleepers:
                if deadline <= self.now and not wake.done():
                    wake.set_result(None)
            self._sleepers = [(d, w) for d, w in self._sleepers if not w.done()]
            await settle()
            if not pending:
                return


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def store(clock: ManualClock) -> MemoryPhaseStore:
    return MemoryPhaseStore(phases={C: COSMOS_READ}, clock=clock.seen_from(-77.0))


def control(clock: ManualClock, store: MemoryPhaseStore, offset: float) -> PhaseControl:
    return PhaseControl(
        store,
        CONFIG,
        refresh_s=REFRESH_S,
        clock=clock.seen_from(offset),
        sleep=clock.sleep_from(offset),
    )


@pytest.fixture
def a(clock: ManualClock, store: MemoryPhaseStore) -> PhaseControl:
    """The instance that switches."""
    return control(clock, store, 1000.0)


@pytest.fixture
def b(clock: ManualClock, store: MemoryPhaseStore) -> PhaseControl:
    """Another instance, which only learns of the switch through the record."""
    return control(clock, store, 5.0)


async def route(ctl: PhaseControl) -> Phase:
    async with ctl.writing(C) as phase:
        return phase


def started(coro: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
    return asyncio.ensure_future(coro)


async def test_writes_pause_from_the_fence_until_the_flip_then_use_the_new_phase(
    clock: ManualClock, a: PhaseControl, b: PhaseControl
) -> None:
    assert await b.phase(C) is COSMOS_READ  # b's view: loaded at 0, before the switch
    catch_ups: list[float] = []

    async def catch_up(container: str, current: Phase, target: Phase) -> None:
        catch_ups.append(clock.now)

    a.catch_up = catch_up
    switch = started(a.set(C, POSTGRES_READ, force=True, reason="test"))
    await clock.advance_to(1.0)
    assert await route(b) is COSMOS_READ  # before the fence writes go on as before
    await clock.advance_to(2.4)
    assert await route(b) is COSMOS_READ
    assert (await b.record(C)).pending is not None  # refreshed: b knows of the switch

    await clock.advance_to(2.6)
    paused_b, paused_a = started(route(b)), started(route(a))
    await clock.advance_to(FLIP_AT - 0.05)
    assert not paused_b.done()
    assert not paused_a.done()
    assert not switch.done()
    assert await b.phase(C) is COSMOS_READ  # readers are never paused
    assert catch_ups == []

    await clock.advance_to(FLIP_AT + 0.2)
    assert catch_ups == [FLIP_AT]  # fence + drain, then catch up while nobody writes
    assert switch.done()
    assert switch.result().to_phase is POSTGRES_READ
    assert paused_b.result() is POSTGRES_READ
    assert paused_a.result() is POSTGRES_READ
    assert await route(b) is POSTGRES_READ


async def test_a_step_that_keeps_the_primary_switches_at_once(
    clock: ManualClock, a: PhaseControl, store: MemoryPhaseStore
) -> None:
    store.phases[C] = Phase.COSMOS_ONLY
    done = await a.set(C, COSMOS_READ)  # the clock never moves: no fence, no wait
    assert (done.to_phase, clock.now) == (COSMOS_READ, 0.0)
    assert store.scheduled == {}


async def test_the_paused_instance_drains_its_secondary_queue_once(
    clock: ManualClock, a: PhaseControl, b: PhaseControl
) -> None:
    drained: list[str] = []

    async def drain(container: str) -> None:
        drained.append(container)

    b.on_fence = drain
    switch = started(a.set(C, POSTGRES_READ, force=True, reason="test"))
    await clock.advance_to(FENCE_AT + 0.1)
    writers = [started(route(b)) for _ in range(5)]
    await clock.advance_to(FENCE_AT + 1.0)
    assert drained == [C]
    await clock.advance_to(FLIP_AT + 0.2)
    assert [w.result() for w in writers] == [POSTGRES_READ] * 5
    assert switch.done()


async def test_a_write_paused_longer_than_its_bound_fails_and_an_expired_switch_unfreezes(
    clock: ManualClock, b: PhaseControl, store: MemoryPhaseStore
) -> None:
    # The switcher died right after scheduling: nobody will flip.
    assert await store.schedule(C, COSMOS_READ, POSTGRES_READ, 1, FENCE_AT, EXPIRES_AT)
    await clock.advance_to(FENCE_AT + 0.1)
    gives_up = started(route(b))
    await clock.advance_to(FENCE_AT + 0.1 + 5.1)
    with pytest.raises(StoreUnavailable, match="PhaseSwitchWriteWaitMs"):
        gives_up.result()
    assert (await b.record(C)).pending.state == "fenced"  # type: ignore[union-attr]

    waits = started(route(b))
    await clock.advance_to(EXPIRES_AT + 0.2)
    assert waits.result() is COSMOS_READ  # resumed under the old phase, never the new one
    assert store.scheduled[C].abandoned
    pending = (await b.record(C)).pending
    assert pending is not None
    assert pending.state == "abandoned"
    assert await route(b) is COSMOS_READ


async def test_a_new_set_may_follow_an_expired_switch(
    clock: ManualClock, a: PhaseControl, store: MemoryPhaseStore
) -> None:
    assert await store.schedule(C, COSMOS_READ, POSTGRES_READ, 1, FENCE_AT, EXPIRES_AT)
    with pytest.raises(PhaseTransitionRefused, match="already pending"):
        await a.set(C, POSTGRES_READ, force=True, reason="again")
    await clock.advance_to(EXPIRES_AT + 1)
    switch = started(a.set(C, POSTGRES_READ, force=True, reason="again"))
    await clock.advance_to(EXPIRES_AT + 1 + FLIP_AT + 0.1)
    assert switch.done()
    assert store.phases[C] is POSTGRES_READ
    assert [t.to_phase for t in await store.history(C)] == [POSTGRES_READ]


async def test_a_switch_whose_catch_up_outlasts_the_expiry_does_not_flip(
    clock: ManualClock, a: PhaseControl, b: PhaseControl, store: MemoryPhaseStore
) -> None:
    async def slow_catch_up(container: str, current: Phase, target: Phase) -> None:
        await a.sleep(20.0)

    a.catch_up = slow_catch_up
    switch = started(a.set(C, POSTGRES_READ, force=True, reason="test"))
    await clock.advance_to(EXPIRES_AT - 4.0)
    waits = started(route(b))
    await clock.advance_to(EXPIRES_AT + 0.2)
    assert waits.result() is COSMOS_READ  # b abandoned the expired switch and wrote
    await clock.advance_to(FLIP_AT + 20.1)
    with pytest.raises(PhaseTransitionRefused, match="expired"):
        switch.result()
    assert store.phases[C] is COSMOS_READ
    assert await store.history(C) == []


async def test_a_failed_switcher_abandons_its_switch_at_once(
    clock: ManualClock, a: PhaseControl, b: PhaseControl, store: MemoryPhaseStore
) -> None:
    async def broken_catch_up(container: str, current: Phase, target: Phase) -> None:
        raise StoreUnavailable("replication source down")

    a.catch_up = broken_catch_up
    switch = started(a.set(C, POSTGRES_READ, force=True, reason="test"))
    await clock.advance_to(FENCE_AT + 0.1)
    waits = started(route(b))
    await clock.advance_to(FLIP_AT + 0.2)
    with pytest.raises(StoreUnavailable):
        switch.result()
    assert store.scheduled[C].abandoned
    assert waits.result() is COSMOS_READ  # long before the expiry
    assert await route(a) is COSMOS_READ


async def test_two_switchers_cannot_both_schedule(
    clock: ManualClock, a: PhaseControl, b: PhaseControl, store: MemoryPhaseStore
) -> None:
    first = started(a.set(C, POSTGRES_READ, force=True, reason="one"))
    await settle()
    with pytest.raises(PhaseTransitionRefused, match="already pending"):
        await b.set(C, Phase.COSMOS_ONLY)
    await clock.advance_to(FLIP_AT + 0.1)
    assert first.done()
    assert store.phases[C] is POSTGRES_READ


async def test_with_no_source_of_the_record_reads_route_by_the_last_view_and_writes_hold(
    clock: ManualClock, b: PhaseControl, store: MemoryPhaseStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert await route(b) is COSMOS_READ

    async def down() -> object:
        raise StoreUnavailable("record store down")

    monkeypatch.setattr(store, "load", down)
    await clock.advance_to(REFRESH_S)  # within refresh + margin: no unseen switch can fence
    assert await route(b) is COSMOS_READ
    await clock.advance_to(REFRESH_S + 1)  # beyond: a switch scheduled since may have fenced
    assert await b.phase(C) is COSMOS_READ  # reads go on
    write = started(route(b))
    await clock.advance_to(REFRESH_S + 1 + 4.9)
    assert not write.done()  # held, not routed by the old view
    await clock.advance_to(REFRESH_S + 1 + 5.1)  # PhaseSwitchWriteWaitMs
    with pytest.raises(StoreUnavailable, match="held"):
        await write
    with pytest.raises(StoreUnavailable):
        await b.set(C, Phase.COSMOS_ONLY)


async def test_a_held_record_holds_writes_until_a_settled_view(
    clock: ManualClock, b: PhaseControl, store: MemoryPhaseStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_load = store.load
    held = True

    async def load() -> dict[str, PhaseRecord]:
        records = await real_load()
        return {c: replace(r, held=held) for c, r in records.items()}

    monkeypatch.setattr(store, "load", load)
    write = started(route(b))
    await clock.advance_to(1.0)
    assert not write.done()
    assert await b.phase(C) is COSMOS_READ  # reads go on
    held = False
    await clock.advance_to(1.0 + REFRESH_S)
    assert await write is COSMOS_READ


async def test_the_flip_waits_until_replication_elsewhere_has_caught_up(
    clock: ManualClock, a: PhaseControl, store: MemoryPhaseStore
) -> None:
    rounds: list[float] = []

    async def catch_up(container: str, current: Phase, target: Phase) -> None:
        rounds.append(clock.now)

    async def caught_up(container: str, current: Phase, target: Phase) -> bool:
        return len(rounds) >= 3  # another worker's lease held back the rest until then

    a.catch_up, a.caught_up = catch_up, caught_up
    switch = started(a.set(C, POSTGRES_READ, force=True, reason="test"))
    await clock.advance_to(FLIP_AT + 1.0)
    assert rounds[0] == FLIP_AT
    assert len(rounds) == 3
    assert switch.done()
    assert store.phases[C] is POSTGRES_READ


async def test_a_switch_that_never_catches_up_gives_up_by_its_expiry(
    clock: ManualClock, a: PhaseControl, b: PhaseControl, store: MemoryPhaseStore
) -> None:
    async def catch_up(container: str, current: Phase, target: Phase) -> None:
        return None

    async def never(container: str, current: Phase, target: Phase) -> bool:
        return False

    a.catch_up, a.caught_up = catch_up, never
    switch = started(a.set(C, POSTGRES_READ, force=True, reason="test"))
    await clock.advance_to(EXPIRES_AT + 0.5)
    with pytest.raises(PhaseTransitionRefused, match="did not catch up"):
        switch.result()
    assert store.scheduled[C].abandoned
    assert store.phases[C] is COSMOS_READ
    assert await route(b) is COSMOS_READ
