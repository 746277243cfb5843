"""Every phase × create/read/update/delete/query on both real store pairs."""

from __future__ import annotations

import pytest

from mystira_data.errors import NotFound, PhaseTransitionRefused
from mystira_data.polyglot.layer import Polyglot
from mystira_data.query import Op, Query
from mystira_data.settings import Phase

START = "2026-01-01T00:00:00Z"
WALK = [Phase.DUAL_WRITE_COSMOS_READ, Phase.DUAL_WRITE_POSTGRES_READ, Phase.POSTGRES_ONLY]


async def walk_to(poly: Polyglot, target: Phase) -> None:
    """Step Accounts and GameSessions forward to ``target`` (parents first, guards forced)."""
    for phase in WALK[: WALK.index(target) + 1] if target in WALK else []:
        for container in ("Accounts", "GameSessions"):
            await poly.control.set(container, phase, force=True, reason="test walk")


@pytest.mark.parametrize("phase", list(Phase))
async def test_crud_and_query_in_every_phase(poly: Polyglot, phase: Phase) -> None:
    await walk_to(poly, phase)
    repo = poly.repository
    assert await poly.control.phase("GameSessions") is phase
    await repo.create("Accounts", {"id": "acc1", "email": "a@example.org"})
    for n in range(5):
        await repo.create(
            "GameSessions",
            {"id": f"s{n}", "accountId": "acc1", "startTime": START, "status": "InProgress"},
        )
    await repo.replace(
        "GameSessions",
        {
            "id": "s1",
            "accountId": "acc1",
            "startTime": START,
            "status": "Completed",
            "sceneCount": 7,
        },
    )
    read = await repo.read("GameSessions", "s1", "acc1")
    assert (read["status"], read["sceneCount"], read["_version"]) == ("Completed", 7, 2)
    q = Query(partition_key="acc1").where("status", Op.EQ, "InProgress")
    assert sorted(d["id"] for d in (await repo.query("GameSessions", q)).items) == [
        "s0",
        "s2",
        "s3",
        "s4",
    ]
    await repo.delete("GameSessions", "s2", "acc1")
    with pytest.raises(NotFound):
        await repo.read("GameSessions", "s2", "acc1")
    assert await repo.count("GameSessions", Query(partition_key="acc1")) == 4
    await assert_stores_hold(poly, phase)


async def assert_stores_hold(poly: Polyglot, phase: Phase) -> None:
    """The document/relational stores hold the writes exactly when the phase says so."""
    in_docs = phase is not Phase.POSTGRES_ONLY
    in_rows = phase is not Phase.COSMOS_ONLY
    for store, expected in ((poly.documents, in_docs), (poly.relational, in_rows)):
        if expected:
            assert (await store.read("GameSessions", "s1", "acc1"))["_version"] == 2
        else:
            with pytest.raises(NotFound):
                await store.read("GameSessions", "s1", "acc1")


async def test_guards_refuse_unproven_moves_and_non_relational_containers(poly: Polyglot) -> None:
    with pytest.raises(PhaseTransitionRefused, match="stays CosmosOnly"):
        await poly.control.set("Scenarios", Phase.DUAL_WRITE_COSMOS_READ)
    with pytest.raises(PhaseTransitionRefused, match="ahead of its parent Accounts"):
        await poly.control.set("GameSessions", Phase.DUAL_WRITE_COSMOS_READ)
    with pytest.raises(PhaseTransitionRefused, match="one step"):
        await poly.control.set("Accounts", Phase.DUAL_WRITE_POSTGRES_READ)
    await poly.control.set("Accounts", Phase.DUAL_WRITE_COSMOS_READ)
    with pytest.raises(PhaseTransitionRefused, match="no verify has run"):
        await poly.control.set("Accounts", Phase.DUAL_WRITE_POSTGRES_READ)
    with pytest.raises(PhaseTransitionRefused, match="--reason"):
        await poly.control.set("Accounts", Phase.DUAL_WRITE_POSTGRES_READ, force=True)
    assert (await poly.verify("Accounts", settle_s=0)).clean
    await poly.control.set("Accounts", Phase.DUAL_WRITE_POSTGRES_READ)
    history = await poly.control.store.history("Accounts")
    assert [(t.from_phase, t.to_phase) for t in history] == [
        (Phase.COSMOS_ONLY, Phase.DUAL_WRITE_COSMOS_READ),
        (Phase.DUAL_WRITE_COSMOS_READ, Phase.DUAL_WRITE_POSTGRES_READ),
    ]
