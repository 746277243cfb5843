"""Version-guarded reads and applies: the idempotence behind replication and dual write.

A change is applied to a store only if it is newer (`_version`) than what the store holds,
tombstones included. Redelivering or reordering changes therefore converges on the newest.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from mystira_data import catalog
from mystira_data.documents.port import partition_value
from mystira_data.errors import AlreadyExists, ConcurrencyConflict, NotFound
from mystira_data.polyglot.ports import EntityStore, GuardedPut, GuardedUpsert, KeyedRead
from mystira_data.query import Filter, Op, Query
from mystira_data.types import JsonDoc, PartitionKey

APPLY_ATTEMPTS = 20
APPLY_CONCURRENCY = 16

ApplyMany = Callable[[str, list[JsonDoc]], Awaitable[Any]]


def version_of(doc: JsonDoc | None) -> int:
    if doc is None:
        return 0
    value = doc.get("_version", 0)
    return value if isinstance(value, int) else 0


def key_of(container: str, doc: JsonDoc) -> tuple[str, Any]:
    return doc["id"], partition_value(doc, catalog.get(container).partition_key)


async def current(store: EntityStore, container: str, id: str, pk: PartitionKey) -> JsonDoc | None:
    """The stored document or tombstone for ``id``, or None."""
    if isinstance(store, KeyedRead):  # a keyed read, where the port only offers a query
        return await store.read_stored(container, id, pk)
    q = Query(filters=(Filter("id", Op.EQ, id),), partition_key=pk, include_deleted=True)
    page = await store.query(container, q)
    return page.items[0] if page.items else None


async def apply_if_newer(store: EntityStore, container: str, doc: JsonDoc) -> bool:
    """Write ``doc`` unless the store already holds this or a newer version.

    Uses an ETag-conditional write so a concurrent newer write is never overwritten. A store
    with ``upsert_if_newer`` (the relational store) guards in the statement itself: one
    transaction, no read first, and no outbox row (a copy must not echo back).
    """
    one_step = _guarded_batch(store)
    if one_step is not None:
        return bool(await one_step(container, [doc]))
    return await write_if_newer(store, container, doc, lambda existing: doc)


async def write_if_newer(
    store: EntityStore,
    container: str,
    doc: JsonDoc,
    body_for: Callable[[JsonDoc | None], JsonDoc],
) -> bool:
    """Write ``body_for(stored)`` conditionally on the stored ETag unless the store already
    holds ``doc``'s version or a newer one; retried while concurrent writers win."""
    id, pk = key_of(container, doc)
    for _ in range(APPLY_ATTEMPTS):
        existing = await current(store, container, id, pk)
        if existing is not None and version_of(existing) >= version_of(doc):
            return False
        body = {k: v for k, v in body_for(existing).items() if k not in ("_etag", "_ts")}
        try:
            if existing is None:
                await store.create(container, body)
            else:
                await store.upsert(container, body, if_match=existing.get("_etag"))
            return True
        except (ConcurrencyConflict, AlreadyExists, NotFound):
            continue
    raise ConcurrencyConflict(f"{container}/{id}: could not apply v{version_of(doc)}")


async def apply_each_if_newer(store: EntityStore, container: str, docs: list[JsonDoc]) -> int:
    """`apply_if_newer` for a batch: the newest version of each id, a few in flight at once.

    For stores without a multi-document transaction (the document store); each apply is
    version-guarded on its own. Every apply settles before the first failure is raised, so
    a caller replaying the batch never races a straggler. Returns how many were written.
    """
    newest: dict[str, JsonDoc] = {}
    for doc in docs:
        if version_of(doc) >= version_of(newest.get(doc["id"])):
            newest[doc["id"]] = doc
    gate = asyncio.Semaphore(APPLY_CONCURRENCY)

    async def one(doc: JsonDoc) -> bool:
        async with gate:
            return await apply_if_newer(store, container, doc)

    results = await asyncio.gather(*(one(d) for d in newest.values()), return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return sum(1 for r in results if r is True)


def batch_apply(store: EntityStore) -> ApplyMany:
    """The cheapest version-guarded batch apply ``store`` offers.

    The relational store merges a batch in one transaction (no outbox rows: a secondary's
    copy must not echo back to the primary), the embedded document store guards and writes
    a batch in one transaction; other stores apply each document on its own.
    """
    one_step = _guarded_batch(store)
    if one_step is not None:
        return one_step
    return lambda container, docs: apply_each_if_newer(store, container, docs)


def _guarded_batch(store: EntityStore) -> ApplyMany | None:
    """The store's own version-guarded batch write, if it has one."""
    if isinstance(store, GuardedUpsert):
        merge = store  # bound for the closure, which mypy does not narrow
        return lambda container, docs: merge.upsert_if_newer(container, docs, outbox=False)
    if isinstance(store, GuardedPut):
        return store.put_if_newer
    return None
