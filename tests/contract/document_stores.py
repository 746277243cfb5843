"""Helpers shared by the document-store contract tests (a module, imported by name)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mystira_data.documents.port import DocumentStore
from mystira_data.query import Op, Order, Query
from mystira_data.types import JsonDoc

CONTAINERS: Mapping[str, str] = {
    "Accounts": "/id",
    "GameSessions": "/accountId",
    "MediaAssets": "/mediaType",
}

OpenStore = Callable[[], Awaitable[DocumentStore]]
"""Opens another store instance on the same backing (as another process or after a restart)."""


@dataclass
class Docs:
    """Builds documents whose ids and partition keys are unique to one test."""

    uid: str = field(default_factory=lambda: "t" + uuid.uuid4().hex[:12])

    def pk(self, name: str = "a") -> str:
        return f"{self.uid}-{name}"

    def session(self, n: int, account: str = "a", **fields: Any) -> JsonDoc:
        return {
            "id": f"{self.uid}-s{n}",
            "accountId": self.pk(account),
            "tag": self.uid,
            "n": n,
            "_version": 1,
            **fields,
        }

    def account(self, n: int, **fields: Any) -> JsonDoc:
        return {"id": f"{self.uid}-acc{n}", "tag": self.uid, "n": n, "_version": 1, **fields}

    def everywhere(self, **kw: Any) -> Query:
        """A cross-partition query limited to this test's documents."""
        return Query(cross_partition=True, **kw).where("tag", Op.EQ, self.uid)

    def in_partition(self, account: str = "a", **kw: Any) -> Query:
        return Query(partition_key=self.pk(account), **kw)

    def ordered(self, path: str = "n", descending: bool = False, **kw: Any) -> Query:
        return self.everywhere(order_by=(Order(path, descending),), **kw)


async def collect(store: DocumentStore, container: str, query: Query) -> list[JsonDoc]:
    """Every page of a query, following continuation tokens."""
    items: list[JsonDoc] = []
    token: str | None = None
    while True:
        page = await store.query(container, query, continuation=token)
        items.extend(page.items)
        token = page.continuation
        if token is None:
            return items


async def drain(
    store: DocumentStore,
    container: str,
    checkpoints: dict[str, str | None],
    *,
    max_items: int = 100,
) -> dict[str, list[JsonDoc]]:
    """Read every range to its end from ``checkpoints`` (updated in place); items per range."""
    seen: dict[str, list[JsonDoc]] = {}
    for feed_range in await store.feed_ranges(container):
        seen[feed_range] = items = []
        while True:
            batch = await store.changes(
                container, feed_range, checkpoints.get(feed_range), max_items=max_items
            )
            assert len(batch.items) <= max_items
            checkpoints[feed_range] = batch.checkpoint
            if not batch.items:
                break
            items.extend(batch.items)
    return seen


def mine(items: list[JsonDoc], docs: Docs) -> list[JsonDoc]:
    """Only this test's documents (a shared backing holds other tests' too)."""
    return [item for item in items if item.get("tag") == docs.uid]
