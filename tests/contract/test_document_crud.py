"""Document-store contract: create/read/upsert/replace/delete/purge, ETags, Cosmos limits."""

from __future__ import annotations

import pytest

from mystira_data.documents.port import DocumentStore
from mystira_data.errors import (
    AlreadyExists,
    ConcurrencyConflict,
    InvalidDocument,
    MystiraError,
    NotFound,
    PartitionKeyMismatch,
)
from tests.contract.document_stores import Docs, collect

S = "GameSessions"


async def test_create_returns_stored_document_and_read_returns_it(
    document_store: DocumentStore, docs: Docs
) -> None:
    doc = docs.session(1, status="InProgress", choices=[{"scene": "s1", "pick": 2}])
    created = await document_store.create(S, doc)

    assert isinstance(created["_etag"], str)
    assert created["_etag"]
    assert isinstance(created["_ts"], int)
    assert created["_ts"] > 1_600_000_000
    assert {k: created[k] for k in doc} == doc
    read = await document_store.read(S, doc["id"], doc["accountId"])
    assert read == created


async def test_create_does_not_keep_caller_supplied_etag(
    document_store: DocumentStore, docs: Docs
) -> None:
    created = await document_store.create(S, docs.session(1, _etag="forged"))
    assert created["_etag"] != "forged"
    assert (await document_store.read(S, created["id"], created["accountId"]))["_etag"] == (
        created["_etag"]
    )


async def test_create_duplicate_raises_already_exists(
    document_store: DocumentStore, docs: Docs
) -> None:
    await document_store.create(S, docs.session(1, status="first"))
    with pytest.raises(AlreadyExists):
        await document_store.create(S, docs.session(1, status="second"))
    read = await document_store.read(S, docs.session(1)["id"], docs.pk())
    assert read["status"] == "first"


async def test_same_id_in_two_partitions_are_two_documents(
    document_store: DocumentStore, docs: Docs
) -> None:
    await document_store.create(S, docs.session(1, account="a", who="a"))
    await document_store.create(S, docs.session(1, account="b", who="b"))
    doc_id = docs.session(1)["id"]
    assert (await document_store.read(S, doc_id, docs.pk("a")))["who"] == "a"
    assert (await document_store.read(S, doc_id, docs.pk("b")))["who"] == "b"


async def test_read_missing_raises_not_found(document_store: DocumentStore, docs: Docs) -> None:
    with pytest.raises(NotFound):
        await document_store.read(S, docs.session(1)["id"], docs.pk())


async def test_read_in_wrong_partition_raises_not_found(
    document_store: DocumentStore, docs: Docs
) -> None:
    await document_store.create(S, docs.session(1))
    with pytest.raises(NotFound):
        await document_store.read(S, docs.session(1)["id"], docs.pk("other"))


async def test_upsert_inserts_then_overwrites(document_store: DocumentStore, docs: Docs) -> None:
    first = await document_store.upsert(S, docs.session(1, status="new"))
    second = await document_store.upsert(S, docs.session(1, status="done"))

    assert first["status"] == "new"
    assert second["status"] == "done"
    assert (await document_store.read(S, first["id"], docs.pk()))["status"] == "done"


async def test_upsert_with_if_match_is_conditional(
    document_store: DocumentStore, docs: Docs
) -> None:
    created = await document_store.create(S, docs.session(1, status="new"))
    updated = await document_store.upsert(
        S, docs.session(1, status="done"), if_match=created["_etag"]
    )
    assert updated["status"] == "done"
    with pytest.raises(ConcurrencyConflict):
        await document_store.upsert(S, docs.session(1, status="late"), if_match=created["_etag"])
    with pytest.raises(ConcurrencyConflict):
        await document_store.upsert(S, docs.session(2), if_match=created["_etag"])
    assert (await document_store.read(S, created["id"], docs.pk()))["status"] == "done"


async def test_upsert_with_if_match_revives_a_tombstone(
    document_store: DocumentStore, docs: Docs
) -> None:
    await document_store.create(S, docs.session(1))
    tomb = await document_store.delete(S, docs.session(1)["id"], docs.pk())
    revived = await document_store.upsert(
        S, docs.session(1, status="back", _version=5), if_match=tomb["_etag"]
    )
    assert revived["status"] == "back"
    assert not revived.get("_deleted")
    assert (await document_store.read(S, revived["id"], docs.pk()))["_version"] == 5


