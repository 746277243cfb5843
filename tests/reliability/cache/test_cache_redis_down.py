"""Redis stopped, killed, paused or absent: reads never fail, and nothing stale survives it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from mystira_data.cache import CachedRepository, Expiry, TieredCache
from mystira_data.documents.sqlite import SqliteDocumentStore
from mystira_data.resilience import BreakerState, CircuitBreaker
from mystira_data.settings import Caching
from mystira_data.types import JsonDoc
from tests.servers.ports import free_port
from tests.servers.redis import RedisServer

PREFIX = "mystira-fault:"


def tiered_on(url: str, *, max_entries: int = 1000) -> TieredCache:
    breaker = CircuitBreaker("redis-cache", threshold=3, open_seconds=0.3)
    return TieredCache.connect(url, prefix=PREFIX, breaker=breaker, max_entries=max_entries)


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 10.0) -> bool:
    """Poll ``check`` until true (bounded); recovery is asynchronous, not timed."""
    async with asyncio.timeout(within):
        while not await check():  # noqa: ASYNC110 - nothing to await: we poll state
            await asyncio.sleep(0.05)
    return True


@pytest.fixture
async def cache(redis_server: RedisServer) -> AsyncIterator[TieredCache]:
    # An L1 smaller than the working set, so reads keep going to Redis (or failing over).
    async with tiered_on(redis_server.url, max_entries=5) as tiered:
        yield tiered


async def seed(store: SqliteDocumentStore, n: int) -> list[JsonDoc]:
    return [
        await store.create("GameSessions", {"id": f"s{i}", "accountId": "a", "turn": i})
        for i in range(n)
    ]


async def test_redis_stopped_mid_run_no_read_fails_and_recovery_follows(
    redis_server: RedisServer, cache: TieredCache, store: SqliteDocumentStore
) -> None:
    repo = CachedRepository(store, cache, Caching())
    docs = await seed(store, 20)
    wrong = 0
    for i in range(300):
        if i == 100:
            redis_server.stop()
        if i == 200:
            redis_server.start()
        doc = docs[i % len(docs)]
        wrong += await repo.read("GameSessions", doc["id"], "a") != doc
    assert wrong == 0
    stats = cache.stats()
    assert stats.fallbacks > 0
    assert stats.errors > 0

    async def recovered() -> bool:
        await repo.read("GameSessions", "s0", "a")
        return cache.mode == "redis"

    assert await eventually(recovered)


async def test_breaker_stops_paying_the_timeout_then_probes(
    store: SqliteDocumentStore,
) -> None:
    now = [0.0]
    breaker = CircuitBreaker("redis-cache", threshold=3, open_seconds=5, clock=lambda: now[0])
    dead = f"redis://127.0.0.1:{free_port()}/0"
    async with TieredCache.connect(dead, prefix=PREFIX, breaker=breaker) as cache:
        repo = CachedRepository(store, cache, Caching())
        doc = (await seed(store, 1))[0]
        while breaker.state is BreakerState.CLOSED:  # each failure counts to the threshold
            assert await cache.get("x") is None
        errors = cache.stats().errors
        for _ in range(10):
            await cache.delete("x")
            cache.l1.discard_all()
            assert await repo.read("GameSessions", "s0", "a") == doc
        assert cache.stats().errors == errors  # open: no call waited on Redis
        assert cache.stats().fallbacks >= 30
        now[0] += 5  # open period over: exactly one probe goes to Redis
        await cache.get("y")
        await cache.get("z")
        assert cache.stats().errors == errors + 1


async def test_change_during_outage_is_not_served_stale_anywhere_after_recovery(
    redis_server: RedisServer, store: SqliteDocumentStore
) -> None:
    async with tiered_on(redis_server.url) as a, tiered_on(redis_server.url) as b:
        repo_a = CachedRepository(store, a, Caching())
        repo_b = CachedRepository(store, b, Caching())
        doc = (await seed(store, 1))[0]
        assert await repo_a.read("GameSessions", "s0", "a") == doc
        assert await repo_b.read("GameSessions", "s0", "a") == doc  # in Redis and both L1s

        redis_server.stop()  # saves its data: the old version will come back with it
        updated = await repo_a.upsert("GameSessions", {**doc, "turn": 99})
        assert a.stats().pending_invalidations == 1
        assert await eventually(lambda: _async(not b.stats().subscribed))

        redis_server.start()
        # A replays its pending invalidation on its own (listener back), with no A traffic.
        assert await eventually(lambda: _async(a.stats().pending_invalidations == 0))
        assert await eventually(lambda: _async(b.stats().subscribed))
        assert await repo_b.read("GameSessions", "s0", "a") == updated
        assert await repo_a.read("GameSessions", "s0", "a") == updated
        assert a.mode == "redis"


async def test_paused_redis_fails_open_and_stale_entries_are_replayed(
    redis_server: RedisServer, cache: TieredCache, store: SqliteDocumentStore
) -> None:
    repo = CachedRepository(store, cache, Caching())
    doc = (await seed(store, 1))[0]
    await repo.read("GameSessions", "s0", "a")
    redis_server.pause()  # alive but silent: every call would wait the socket timeout
    try:
        updated = await repo.upsert("GameSessions", {**doc, "turn": 7})
        cache.l1.discard_all()  # forget L1 so the next read must consult L2 or the store
        for _ in range(10):
            assert await repo.read("GameSessions", "s0", "a") == updated
        assert cache.mode == "fallback"
        assert cache.stats().fallbacks > 0
    finally:
        redis_server.resume()
    cache.l1.discard_all()

    async def redis_again() -> bool:
        assert await repo.read("GameSessions", "s0", "a") == updated
        return cache.mode == "redis"

    assert await eventually(redis_again)
    assert cache.stats().pending_invalidations == 0


async def test_too_many_pending_invalidations_clear_the_prefix_on_recovery(
    redis_server: RedisServer,
) -> None:
    async with tiered_on(redis_server.url) as cache:
        cache._max_pending = 2
        await cache.set("untouched", {"v": 1}, Expiry(60))
        redis_server.stop()
        await cache.delete_many(["a", "b", "c"])
        assert cache.stats().pending_invalidations == 1  # "everything"
        redis_server.start()
        assert await eventually(lambda: _async(cache.stats().pending_invalidations == 0))
        cache.l1.discard_all()
        assert await cache.l2.get("untouched") is None


async def test_starts_without_redis_and_serves_reads(store: SqliteDocumentStore) -> None:
    dead = f"redis://127.0.0.1:{free_port()}/0"
    async with tiered_on(dead) as cache:
        repo = CachedRepository(store, cache, Caching())
        docs = await seed(store, 5)
        for doc in docs * 3:
            assert await repo.read("GameSessions", doc["id"], "a") == doc
        assert cache.mode == "fallback"
        assert cache.stats().l1_hits >= 5  # L1 still shields the store


async def _async(value: bool) -> bool:
    return value
