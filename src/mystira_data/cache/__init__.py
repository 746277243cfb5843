"""Cache port and adapters: memory, redis, tiered (L1 memory + L2 redis), null.

Redis is only ever a cache: every value can be rebuilt from its store, so cache trouble makes
reads slower, never failed. `CachedRepository` puts cache-aside in front of any repository.
"""

from mystira_data.cache.factory import open_cache
from mystira_data.cache.memory import MemoryCache
from mystira_data.cache.null import NullCache
from mystira_data.cache.policy import expiry_for
from mystira_data.cache.port import Cache, CacheMode, CacheStats, Expiry, Value
from mystira_data.cache.redis import RedisCache, connect_redis
from mystira_data.cache.repository import CachedRepository, Repository, cache_key
from mystira_data.cache.tiered import TieredCache

__all__ = [
    "Cache",
    "CacheMode",
    "CacheStats",
    "CachedRepository",
    "Expiry",
    "MemoryCache",
    "NullCache",
    "RedisCache",
    "Repository",
    "TieredCache",
    "Value",
    "cache_key",
    "connect_redis",
    "expiry_for",
    "open_cache",
]