async def test_replace_missing_raises_not_found(document_store: DocumentStore, docs: Docs) -> None:
    with pytest.raises(NotFound):
        await document_store.replace(S, docs.session(1))


async def test_replace_with_current_etag_succeeds(
    document_store: DocumentStore, docs: Docs
) -> None:
    created = await document_store.create(S, docs.session(1, status="new"))
    replaced = await document_store.replace(
        S, docs.session(1, status="done"), if_match=created["_etag"]
    )
    assert replaced["status"] == "done"
    assert (await document_store.read(S, created["id"], docs.pk()))["status"] == "done"


async def test_replace_with_stale_etag_raises_conflict_and_keeps_document(
    document_store: DocumentStore, docs: Docs
) -> None:
    created = await document_store.create(S, docs.session(1, status="new"))
    await document_store.replace(S, docs.session(1, status="winner"))
    with pytest.raises(ConcurrencyConflict):
        await document_store.replace(S, docs.session(1, status="loser"), if_match=created["_etag"])
    assert (await document_store.read(S, created["id"], docs.pk()))["status"] == "winner"


async def test_etag_changes_on_every_write(document_store: DocumentStore, docs: Docs) -> None:
    etags = [(await document_store.create(S, docs.session(1)))["_etag"]]
    etags.append((await document_store.upsert(S, docs.session(1, x=1)))["_etag"])
    etags.append((await document_store.replace(S, docs.session(1, x=2)))["_etag"])
    etags.append((await document_store.replace(S, docs.session(1, x=2)))["_etag"])
    etags.append((await document_store.delete(S, docs.session(1)["id"], docs.pk()))["_etag"])
    assert len(set(etags)) == len(etags)


@pytest.mark.parametrize(
    "account_id",
    [pytest.param(None, id="null"), pytest.param({"nested": 1}, id="object"), "absent"],
)
async def test_missing_or_non_scalar_partition_key_is_refused(
    document_store: DocumentStore, docs: Docs, account_id: object
) -> None:
    doc = docs.session(1)
    if account_id == "absent":
        del doc["accountId"]
    else:
        doc["accountId"] = account_id
    with pytest.raises(PartitionKeyMismatch):
        await document_store.create(S, doc)
    with pytest.raises(PartitionKeyMismatch):
        await document_store.upsert(S, doc)


async def test_partition_key_path_is_per_container(
    document_store: DocumentStore, docs: Docs
) -> None:
    asset = {"id": f"{docs.uid}-m1", "mediaType": docs.pk("image"), "tag": docs.uid}
    await document_store.create("MediaAssets", asset)
    assert (await document_store.read("MediaAssets", asset["id"], docs.pk("image")))["id"] == (
        asset["id"]
    )
    account = docs.account(1)
    await document_store.create("Accounts", account)
    assert (await document_store.read("Accounts", account["id"], account["id"]))["n"] == 1
    with pytest.raises(PartitionKeyMismatch):  # an account keyed by accountId lacks mediaType
        await document_store.create("MediaAssets", docs.session(2))


async def test_id_of_255_characters_is_accepted(document_store: DocumentStore, docs: Docs) -> None:
    doc = docs.session(1)
    doc["id"] = (docs.uid + "x" * 255)[:255]
    await document_store.create(S, doc)
    assert (await document_store.read(S, doc["id"], docs.pk()))["id"] == doc["id"]


@pytest.mark.parametrize(
    "bad_id",
    [
        pytest.param("x" * 256, id="256-chars"),
        pytest.param("a/b", id="slash"),
        pytest.param("a\\b", id="backslash"),
        pytest.param("a?b", id="question-mark"),
        pytest.param("a#b", id="hash"),
        pytest.param("", id="empty"),
        pytest.param(42, id="not-a-string"),
    ],
)
async def test_invalid_id_is_refused(
    document_store: DocumentStore, docs: Docs, bad_id: object
) -> None:
    doc = docs.session(1)
    doc["id"] = bad_id
    with pytest.raises(InvalidDocument):
        await document_store.create(S, doc)
    with pytest.raises(InvalidDocument):
        await document_store.upsert(S, doc)


async def test_document_over_2_mb_is_refused(document_store: DocumentStore, docs: Docs) -> None:
    with pytest.raises(InvalidDocument):
        await document_store.create(S, docs.session(1, blob="x" * (2 * 1024 * 1024)))
    with pytest.raises(NotFound):
        await document_store.read(S, docs.session(1)["id"], docs.pk())


