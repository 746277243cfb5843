"""The document-store port: what every document adapter does, and Cosmos DB's own limits.

Documents are plain JSON dicts in the stored (camelCase) shape. Every document carries ``id``,
its partition-key field, ``_version`` (int; the polyglot repository bumps it), ``_etag``
(made by the store on every write) and, once deleted, ``_deleted: true``.

Deletes are tombstones: ``delete`` keeps the document with ``_deleted: true`` and a bumped
``_version`` so the change feed carries it (the Cosmos latest-version feed shows no deletes);
reads and queries treat tombstones as missing; ``purge`` removes them for good.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from mystira_data.errors import InvalidDocument, PartitionKeyMismatch
from mystira_data.query import ChangeBatch, Page, Query
from mystira_data.types import JsonDoc, PartitionKey

MAX_ID_LENGTH = 255
MAX_DOCUMENT_BYTES = 2 * 1024 * 1024
FORBIDDEN_ID_CHARS = frozenset("/\\?#")


@runtime_checkable
class DocumentStore(Protocol):
    """Async document store keyed by (container, id, partition key)."""

    name: str

    async def create(self, container: str, doc: JsonDoc) -> JsonDoc:
        """Insert; `AlreadyExists` if the id is live in that partition. Returns the stored doc."""

    async def read(self, container: str, id: str, partition_key: PartitionKey) -> JsonDoc:
        """The live document; `NotFound` for missing or tombstoned."""

    async def upsert(
        self, container: str, doc: JsonDoc, *, if_match: str | None = None
    ) -> JsonDoc:
        """Insert or overwrite; with ``if_match``, only over a stored document (live or
        tombstone) carrying that ETag, else `ConcurrencyConflict`."""

    async def replace(
        self, container: str, doc: JsonDoc, *, if_match: str | None = None
    ) -> JsonDoc:
        """Overwrite an existing live doc; `ConcurrencyConflict` if ``if_match`` is stale."""

    async def delete(
        self, container: str, id: str, partition_key: PartitionKey, *, if_match: str | None = None
    ) -> JsonDoc:
        """Turn the document into a tombstone; returns the tombstone."""

    async def purge(self, container: str, id: str, partition_key: PartitionKey) -> None:
        """Remove a document or tombstone physically (sweeper, tests)."""

    async def query(
        self, container: str, query: Query, *, continuation: str | None = None
    ) -> Page:
        """One page of matches; pass the returned continuation for the next page."""

    async def count(self, container: str, query: Query) -> int:
        """Number of matches (ignores order/limit paging)."""

    def read_all(self, container: str, *, include_deleted: bool = False) -> AsyncIterator[JsonDoc]:
        """Every document of the container, streamed page by page."""

    async def feed_ranges(self, container: str) -> list[str]:
        """Opaque ids of the container's change-feed ranges (cover all partitions, disjoint)."""

    async def changes(
        self,
        container: str,
        feed_range: str,
        checkpoint: str | None,
        *,
        max_items: int = 100,
    ) -> ChangeBatch:
        """Latest version of each doc changed after ``checkpoint`` (None = from the beginning),
        in write order within the range, with the checkpoint to resume from."""

    async def ensure_containers(self) -> None:
        """Create every catalog container if missing (idempotent)."""

    async def close(self) -> None:
        """Release connections."""


@dataclass(frozen=True)
class JsonPage:
    """A page of stored documents as their JSON text (system fields included)."""

    items: list[str]
    continuation: str | None = None


@runtime_checkable
class JsonPages(Protocol):
    """Optional: stores that keep JSON text hand it over unparsed, so bulk readers (backfill)
    can parse and validate each document in one pass."""

    async def query_json(
        self, container: str, query: Query, *, continuation: str | None = None
    ) -> JsonPage:
        """`DocumentStore.query`, each item as its stored JSON text."""


def partition_value(doc: JsonDoc, pk_path: str) -> Any:
    """The value at a partition-key path like ``/accountId``; `PartitionKeyMismatch` if absent."""
    node: Any = doc
    for part in pk_path.strip("/").split("/"):
        if not isinstance(node, dict) or part not in node or node[part] is None:
            raise PartitionKeyMismatch(f"partition key {pk_path} is missing", path=pk_path)
        node = node[part]
    if not isinstance(node, str | int | float | bool):
        raise PartitionKeyMismatch(f"partition key {pk_path} must be a scalar", path=pk_path)
    return node


def check_document(doc: JsonDoc, pk_path: str) -> Any:
    """Enforce Cosmos DB's own limits so nothing is accepted that Cosmos would refuse.

    Returns the partition-key value.
    """
    if not isinstance(doc, dict):
        raise InvalidDocument("document must be a JSON object")
    doc_id = doc.get("id")
    if not isinstance(doc_id, str) or not doc_id:
        raise InvalidDocument("id must be a non-empty string", path="id")
    check_id(doc_id)
    try:
        size = len(json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode())
    except (TypeError, ValueError) as exc:
        raise InvalidDocument(f"not JSON-serialisable: {exc}") from exc
    if size > MAX_DOCUMENT_BYTES:
        raise InvalidDocument(f"document is {size} bytes; the limit is {MAX_DOCUMENT_BYTES}")
    return partition_value(doc, pk_path)


def check_id(doc_id: str) -> None:
    """Cosmos ids: at most 255 characters, none of ``/ \\ ? #``."""
    if len(doc_id) > MAX_ID_LENGTH:
        raise InvalidDocument(f"id longer than {MAX_ID_LENGTH} characters", path="id")
    bad = FORBIDDEN_ID_CHARS.intersection(doc_id)
    if bad:
        raise InvalidDocument(f"id contains forbidden character(s) {sorted(bad)}", path="id")


def check_partition(doc: JsonDoc, pk_path: str, expected: Any) -> None:
    """The document's partition-key value must equal the one the caller addressed."""
    actual = partition_value(doc, pk_path)
    if actual != expected:
        raise PartitionKeyMismatch(
            f"partition key {pk_path} is {actual!r}, addressed as {expected!r}", path=pk_path
        )
