"""Version-guarded reads and applies: the idempotence behind replication and dual write.

A change is applied to a store only if it is newer (`_version`) than what the store holds,
tombstones included. Redelivering or reordering changes therefore converges on the newest.
"""

from __future__ import annotations

from typing import Any, Protocol

from mystira_data import catalog
from mystira_data.documents.port import Document, partition_value
from mystira_data.errors import AlreadyExists, ConcurrencyConflict, NotFound
from mystira_data.query import Filter, Op, Page, Query

APPLY_ATTEMPTS = 20


class EntityStore(Protocol):
    """The verbs the polyglot layer uses; both the document and the relational store have them."""

    name: str

    async def create(self, container: str, doc: Document) -> Document: ...
    async def read(self, container: str, id: str, partition_key: Any) -> Document: ...
    async def upsert(
        self, container: str, doc: Document, *, if_match: str | None = None
    ) -> Document: ...
    async def replace(
        self, container: str, doc: Document, *, if_match: str | None = None
    ) -> Document: ...
    async def delete(
        self, container: str, id: str, partition_key: Any, *, if_match: str | None = None
    ) -> Document: ...
    async def query(
        self, container: str, query: Query, *, continuation: str | None = None
    ) -> Page: ...
    async def count(self, container: str, query: Query) -> int: ...


def version_of(doc: Document | None) -> int:
    if doc is None:
        return 0
    value = doc.get("_version", 0)
    return value if isinstance(value, int) else 0


def key_of(container: str, doc: Document) -> tuple[str, Any]:
    return doc["id"], partition_value(doc, catalog.get(container).partition_key)


async def current(store: EntityStore, container: str, id: str, pk: Any) -> Document | None:
    """The stored document or tombstone for ``id``, or None."""
    q = Query(filters=(Filter("id", Op.EQ, id),), partition_key=pk, include_deleted=True)
    page = await store.query(container, q)
    return page.items[0] if page.items else None


async def apply_if_newer(store: EntityStore, container: str, doc: Document) -> bool:
    """Write ``doc`` unless the store already holds this or a newer version.

    Uses an ETag-conditional write so a concurrent newer write is never overwritten.
    """
    id, pk = key_of(container, doc)
    body = {k: v for k, v in doc.items() if k not in ("_etag", "_ts")}
    for _ in range(APPLY_ATTEMPTS):
        existing = await current(store, container, id, pk)
        if existing is not None and version_of(existing) >= version_of(doc):
            return False
        try:
            if existing is None:
                await store.create(container, body)
            else:
                await store.upsert(container, body, if_match=existing.get("_etag"))
            return True
        except (ConcurrencyConflict, AlreadyExists, NotFound):
            continue
    raise ConcurrencyConflict(f"{container}/{id}: could not apply v{version_of(doc)}")
