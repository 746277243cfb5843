"""The pacer's holds and state, and progress with an ETA (memory store, fake clock where the
arithmetic matters; the effects on real stores are in tests/integration/polyglot)."""

from __future__ import annotations

import asyncio

import pytest

from mystira_data.errors import Throttled
from mystira_data.polyglot.controls.progress import Progress
from mystira_data.polyglot.controls.record import Task, reason_kind
from mystira_data.polyglot.controls.store import MemoryControlStore
from mystira_data.polyglot.controls.throttle import PAUSED, RUNNING, THROTTLED_429, Held, Pacer


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_eta_is_null_before_one_percent_and_a_number_after() -> None:
    clock = Clock()
    progress = Progress(total=10_000, window_s=10, clock=clock)
    assert progress.as_json() == {"done": 0, "total": 10_000, "rate": 0.0, "etaSeconds": None}
    clock.now += 1
    progress.add(99)
    assert progress.eta_s is None  # 0.99%
    clock.now += 1
    progress.add(1)
    assert progress.rate == pytest.approx(50.0)
    assert progress.eta_s == pytest.approx(9_900 / 50)
    clock.now += 20  # nothing moved for longer than the window: the rate decays
    progress.add(0)
    assert progress.rate < 5
    assert Progress(total=None).eta_s is None


def test_the_rate_is_recent_not_lifetime() -> None:
    clock = Clock()
    progress = Progress(total=100_000, window_s=10, clock=clock)
    for _ in range(30):  # 1,000 docs/s for 30 s
        clock.now += 1
        progress.add(1_000)
    for _ in range(12):  # then 100 docs/s
        clock.now += 1
        progress.add(100)
    assert progress.rate == pytest.approx(100, rel=0.15)


async def test_a_paused_replication_pacer_gives_up_the_round_and_reports_why() -> None:
    store = MemoryControlStore()
    await store.change("Accounts", Task.REPLICATION, {"paused": True}, reason="r", actor="a")
    pacer = Pacer("Accounts", Task.REPLICATION, store, writer="w1", hold_s=0.3)
    with pytest.raises(Held, match="paused by operator"):
        await pacer.before_batch(10)
    assert pacer.state == PAUSED
    found = await store.get("Accounts", Task.REPLICATION)
    assert (found.live_state(), found.state_by) == (PAUSED, "w1")


async def test_backfill_waits_while_lag_is_above_its_bound_then_goes() -> None:
    store = MemoryControlStore()
    await store.change("Accounts", Task.BACKFILL, {"max_lag_s": 5.0, "batch_size": 50},
                       reason="r", actor="a")
    lag: list[float | None] = [12.0]

    async def age() -> float | None:
        return lag[0]

    pacer = Pacer("Accounts", Task.BACKFILL, store, lag=age, refresh_s=0.05)
    waiting = asyncio.create_task(pacer.before_batch(50))
    await asyncio.sleep(0.5)
    assert not waiting.done()
    assert pacer.state == "throttled: lag 12.0s > 5.0s"
    assert (await store.get("Accounts", Task.BACKFILL)).live_state() == pacer.state
    lag[0] = None  # caught up
    control = await asyncio.wait_for(waiting, 5)
    assert (pacer.state, pacer.batch_size(1000), pacer.concurrency(16)) == (RUNNING, 50, 16)
    assert control.max_lag_s == 5.0
    await pacer.finish()
    assert (await store.get("Accounts", Task.BACKFILL)).live_state() is None


def test_reason_kinds_are_bounded() -> None:
    assert [reason_kind(s) for s in (PAUSED, "throttled: rate 50/s", "throttled: lag 1.0s > 0.0s",
                                     "throttled: 429 from documents", "throttled: jane@x")] == [
        "paused", "rate", "lag", "429", "other"]


async def test_a_429_holds_the_next_batches_for_the_retry_after_and_says_so() -> None:
    clock = Clock()
    pacer = Pacer("Accounts", Task.REPLICATION, MemoryControlStore(), hold_s=0.0, clock=clock)
    await pacer.before_batch(10)
    assert pacer.state == RUNNING
    pacer.throttled(Throttled("429", retry_after=5.0))
    with pytest.raises(Held, match="429"):
        await pacer.before_batch(10)
    assert pacer.state == THROTTLED_429
    clock.now += 5.0  # the server's retry-after has passed
    await pacer.before_batch(10)
    assert pacer.state == RUNNING
