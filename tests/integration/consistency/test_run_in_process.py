"""Runs (#20) worked by one in-process worker: a verify against PostgreSQL compares clean pages
by checksum (no rows moved) and merge-joins only the page that differs; a backfill run fills
the document store from PostgreSQL."""

from __future__ import annotations

import pytest

from mystira_data.polyglot.consistency.backfill import backfill
from mystira_data.polyglot.layer import Polyglot
from mystira_data.polyglot.phase.rules import Side
from mystira_data.polyglot.runs.budget import Budget
from mystira_data.polyglot.runs.finish import finish_run
from mystira_data.polyglot.runs.jobs import Job, VerifyJob, job_for
from mystira_data.polyglot.runs.record import Run, RunKind, Segment
from mystira_data.polyglot.runs.start import start_run
from mystira_data.polyglot.runs.worker import Worker
from mystira_data.polyglot.state.runs import RelationalRunStore
from tests.integration.consistency.data import account_id, live_count, seed

pytestmark = pytest.mark.slow
SESSIONS = 1_500


async def _work(poly: Polyglot, run: Run, job: Job | None = None) -> Run:
    store = RelationalRunStore(poly.raw_relational)

    async def finisher(current: Run, segments: list[Segment]) -> None:
        await finish_run(poly, store, current, segments, settle_s=0)

    worker = Worker(store, run, job or job_for(poly, run), Budget(store, run.id, None), finisher)
    await worker.work()
    done = await store.run(run.id)
    assert done is not None
    assert done.report is not None
    return done


async def test_clean_pages_cost_one_checksum_query_each(poly: Polyglot, pair: str) -> None:
    await seed(poly.stores.documents, SESSIONS)
    for name in ("Accounts", "GameSessions"):
        await backfill(poly, name, Side.RELATIONAL)
    gone = 1234  # one page off; its account as `seed` picks it
    await poly.raw_relational.purge(
        "GameSessions", f"gs-{gone:06d}", account_id(gone % (SESSIONS // 10))
    )
    store = RelationalRunStore(poly.raw_relational)
    run = await start_run(poly, store, RunKind.VERIFY, "GameSessions", segments=2)
    job = VerifyJob(poly, "GameSessions")
    done = await _work(poly, run, job)
    assert done.report is not None
    assert (done.report["scanned"], done.report["missing"]) == (SESSIONS, 1)
    if pair == "embedded":
        assert job.checksums is None  # SQLite: every pair is compared
        return
    assert job.checksums is not None
    # Every page but the one holding the deleted row was clean by its checksum alone.
    assert SESSIONS - 1000 <= job.checksums.stats.clean_documents < SESSIONS


async def test_a_backfill_run_fills_the_document_store(poly: Polyglot) -> None:
    sessions = 300
    await seed(poly.stores.documents, sessions)
    for name in ("Accounts", "GameSessions"):
        await backfill(poly, name, Side.RELATIONAL)
    for i in range(0, sessions, 2):  # half of the documents lost
        await poly.stores.documents.purge("GameSessions", f"gs-{i:06d}", f"acc-{i % 30:05d}")
    store = RelationalRunStore(poly.raw_relational)
    run = await start_run(
        poly, store, RunKind.BACKFILL, "GameSessions", segments=3, target=Side.DOCUMENT
    )
    done = await _work(poly, run)
    assert (done.report["read"], done.report["written"]) == (sessions, sessions // 2)
    assert await live_count(poly.documents, "GameSessions") == sessions
