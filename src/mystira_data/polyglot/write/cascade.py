"""V002's foreign-key rules, applied on the document side too so both stores stay equal.

In PostgreSQL, deleting an account cascades to its game sessions and deleting a session sets
its scores' ``game_session_id`` to NULL. Our deletes are tombstones (so they replicate), which
fire no SQL cascade; the repository therefore applies the same rules itself, through its own
write path, so each child change is versioned and replicated like any other write.
"""

from __future__ import annotations

import contextlib
from typing import Any, Protocol

from mystira_data import catalog
from mystira_data.catalog import ContainerSpec, OnDelete, ParentLink
from mystira_data.errors import ConcurrencyConflict, NotFound
from mystira_data.query import Filter, Op, Pageable, Query, every
from mystira_data.types import JsonDoc, PartitionKey


class PolyglotRepository(Pageable, Protocol):
    """What the rules need of the repository: its own write path (no import of it here)."""

    async def delete(self, container: str, id: str, partition_key: PartitionKey) -> JsonDoc: ...

    async def replace(self, container: str, doc: JsonDoc) -> JsonDoc: ...


async def after_delete(
    repo: PolyglotRepository, container: str, tomb: JsonDoc, keys: Pageable | None = None
) -> None:
    """Apply the rules of every child container of a deleted parent (catalog `parent`).

    ``keys``: where a cascading delete finds its children (it needs their keys only: a split
    child's rows, without its document part, so a document store that is down does not stop
    the delete while PostgreSQL holds the core); the repository by default.
    """
    for child, link in catalog.children_of(container):
        where = (Filter(link.field, Op.EQ, tomb["id"]),)
        q = Query(filters=where, **_scope(child, link, tomb["id"]))
        source = keys if keys is not None and link.on_delete is OnDelete.CASCADE else repo
        for doc in [d async for d in every(source, child.name, q)]:
            if link.on_delete is OnDelete.CASCADE:
                await _delete(repo, child, doc)
            else:
                await _detach(repo, child, link, doc)


def _scope(child: ContainerSpec, link: ParentLink, parent_id: str) -> dict[str, Any]:
    """One partition when the link field is the child's partition key, else all."""
    if child.pk_field == link.field:
        return {"partition_key": parent_id}
    return {"cross_partition": True}


async def _delete(repo: PolyglotRepository, child: ContainerSpec, doc: JsonDoc) -> None:
    with contextlib.suppress(NotFound):  # deleted meanwhile: the rule already holds
        await repo.delete(child.name, doc["id"], doc[child.pk_field])


async def _detach(
    repo: PolyglotRepository, child: ContainerSpec, link: ParentLink, doc: JsonDoc
) -> None:
    detached = {k: v for k, v in doc.items() if not k.startswith("_")}
    detached[link.field] = None
    with contextlib.suppress(NotFound, ConcurrencyConflict):  # changed or deleted meanwhile
        await repo.replace(child.name, detached)
