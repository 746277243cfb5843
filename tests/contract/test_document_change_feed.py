"""Document-store contract: the change feed (latest version, per-range order, checkpoints)."""

from __future__ import annotations

from collections import Counter

import pytest

from mystira_data.documents.port import DocumentStore
from mystira_data.errors import MystiraError
from mystira_data.types import JsonDoc
from tests.contract.document_stores import Docs, OpenStore, drain, mine

S = "GameSessions"


def ids(items: list[JsonDoc]) -> list[str]:
    return [item["id"] for item in items]


async def test_feed_ranges_are_stable_and_distinct(document_store: DocumentStore) -> None:
    ranges = await document_store.feed_ranges(S)
    assert ranges
    assert len(set(ranges)) == len(ranges)
    assert await document_store.feed_ranges(S) == ranges


async def test_feed_shows_latest_versions_in_write_order_with_tombstones(
    document_store: DocumentStore, docs: Docs
) -> None:
    a, b, c = (docs.session(n, step="created") for n in (1, 2, 3))
    for doc in (a, b, c):
        await document_store.create(S, doc)
    await document_store.replace(S, {**a, "step": "updated", "_version": 2})
    await document_store.delete(S, b["id"], docs.pk())

    per_range = await drain(document_store, S, {})
    ranges_with_mine = [r for r, items in per_range.items() if mine(items, docs)]
    assert len(ranges_with_mine) == 1  # one partition lives in exactly one range
    feed = mine(per_range[ranges_with_mine[0]], docs)

    # Latest-version feed: each document once, at its last write, ordered by that write.
    assert ids(feed) == [c["id"], a["id"], b["id"]]
    assert feed[1]["step"] == "updated"
    assert (feed[2]["_deleted"], feed[2]["_version"]) == (True, 2)
    assert all(item["_etag"] for item in feed)


async def test_union_of_ranges_covers_every_document_exactly_once(
    document_store: DocumentStore, docs: Docs
) -> None:
    created = [docs.session(n, account=f"p{n % 40}") for n in range(200)]
    for doc in created:
        await document_store.create(S, doc)
    for doc in created[::3]:  # updates must not duplicate a document in the feed
        await document_store.upsert(S, {**doc, "_version": 2})

    per_range = await drain(document_store, S, {}, max_items=7)
    mine_per_range = {r: mine(items, docs) for r, items in per_range.items()}
    counts = Counter(item["id"] for items in mine_per_range.values() for item in items)
    assert set(counts) == {d["id"] for d in created}
    assert set(counts.values()) == {1}
    ranges_of: dict[str, set[str]] = {}
    for feed_range, items in mine_per_range.items():
        for item in items:
            ranges_of.setdefault(item["accountId"], set()).add(feed_range)
    assert all(len(owners) == 1 for owners in ranges_of.values())  # partitions never split
    versions = {item["id"]: item["_version"] for its in mine_per_range.values() for item in its}
    assert all(versions[d["id"]] == 2 for d in created[::3])


async def test_empty_poll_keeps_the_checkpoint(document_store: DocumentStore, docs: Docs) -> None:
    await document_store.create(S, docs.session(1))
    checkpoints: dict[str, str | None] = {}
    await drain(document_store, S, checkpoints)
    for feed_range, checkpoint in checkpoints.items():
        batch = await document_store.changes(S, feed_range, checkpoint)
        assert batch.items == []
        assert batch.checkpoint == checkpoint


async def test_max_items_bounds_each_batch(document_store: DocumentStore, docs: Docs) -> None:
    for n in range(10):
        await document_store.create(S, docs.session(n))
    per_range = await drain(document_store, S, {}, max_items=3)
    assert sorted(d["n"] for items in per_range.values() for d in mine(items, docs)) == list(
        range(10)
    )


async def test_checkpoint_resumes_after_restart(open_store: OpenStore, docs: Docs) -> None:
    first = await open_store()
    before = [docs.session(n, account=f"p{n % 8}") for n in range(20)]
    for doc in before:
        await first.create(S, doc)
    checkpoints: dict[str, str | None] = {}
    seen_before = await drain(first, S, checkpoints, max_items=5)
    assert len(mine([d for its in seen_before.values() for d in its], docs)) == 20
    saved = dict(checkpoints)
    await first.close()

    second = await open_store()  # a new process on the same backing, same checkpoints
    after = [docs.session(n, account=f"p{n % 8}") for n in range(20, 30)]
    for doc in after:
        await second.create(S, doc)
    await second.replace(S, {**before[4], "_version": 2})
    await second.delete(S, before[5]["id"], before[5]["accountId"])

    resumed = mine([d for its in (await drain(second, S, saved)).values() for d in its], docs)
    expected = {d["id"] for d in after} | {before[4]["id"], before[5]["id"]}
    assert sorted(ids(resumed)) == sorted(expected)
    assert {d["id"]: d.get("_deleted", False) for d in resumed}[before[5]["id"]] is True


async def test_unknown_feed_range_or_bad_checkpoint_is_refused(
    document_store: DocumentStore,
) -> None:
    with pytest.raises(MystiraError):
        await document_store.changes(S, "no-such-range", None)
    feed_range = (await document_store.feed_ranges(S))[0]
    with pytest.raises(MystiraError):
        await document_store.changes(S, feed_range, "not a checkpoint")
