"""Lossless mapping through a real database: what goes in comes back, for every model value."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from mystira_data.domain.base import TIMESPAN_MAX
from mystira_data.domain.codec import codec_for
from mystira_data.domain.play import GameSession, PlayerScenarioScore, SessionChoice
from mystira_data.domain.users import Account
from mystira_data.errors import InvalidDocument
from mystira_data.query import Op, Query
from mystira_data.relational import RelationalStore
from mystira_data.relational.mapping import etag_for, mapping_for
from tests.strategies import strategy_for

from .docs import T0, account, session

MODELS: dict[str, type[BaseModel]] = {
    "Accounts": Account,
    "GameSessions": GameSession,
    "PlayerScenarioScores": PlayerScenarioScore,
}
PARENT_ACCOUNT = "parent-of-sessions"


async def ensure_parents(store: RelationalStore, container: str, doc: dict[str, Any]) -> None:
    """Rows the V002 foreign keys demand before ``doc`` can be written."""
    if container == "GameSessions":
        await store.upsert("Accounts", account(doc["accountId"]))
    elif container == "PlayerScenarioScores" and doc["gameSessionId"]:
        await store.upsert("Accounts", account(PARENT_ACCOUNT))
        await store.upsert("GameSessions", session(doc["gameSessionId"], PARENT_ACCOUNT))


def referable(doc: dict[str, Any]) -> dict[str, Any]:
    """A score whose gameSessionId could not be a session id at all refers to nothing."""
    ref = doc.get("gameSessionId")
    if ref and (set(ref) & set("/\\?#") or not ref.strip()):
        return doc | {"gameSessionId": None}
    return doc


async def read_back(store: RelationalStore, container: str, doc: dict[str, Any]) -> Any:
    pk = doc[mapping_for(container).pk_field]
    query = Query(partition_key=pk, include_deleted=True).where("id", Op.EQ, doc["id"])
    page = await store.query(container, query)
    assert len(page.items) == 1
    if not doc.get("_deleted"):
        assert await store.read(container, doc["id"], pk) == page.items[0]
    return page.items[0]


async def purge(store: RelationalStore, container: str, doc: dict[str, Any]) -> None:
    await store.purge(container, doc["id"], doc[mapping_for(container).pk_field])
    await store.purge("Accounts", PARENT_ACCOUNT, PARENT_ACCOUNT)
    if container == "GameSessions":
        await store.purge("Accounts", doc["accountId"], doc["accountId"])


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_every_model_value_survives_the_database(
    store: RelationalStore, data: st.DataObject
) -> None:
    container = data.draw(st.sampled_from(sorted(MODELS)), label="container")
    model = data.draw(strategy_for(MODELS[container]), label="model")
    version = data.draw(st.integers(0, 2**63 - 1), label="version")
    deleted = data.draw(st.booleans(), label="deleted")
    doc = referable(codec_for(MODELS[container]).encode(model))
    doc["_version"] = version
    if deleted:
        doc["_deleted"] = True
    await ensure_parents(store, container, doc)
    try:
        written = await store.upsert(container, doc)
        expected = doc | {"_etag": etag_for(version)}
        assert written == expected
        assert await read_back(store, container, doc) == expected
    finally:
        await purge(store, container, doc)


def _long_history(n: int) -> list[dict[str, Any]]:
    zones = [UTC, timezone(timedelta(hours=14)), timezone(timedelta(hours=-12, minutes=-30))]
    return [
        codec_for(SessionChoice).encode(
            SessionChoice(
                scene_id=f"scene-{i}",
                choice_text="ünïcödé ✨ " * 3,
                compass_delta=(-1) ** i * i / 7,
                chosen_at=datetime(2024, 3, 31, 1, 30, i % 60, i, tzinfo=zones[i % 3]),
            )
        )
        for i in range(n)
    ]


async def test_large_histories_and_extreme_values_survive(store: RelationalStore) -> None:
    await store.upsert("Accounts", account("a1"))
    doc = session(
        "s1",
        "a1",
        choiceHistory=_long_history(3000),
        playerNames=[],
        startTime=datetime.min.replace(tzinfo=UTC),
        endTime=datetime.max.replace(tzinfo=UTC),
        elapsedTime=-TIMESPAN_MAX,
        compassValues={"": {"axis": "", "currentValue": 1e308, "startingValue": -5e-324}},
        sceneCount=2**31 - 1,
    ) | {"_version": 2**63 - 1}
    written = await store.upsert("GameSessions", doc)
    assert written == doc | {"_etag": etag_for(2**63 - 1)}
    assert await store.read("GameSessions", "s1", "a1") == written
    # JSONB prints 1e+23 as a 24-digit integer; the model's float type restores the double.
    values = {"x": {"axis": "x", "currentValue": 1e23, "lastUpdated": T0}}
    floats = session("s2", "a1", compassValues=values) | {"_version": 1}
    stored = await store.read(
        "GameSessions", (await store.upsert("GameSessions", floats))["id"], "a1"
    )
    assert stored == floats | {"_etag": etag_for(1)}
    assert type(stored["compassValues"]["x"]["currentValue"]) is float


async def test_an_int32_overflow_is_an_invalid_document(store: RelationalStore) -> None:
    await store.upsert("Accounts", account("a1"))
    with pytest.raises(InvalidDocument) as caught:
        await store.upsert("GameSessions", session("s1", "a1") | {"sceneCount": 2**31})
    assert caught.value.path == "sceneCount"
