"""`FormattedDocumentStore`: the document-store port in native JSON over a store that keeps
another format. Everything above it (repository, replication, backfill, verify, repair,
shadow reads, cache) sees native documents; the store sees its own shape.

Each write is encoded against the document it replaces, so fields that did not change are
written back exactly as stored. That document is usually the one just read to get its ETag
(the polyglot layer reads before it writes under ``if_match``): a few recent stored forms are
kept by ETag, and only a write without a match reads the store again. An importer that
holds the stored form itself hands it over with `originals` instead. Batch reads (queries,
``read_all``, the change feed) decode leniently: a field that cannot be read keeps its stored
value, so the model refuses that one document (quarantine, dead letter) and not the batch;
point reads raise `InvalidDocument` naming the stored field.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from mystira_data import catalog
from mystira_data.documents.formats.port import Format
from mystira_data.documents.port import DocumentStore, partition_value
from mystira_data.errors import NotFound, PartitionKeyMismatch
from mystira_data.query import ChangeBatch, Filter, Op, Page, Query
from mystira_data.types import JsonDoc, PartitionKey

# Stored forms kept for the write that follows their read (bounded: documents can be large).
RECENT_STORED = 128


class FormattedDocumentStore:
    """`DocumentStore` translating every call through ``format``."""

    def __init__(self, inner: DocumentStore, format: Format) -> None:
        self.inner = inner
        self.format = format
        self.name = inner.name
        self._originals: dict[tuple[str, str], JsonDoc] = {}
        self._recent: OrderedDict[tuple[str, str], JsonDoc] = OrderedDict()

    def __repr__(self) -> str:
        return f"FormattedDocumentStore({self.inner!r}, format={self.format.name!r})"

    @contextmanager
    def originals(self, container: str, stored: Iterable[JsonDoc]) -> Iterator[None]:
        """While the block runs, writes of these documents' ids encode against these stored
        forms (an import of the C# app's own documents) instead of what the store holds."""
        keys = []
        for doc in stored:
            native = self.format.decode(container, doc, lenient=True)
            key = (container, str(native.get("id")))
            self._originals[key] = doc
            keys.append(key)
        try:
            yield
        finally:
            for key in keys:
                self._originals.pop(key, None)

    # -- writes ------------------------------------------------------------------------------

    async def create(self, container: str, doc: JsonDoc) -> JsonDoc:
        base = self._originals.get((container, str(doc.get("id"))))
        stored = await self.inner.create(container, self.format.encode(container, doc, base))
        return self._written(container, doc, stored)

    async def upsert(
        self, container: str, doc: JsonDoc, *, if_match: str | None = None
    ) -> JsonDoc:
        body = await self._encoded(container, doc, if_match)
        stored = await self.inner.upsert(container, body, if_match=if_match)
        return self._written(container, doc, stored)

    async def replace(
        self, container: str, doc: JsonDoc, *, if_match: str | None = None
    ) -> JsonDoc:
        body = await self._encoded(container, doc, if_match)
        stored = await self.inner.replace(container, body, if_match=if_match)
        return self._written(container, doc, stored)

    def _written(self, container: str, doc: JsonDoc, stored: JsonDoc) -> JsonDoc:
        self._remember(container, str(doc.get("id")), stored)
        return self._decode(container, stored)

    async def delete(
        self, container: str, id: str, partition_key: PartitionKey, *, if_match: str | None = None
    ) -> JsonDoc:
        for stored_id in self.format.stored_ids(container, id):
            try:
                tomb = await self.inner.delete(
                    container, stored_id, partition_key, if_match=if_match
                )
            except NotFound:
                continue
            self._recent.pop((container, id), None)
            return self._decode(container, tomb)
        raise NotFound(container, id)

    async def purge(self, container: str, id: str, partition_key: PartitionKey) -> None:
        for stored_id in self.format.stored_ids(container, id):
            await self.inner.purge(container, stored_id, partition_key)

    async def _encoded(
        self, container: str, doc: JsonDoc, if_match: str | None = None
    ) -> JsonDoc:
        return self.format.encode(container, doc, await self._base(container, doc, if_match))

    async def _base(self, container: str, doc: JsonDoc, if_match: str | None) -> JsonDoc | None:
        """The stored document ``doc`` replaces (tombstones too), if any."""
        key = (container, str(doc.get("id")))
        original = self._originals.get(key)
        if original is not None:
            return original
        recent = self._recent.get(key)
        if if_match is not None and recent is not None and recent.get("_etag") == if_match:
            return recent  # the write succeeds only over exactly this document
        spec = catalog.BY_NAME.get(container)
        if spec is None or not isinstance(doc.get("id"), str):
            return None
        try:
            pk = partition_value(doc, spec.partition_key)
        except PartitionKeyMismatch:
            return None  # the store refuses the write itself, with its own message
        return await self._stored(container, doc["id"], pk)

    async def _stored(self, container: str, id: str, pk: PartitionKey) -> JsonDoc | None:
        """The stored form of ``id`` (older id forms too), tombstone or not; remembered."""
        found = await self._lookup(container, id, pk)
        if found is not None:
            self._remember(container, id, found)
        return found

    def _remember(self, container: str, id: str, stored: JsonDoc) -> None:
        self._recent[(container, id)] = stored
        self._recent.move_to_end((container, id))
        while len(self._recent) > RECENT_STORED:
            self._recent.popitem(last=False)

    async def _lookup(self, container: str, id: str, pk: PartitionKey) -> JsonDoc | None:
        read_stored = getattr(self.inner, "read_stored", None)
        for stored_id in self.format.stored_ids(container, id):
            found: JsonDoc | None
            if read_stored is not None:
                found = await read_stored(container, stored_id, pk)
            else:  # the port's way: a keyed query that sees tombstones
                by_id = Filter("id", Op.EQ, stored_id)
                q = Query(filters=(by_id,), partition_key=pk, include_deleted=True)
                page = await self.inner.query(container, q)
                found = page.items[0] if page.items else None
            if found is not None:
                return found
        return None

    # -- reads -------------------------------------------------------------------------------

    async def read(self, container: str, id: str, partition_key: PartitionKey) -> JsonDoc:
        for stored_id in self.format.stored_ids(container, id):
            try:
                stored = await self.inner.read(container, stored_id, partition_key)
            except NotFound:
                continue
            self._remember(container, id, stored)
            return self.format.decode(container, stored)
        raise NotFound(container, id)

    async def read_stored(
        self, container: str, id: str, partition_key: PartitionKey
    ) -> JsonDoc | None:
        """The stored document of ``id``, tombstone or not, decoded; None if there is none."""
        stored = await self._stored(container, id, partition_key)
        return None if stored is None else self._decode(container, stored)

    async def query(self, container: str, query: Query, *, continuation: str | None = None) -> Page:
        stored = self.format.stored_query(container, query)
        page = await self.inner.query(container, stored, continuation=continuation)
        return Page([self._decode(container, d) for d in page.items], page.continuation)

    async def count(self, container: str, query: Query) -> int:
        return await self.inner.count(container, self.format.stored_query(container, query))

    async def read_all(
        self, container: str, *, include_deleted: bool = False
    ) -> AsyncIterator[JsonDoc]:
        async for doc in self.inner.read_all(container, include_deleted=include_deleted):
            yield self._decode(container, doc)

    async def feed_ranges(self, container: str) -> list[str]:
        return await self.inner.feed_ranges(container)

    async def changes(
        self, container: str, feed_range: str, checkpoint: str | None, *, max_items: int = 100
    ) -> ChangeBatch:
        batch = await self.inner.changes(container, feed_range, checkpoint, max_items=max_items)
        return ChangeBatch([self._decode(container, d) for d in batch.items], batch.checkpoint)

    async def ensure_containers(self) -> None:
        await self.inner.ensure_containers()

    async def close(self) -> None:
        await self.inner.close()

    def _decode(self, container: str, stored: JsonDoc) -> JsonDoc:
        return self.format.decode(container, stored, lenient=True)


class GuardedFormattedDocumentStore(FormattedDocumentStore):
    """Over a store with a version-guarded batch write (the embedded store), offers it too."""

    async def put_if_newer(self, container: str, docs: list[JsonDoc]) -> int:
        bodies = [await self._encoded(container, doc) for doc in docs]
        inner: Any = self.inner  # a store with `put_if_newer` (see `formatted`)
        return int(await inner.put_if_newer(container, bodies))
