"""Backfill of a pre-existing container while simulated players keep writing through the
repository (DualWriteCosmosRead): afterwards replication settles and verify is clean."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest

from mystira_data.polyglot.consistency.backfill import backfill
from mystira_data.polyglot.layer import Polyglot
from mystira_data.polyglot.phase.rules import Side
from mystira_data.polyglot.write.repository import PolyglotRepository
from mystira_data.settings import Phase
from mystira_data.simulator import SimulationReport, simulate
from mystira_data.types import JsonDoc
from tests.integration.consistency.data import CONTAINERS, by_id, live_count, replicate_all, seed

# Sessions written straight into the document store before the backfill (plus one Account per
# ten sessions). The embedded pair takes the 100k (about 3 min here, now that paging
# by id is linear and replication applies a batch per transaction). The Cosmos API test
# server creates ~200 documents/s and scans every document on each query, so that pair stays
# small.
SESSIONS = {"embedded": 100_000, "sqlite-postgres": 100_000, "cosmos-postgres": 2_000}
# Live load during the backfill: (players, repository writes).
LOAD = {"embedded": (20, 600), "sqlite-postgres": (20, 600), "cosmos-postgres": (10, 300)}


class CountingRepository:
    """The repository, counting acknowledged writes (to prove they overlapped the backfill)."""

    def __init__(self, repo: PolyglotRepository) -> None:
        self.repo = repo
        self.writes = 0

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.repo, name)
        if name not in ("create", "replace", "upsert", "delete"):
            return attr

        async def counted(*args: Any, **kwargs: Any) -> JsonDoc:
            doc: JsonDoc = await attr(*args, **kwargs)
            self.writes += 1
            return doc

        return counted


# Also the embedded document store beside PostgreSQL: the backfill's text path, COPY + merge,
# and verify's segment checksums, at the 100k.
@pytest.mark.parametrize("pair", sorted(SESSIONS), indirect=True)
async def test_backfill_during_live_writes_then_verify_is_clean(
    poly: Polyglot, pair: str
) -> None:
    for container in CONTAINERS:
        await poly.control.set(container, Phase.DUAL_WRITE_COSMOS_READ)
    # Seeded after the switch: switching replays the change feed, which would otherwise
    # copy everything before the backfill starts.
    n = SESSIONS[pair]
    accounts = await seed(poly.stores.documents, n)

    repo = CountingRepository(poly.repository)
    players, writes = LOAD[pair]
    load: asyncio.Future[SimulationReport] | None = None
    seen: list[int] = []  # acknowledged live writes when each backfill page finished

    def on_page(_: int) -> None:
        nonlocal load
        if load is None:  # the first page is in: start the players
            load = asyncio.ensure_future(simulate(
                cast(PolyglotRepository, repo), players=players, writes=writes,
                concurrency=8, seed=42))
        seen.append(repo.writes)

    reports = [await backfill(poly, c, Side.RELATIONAL, on_page=on_page) for c in CONTAINERS]
    assert load is not None
    sim = await load
    assert sim.failed == 0, sim.errors[:5]
    assert seen[-1] > seen[0], "no live write landed while the backfill was paging"

    acc_report, ses_report = reports
    assert [(r.done, r.quarantined) for r in reports] == [(True, [])] * 2
    # The seeded documents exist only in the document store: the backfill copied them.
    assert min(acc_report.written, acc_report.read) >= accounts
    assert min(ses_report.written, ses_report.read) >= n

    await poly.router.secondary.drain()
    for container in CONTAINERS:
        await replicate_all(poly, container, timeout_s=600)  # replays the whole change feed
    for container in CONTAINERS:
        report = await poly.verify(container, settle_s=0)
        assert report.clean, (container, report.counts(), report.differences[:3])
        docs = await live_count(poly.documents, container)
        assert report.scanned >= docs
        assert await live_count(poly.relational, container) == docs
    assert await live_count(poly.documents, "GameSessions") > n  # the players' sessions too
    # Every acknowledged live write is in the relational store at its acknowledged version.
    for (container, doc_id), version in sim.acknowledged.items():
        if container in CONTAINERS:
            query = by_id(doc_id, include_deleted=True)
            for store in (poly.documents, poly.relational):
                found = (await store.query(container, query)).items
                assert [d["_version"] for d in found] == [version], (store.name, doc_id)

