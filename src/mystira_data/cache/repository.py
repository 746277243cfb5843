"""Cache-aside over any repository (document store, relational store, polyglot repository).

Reads look in the cache first; a miss loads from the wrapped repository once per key however
many callers ask at the same time (single flight) and fills the cache. Writes go to the
repository first, then, by `Caching` settings: ``EnableWriteThrough`` stores the written
document in the cache, ``EnableInvalidationOnChange`` deletes the cached copy instead.
Lifetimes come from the container's TTL class in the catalog.

A fill never overwrites a newer write: a load that was in flight when a write to the same
key happened does not fill the cache (it may have read the old version).
"""

from __future__ import annotations

import json
import marshal
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from mystira_data.cache.policy import expiry_for
from mystira_data.cache.port import Cache, Expiry
from mystira_data.cache.singleflight import SingleFlight
from mystira_data.documents.port import partition_value
from mystira_data.errors import ConcurrencyConflict, NotFound, StoreUnavailable
from mystira_data.settings import Caching
from mystira_data.types import JsonDoc, PartitionKey


class Repository(Protocol):
    """What the cache-aside wrapper needs from the repository it wraps."""

    async def read(self, container: str, id: str, partition_key: PartitionKey) -> JsonDoc: ...

    async def create(self, container: str, doc: JsonDoc) -> JsonDoc: ...

    async def upsert(self, container: str, doc: JsonDoc) -> JsonDoc: ...

    async def replace(
        self, container: str, doc: JsonDoc, *, if_match: str | None = None
    ) -> JsonDoc: ...

    async def delete(
        self, container: str, id: str, partition_key: PartitionKey, *, if_match: str | None = None
    ) -> JsonDoc: ...


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
    return f"{container}:{len(pk)}:{pk}:{id}"


class CachedRepository:
    """`Repository` with cache-aside reads and write-through / invalidate-on-change writes."""

    def __init__(
        self,
        inner: Repository,
        cache: Cache,
        caching: Caching,
        *,
        rules: Callable[[str], ContainerRules] = _catalog_rules,
    ) -> None:
        self.inner = inner
        self.cache = cache
        self._caching = caching
        self._rules = rules
        self._expiry: dict[str, Expiry] = {}
        self._flights: SingleFlight[JsonDoc] = SingleFlight()
        self._stale: set[str] = set()  # keys written while a load of them was in flight

    async def read(self, container: str, id: str, partition_key: PartitionKey) -> JsonDoc:
        key = cache_key(container, partition_key, id)
        hit = await self._cached(key)
        if hit is not None:
            return hit
        doc = await self._flights.run(key, lambda: self._load(container, id, partition_key))
        # Concurrent callers got the same object: each gets its own copy to mutate.
        copy: JsonDoc = marshal.loads(marshal.dumps(doc))
        return copy

    async def create(self, container: str, doc: JsonDoc) -> JsonDoc:
        written = await self.inner.create(container, doc)
        if self._caching.enable_write_through:
            await self._store(container, written)
        return written

    async def upsert(self, container: str, doc: JsonDoc) -> JsonDoc:
        return await self._changed(container, doc, self.inner.upsert(container, doc))

    async def replace(
        self, container: str, doc: JsonDoc, *, if_match: str | None = None
    ) -> JsonDoc:
        written = self.inner.replace(container, doc, if_match=if_match)
        return await self._changed(container, doc, written)

    async def delete(
        self, container: str, id: str, partition_key: PartitionKey, *, if_match: str | None = None
    ) -> JsonDoc:
        key = cache_key(container, partition_key, id)
        try:
            return await self.inner.delete(container, id, partition_key, if_match=if_match)
        finally:
            # Also after NotFound / ConcurrencyConflict: our copy may be what is stale.
            await self._invalidate(key)

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
        except (NotFound, ConcurrencyConflict):
            await self._invalidate(self._key_of(container, doc))
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
