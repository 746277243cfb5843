"""Cache-aside over any repository (document store, relational store, polyglot repository).

Reads look in the cache first; a miss loads from the wrapped repository once per key however
many callers ask at the same time (single flight) and fills the cache. Writes go to the
repository first, then, by `Caching` settings: ``EnableWriteThrough`` stores the written
document in the cache, ``EnableInvalidationOnChange`` deletes the cached copy instead.
Lifetimes come from the container's TTL class in the catalog.

A fill never overwrites a newer write: a load that was in flight when a write to the same
key happened does not fill the cache (it may have read the old version), and the cache itself
refuses a value older than the entry's ``_version`` (another process's late write-through).
Write-through caches a delete's tombstone for the same reason; a hit on it is `NotFound`.
`container_moved` drops a container's entries when a phase change moves its reads.
"""

from __future__ import annotations

import asyncio
import json
import logging
import marshal
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from mystira_data.cache.policy import expiry_for
from mystira_data.cache.port import Cache, Expiry
from mystira_data.cache.singleflight import SingleFlight
from mystira_data.documents.port import partition_value
from mystira_data.errors import AlreadyExists, ConcurrencyConflict, NotFound, StoreUnavailable
from mystira_data.query import Page, Pageable, Query
from mystira_data.settings import Caching
from mystira_data.types import JsonDoc, PartitionKey

log = logging.getLogger(__name__)


class Repository(Pageable, Protocol):
    """What the cache-aside wrapper needs from the repository it wraps.

    ``replace`` and ``delete`` take the inner repository's own precondition keywords
    (``if_match`` for a store, ``expected_version`` for the polyglot repository), which the
    wrapper passes on untouched.
    """

    async def read(self, container: str, id: str, partition_key: PartitionKey) -> JsonDoc: ...

    async def count(self, container: str, query: Query) -> int: ...

    async def create(self, container: str, doc: JsonDoc) -> JsonDoc: ...

    async def upsert(self, container: str, doc: JsonDoc) -> JsonDoc: ...

    @property
    def replace(self) -> Callable[..., Awaitable[JsonDoc]]: ...

    @property
    def delete(self) -> Callable[..., Awaitable[JsonDoc]]: ...


class ContainerRules(Protocol):
    """The two catalog facts the wrapper needs (a `catalog.ContainerSpec` fits)."""

    @property
    def partition_key(self) -> str: ...

    @property
    def ttl_class(self) -> Any: ...


def _catalog_rules(container: str) -> ContainerRules:
    # Imported on first use: the catalog pulls in every domain model.
    from mystira_data import catalog

    return catalog.get(container)


def cache_key(container: str, partition_key: PartitionKey, id: str) -> str:
    """``Container:<len>:<pk>:<id>``: the length prefix keeps ``pk="a:b", id="c"`` and
    ``pk="a", id="b:c"`` apart; non-string partition keys are tagged with their JSON form."""
    pk = partition_key if isinstance(partition_key, str) else "~" + json.dumps(partition_key)
    return f"{container_prefix(container)}{len(pk)}:{pk}:{id}"


def container_prefix(container: str) -> str:
    """What every `cache_key` of ``container`` starts with."""
    return f"{container}:"


