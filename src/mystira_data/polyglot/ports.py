"""The ports the polyglot layer sees: the verbs both stores share, and optional capabilities.

A capability is a `Protocol` a store declares by having the method; callers test for it with
``isinstance`` (runtime-checkable) rather than probing attribute names.

    EntityStore     create / read / upsert / replace / delete / query / count (every store)
    KeyedRead       read_stored: a tombstone-inclusive read by key (the SQL stores)
    GuardedUpsert   upsert_if_newer: a version-guarded batch merge (the relational store)
    GuardedPut      put_if_newer: a version-guarded batch write (the embedded document store)
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from mystira_data.query import Page, Query
from mystira_data.types import JsonDoc, PartitionKey

__all__ = ["EntityStore", "GuardedPut", "GuardedUpsert", "KeyedRead"]


class EntityStore(Protocol):
    """The verbs the polyglot layer uses; both the document and the relational store have them."""

    name: str

    async def create(self, container: str, doc: JsonDoc) -> JsonDoc: ...
    async def read(self, container: str, id: str, partition_key: PartitionKey) -> JsonDoc: ...
    async def upsert(
        self, container: str, doc: JsonDoc, *, if_match: str | None = None
    ) -> JsonDoc: ...
    async def replace(
        self, container: str, doc: JsonDoc, *, if_match: str | None = None
    ) -> JsonDoc: ...
    async def delete(
        self, container: str, id: str, partition_key: PartitionKey, *, if_match: str | None = None
    ) -> JsonDoc: ...
    async def query(
        self, container: str, query: Query, *, continuation: str | None = None
    ) -> Page: ...
    async def count(self, container: str, query: Query) -> int: ...


@runtime_checkable
class KeyedRead(Protocol):
    """A read by key that returns tombstones too (where the port only offers a query)."""

    async def read_stored(
        self, container: str, id: str, partition_key: PartitionKey
    ) -> JsonDoc | None: ...


@runtime_checkable
class GuardedUpsert(Protocol):
    """Merge a batch in one transaction, each row only if newer by ``_version``.

    ``outbox=False`` for copies and replication applies, which must not echo back.
    """

    async def upsert_if_newer(
        self, container: str, docs: list[JsonDoc], *, outbox: bool
    ) -> int: ...


@runtime_checkable
class GuardedPut(Protocol):
    """Write a batch in one transaction, each document only if newer by ``_version``."""

    async def put_if_newer(self, container: str, docs: list[JsonDoc]) -> int: ...

