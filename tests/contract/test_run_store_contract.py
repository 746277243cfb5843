"""`RunStore`: the SQL store (SQLite, PostgreSQL) and its memory twin behave alike.

Segments are compare-and-set on their fencing token: of two claims from one read exactly one
wins, and a worker that lost its segment can no longer checkpoint it.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from mystira_data.polyglot.runs.record import (
    Run,
    RunKind,
    RunStatus,
    Segment,
    SegmentCounts,
)
from mystira_data.polyglot.runs.store import MemoryRunStore, RunStore
from mystira_data.polyglot.state.runs import RelationalRunStore
from mystira_data.relational import RelationalStore

UNTIL = datetime(2030, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
RUN = Run(
    "r-test",
    RunKind.VERIFY,
    "GameSessions",
    "relational→documents",
    position={"phaseMove": 3, "outboxId": 7, "feed": {}},
    lease_ttl_s=2.5,
)


@pytest.fixture
def runs(state_backend: RelationalStore | None) -> RunStore:
    if state_backend is None:
        return MemoryRunStore()
    return RelationalRunStore(state_backend)


async def _made(runs: RunStore, n: int = 2) -> list[Segment]:
    bounds = [None, *(f"id-{i}" for i in range(1, n)), None]
    segs = [Segment(RUN.id, i, bounds[i], bounds[i + 1], total=10 * i) for i in range(n)]
    await runs.create(RUN, segs)
    return await runs.segments(RUN.id)


async def test_a_created_run_reads_back_with_its_segments_in_order(runs: RunStore) -> None:
    assert await runs.run("nope") is None
    segs = await _made(runs, 3)
    run = await runs.run(RUN.id)
    assert run is not None
    assert (run.kind, run.container, run.status, run.lease_ttl_s) == (
        RunKind.VERIFY,
        "GameSessions",
        RunStatus.RUNNING,
        2.5,
    )
    assert run.position == RUN.position
    assert [(s.seq, s.after, s.upto, s.total) for s in segs] == [
        (0, None, "id-1", 0),
        (1, "id-1", "id-2", 10),
        (2, "id-2", None, 20),
    ]
    assert all(s.owner is None and s.token == 0 and not s.done for s in segs)
    assert all(s.free(datetime.now(UTC)) for s in segs)


async def test_of_two_claims_from_one_read_exactly_one_wins(runs: RunStore) -> None:
    seen, _ = await _made(runs)
    won = await asyncio.gather(*(runs.claim(seen, f"w{n}", UNTIL) for n in range(4)))
    winners = [w for w in won if w is not None]
    assert len(winners) == 1
    assert (winners[0].token, winners[0].expires_at) == (1, UNTIL)
    assert (await runs.segments(RUN.id))[0] == winners[0]


async def test_a_stale_token_cannot_checkpoint_after_a_takeover(runs: RunStore) -> None:
    seen, _ = await _made(runs)
    mine = await runs.claim(seen, "w1", UNTIL)
    assert mine is not None
    counts = SegmentCounts(read=5, written=4, quarantined=1)
    saved = await runs.checkpoint(mine, "id-0-5", counts, until=UNTIL + timedelta(seconds=9))
    assert saved is not None
    assert (saved.checkpoint, saved.counts, saved.token) == ("id-0-5", counts, 1)
    assert saved.expires_at == UNTIL + timedelta(seconds=9)
    theirs = await runs.claim(saved, "w2", UNTIL)
    assert theirs is not None
    assert theirs.checkpoint == "id-0-5"  # the takeover resumes there
    assert await runs.checkpoint(saved, "id-0-9", counts) is None  # fenced out
    done = await runs.checkpoint(
        theirs, "id-1", SegmentCounts(read=9), diffs=[{"id": "x", "kind": "missing"}], done=True
    )
    assert done is not None
    assert (done.done, done.diffs) == (True, [{"id": "x", "kind": "missing"}])
    await runs.release(saved)  # stale: changes nothing
    assert (await runs.segments(RUN.id))[0] == done
    await runs.release(done)
    freed = (await runs.segments(RUN.id))[0]
    assert (freed.owner, freed.expires_at, freed.token, freed.done) == (None, None, 3, True)


async def test_notes_budget_and_finish(runs: RunStore) -> None:
    await _made(runs)
    await runs.note(RUN.id, "throttled: 429", UNTIL, throttled=1)
    await runs.note(RUN.id, "throttled: 429", UNTIL, throttled=2)
    run = await runs.run(RUN.id)
    assert run is not None
    assert (run.state_now(UNTIL - timedelta(seconds=1)), run.throttled) == ("throttled: 429", 3)
    assert run.state_now(UNTIL) is None
    # The budget clock hands out consecutive slots, never before ``not_before``.
    assert await runs.reserve(RUN.id, 100, 1_000) == 1_000
    assert await runs.reserve(RUN.id, 50, 1_000) == 1_100
    assert await runs.reserve(RUN.id, 0, 1_000) == 1_150  # a look: books nothing
    assert await runs.reserve(RUN.id, 10, 5_000) == 5_000
    slots = await asyncio.gather(*(runs.reserve(RUN.id, 10, 0) for _ in range(5)))
    assert sorted(slots) == [5_010, 5_020, 5_030, 5_040, 5_050]
    assert await runs.finish(RUN.id, {"clean": True}, UNTIL)
    assert not await runs.finish(RUN.id, {"clean": False}, UNTIL)
    run = await runs.run(RUN.id)
    assert run is not None
    assert (run.status, run.report, run.finished_at) == (RunStatus.DONE, {"clean": True}, UNTIL)
