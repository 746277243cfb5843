"""Document-store contract: optimistic concurrency holds across instances (no lost update)."""

from __future__ import annotations

import asyncio
import random

from mystira_data.documents.port import DocumentStore
from mystira_data.errors import AlreadyExists, ConcurrencyConflict
from tests.contract.document_stores import Docs, OpenStore

S = "GameSessions"
WRITERS = 50


async def increment(store: DocumentStore, doc_id: str, pk: str) -> int:
    """Read → modify → replace(if_match), retrying on conflict; returns the attempts used."""
    for attempt in range(1, 10_000):
        current = await store.read(S, doc_id, pk)
        current["count"] += 1
        try:
            await store.replace(S, current, if_match=current["_etag"])
        except ConcurrencyConflict:
            await asyncio.sleep(random.uniform(0, 0.002 * min(attempt, 10)))
            continue
        return attempt
    raise AssertionError("writer never succeeded")


async def test_concurrent_writers_with_if_match_lose_no_update(
    open_store: OpenStore, docs: Docs
) -> None:
    # Separate instances (own connections) mimic separate processes on one backing.
    stores = await asyncio.gather(*(open_store() for _ in range(WRITERS)))
    counter = docs.session(1, count=0)
    created = await stores[0].create(S, counter)

    attempts = await asyncio.gather(
        *(increment(store, counter["id"], docs.pk()) for store in stores)
    )

    final = await stores[-1].read(S, counter["id"], docs.pk())
    assert final["count"] == WRITERS
    assert final["_etag"] != created["_etag"]
    assert all(a >= 1 for a in attempts)
    assert sum(attempts) >= WRITERS  # every extra attempt was a conflict caught, not lost


async def test_concurrent_creates_of_one_id_have_one_winner(
    open_store: OpenStore, docs: Docs
) -> None:
    stores = await asyncio.gather(*(open_store() for _ in range(10)))

    async def attempt(store: DocumentStore, n: int) -> bool:
        try:
            await store.create(S, docs.session(1, writer=n))
        except AlreadyExists:  # any other error fails the test
            return False
        return True

    wins = await asyncio.gather(*(attempt(s, n) for n, s in enumerate(stores)))
    assert sum(wins) == 1
    stored = await stores[0].read(S, docs.session(1)["id"], docs.pk())
    assert wins[stored["writer"]] is True
