"""Writing "as the C# app would": straight to the document store, past the polyglot layer.

EF Core writes with no ``If-Match``, keeps no ``_version`` of its own and deletes for real
(efcore-shape.md rule 1.8, §5.13-14). These helpers do the same through the raw document
store (`Stamped.inner` is below our writer mark), on either real pair.
"""

from __future__ import annotations

from typing import Any

from mystira_data.fields import NOT_CONTENT, WRITER
from mystira_data.polyglot.layer import Polyglot
from mystira_data.types import JsonDoc


class CSharpApp:
    """A foreign writer of the same containers."""

    def __init__(self, poly: Polyglot) -> None:
        self.store: Any = poly.stores.documents  # the raw store: no mark, no version bump

    async def load(self, container: str, id: str, pk: str) -> JsonDoc:
        found: JsonDoc = await self.store.read(container, id, pk)
        return found

    async def rebuild(self, container: str, doc: JsonDoc) -> JsonDoc:
        """`DbSet.Update` of an entity it did not load: every unknown field dropped."""
        body = {k: v for k, v in doc.items() if not k.startswith("_")}
        stored: JsonDoc = await self.store.upsert(container, body)
        return stored

    async def patch(self, container: str, loaded: JsonDoc, **changes: Any) -> JsonDoc:
        """A tracked update: the raw document it loaded, changed, unknown fields kept (its
        ``_version`` and our mark included, now stale)."""
        body = {k: v for k, v in loaded.items() if k not in NOT_CONTENT or k == WRITER}
        stored: JsonDoc = await self.store.upsert(container, {**body, **changes})
        return stored

    async def hard_delete(self, container: str, id: str, pk: str) -> None:
        await self.store.purge(container, id, pk)
