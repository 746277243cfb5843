"""The cache used when `Caching:Enabled` is false: always a miss, stores nothing."""

from __future__ import annotations

from collections.abc import Iterable

from mystira_data.cache.port import CacheMode, CacheStats, Expiry, Value


class NullCache:
    def __init__(self) -> None:
        self._misses = 0

    @property
    def mode(self) -> CacheMode:
        return "disabled"

    def stats(self) -> CacheStats:
        return CacheStats("disabled", misses=self._misses)

    async def get(self, key: str) -> Value | None:
        self._misses += 1
        return None

    async def set(self, key: str, value: Value, expiry: Expiry) -> None:
        return None

    async def delete(self, key: str) -> None:
        return None

    async def delete_many(self, keys: Iterable[str]) -> None:
        return None

    async def clear(self, under: str = "") -> None:
        return None

    async def probe(self) -> None:
        return None

    async def close(self) -> None:
        return None
