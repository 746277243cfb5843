"""`Stamped`: the document store as the polyglot layer writes it, every write marked ours.

Wraps the layer's document store (repository writes, copies from the outbox, backfill and
repair into documents, adoptions): each document written carries our `marker`, so the
change feed tells these writes from a foreign writer's. Everything else passes through.
"""

from __future__ import annotations

from typing import Any

from mystira_data.polyglot.replication.marker import Writer, marked
from mystira_data.query import Page, Query
from mystira_data.types import JsonDoc, PartitionKey


class Stamped:
    """Marks every document written through ``inner`` (any `EntityStore`) as ours."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.name: str = inner.name

    @property
    def inner(self) -> Any:
        """The unmarked store beneath (what a foreign writer would use)."""
        return self._inner

    async def create(self, container: str, doc: JsonDoc) -> JsonDoc:
        stored: JsonDoc = await self._inner.create(container, marked(doc))
        return stored

    async def upsert(
        self, container: str, doc: JsonDoc, *, if_match: str | None = None
    ) -> JsonDoc:
        stored: JsonDoc = await self._inner.upsert(container, marked(doc), if_match=if_match)
        return stored

    async def adopt(self, container: str, doc: JsonDoc, *, if_match: str) -> JsonDoc:
        """Write back a foreign write we adopted (`store_order`), marked as such."""
        body = marked(doc, Writer.ADOPTED)
        stored: JsonDoc = await self._inner.upsert(container, body, if_match=if_match)
        return stored

    async def replace(
        self, container: str, doc: JsonDoc, *, if_match: str | None = None
    ) -> JsonDoc:
        stored: JsonDoc = await self._inner.replace(container, marked(doc), if_match=if_match)
        return stored

    # -- passed through (named, so `Stamped` is an `EntityStore` to the type checker) ------

    async def read(self, container: str, id: str, partition_key: PartitionKey) -> JsonDoc:
        found: JsonDoc = await self._inner.read(container, id, partition_key)
        return found

    async def delete(
        self, container: str, id: str, partition_key: PartitionKey, *, if_match: str | None = None
    ) -> JsonDoc:
        tomb: JsonDoc = await self._inner.delete(container, id, partition_key, if_match=if_match)
        return tomb

    async def query(self, container: str, query: Query, *, continuation: str | None = None) -> Page:
        page: Page = await self._inner.query(container, query, continuation=continuation)
        return page

    async def count(self, container: str, query: Query) -> int:
        return int(await self._inner.count(container, query))

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._inner, name)  # AttributeError when the inner lacks it
        if name != "put_if_newer":
            return target

        async def put_if_newer(container: str, docs: list[JsonDoc]) -> Any:
            return await target(container, [marked(doc) for doc in docs])

        return put_if_newer
