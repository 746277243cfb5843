"""Version-guarded applies (replication, dual write) mean the same on every document store.

`batch_apply` takes the store's own one-transaction path where it has one (the SQLite store's
``put_if_newer``) and per-document conditional writes elsewhere (Cosmos DB); both must leave
the newest version of each document, tombstones included, and write nothing older.
"""

from __future__ import annotations

from mystira_data.documents.port import DocumentStore
from mystira_data.polyglot.write.guarded import apply_if_newer, batch_apply
from tests.contract.document_stores import Docs, collect


async def test_a_batch_keeps_the_newest_version_of_each_document(
    document_store: DocumentStore, docs: Docs
) -> None:
    apply = batch_apply(document_store)
    first = [docs.session(i, score=i) | {"_version": 2} for i in range(4)]
    assert await apply("GameSessions", first) == 4
    later = [
        docs.session(0, score=100) | {"_version": 3},  # newer: applies
        docs.session(1, score=101) | {"_version": 2},  # same version: skipped
        docs.session(2, score=102) | {"_version": 1},  # older: skipped
        docs.session(3, score=103) | {"_version": 5, "_deleted": True},  # newer tombstone
        docs.session(4, score=104) | {"_version": 1},  # new document
        docs.session(4, score=105) | {"_version": 2},  # the same id again, newer, in one batch
    ]
    written = await apply("GameSessions", later)
    assert written in (3, 4)  # the second copy of s4 may be folded into the first
    live = {d["id"]: d for d in await collect(document_store, "GameSessions", docs.everywhere())}
    assert {i: (d["score"], d["_version"]) for i, d in live.items()} == {
        docs.session(0)["id"]: (100, 3),
        docs.session(1)["id"]: (1, 2),
        docs.session(2)["id"]: (2, 2),
        docs.session(4)["id"]: (105, 2),
    }
    assert await apply("GameSessions", later) == 0  # redelivery changes nothing


async def test_a_single_apply_is_guarded_the_same_way(
    document_store: DocumentStore, docs: Docs
) -> None:
    doc = docs.session(0) | {"_version": 4}
    assert await apply_if_newer(document_store, "GameSessions", doc)
    assert not await apply_if_newer(document_store, "GameSessions", doc | {"_version": 3})
    assert not await apply_if_newer(document_store, "GameSessions", doc)
    stored = await document_store.read("GameSessions", doc["id"], doc["accountId"])
    assert stored["_version"] == 4
