"""Operator controls verified by their effect on real stores (SQLite documents, PostgreSQL):
a paused replication applies nothing until resumed, a paused backfill writes no page, a rate
limit bounds the measured rate, a lag bound holds backfill while replication is behind, and
a batch size changed mid-run shapes the next pages. Never a flag alone."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import pytest

from mystira_data.polyglot.consistency.backfill import backfill
from mystira_data.polyglot.controls.record import Task
from mystira_data.polyglot.controls.store import RelationalControlStore
from mystira_data.polyglot.controls.throttle import PAUSED, Held, Pacer
from mystira_data.polyglot.layer import Polyglot
from mystira_data.polyglot.phase.rules import Side
from mystira_data.settings import Phase
from tests.integration.consistency.data import account, live_count, put_all

pytestmark = pytest.mark.parametrize("pair", ["sqlite-postgres"], indirect=True)
BF, REP = Task.BACKFILL, Task.REPLICATION


async def set_control(poly: Polyglot, container: str, task: Task, **changes: object) -> None:
    store = RelationalControlStore(poly.raw_relational)
    await store.change(container, task, changes, reason="test", actor="test")


def quick(poly: Polyglot, container: str, task: Task) -> Pacer:
    """This process's pacer, re-reading the record at every batch (the default is 1 s)."""
    pacer = poly.pacer(container, task)
    pacer.refresh_s, pacer.hold_s = 0.0, (0.2 if task is REP else None)
    return pacer


async def until(check: Callable[[], Awaitable[bool]], timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not await check():
        assert time.monotonic() < deadline, "condition never held"
        await asyncio.sleep(0.1)


async def accounts(poly: Polyglot, n: int) -> None:
    """``n`` Accounts written to the document store by another app (its change feed has them)."""
    await put_all(poly.stores.documents, "Accounts", (account(i) for i in range(n)))


async def test_paused_replication_applies_nothing_until_resumed(poly: Polyglot) -> None:
    await poly.control.set("Accounts", Phase.DUAL_WRITE_COSMOS_READ, reason="test")
    pacer = quick(poly, "Accounts", REP)
    await set_control(poly, "Accounts", REP, paused=True)
    await accounts(poly, 50)
    stop = asyncio.Event()

    async def worker() -> None:  # what `mystira replicate` does
        while not stop.is_set():
            await poly.replicate_once("Accounts", owner="w1")
            await asyncio.sleep(0.05)

    running = asyncio.create_task(worker())
    try:
        await asyncio.sleep(1.5)
        assert await live_count(poly.relational, "Accounts") == 0
        assert (await poly.lag("Accounts")).pending == 50
        assert pacer.state == PAUSED
        with pytest.raises(Held, match="paused by an operator"):  # `replicate --once` says why
            await poly.replicate_until_caught_up("Accounts", owner="w1")
        assert (await RelationalControlStore(poly.raw_relational).get("Accounts", REP)
                ).live_state() == PAUSED

        await set_control(poly, "Accounts", REP, paused=False)
        await until(lambda: _count_is(poly, 50))
        assert (await poly.lag("Accounts")).pending == 0
    finally:
        stop.set()
        await running


async def _count_is(poly: Polyglot, n: int) -> bool:
    return await live_count(poly.relational, "Accounts") == n


async def test_paused_backfill_writes_no_page_until_resumed(poly: Polyglot) -> None:
    await accounts(poly, 300)
    pacer = quick(poly, "Accounts", BF)
    await set_control(poly, "Accounts", BF, paused=True)
    pages: list[int] = []
    run = asyncio.create_task(backfill(poly, "Accounts", Side.RELATIONAL, batch_size=100,
                                       on_page=pages.append))
    await asyncio.sleep(1.5)
    assert (pages, await live_count(poly.relational, "Accounts")) == ([], 0)
    assert pacer.state == PAUSED
    assert not run.done()

    await set_control(poly, "Accounts", BF, paused=False)
    report = await asyncio.wait_for(run, 30)
    assert (report.done, report.written, pages) == (True, 300, [100, 100, 100])
    assert await live_count(poly.relational, "Accounts") == 300
    assert (await RelationalControlStore(poly.raw_relational).get("Accounts", BF)
            ).live_state() is None  # the worker stopped: no live state


async def test_a_rate_limit_bounds_the_measured_backfill_rate(poly: Polyglot) -> None:
    await accounts(poly, 1_000)
    pacer = quick(poly, "Accounts", BF)
    await set_control(poly, "Accounts", BF, rate_limit=200)
    states: list[str] = []
    started = time.monotonic()
    report = await backfill(poly, "Accounts", Side.RELATIONAL, batch_size=100,
                            on_page=lambda n: states.append(pacer.state))
    elapsed = time.monotonic() - started
    assert report.written == 1_000
    assert report.written / elapsed <= 1.3 * 200  # measured: documents over elapsed time
    assert "throttled: rate 200/s" in states


async def test_backfill_waits_while_replication_lag_is_above_its_bound(poly: Polyglot) -> None:
    await poly.control.set("Accounts", Phase.DUAL_WRITE_COSMOS_READ, reason="test")
    await accounts(poly, 200)  # in the change feed, not yet replicated: lag
    await asyncio.sleep(1.1)  # the oldest change is now over a second old
    pacer = quick(poly, "Accounts", BF)
    await set_control(poly, "Accounts", BF, max_lag_s=0.5)
    pages: list[int] = []
    run = asyncio.create_task(backfill(poly, "Accounts", Side.RELATIONAL, on_page=pages.append))
    await asyncio.sleep(1.0)
    assert pages == []
    assert not run.done()
    assert pacer.state.startswith("throttled: lag ")
    assert pacer.state.endswith("s > 0.5s")
    stored = await RelationalControlStore(poly.raw_relational).get("Accounts", BF)
    assert (stored.live_state() or "").startswith("throttled: lag ")

    await poly.replicate_until_caught_up("Accounts")  # lag gone: backfill goes on
    report = await asyncio.wait_for(run, 30)
    assert report.done
    assert sum(pages) == 200


async def test_a_batch_size_changed_mid_run_shapes_the_next_pages(poly: Polyglot) -> None:
    await accounts(poly, 1_000)
    quick(poly, "Accounts", BF)
    await set_control(poly, "Accounts", BF, rate_limit=800)  # slow enough to change mid-run
    pages: list[int] = []
    changing: list[asyncio.Task[None]] = []

    def on_page(n: int) -> None:
        pages.append(n)
        if len(pages) == 1:
            changing.append(asyncio.create_task(set_control(poly, "Accounts", BF, batch_size=40)))

    report = await backfill(poly, "Accounts", Side.RELATIONAL, batch_size=100, on_page=on_page)
    await asyncio.gather(*changing)
    assert report.done
    assert sum(pages) == 1_000
    assert pages[0] == 100
    first_small = pages.index(40)
    assert set(pages[:first_small]) == {100}
    assert all(n == 40 for n in pages[first_small:-1])
    assert pages[-1] <= 40
