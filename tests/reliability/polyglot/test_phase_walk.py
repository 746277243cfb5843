"""Walk Accounts and GameSessions through every phase and back under 20 concurrent writers.

Each step takes the guarded path (catch up, verify, move). Afterwards both stores hold
exactly the acknowledged writes: 0 lost writes.
"""

from __future__ import annotations

import asyncio

from mystira_data.errors import PhaseTransitionRefused
from mystira_data.polyglot.consistency.backfill import backfill
from mystira_data.polyglot.layer import Polyglot
from mystira_data.polyglot.phase.rules import Side, needs_proof
from mystira_data.polyglot.write.guarded import current
from mystira_data.settings import Phase
from mystira_data.simulator import simulate
from tests.reliability.polyglot.test_secondary_down import catch_up

PATH = [
    Phase.DUAL_WRITE_COSMOS_READ,
    Phase.DUAL_WRITE_POSTGRES_READ,
    Phase.POSTGRES_ONLY,
    Phase.DUAL_WRITE_POSTGRES_READ,
    Phase.DUAL_WRITE_COSMOS_READ,
]
CONTAINERS = ("Accounts", "GameSessions", "PlayerScenarioScores")
PKS = {"Accounts": "id", "GameSessions": "accountId", "PlayerScenarioScores": "profileId"}


async def move(poly: Polyglot, container: str, phase: Phase) -> None:
    refusals: list[str] = []
    for _ in range(20):
        await catch_up(poly)
        if needs_proof(await poly.control.phase(container), phase):  # either direction
            await poly.verify(container, settle_s=0.2)
            await catch_up(poly)  # what the writers did during the verify: lag stays young
        try:
            await poly.control.set(container, phase, reason="walk under load")
            return
        except PhaseTransitionRefused as exc:
            if not any(word in str(exc) for word in ("verify", "lag", "holds")):
                raise
            refusals.append(str(exc))
    raise AssertionError(f"{container} never moved to {phase}: {refusals[-3:]}")


async def walk(poly: Polyglot) -> None:
    for container in ("Accounts", "GameSessions"):
        await backfill(poly, container, Side.RELATIONAL)
    for step, phase in enumerate(PATH):
        forward = step < 3
        for container in ("Accounts", "GameSessions") if forward else ("GameSessions", "Accounts"):
            await move(poly, container, phase)
        await asyncio.sleep(0.2)


async def test_walk_forward_and_back_under_load_loses_nothing(poly: Polyglot) -> None:
    writers = asyncio.create_task(
        simulate(poly.repository, players=20, writes=1200, concurrency=20, seed=11)
    )
    await walk(poly)
    report = await writers
    assert report.failed == 0, report.errors[:5]
    assert report.deletes > 0  # tombstones travel both ways as the primary changes
    assert await poly.control.phase("GameSessions") is Phase.DUAL_WRITE_COSMOS_READ
    await poly.router.secondary.drain()
    await catch_up(poly)
    history = await poly.control.store.history("GameSessions")
    assert [t.to_phase for t in history] == PATH
    for (container, doc_id), version in report.acknowledged.items():
        deleted = (container, doc_id) in report.deleted
        doc = await current(poly.documents, container, doc_id, await _pk(poly, container, doc_id))
        assert doc is not None, (container, doc_id)
        assert (doc["_version"], bool(doc.get("_deleted"))) == (version, deleted), doc_id
        if container != "PlayerScenarioScores":
            row = await current(poly.relational, container, doc_id, doc[PKS[container]])
            assert row is not None, (container, doc_id)
            assert (row["_version"], bool(row.get("_deleted"))) == (version, deleted), doc_id
    for container in ("Accounts", "GameSessions"):
        assert (await poly.verify(container, settle_s=0)).clean


async def _pk(poly: Polyglot, container: str, doc_id: str) -> str:
    from mystira_data.query import Filter, Op, Query

    q = Query(filters=(Filter("id", Op.EQ, doc_id),), cross_partition=True, include_deleted=True)
    (doc,) = (await poly.documents.query(container, q)).items
    return str(doc[PKS[container]])
