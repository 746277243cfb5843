"""In-process cache: bounded LRU with absolute and sliding expiry.

Values are kept as ``marshal`` bytes: each hit builds a fresh object (so a caller mutating a
read document cannot corrupt the cache) about three times faster than ``json.loads`` or a
deep copy would. marshal is safe here because the bytes never leave this process.

Rebuilding still costs about 0.08 µs per JSON node (~25 µs for a 7 KB game session on a
small machine). ``shared=True`` skips it: every hit returns the same detached object, and
callers must treat it as read-only. Use it only where readers never mutate documents.
"""

from __future__ import annotations

import marshal
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from mystira_data.cache.port import CacheMode, CacheStats, Expiry, Value, version_of
from mystira_data.errors import InvalidDocument

Clock = Callable[[], float]


@dataclass(slots=True)
class _Entry:
    payload: Any  # marshal bytes, or the shared value itself
    deadline: float  # absolute expiry, never extended
    sliding: float | None
    expires_at: float  # next expiry: min(deadline, last hit + sliding)
    version: int  # the value's ``_version`` (-1 without one): see `version_of`


class MemoryCache:
    """Bounded LRU + TTL cache; also the L1 of `TieredCache` (which calls the sync methods)."""

    def __init__(
        self, max_entries: int = 10_000, *, shared: bool = False, clock: Clock = time.monotonic
    ) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be >= 1")
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._max = max_entries
        self._clock = clock
        self._shared = shared
        self._hits = 0
        self._misses = 0

    @property
    def mode(self) -> CacheMode:
        return "memory"

    def stats(self) -> CacheStats:
        return CacheStats("memory", self._hits, self._misses, entries=len(self._entries))

    def __len__(self) -> int:
        return len(self._entries)

    def lookup(self, key: str) -> Value | None:
        """Synchronous get, without touching the hit/miss counters."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        now = self._clock()
        if now >= entry.expires_at:
            del self._entries[key]
            return None
        if entry.sliding is not None:
            entry.expires_at = min(entry.deadline, now + entry.sliding)
        self._entries.move_to_end(key)
        if self._shared:
            shared: Value = entry.payload
            return shared
        value: Value = marshal.loads(entry.payload)
        return value

    def store(self, key: str, value: Value, expiry: Expiry) -> None:
        """Synchronous set, unless a live entry holds a newer ``_version``; evicts the least
        recently used entry when full."""
        version = version_of(value)
        if self._holds_newer(key, version):
            return
        try:
            payload: Any = marshal.dumps(value)
        except ValueError as exc:
            raise InvalidDocument(f"cache value is not JSON-able: {exc}", path=key) from exc
        if self._shared:
            payload = marshal.loads(payload)  # detached: the writer's later edits stay out
        now = self._clock()
        deadline = now + expiry.absolute
        self._entries[key] = _Entry(
            payload, deadline, expiry.sliding, now + expiry.first_ttl, version
        )
        self._entries.move_to_end(key)
        if len(self._entries) > self._max:
            self._entries.popitem(last=False)

    def _holds_newer(self, key: str, version: int) -> bool:
        entry = self._entries.get(key)
        return entry is not None and entry.version > version and self._clock() < entry.expires_at

    def discard(self, keys: Iterable[str]) -> None:
        """Synchronous delete of every key in ``keys``."""
        for key in keys:
            self._entries.pop(key, None)

    def discard_all(self, under: str = "") -> None:
        """Synchronous delete of every key starting with ``under``."""
        if not under:
            self._entries.clear()
            return
        self.discard([key for key in self._entries if key.startswith(under)])

    async def get(self, key: str) -> Value | None:
        value = self.lookup(key)
        if value is None:
            self._misses += 1
        else:
            self._hits += 1
        return value

    async def set(self, key: str, value: Value, expiry: Expiry) -> None:
        self.store(key, value, expiry)

    async def delete(self, key: str) -> None:
        self._entries.pop(key, None)

    async def delete_many(self, keys: Iterable[str]) -> None:
        self.discard(keys)

    async def clear(self, under: str = "") -> None:
        self.discard_all(under)

    async def probe(self) -> None:
        return None

    async def close(self) -> None:
        self.discard_all()
