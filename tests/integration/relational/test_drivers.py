"""The store on psycopg 3 as well as asyncpg (the default): same behaviour, bulk COPY included."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from mystira_data.errors import AlreadyExists, ConcurrencyConflict, ForeignKeyViolation
from mystira_data.query import Op, Order, Query
from mystira_data.relational import RelationalStore

from .conftest import empty_all
from .docs import account, session


@pytest.fixture(params=["asyncpg", "psycopg"])
async def pg_store(request: pytest.FixtureRequest, pg_url: str) -> AsyncIterator[RelationalStore]:
    async with RelationalStore(pg_url, driver=request.param) as store:
        await empty_all(store)
        yield store


async def test_each_driver_does_the_whole_job(pg_store: RelationalStore) -> None:
    created = await pg_store.create("Accounts", account("a1"))
    with pytest.raises(AlreadyExists):
        await pg_store.create("Accounts", account("a1"))
    with pytest.raises(ConcurrencyConflict):
        await pg_store.replace("Accounts", account("a1"), if_match='"v9"')
    with pytest.raises(ForeignKeyViolation):
        await pg_store.create("GameSessions", session("s0", "nobody"))
    docs = [session(f"s{i}", "a1", sceneCount=i) | {"_version": 2} for i in range(50)]
    assert await pg_store.bulk_upsert_if_newer("GameSessions", docs, batch_size=20) == 50
    assert await pg_store.bulk_upsert_if_newer("GameSessions", docs) == 0
    query = Query(partition_key="a1", order_by=(Order("sceneCount", True),)).where(
        "sceneCount", Op.GE, 45
    )
    page = await pg_store.query("GameSessions", query)
    assert [d["sceneCount"] for d in page.items] == [49, 48, 47, 46, 45]
    assert await pg_store.read("GameSessions", "s7", "a1") == docs[7] | {"_etag": '"v2"'}
    assert await pg_store.read("Accounts", "a1", "a1") == created
    # The small-batch merge (column arrays, one statement): newer applies, older and equal
    # versions do not, a tombstone applies like any version, and nothing enters the outbox.
    newer = [docs[3] | {"_version": 3, "status": "Completed"}, docs[4] | {"_version": 2},
             docs[5] | {"_version": 1}, docs[6] | {"_version": 4, "_deleted": True}]
    assert await pg_store.upsert_if_newer("GameSessions", newer, outbox=False) == 2
    assert await pg_store.upsert_if_newer("GameSessions", newer, outbox=False) == 0
    assert (await pg_store.read("GameSessions", "s3", "a1"))["status"] == "Completed"
    assert await pg_store.read("GameSessions", "s4", "a1") == docs[4] | {"_etag": '"v2"'}
    assert await pg_store.count("GameSessions", Query(partition_key="a1")) == 49
    pending = await pg_store.outbox_pending()
    assert [e.operation for e in pending] == ["create"]
    assert await pg_store.mark_relayed([e.id for e in pending]) == 1
    assert await pg_store.prune_outbox(relayed_before=datetime.now(UTC) + timedelta(1)) == 1
