"""429s from the document store during a backfill, shared by workers (#20) or in one process
(#18): it slows down for the server's retry-after, says "throttled: 429" meanwhile, and
still finishes exactly."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from mystira_data.errors import Throttled
from mystira_data.polyglot.consistency.backfill import backfill
from mystira_data.polyglot.controls.record import Task
from mystira_data.polyglot.controls.throttle import THROTTLED_429
from mystira_data.polyglot.layer import Polyglot
from mystira_data.polyglot.phase.rules import Side
from mystira_data.polyglot.runs.budget import THROTTLED, Budget
from mystira_data.polyglot.runs.finish import finish_run
from mystira_data.polyglot.runs.jobs import job_for
from mystira_data.polyglot.runs.progress import RunProgress
from mystira_data.polyglot.runs.record import Run, RunKind, RunStatus, Segment
from mystira_data.polyglot.runs.start import start_run
from mystira_data.polyglot.runs.worker import Worker
from mystira_data.polyglot.state.runs import RelationalRunStore
from tests.integration.consistency.data import live_count, seed

pytestmark = pytest.mark.slow
SESSIONS = 600
RETRY_AFTER_S = 0.3


class CountingBudget(Budget):
    waited = 0.0

    async def take(self, requests: int) -> float:
        wait = await super().take(requests)
        CountingBudget.waited += wait
        return wait


def _throttle_every_third_query(poly: Polyglot, monkeypatch: pytest.MonkeyPatch) -> None:
    """The raw document store answers every third GameSessions page with a 429."""
    inner: Any = poly.stores.documents
    calls = 0

    def throttling(name: str) -> Any:
        real = getattr(inner, name)

        async def call(container: str, *args: Any, **kwargs: Any) -> Any:
            nonlocal calls
            if container == "GameSessions":
                calls += 1
                if calls % 3 == 0:
                    raise Throttled("429 Too Many Requests", retry_after=RETRY_AFTER_S)
            return await real(container, *args, **kwargs)

        return call

    for name in ("query", "query_json"):
        if hasattr(inner, name):
            monkeypatch.setattr(inner, name, throttling(name))


async def test_429s_slow_the_run_which_says_so_and_finishes(
    poly: Polyglot, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed(poly.stores.documents, SESSIONS)
    await backfill(poly, "Accounts", Side.RELATIONAL)
    store = RelationalRunStore(poly.raw_relational)
    run = await start_run(poly, store, RunKind.BACKFILL, "GameSessions", segments=4)
    _throttle_every_third_query(poly, monkeypatch)

    async def finisher(current: Run, segments: list[Segment]) -> None:
        await finish_run(poly, store, current, segments)

    workers = [
        Worker(store, run, job_for(poly, run, 100), CountingBudget(store, run.id, None), finisher)
        for _ in range(2)
    ]
    shown: list[str] = []

    async def watch() -> None:  # what `--status RUN` prints while the workers run
        while (current := await store.run(run.id)) and current.status is RunStatus.RUNNING:
            shown.append(RunProgress.of(current, await store.segments(run.id)).lines()[0])
            await asyncio.sleep(0.02)

    await asyncio.gather(*(w.work() for w in workers), watch())
    done = await store.run(run.id)
    assert done is not None
    assert done.status is RunStatus.DONE
    assert done.throttled >= 2
    assert done.state == THROTTLED  # recorded on the run
    assert any(f": {THROTTLED};" in line for line in shown)  # and shown while backing off
    assert CountingBudget.waited > 0  # the run waited the retry-after out
    assert done.report is not None
    assert (done.report["read"], done.report["quarantined"]) == (SESSIONS, 0)
    assert await live_count(poly.relational, "GameSessions") == SESSIONS


async def test_429s_slow_a_single_process_backfill_which_says_so_and_finishes(
    poly: Polyglot, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed(poly.stores.documents, SESSIONS)
    await backfill(poly, "Accounts", Side.RELATIONAL)
    _throttle_every_third_query(poly, monkeypatch)
    pacer = poly.pacer("GameSessions", Task.BACKFILL)
    states: set[str] = set()
    copying = asyncio.ensure_future(
        backfill(poly, "GameSessions", Side.RELATIONAL, batch_size=100, pacer=pacer)
    )
    while not copying.done():  # what `control show` would say meanwhile
        states.add(pacer.state)
        await asyncio.sleep(0.02)
    report = copying.result()
    assert report.done
    assert (report.read, report.quarantined, report.resumed) == (SESSIONS, [], False)
    assert THROTTLED_429 in states
    assert await live_count(poly.relational, "GameSessions") == SESSIONS