async def test_large_document_under_the_limit_round_trips(
    document_store: DocumentStore, docs: Docs
) -> None:
    blob = "é" * 600_000  # 1.2 MB of UTF-8: sizes are bytes, not characters
    await document_store.create(S, docs.session(1, blob=blob))
    assert (await document_store.read(S, docs.session(1)["id"], docs.pk()))["blob"] == blob


async def test_unknown_container_is_a_clear_store_error(
    document_store: DocumentStore, docs: Docs
) -> None:
    with pytest.raises(MystiraError, match="NoSuchContainer"):
        await document_store.create("NoSuchContainer", docs.session(1))


async def test_delete_leaves_a_tombstone_with_bumped_version(
    document_store: DocumentStore, docs: Docs
) -> None:
    created = await document_store.create(S, docs.session(1, status="done", _version=7))
    tombstone = await document_store.delete(S, created["id"], docs.pk())

    assert tombstone["_deleted"] is True
    assert tombstone["_version"] == 8
    assert tombstone["status"] == "done"  # the body is kept for the change feed
    assert tombstone["_etag"] != created["_etag"]
    with pytest.raises(NotFound):
        await document_store.read(S, created["id"], docs.pk())
    assert await collect(document_store, S, docs.everywhere()) == []
    kept = await collect(document_store, S, docs.everywhere(include_deleted=True))
    assert [(d["id"], d["_deleted"]) for d in kept] == [(created["id"], True)]


async def test_delete_without_version_counts_from_zero(
    document_store: DocumentStore, docs: Docs
) -> None:
    doc = docs.session(1)
    del doc["_version"]
    await document_store.create(S, doc)
    assert (await document_store.delete(S, doc["id"], docs.pk()))["_version"] == 1


async def test_tombstone_is_missing_for_delete_and_replace(
    document_store: DocumentStore, docs: Docs
) -> None:
    await document_store.create(S, docs.session(1))
    await document_store.delete(S, docs.session(1)["id"], docs.pk())
    with pytest.raises(NotFound):
        await document_store.delete(S, docs.session(1)["id"], docs.pk())
    with pytest.raises(NotFound):
        await document_store.replace(S, docs.session(1))


async def test_create_over_a_tombstone_revives_the_document(
    document_store: DocumentStore, docs: Docs
) -> None:
    await document_store.create(S, docs.session(1, status="old"))
    await document_store.delete(S, docs.session(1)["id"], docs.pk())
    revived = await document_store.create(S, docs.session(1, status="new", _version=3))
    assert revived.get("_deleted") is not True
    read = await document_store.read(S, revived["id"], docs.pk())
    assert (read["status"], read["_version"]) == ("new", 3)


async def test_delete_with_stale_etag_raises_conflict(
    document_store: DocumentStore, docs: Docs
) -> None:
    created = await document_store.create(S, docs.session(1))
    updated = await document_store.upsert(S, docs.session(1, x=1))
    with pytest.raises(ConcurrencyConflict):
        await document_store.delete(S, created["id"], docs.pk(), if_match=created["_etag"])
    assert (await document_store.read(S, created["id"], docs.pk()))["x"] == 1
    tombstone = await document_store.delete(S, created["id"], docs.pk(), if_match=updated["_etag"])
    assert tombstone["_deleted"] is True


async def test_delete_missing_raises_not_found(document_store: DocumentStore, docs: Docs) -> None:
    with pytest.raises(NotFound):
        await document_store.delete(S, docs.session(1)["id"], docs.pk())


async def test_purge_removes_documents_and_tombstones_for_good(
    document_store: DocumentStore, docs: Docs
) -> None:
    for n in (1, 2, 3):
        await document_store.create(S, docs.session(n))
    await document_store.delete(S, docs.session(2)["id"], docs.pk())
    await document_store.purge(S, docs.session(1)["id"], docs.pk())  # a live document
    await document_store.purge(S, docs.session(2)["id"], docs.pk())  # a tombstone
    await document_store.purge(S, docs.session(9)["id"], docs.pk())  # missing: no error

    with pytest.raises(NotFound):
        await document_store.read(S, docs.session(1)["id"], docs.pk())
    left = await collect(document_store, S, docs.everywhere(include_deleted=True))
    assert [d["id"] for d in left] == [docs.session(3)["id"]]
    recreated = await document_store.create(S, docs.session(1, status="again"))
    assert recreated["status"] == "again"
