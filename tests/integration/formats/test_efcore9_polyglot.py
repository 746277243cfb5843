"""A document store in the ``efcore9`` format beside PostgreSQL: the C# app's own documents
backfill and verify clean, dual writes land in both stores, bad documents are dead-lettered.

Documents "as the C# app wrote them" go straight into the formatted store's inner store.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from mystira_data.bootstrap import open_platform
from mystira_data.documents.formats import FormattedDocumentStore
from mystira_data.polyglot.consistency.backfill import backfill
from mystira_data.polyglot.layer import Polyglot
from mystira_data.polyglot.phase.rules import Side
from mystira_data.polyglot.write.repository import validated
from mystira_data.settings import Phase
from mystira_data.types import JsonDoc
from tests.integration.consistency.data import put_all
from tests.integration.polyglot.conftest import pair_settings
from tests.integration.polyglot.test_poison_replication import open_letters
from tests.integration.relational.conftest import empty_all

FIXTURES = Path(__file__).parents[2] / "fixtures" / "efcore9"
DUAL = Phase.DUAL_WRITE_COSMOS_READ
# Parents first: GameSessions point at Accounts, PlayerScenarioScores at GameSessions.
RELATIONAL = ("Accounts", "GameSessions", "PlayerScenarioScores")
SESSION = "3f9c2b7a1d4e4f60a8b95c7d2e1f0a34"
ACCOUNT = "7d1c2a4e-3b5f-4c8d-9e2a-1f6b7c8d9e01"
LEGACY_SESSION, LEGACY_ACCOUNT = (
    "0a1b2c3d4e5f40718293a4b5c6d7e8f9",
    "2b9e4f71-8a3c-4d5e-b6f7-0c1d2e3f4a52",
)


def csharp(container: str) -> list[JsonDoc]:
    """The fixture documents as stored, with the `_version` this platform's import gives them
    (documents the C# app rewrote without one are the "beside a live app" part's)."""
    lines = (FIXTURES / f"{container}.jsonl").read_text(encoding="utf-8").splitlines()
    docs = [json.loads(line) for line in lines]
    return [{**{k: v for k, v in d.items() if not k.startswith("_")}, "_version": 1} for d in docs]


def raw_store(poly: Polyglot) -> Any:
    documents = poly.stores.documents
    assert isinstance(documents, FormattedDocumentStore)
    return documents.inner


@pytest.fixture(params=["sqlite-postgres", "cosmos-postgres"])
async def poly(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Polyglot]:
    settings = pair_settings(
        str(request.param), tmp_path, request, DocumentStore={"Format": "efcore9"}
    )
    async with open_platform(settings, refresh_s=0, provision=True) as opened:
        await empty_all(opened.raw_relational)
        yield opened


async def test_csharp_documents_backfill_and_verify_clean(poly: Polyglot) -> None:
    for container in RELATIONAL:
        await poly.control.set(container, DUAL, force=True, reason="test")
        await put_all(raw_store(poly), container, csharp(container))
    for container in RELATIONAL:
        report = await backfill(poly, container, Side.RELATIONAL)
        assert not report.quarantined, report
        await poly.replicate_until_caught_up(container, timeout_s=300)
    for container in RELATIONAL:
        verified = await poly.verify(container, settle_s=0)
        assert verified.clean, verified
    row = await poly.raw_relational.read("GameSessions", SESSION, ACCOUNT)
    assert (row["status"], row["playerNames"]) == ("InProgress", ["Lena", "Pip"])
    assert row["elapsedTime"] == "00:21:44.4675240"
    legacy = await poly.raw_relational.read("GameSessions", LEGACY_SESSION, LEGACY_ACCOUNT)
    assert legacy["status"] == "Paused"  # stored as "GameSession|<key>", copied by its key


async def test_dual_writes_reach_postgresql_and_keep_the_csharp_shape(poly: Polyglot) -> None:
    for container in ("Accounts", "GameSessions"):
        await poly.control.set(container, DUAL, force=True, reason="test")
    await put_all(raw_store(poly), "Accounts", csharp("Accounts"))
    await backfill(poly, "Accounts", Side.RELATIONAL)  # the sessions' parents
    stored = csharp("GameSessions")[0]
    await put_all(raw_store(poly), "GameSessions", [{**stored, "FromNewerApp": 7}])

    doc = await poly.repository.read("GameSessions", SESSION, ACCOUNT)
    doc["currentSceneId"] = "scene-river"
    doc["status"] = "Completed"
    await poly.repository.upsert("GameSessions", doc)

    row = await poly.raw_relational.read("GameSessions", SESSION, ACCOUNT)
    assert (row["currentSceneId"], row["status"]) == ("scene-river", "Completed")
    raw = await raw_store(poly).read("GameSessions", SESSION, ACCOUNT)
    assert (raw["CurrentSceneId"], raw["Status"], raw["$type"]) == ("scene-river", 3, "GameSession")
    assert raw["StartTime"] == stored["StartTime"]  # 100 ns digits kept
    assert raw["CompassValues"] == stored["CompassValues"]
    assert raw["FromNewerApp"] == 7  # a field the C# app knows and we do not: kept

    fresh = validated(
        "GameSessions",
        {
            "id": "new-session",
            "accountId": ACCOUNT,
            "startTime": "2026-01-02T03:04:05.5Z",
            "playerNames": ["Ann"],
        },
    )
    await poly.repository.create("GameSessions", fresh)
    raw = await raw_store(poly).read("GameSessions", "new-session", ACCOUNT)
    assert (raw["PlayerNames"], raw["StartTime"], raw["Status"]) == (
        "Ann",
        "2026-01-02T03:04:05.5Z",
        0,
    )
    assert (await poly.raw_relational.read("GameSessions", "new-session", ACCOUNT))["id"]


async def test_a_malformed_csharp_document_is_dead_lettered_with_its_field(
    poly: Polyglot,
) -> None:
    for container in ("Accounts", "GameSessions"):
        await poly.control.set(container, DUAL, force=True, reason="test")
    await put_all(raw_store(poly), "Accounts", csharp("Accounts"))
    good, bad = csharp("GameSessions")[:2]
    await put_all(raw_store(poly), "GameSessions", [good, {**bad, "PlayerNames": 42}])
    await poly.replicate_until_caught_up("Accounts", timeout_s=300)
    await poly.replicate_until_caught_up("GameSessions", timeout_s=300)

    [letter] = await open_letters(poly, "GameSessions")
    assert letter["entity_id"] == bad["id"]
    assert "playerNames" in letter["error"]
    assert await poly.raw_relational.read("GameSessions", SESSION, ACCOUNT)


WALK = (Phase.DUAL_WRITE_COSMOS_READ, Phase.DUAL_WRITE_POSTGRES_READ, Phase.POSTGRES_ONLY)
PARENTS_FIRST = ("Accounts", "GameSessions")


async def advance(poly: Polyglot, container: str, phase: Phase) -> None:
    """The guarded move: catch up, prove agreement, then one step (no force)."""
    await poly.replicate_until_caught_up(container, timeout_s=300)
    if phase is not Phase.DUAL_WRITE_COSMOS_READ:
        assert (await poly.verify(container, settle_s=0)).clean
    await poly.control.set(container, phase, reason="efcore9 walk")


async def test_csharp_documents_walk_every_phase_and_back(poly: Polyglot) -> None:
    for container in PARENTS_FIRST:
        await put_all(raw_store(poly), container, csharp(container))
        await backfill(poly, container, Side.RELATIONAL)
    # The C# app wrote these and has stopped: its last write is outside the guard's window.
    later = datetime.now(UTC) + poly.guards.foreign_window + timedelta(seconds=5)
    poly.guards.clock = lambda: later
    for phase in WALK:
        for container in PARENTS_FIRST:
            await advance(poly, container, phase)
        doc = await poly.repository.read("GameSessions", SESSION, ACCOUNT)
        doc["sceneCount"] += 1
        await poly.repository.upsert("GameSessions", doc)
    for phase in reversed((Phase.COSMOS_ONLY, *WALK[:-1])):
        for container in reversed(PARENTS_FIRST):
            if phase is Phase.DUAL_WRITE_COSMOS_READ:  # reads move back: gate 2 wants a verify
                await poly.replicate_until_caught_up(container, timeout_s=300)
                assert (await poly.verify(container, settle_s=0)).clean
            await poly.control.set(container, phase, reason="efcore9 walk back")
            await poly.replicate_until_caught_up(container, timeout_s=300)

    stored, before = (
        await raw_store(poly).read("GameSessions", SESSION, ACCOUNT),
        csharp("GameSessions")[0],
    )
    assert stored["SceneCount"] == before["SceneCount"] + 3  # every write reached it
    assert stored["StartTime"] == before["StartTime"]  # written back by the secondary side
    assert stored["CompassValues"] == before["CompassValues"]
    assert stored["$type"] == "GameSession"
    assert stored["Status"] == 1
