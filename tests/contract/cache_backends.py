"""Builds each cache adapter for the cache contract suite (memory, redis, tiered)."""

from __future__ import annotations

from mystira_data.cache import (
    Cache,
    MemoryCache,
    RedisCache,
    TieredCache,
    connect_redis,
)
from tests.servers.redis import shared_redis_url, unique_prefix

KINDS = ("memory", "redis", "tiered")


async def open_backend(kind: str, prefix: str | None = None) -> Cache:
    """A fresh, empty cache of ``kind`` with its own key prefix."""
    prefix = prefix or unique_prefix()
    if kind == "memory":
        return MemoryCache(1000)
    if kind == "redis":
        return RedisCache(connect_redis(shared_redis_url()), prefix=prefix)
    tiered = TieredCache.connect(shared_redis_url(), prefix=prefix)
    await tiered.start(wait_subscribed=5.0)
    return tiered
