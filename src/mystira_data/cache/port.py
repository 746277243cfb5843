"""The cache port: what every cache adapter (memory, redis, tiered, null) does.

A cache is never a store of record: every value can be rebuilt from its store, so a cache that
cannot reach its backend answers "miss" instead of failing the request. Values are JSON-able
dicts (dict/list/str/int/float/bool/None only); each ``get`` returns a fresh object the caller
owns. Keys are given without the ``mystira:`` prefix; adapters that share a server add it.

Late writers lose: a value carrying an integer ``_version`` never replaces a live entry with a
higher one, so a write-through or fill that arrives after a newer one (another task, another
process) cannot put an older document back.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

Value = dict[str, Any]
CacheMode = Literal["redis", "fallback", "memory", "disabled"]


def version_of(value: Value) -> int:
    """The ``_version`` the guard compares; -1 for values without one (never refused)."""
    version = value.get("_version")
    return version if isinstance(version, int) and not isinstance(version, bool) else -1


@dataclass(frozen=True, slots=True)
class Expiry:
    """How long an entry lives, in seconds.

    ``absolute`` counts from the write and is never extended. ``sliding`` (optional) drops an
    entry that nobody read for that long; every hit restarts it, capped by ``absolute``.
    """

    absolute: float
    sliding: float | None = None

    def __post_init__(self) -> None:
        if self.absolute <= 0:
            raise ValueError("absolute expiry must be > 0 seconds")
        if self.sliding is not None and self.sliding <= 0:
            raise ValueError("sliding expiry must be > 0 seconds")

    def capped(self, limit: float) -> Expiry:
        """The same expiry, but no part of it longer than ``limit`` seconds."""
        sliding = None if self.sliding is None else min(self.sliding, limit)
        return Expiry(min(self.absolute, limit), sliding)

    @property
    def first_ttl(self) -> float:
        """Seconds until the entry expires if nobody reads it."""
        return min(self.absolute, self.sliding or self.absolute)


@dataclass(frozen=True, slots=True)
class CacheStats:
    """Counters since start; ``fallbacks`` counts operations served without Redis."""

    mode: CacheMode
    hits: int = 0
    misses: int = 0
    errors: int = 0
    fallbacks: int = 0
    l1_hits: int = 0
    l2_hits: int = 0
    entries: int = 0
    pending_invalidations: int = 0
    subscribed: bool = False
    reason: str = ""  # why the mode is "fallback" (the last Redis error), else empty


@runtime_checkable
class Cache(Protocol):
    """Async key → JSON-document cache with per-entry expiry."""

    @property
    def mode(self) -> CacheMode:
        """One of: redis, fallback (Redis configured but unreachable), memory, disabled."""

    def stats(self) -> CacheStats:
        """A snapshot of the counters, for `mystira status`."""

    async def get(self, key: str) -> Value | None:
        """The live value, or None on a miss (also when the backend is unreachable)."""

    async def set(self, key: str, value: Value, expiry: Expiry) -> None:
        """Store ``value`` for ``expiry``, unless the entry holds a newer ``_version``."""

    async def delete(self, key: str) -> None:
        """Forget ``key`` everywhere this cache reaches (no error if absent)."""

    async def delete_many(self, keys: Iterable[str]) -> None:
        """Forget every key in ``keys``."""

    async def clear(self, under: str = "") -> None:
        """Forget every entry whose key starts with ``under`` (all of them by default)."""

    async def probe(self) -> None:
        """Try the backend now, so ``mode`` is current (status); never raises."""

    async def close(self) -> None:
        """Release connections and background tasks."""
