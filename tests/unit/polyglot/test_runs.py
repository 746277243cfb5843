"""Runs (#20) in memory: the id split, the shared budget, fencing and takeover in the worker
loop, progress and ETA."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from mystira_data.cli.common import GlobalOptions
from mystira_data.cli.runs import RunOptions, child_argv
from mystira_data.errors import StoreUnavailable, Throttled
from mystira_data.polyglot.consistency.streams import IdRange
from mystira_data.polyglot.consistency.verify import VerifyReport, compare_page, verify
from mystira_data.polyglot.runs.budget import THROTTLED, UNAVAILABLE, Budget
from mystira_data.polyglot.runs.jobs import Step
from mystira_data.polyglot.runs.progress import RunProgress
from mystira_data.polyglot.runs.record import Run, RunKind, RunStatus, Segment, SegmentCounts
from mystira_data.polyglot.runs.split import split
from mystira_data.polyglot.runs.store import MemoryRunStore
from mystira_data.polyglot.runs.worker import Worker
from mystira_data.query import Op, Page, Query


class Ids:
    """Just enough of an `EntityStore` for the split: counts and edge reads over ids."""

    name = "ids"

    def __init__(self, ids: list[str]) -> None:
        self.ids = sorted(ids)

    def _match(self, query: Query) -> list[str]:
        out = self.ids
        for f in query.filters:
            out = [i for i in out if (i > f.value if f.op is Op.GT else i <= f.value)]
        return out

    async def count(self, container: str, query: Query) -> int:
        return len(self._match(query))

    async def query(self, container: str, query: Query, **_: Any) -> Page:
        found = self._match(query)
        found = found[::-1] if query.order_by[0].descending else found
        return Page([{"id": i} for i in found[: query.limit]], None)


def _inside(ids: IdRange, doc_id: str) -> bool:
    return (ids[0] is None or doc_id > ids[0]) and (ids[1] is None or doc_id <= ids[1])


@pytest.mark.parametrize(
    "ids",
    [
        [f"gs-{i:06d}" for i in range(5000)],
        [str(uuid.UUID(int=(i * 2654435761) % 2**128)) for i in range(4000)],
        [str(uuid.uuid4()) for _ in range(3000)],
    ],
    ids=["sequential", "spread", "uuid4"],
)
async def test_the_split_covers_every_id_once_in_about_equal_segments(ids: list[str]) -> None:
    pieces = await split(Ids(ids), "GameSessions", 4)  # type: ignore[arg-type]
    assert len(pieces) == 4
    assert pieces[0][0][0] is None
    assert pieces[-1][0][1] is None
    for doc_id in ids:
        assert sum(_inside(r, doc_id) for r, _ in pieces) == 1
    assert sum(n for _, n in pieces) == len(ids)
    assert max(n for _, n in pieces) <= 2 * len(ids) / 4  # no segment twice its share


async def test_a_tiny_container_is_one_segment() -> None:
    assert await split(Ids(["a", "b"]), "X", 8) == [((None, None), 2)]  # type: ignore[arg-type]
    assert await split(Ids([]), "X", 2) == [((None, None), 0)]  # type: ignore[arg-type]


RUN = Run("r1", RunKind.BACKFILL, "GameSessions", "relational", lease_ttl_s=0.2)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, s: float) -> None:
        self.slept.append(round(s, 6))


async def test_the_budget_hands_out_slots_and_a_429_pauses_the_whole_run() -> None:
    store, clock = MemoryRunStore(), Clock()
    await store.create(RUN, [])
    one = Budget(store, RUN.id, 100.0, sleep=clock.sleep, clock=clock)
    two = Budget(store, RUN.id, 100.0, sleep=clock.sleep, clock=clock)
    await one.take(10)
    await two.take(10)  # the same clock: the other worker's 10 requests come first
    assert clock.slept == [0.1]
    assert await one.refused(Throttled("429", retry_after=2.0)) == 2.0
    await two.take(1)  # waits the 429 out too
    assert clock.slept[-1] == pytest.approx(2.2)
    run = await store.run(RUN.id)
    assert run is not None
    assert (run.state_now(datetime.now(UTC)), run.throttled) == (THROTTLED, 1)
    # No retry-after from the server: a backoff that doubles, reset by a success.
    assert [await one.refused(Throttled("429")) for _ in range(2)] == [1.0, 2.0]
    one.ok()
    assert await one.refused(Throttled("429")) == 0.5


class Pages:
    """A job over a sorted id list, two ids a page; ``on_first`` runs inside the first page."""

    requests = 1

    def __init__(self, ids: list[str], on_first: Any = None) -> None:
        self.ids, self.on_first, self.pages = ids, on_first, 0

    async def step(self, ids: IdRange) -> Step:
        self.pages += 1
        if self.pages == 1 and self.on_first is not None:
            await self.on_first()
        left = [i for i in self.ids if _inside(ids, i)]
        page = left[:2]
        last = page[-1] if page else ids[0]
        return Step(last, len(left) <= 2, SegmentCounts(read=len(page)))


async def _setup(store: MemoryRunStore, ids: list[str]) -> list[Segment]:
    segs = [Segment(RUN.id, 0, None, ids[4]), Segment(RUN.id, 1, ids[4], None)]
    await store.create(RUN, segs)
    return segs


def _worker(store: MemoryRunStore, job: Any, finished: list[str], owner: str) -> Worker:
    async def finish(run: Run, segments: list[Segment]) -> None:
        if await store.finish(run.id, {"read": sum(s.counts.read for s in segments)}, now()):
            finished.append(owner)

    return Worker(store, RUN, job, Budget(store, RUN.id, None), finish, owner=owner, poll_s=0.01)


def now() -> datetime:
    return datetime.now(UTC)


async def test_workers_share_the_segments_and_one_finishes_the_run() -> None:
    store, ids, finished = MemoryRunStore(), [f"id-{i:02d}" for i in range(10)], []
    await _setup(store, ids)
    workers = [_worker(store, Pages(ids), finished, f"w{n}") for n in range(2)]
    await asyncio.gather(*(w.work() for w in workers))
    run = await store.run(RUN.id)
    assert run is not None
    assert (run.status, run.report) == (RunStatus.DONE, {"read": 10})
    assert len(finished) == 1


async def test_a_fenced_worker_stops_and_the_segment_is_finished_once() -> None:
    store, ids, finished = MemoryRunStore(), [f"id-{i:02d}" for i in range(10)], []
    await _setup(store, ids)

    async def steal() -> None:  # another worker takes the segment while this page runs
        (first, second) = await store.segments(RUN.id)
        mine = first if first.owner == "w1" else second
        await store.claim(mine, "thief", now() + timedelta(seconds=0.05))

    await _worker(store, Pages(ids, steal), finished, "w1").work()
    segments = await store.segments(RUN.id)
    # The thief never worked: its lease expired and w1 took the segment back and ended it;
    # the page w1 did while fenced out was redone, not counted twice.
    assert [s.counts.read for s in segments] == [5, 5]
    assert all(s.done for s in segments)
    assert finished == ["w1"]


def test_progress_gives_an_eta_only_after_one_percent() -> None:
    started = datetime(2026, 1, 1, tzinfo=UTC)
    run = replace(RUN, created_at=started)
    seg = Segment(RUN.id, 0, None, None, total=10_000, owner="h:1:a", expires_at=started)
    early = RunProgress(
        run, [replace(seg, counts=SegmentCounts(read=50))], started + timedelta(seconds=10)
    )
    assert (early.rate, early.eta_s) == (5.0, None)
    later = RunProgress(
        run, [replace(seg, counts=SegmentCounts(read=1000))], started + timedelta(seconds=10)
    )
    assert (later.rate, later.eta_s) == (100.0, 90.0)
    assert "1000/10000 docs (10.0%)" in later.lines()[0]
    assert "h:1:a (lease expired)" in later.lines()[1]
    assert later.as_json()["owners"][0]["owner"] == "h:1:a (lease expired)"


def test_a_worker_process_joins_the_run_with_the_same_settings() -> None:
    opts = RunOptions(RunKind.BACKFILL, "GameSessions", 2, None, None, 30.0, batch_size=200)
    argv = child_argv(GlobalOptions(Path("app.json"), Path("/data")), opts, "run-1")
    assert argv[1:] == [
        "-m",
        "mystira_data",
        "--config",
        "app.json",
        "--data-dir",
        "/data",
        "backfill",
        "GameSessions",
        "--resume",
        "run-1",
        "--json",
        "--batch-size",
        "200",
    ]


async def test_page_by_page_compare_finds_what_a_whole_verify_finds(pair: Any) -> None:
    doc, rel = pair
    for n in range(40):
        body = {
            "id": f"s{n:04d}",
            "accountId": "a1",
            "startTime": "2026-01-01T00:00:00Z",
            "status": "InProgress",
            "_version": 1,
        }
        if n % 9 != 4:  # n % 9 == 4: only in the primary (missing)
            await rel.create("GameSessions", body)
        if n % 11 != 5:  # n % 11 == 5: only in the secondary (extra)
            await doc.create("GameSessions", body)
    whole = await verify("GameSessions", doc, rel, "accountId", settle_s=0)
    paged = VerifyReport("GameSessions", doc.name, rel.name)
    ids: IdRange = (None, None)
    pages = 0
    while True:
        upto, done = await compare_page("GameSessions", doc, rel, "accountId", paged, ids, 7)
        pages += 1
        if done:
            break
        ids = (upto, None)
    assert pages > 5
    assert paged.scanned == whole.scanned == 40
    assert paged.differences == whole.differences
    assert {d.kind for d in paged.differences} == {"missing", "extra"}


class Moving(Clock):
    """A clock that a sleep moves on."""

    async def sleep(self, s: float) -> None:
        await super().sleep(s)
        self.now += s


class Flaky(Pages):
    """Down for its first two pages: the worker backs off and goes on, it does not die."""

    def __init__(self, ids: list[str]) -> None:
        super().__init__(ids)
        self.failures = 2

    async def step(self, ids: IdRange) -> Step:
        if self.failures:
            self.failures -= 1
            raise StoreUnavailable("documents: connection refused")
        return await super().step(ids)


async def test_an_outage_is_waited_out_and_shown() -> None:
    store, ids, finished = MemoryRunStore(), [f"id-{i:02d}" for i in range(10)], []
    await _setup(store, ids)
    worker = _worker(store, Flaky(ids), finished, "w1")
    clock = Moving()
    worker.budget = Budget(store, RUN.id, None, sleep=clock.sleep, clock=clock)
    await worker.work()
    run = await store.run(RUN.id)
    assert run is not None
    assert (run.status, run.state, run.throttled) == (RunStatus.DONE, UNAVAILABLE, 0)
    assert clock.slept == [0.5, 1.0]  # the backoff doubles
