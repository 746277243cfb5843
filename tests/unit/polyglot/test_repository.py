"""Routing, versioning and failure handling of the polyglot repository (embedded pair)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from mystira_data.documents.sqlite import SqliteDocumentStore
from mystira_data.errors import ConcurrencyConflict, InvalidDocument, NotFound, StoreUnavailable
from mystira_data.polyglot.phase.record import MemoryPhaseStore
from mystira_data.polyglot.write.repository import PolyglotRepository
from mystira_data.settings import Phase

Pair = tuple[SqliteDocumentStore, SqliteDocumentStore]
START = "2026-01-01T00:00:00Z"


def session(n: int, **extra: Any) -> dict[str, Any]:
    return {"id": f"s{n}", "accountId": "acc1", "startTime": START, **extra}


async def set_phase(repo: PolyglotRepository, phase: Phase) -> None:
    store = repo.control.store
    assert isinstance(store, MemoryPhaseStore)
    store.phases["GameSessions"] = phase


@pytest.mark.parametrize("phase", list(Phase))
async def test_crud_in_every_phase_lands_where_the_phase_says(
    repo: PolyglotRepository, pair: Pair, phase: Phase
) -> None:
    await set_phase(repo, phase)
    created = await repo.create("GameSessions", session(1, status="InProgress"))
    assert created["_version"] == 1
    updated = await repo.replace("GameSessions", session(1, status="Completed"))
    assert updated["_version"] == 2
    assert (await repo.read("GameSessions", "s1", "acc1"))["status"] == "Completed"
    doc, rel = pair
    expect = {
        Phase.COSMOS_ONLY: (True, False),
        Phase.DUAL_WRITE_COSMOS_READ: (True, True),
        Phase.DUAL_WRITE_POSTGRES_READ: (True, True),
        Phase.POSTGRES_ONLY: (False, True),
    }[phase]
    for store, present in zip((doc, rel), expect, strict=True):
        if present:
            assert (await store.read("GameSessions", "s1", "acc1"))["_version"] == 2
        else:
            with pytest.raises(NotFound):
                await store.read("GameSessions", "s1", "acc1")
    await repo.delete("GameSessions", "s1", "acc1")
    with pytest.raises(NotFound):
        await repo.read("GameSessions", "s1", "acc1")


async def test_invalid_document_is_refused_before_any_write(repo: PolyglotRepository) -> None:
    with pytest.raises(InvalidDocument) as info:
        await repo.create("GameSessions", {"id": "s1", "accountId": "acc1"})
    assert info.value.path == "startTime"


async def test_expected_version_guards_updates(repo: PolyglotRepository) -> None:
    await repo.create("GameSessions", session(1))
    await repo.replace("GameSessions", session(1, status="InProgress"), expected_version=1)
    with pytest.raises(ConcurrencyConflict):
        await repo.replace("GameSessions", session(1, status="Paused"), expected_version=1)


async def test_secondary_failure_never_fails_the_caller(
    repo: PolyglotRepository, pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    await set_phase(repo, Phase.DUAL_WRITE_COSMOS_READ)

    async def down(*args: Any, **kwargs: Any) -> Any:
        raise StoreUnavailable("relational down")

    monkeypatch.setattr(pair[1], "query", down)
    monkeypatch.setattr(pair[1], "put_if_newer", down)  # the guarded copy path
    monkeypatch.setattr(pair[1], "read_stored", down)
    stored = await repo.create("GameSessions", session(1))
    assert stored["_version"] == 1
    assert repo.secondary.sync_log.failed == 1
    assert (await pair[0].read("GameSessions", "s1", "acc1"))["_version"] == 1


async def test_fifty_concurrent_writers_lose_no_update(repo: PolyglotRepository) -> None:
    await set_phase(repo, Phase.DUAL_WRITE_COSMOS_READ)
    await repo.create("GameSessions", session(1, sceneCount=0))

    async def bump() -> None:
        while True:
            doc = await repo.read("GameSessions", "s1", "acc1")
            body = {k: v for k, v in doc.items() if not k.startswith("_")}
            body["sceneCount"] += 1
            try:
                await repo.replace("GameSessions", body, expected_version=doc["_version"])
                return
            except ConcurrencyConflict:
                continue

    await asyncio.gather(*(bump() for _ in range(50)))
    final = await repo.read("GameSessions", "s1", "acc1")
    assert final["sceneCount"] == 50
    assert final["_version"] == 51


async def test_deleting_an_account_cascades_to_sessions_and_detaches_scores(
    repo: PolyglotRepository, pair: Pair
) -> None:
    await repo.create("Accounts", {"id": "acc1", "email": "a@example.org"})
    await repo.create("GameSessions", session(1))
    await repo.create(
        "PlayerScenarioScores",
        {"id": "sc1", "profileId": "p1", "scenarioId": "x", "gameSessionId": "s1"},
    )
    await repo.delete("Accounts", "acc1", "acc1")
    with pytest.raises(NotFound):
        await repo.read("GameSessions", "s1", "acc1")
    score = await repo.read("PlayerScenarioScores", "sc1", "p1")
    assert score["gameSessionId"] is None
    assert score["_version"] == 2