class CachedRepository:
    """`Repository` with cache-aside reads and write-through / invalidate-on-change writes.

    Queries and counts are not cached: they pass straight to the inner repository.
    """

    def __init__(
        self,
        inner: Repository,
        cache: Cache,
        caching: Caching,
        *,
        rules: Callable[[str], ContainerRules] = _catalog_rules,
        before_read: Callable[[str], Awaitable[object]] | None = None,
    ) -> None:
        """``before_read(container)`` runs before each cached read: the polyglot layer passes
        its phase lookup, so a process notices a phase move (and drops the container's
        entries) within the phase refresh interval even while every read is a hit."""
        self.inner = inner
        self.cache = cache
        self._caching = caching
        self._rules = rules
        self._expiry: dict[str, Expiry] = {}
        self._flights: SingleFlight[JsonDoc] = SingleFlight()
        self._stale: set[str] = set()  # keys written while a load of them was in flight
        self._dropping: dict[str, int] = {}  # container → invalidations of it still running
        self._tasks: set[asyncio.Task[None]] = set()
        self._before_read = before_read
        # Told the container of each read the cache answered (a miss reaches the inner
        # repository, which counts it): the workload evidence counts every read.
        self.on_hit: Callable[[str], None] | None = None

    async def read(self, container: str, id: str, partition_key: PartitionKey) -> JsonDoc:
        if self._before_read is not None:
            await self._before_read(container)
        if container in self._dropping:  # its entries are being dropped: ask the store
            return await self.inner.read(container, id, partition_key)
        key = cache_key(container, partition_key, id)
        doc = await self._cached(key)
        if doc is None:
            doc = await self._flights.run(key, lambda: self._load(container, id, partition_key))
            # Concurrent callers got the same object: each gets its own copy to mutate.
            doc = marshal.loads(marshal.dumps(doc))
        elif self.on_hit is not None:
            self.on_hit(container)
        if doc.get("_deleted"):  # a written-through tombstone: deleted, as the store says
            raise NotFound(container, id)
        return doc

    async def query(self, container: str, query: Query, *, continuation: str | None = None) -> Page:
        return await self.inner.query(container, query, continuation=continuation)

    async def count(self, container: str, query: Query) -> int:
        return await self.inner.count(container, query)

    async def create(self, container: str, doc: JsonDoc) -> JsonDoc:
        return await self._changed(container, doc, self.inner.create(container, doc))

    async def upsert(self, container: str, doc: JsonDoc) -> JsonDoc:
        return await self._changed(container, doc, self.inner.upsert(container, doc))

    async def replace(self, container: str, doc: JsonDoc, **precondition: Any) -> JsonDoc:
        written = self.inner.replace(container, doc, **precondition)
        return await self._changed(container, doc, written)

    async def delete(
        self, container: str, id: str, partition_key: PartitionKey, **precondition: Any
    ) -> JsonDoc:
        """Delete; write-through caches the tombstone (its version keeps a late writer of an
        older version from putting the live document back), else the entry is dropped."""
        key = cache_key(container, partition_key, id)
        try:
            tomb = await self.inner.delete(container, id, partition_key, **precondition)
        except BaseException:
            await self._invalidate(key)  # NotFound / ConcurrencyConflict: ours may be stale
            raise
        if self._caching.enable_write_through:
            await self._store(container, tomb)
        else:
            await self._invalidate(key)
        return tomb

    def container_moved(self, container: str) -> None:
        """``container``'s reads moved to another store (a phase change): drop its entries.

        Synchronous, for `PhaseControl`'s hook: from this call until the entries are gone its
        reads go to the store, and loads already in flight do not fill the cache."""
        self._dropping[container] = self._dropping.get(container, 0) + 1
        prefix = container_prefix(container)
        self._stale.update(k for k in self._flights.loading() if k.startswith(prefix))
        task = asyncio.get_running_loop().create_task(self._drop(container, prefix))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        """Wait for phase-change invalidations still running."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _drop(self, container: str, prefix: str) -> None:
        try:
            await self.cache.clear(prefix)
        except StoreUnavailable as exc:  # only a bare RedisCache raises; TieredCache replays
            log.warning("cache entries of %s kept after its phase change: %s", container, exc)
        finally:
            left = self._dropping[container] - 1
            if left:
                self._dropping[container] = left
            else:
                del self._dropping[container]

    async def _load(self, container: str, id: str, partition_key: PartitionKey) -> JsonDoc:
        key = cache_key(container, partition_key, id)
        try:
            # A caller whose cache miss was answered just after the previous flight filled
            # the cache and ended starts a new flight: look once more before the store.
            cached = await self._cached(key)
            if cached is not None:
                return cached
            doc = await self.inner.read(container, id, partition_key)
            if key not in self._stale:
                await self._fill(key, doc, self._expiry_of(container))
            return doc
        finally:
            self._stale.discard(key)

    async def _changed(self, container: str, doc: JsonDoc, write: Awaitable[JsonDoc]) -> JsonDoc:
        try:
            written = await write
        except (NotFound, ConcurrencyConflict, AlreadyExists):
            await self._invalidate(self._key_of(container, doc))  # ours may be what is stale
            raise
        if self._caching.enable_write_through:
            await self._store(container, written)
        elif self._caching.enable_invalidation_on_change:
            await self._invalidate(self._key_of(container, written))
        return written

    async def _store(self, container: str, written: JsonDoc) -> None:
        # Not `_fill`: if this set fails the cache may keep the old version, so the error
        # must surface (a `TieredCache` never raises here; it records the invalidation).
        key = self._key_of(container, written)
        self._mark_stale(key)
        await self.cache.set(key, written, self._expiry_of(container))

    async def _invalidate(self, key: str) -> None:
        if self._caching.enable_write_through or self._caching.enable_invalidation_on_change:
            self._mark_stale(key)
            await self.cache.delete(key)

    async def _cached(self, key: str) -> JsonDoc | None:
        try:
            return await self.cache.get(key)
        except StoreUnavailable:
            return None  # a cache that cannot answer is a miss, never a failed read

    async def _fill(self, key: str, doc: JsonDoc, expiry: Expiry) -> None:
        """Cache a document just read from the store; failing that only costs a later miss."""
        try:
            await self.cache.set(key, doc, expiry)
        except StoreUnavailable:
            return  # the value is safe in the store; a later read fills the cache

    def _mark_stale(self, key: str) -> None:
        if self._flights.in_flight(key):
            self._stale.add(key)

    def _key_of(self, container: str, doc: JsonDoc) -> str:
        pk = partition_value(doc, self._rules(container).partition_key)
        return cache_key(container, pk, str(doc.get("id")))

    def _expiry_of(self, container: str) -> Expiry:
        expiry = self._expiry.get(container)
        if expiry is None:
            expiry = expiry_for(self._rules(container).ttl_class, self._caching)
            self._expiry[container] = expiry
        return expiry
