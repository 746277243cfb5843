"""Cache-aside over the real SQLite document store, with the tiered cache on a real Redis."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from mystira_data.cache import CachedRepository, Expiry, TieredCache, cache_key, expiry_for
from mystira_data.catalog import TtlClass
from mystira_data.documents.sqlite import SqliteDocumentStore
from mystira_data.errors import ConcurrencyConflict, NotFound
from mystira_data.settings import Caching
from mystira_data.types import JsonDoc


class CountingRepository:
    """The store, counting reads; ``gate`` (when set) holds reads until the test opens it."""

    def __init__(self, store: SqliteDocumentStore) -> None:
        self.store = store
        self.reads = 0
        self.gate: asyncio.Event | None = None
        self.loaded = asyncio.Event()  # set once a read has its document from the store

    async def read(self, container: str, id: str, partition_key: Any) -> JsonDoc:
        self.reads += 1
        doc = await self.store.read(container, id, partition_key)
        self.loaded.set()
        if self.gate is not None:
            await self.gate.wait()
        return doc

    async def create(self, container: str, doc: JsonDoc) -> JsonDoc:
        return await self.store.create(container, doc)

    async def upsert(self, container: str, doc: JsonDoc) -> JsonDoc:
        return await self.store.upsert(container, doc)

    async def replace(
        self, container: str, doc: JsonDoc, *, if_match: str | None = None
    ) -> JsonDoc:
        return await self.store.replace(container, doc, if_match=if_match)

    async def delete(
        self, container: str, id: str, partition_key: Any, *, if_match: str | None = None
    ) -> JsonDoc:
        return await self.store.delete(container, id, partition_key, if_match=if_match)


def session(score: int = 0) -> JsonDoc:
    return {"id": uuid.uuid4().hex, "accountId": "acc-1", "score": score, "_version": 1}


@pytest.fixture
def counting(store: SqliteDocumentStore) -> CountingRepository:
    return CountingRepository(store)


def cached(counting: CountingRepository, cache: TieredCache, **flags: bool) -> CachedRepository:
    return CachedRepository(counting, cache, Caching(**flags))


async def test_miss_loads_once_then_hits(counting: CountingRepository, tiered: TieredCache) -> None:
    repo = cached(counting, tiered)
    doc = await counting.store.create("GameSessions", session(1))
    first = await repo.read("GameSessions", doc["id"], "acc-1")
    second = await repo.read("GameSessions", doc["id"], "acc-1")
    assert first == second == doc
    assert counting.reads == 1


async def test_read_documents_belong_to_the_caller(
    counting: CountingRepository, tiered: TieredCache
) -> None:
    repo = cached(counting, tiered)
    doc = await counting.store.create("GameSessions", session(1))
    (await repo.read("GameSessions", doc["id"], "acc-1"))["score"] = 99
    assert (await repo.read("GameSessions", doc["id"], "acc-1"))["score"] == 1


async def test_write_through_serves_the_new_version_without_a_load(
    counting: CountingRepository, tiered: TieredCache
) -> None:
    repo = cached(counting, tiered)
    doc = await repo.create("GameSessions", session(1))
    updated = await repo.upsert("GameSessions", {**doc, "score": 2})
    assert await repo.read("GameSessions", doc["id"], "acc-1") == updated
    assert counting.reads == 0


async def test_invalidation_on_change_reloads(
    counting: CountingRepository, tiered: TieredCache
) -> None:
    repo = cached(counting, tiered, enable_write_through=False)
    doc = await repo.create("GameSessions", session(1))
    await repo.read("GameSessions", doc["id"], "acc-1")
    await repo.replace("GameSessions", {**doc, "score": 5})
    assert (await repo.read("GameSessions", doc["id"], "acc-1"))["score"] == 5
    assert counting.reads == 2


async def test_without_either_flag_writes_leave_the_cache_alone(
    counting: CountingRepository, tiered: TieredCache
) -> None:
    repo = cached(counting, tiered, enable_write_through=False, enable_invalidation_on_change=False)
    doc = await repo.create("GameSessions", session(1))
    await repo.read("GameSessions", doc["id"], "acc-1")
    await repo.upsert("GameSessions", {**doc, "score": 5})
    # Documented trade-off: stale until the entry expires.
    assert (await repo.read("GameSessions", doc["id"], "acc-1"))["score"] == 1


async def test_delete_evicts(counting: CountingRepository, tiered: TieredCache) -> None:
    repo = cached(counting, tiered)
    doc = await repo.create("GameSessions", session(1))
    await repo.read("GameSessions", doc["id"], "acc-1")
    await repo.delete("GameSessions", doc["id"], "acc-1")
    with pytest.raises(NotFound):
        await repo.read("GameSessions", doc["id"], "acc-1")


async def test_stale_etag_evicts_our_copy(
    counting: CountingRepository, tiered: TieredCache
) -> None:
    repo = cached(counting, tiered)
    doc = await repo.create("GameSessions", session(1))
    await counting.store.upsert("GameSessions", {**doc, "score": 7})  # behind the cache's back
    with pytest.raises(ConcurrencyConflict):
        await repo.replace("GameSessions", {**doc, "score": 8}, if_match=doc["_etag"])
    assert (await repo.read("GameSessions", doc["id"], "acc-1"))["score"] == 7


async def test_concurrent_misses_load_once(
    counting: CountingRepository, tiered: TieredCache
) -> None:
    repo = cached(counting, tiered)
    doc = await counting.store.create("GameSessions", session(1))
    counting.gate = asyncio.Event()
    readers = [
        asyncio.create_task(repo.read("GameSessions", doc["id"], "acc-1")) for _ in range(25)
    ]
    await counting.loaded.wait()  # the shared load is under way; the others wait on it
    counting.gate.set()
    results = await asyncio.gather(*readers)
    assert counting.reads == 1
    assert all(r == doc for r in results)
    assert len({id(r) for r in results}) == 25  # each caller its own copy


async def test_a_load_racing_a_write_does_not_fill_the_old_version(
    counting: CountingRepository, tiered: TieredCache
) -> None:
    repo = cached(counting, tiered, enable_write_through=False)
    doc = await counting.store.create("GameSessions", session(1))
    counting.gate = asyncio.Event()
    slow_read = asyncio.create_task(repo.read("GameSessions", doc["id"], "acc-1"))
    await counting.loaded.wait()  # the load has read version 1 and waits at the gate
    await repo.upsert("GameSessions", {**doc, "score": 2})
    counting.gate.set()
    assert (await slow_read)["score"] == 1  # that caller asked before the write
    counting.gate = None
    assert (await repo.read("GameSessions", doc["id"], "acc-1"))["score"] == 2


async def test_cancelled_reader_does_not_cancel_the_shared_load(
    counting: CountingRepository, tiered: TieredCache
) -> None:
    repo = cached(counting, tiered)
    doc = await counting.store.create("GameSessions", session(1))
    counting.gate = asyncio.Event()
    first = asyncio.create_task(repo.read("GameSessions", doc["id"], "acc-1"))
    second = asyncio.create_task(repo.read("GameSessions", doc["id"], "acc-1"))
    await counting.loaded.wait()
    first.cancel()
    counting.gate.set()
    assert await second == doc
    with pytest.raises(asyncio.CancelledError):
        await first


async def test_not_found_is_not_cached(counting: CountingRepository, tiered: TieredCache) -> None:
    repo = cached(counting, tiered)
    with pytest.raises(NotFound):
        await repo.read("GameSessions", "missing", "acc-1")
    doc = await counting.store.create("GameSessions", {**session(1), "id": "missing"})
    assert await repo.read("GameSessions", "missing", "acc-1") == doc


def test_ttl_classes_follow_the_catalog_and_settings() -> None:
    caching = Caching(default_sliding_expiration_minutes=10, default_absolute_expiration_minutes=60)
    assert expiry_for(TtlClass.SHORT, caching) == Expiry(absolute=900, sliding=150)
    assert expiry_for(TtlClass.MEDIUM, caching) == Expiry(absolute=3600, sliding=600)
    assert expiry_for(TtlClass.LONG, caching) == Expiry(absolute=14400, sliding=2400)


async def test_entries_get_their_container_lifetime(
    store: SqliteDocumentStore, tiered: TieredCache
) -> None:
    repo = CachedRepository(store, tiered, Caching())
    await repo.create("GameSessions", session(1))
    axis = await repo.create("CompassAxes", {"id": uuid.uuid4().hex, "name": "honesty"})
    left = await tiered.l2.read_entry(cache_key("CompassAxes", axis["id"], axis["id"]))
    assert left is not None
    assert left[1] > 60 * 60 * 4  # reference data: the LONG class (8 h), not SHORT (30 min)


def test_cache_keys_cannot_collide() -> None:
    assert cache_key("C", "a:b", "c") != cache_key("C", "a", "b:c")
    assert cache_key("C", 1, "x") != cache_key("C", "1", "x")


async def test_a_late_older_write_in_another_instance_is_not_kept_in_l1(
    redis_url: str, prefix: str, tiered: TieredCache
) -> None:
    """Redis holds v3 from another instance; our late v2 write-through must not stay in our
    L1 either (the other instance's invalidation message may have come before it)."""
    other = TieredCache.connect(redis_url, prefix=prefix)
    await other.start(wait_subscribed=5.0)
    try:
        await other.set("k", {"_version": 3}, Expiry(absolute=60))
        await tiered.set("k", {"_version": 2}, Expiry(absolute=60))
        assert tiered.l1.lookup("k") is None
        assert await tiered.get("k") == {"_version": 3}
    finally:
        await other.close()
