"""Applying the document change feed to PostgreSQL in the document store's own order.

``_version`` orders our own writes (the repository bumps it under the ETag it read), but a
foreign writer of the same container (the C# app) drops it, keeps the one it loaded, or
copies an older one. Guarding on ``_version`` alone would then take its newer write for an
older one and skip it. While the document store is primary, the newest state of a document
is by definition the one the store holds *now*, so a doubtful change is judged by the store:

- a change is **plain** when the version guard can judge it: it carries a version newer than
  the row's, or no row exists yet; or it is our own write at the row's version (a redelivery);
- it is **doubtful** otherwise: no ``_version``, a version below the row's, or the row's
  version with content a foreign writer changed (`marker.writer_of`);
- a doubtful change that is no longer the document's current state (its ``_etag`` differs,
  or the document is gone) is superseded: the newer write follows it in the same feed range
  and is judged in its turn (a hard delete is left to `reconcile`);
- a doubtful change that *is* the current state is **adopted**: written back to the document
  store under its ETag (so it can never overwrite a write that came after it) with a version
  above the row's, then applied. The adoption is itself a write in the feed, at a later
  position, so a replica that missed the immediate apply converges from the feed as usual.

Our own acknowledged writes keep every guarantee: an adoption is conditional on the ETag it
read, so at worst it makes a concurrent repository write retry on a fresh read.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from mystira_data.errors import ConcurrencyConflict, NotFound
from mystira_data.fields import STORE_MADE
from mystira_data.polyglot.consistency.compare import canonical
from mystira_data.polyglot.ports import EntityStore
from mystira_data.polyglot.replication.marker import Writer, writer_of
from mystira_data.polyglot.replication.stamped import Stamped
from mystira_data.polyglot.write.guarded import current, key_of
from mystira_data.query import Filter, Op, Query, every
from mystira_data.types import JsonDoc

Apply = Callable[[str, JsonDoc], Awaitable[Any]]
ApplyMany = Callable[[str, list[JsonDoc]], Awaitable[Any]]
_LOOKUP_PAGE = 500


@dataclass
class OrderStats:
    adopted: int = 0
    superseded: int = 0


class StoreOrder:
    """Wraps the version-guarded applies of document → relational replication."""

    def __init__(
        self,
        documents: Stamped,
        relational: EntityStore,
        apply_one: Apply,
        apply_many: ApplyMany,
    ) -> None:
        self.documents = documents
        self.relational = relational
        self._apply_one = apply_one
        self._apply_many = apply_many
        self.stats = OrderStats()

    async def apply(self, container: str, doc: JsonDoc) -> None:
        """One change (the processor's replay path)."""
        await self.apply_many(container, [doc], single=True)

    async def apply_many(
        self, container: str, docs: list[JsonDoc], *, single: bool = False
    ) -> None:
        """A batch: the plain changes in one guarded call, then each doubtful one."""
        rows = await self._rows(container, docs)
        doubtful = [_doubtful(container, d, rows.get(str(d.get("id")))) for d in docs]
        plain = [d for d, doubt in zip(docs, doubtful, strict=True) if not doubt]
        if single and plain:
            await self._apply_one(container, plain[0])  # with the parent fix-up
        elif plain:
            await self._apply_many(container, plain)
        for doc, doubt in zip(docs, doubtful, strict=True):
            if doubt:
                row = rows.get(str(doc["id"]))
                await self._settle(container, doc, 0 if row is None else _version(row) or 0)

    async def _rows(self, container: str, docs: list[JsonDoc]) -> dict[str, JsonDoc]:
        """The rows (tombstones too) these changes would land on, by id."""
        ids = sorted({str(d["id"]) for d in docs if "id" in d})
        if not ids:
            return {}
        q = Query(
            filters=(Filter("id", Op.IN, ids),),
            cross_partition=True,
            include_deleted=True,
            page_size=_LOOKUP_PAGE,
        )
        return {str(row["id"]): row async for row in every(self.relational, container, q)}

    async def _settle(self, container: str, change: JsonDoc, row_version: int) -> None:
        """Adopt ``change`` if it is still the document's current state; else skip it."""
        id, pk = key_of(container, change)
        now = await current(self.documents, container, id, pk)
        if now is None or now.get("_etag") != change.get("_etag"):
            self.stats.superseded += 1
            return
        body = {k: v for k, v in now.items() if k not in STORE_MADE}
        body["_version"] = max(row_version, _version(now) or 0) + 1
        try:
            adopted = await self.documents.adopt(container, body, if_match=str(now["_etag"]))
        except (ConcurrencyConflict, NotFound):
            self.stats.superseded += 1  # written again meanwhile: the feed brings it next
            return
        self.stats.adopted += 1
        await self._apply_one(container, adopted)


def _version(doc: JsonDoc) -> int | None:
    value = doc.get("_version")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _doubtful(container: str, change: JsonDoc, row: JsonDoc | None) -> bool:
    """True when ``_version`` cannot say whether ``change`` is newer than the row.

    At the row's own version, only a foreign write with other content is doubtful: the
    content check also ends the story if a mark ever failed to survive a store's round
    trip (an adoption's echo holds what the row holds), instead of adopting it again.
    """
    version = _version(change)
    if version is None:
        return True
    row_version = None if row is None else _version(row)
    if row is None or row_version is None or version > row_version:
        return False
    if version < row_version:
        return True
    foreign = writer_of(change) is Writer.FOREIGN
    return foreign and canonical(container, change) != canonical(container, row)
