"""Build the cache that `Settings` ask for (the composition root calls this once per process).

- ``Caching:Enabled`` false → `NullCache` (mode "disabled").
- ``ConnectionStrings:Redis`` empty → `MemoryCache` only (mode "memory"): the embedded default.
- otherwise → `TieredCache` (mode "redis", or "fallback" while Redis is unreachable).
"""

from __future__ import annotations

from mystira_data.cache.memory import MemoryCache
from mystira_data.cache.null import NullCache
from mystira_data.cache.port import Cache
from mystira_data.cache.tiered import TieredCache
from mystira_data.settings import Settings


async def open_cache(settings: Settings) -> Cache:
    """The configured cache, started (its invalidation listener runs). Close it on shutdown."""
    caching = settings.caching
    if not caching.enabled:
        return NullCache()
    url = settings.connection_strings.redis.get_secret_value()
    if not url:
        return MemoryCache(caching.l1_max_entries)
    cache = TieredCache.connect(url, prefix=caching.key_prefix, max_entries=caching.l1_max_entries)
    return await cache.start(probe=True)
