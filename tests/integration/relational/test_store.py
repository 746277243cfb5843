"""The relational port's verbs on PostgreSQL and SQLite."""

from __future__ import annotations

from typing import Any

import pytest

from mystira_data.errors import (
    AlreadyExists,
    ConcurrencyConflict,
    ForeignKeyViolation,
    InvalidDocument,
    NotFound,
)
from mystira_data.query import Query
from mystira_data.relational import RelationalStore

from .docs import account, score, session


async def test_create_then_read_returns_the_stored_document(store: RelationalStore) -> None:
    created = await store.create("Accounts", account("a1"))
    assert created["_version"] == 1
    assert created["_etag"] == '"v1"'
    assert "_deleted" not in created
    assert await store.read("Accounts", "a1", "a1") == created


async def test_create_keeps_a_given_version(store: RelationalStore) -> None:
    created = await store.create("Accounts", account("a1") | {"_version": 41})
    assert created["_version"] == 41
    assert (await store.read("Accounts", "a1", "a1"))["_etag"] == '"v41"'


async def test_create_of_a_live_id_is_refused(store: RelationalStore) -> None:
    await store.create("Accounts", account("a1"))
    with pytest.raises(AlreadyExists):
        await store.create("Accounts", account("a1", displayName="again"))


async def test_create_over_a_tombstone_continues_its_versions(store: RelationalStore) -> None:
    await store.create("Accounts", account("a1"))
    await store.delete("Accounts", "a1", "a1")  # version 2
    recreated = await store.create("Accounts", account("a1", displayName="back"))
    assert recreated["_version"] == 3
    assert (await store.read("Accounts", "a1", "a1"))["displayName"] == "back"


async def test_upsert_inserts_then_overwrites(store: RelationalStore) -> None:
    first = await store.upsert("Accounts", account("a1"))
    second = await store.upsert("Accounts", account("a1", displayName="Ann"))
    assert (first["_version"], second["_version"]) == (1, 2)
    assert (await store.read("Accounts", "a1", "a1"))["displayName"] == "Ann"


async def test_upsert_never_moves_a_row_to_another_partition(store: RelationalStore) -> None:
    await store.create("Accounts", account("a1"))
    await store.create("Accounts", account("a2"))
    await store.create("GameSessions", session("s1", "a1"))
    with pytest.raises(AlreadyExists):
        await store.upsert("GameSessions", session("s1", "a2"))
    assert (await store.read("GameSessions", "s1", "a1"))["accountId"] == "a1"


async def test_replace_honours_if_match(store: RelationalStore) -> None:
    created = await store.create("Accounts", account("a1"))
    replaced = await store.replace(
        "Accounts", account("a1", displayName="B"), if_match=created["_etag"]
    )
    assert replaced["_version"] == 2
    with pytest.raises(ConcurrencyConflict):
        await store.replace("Accounts", account("a1", displayName="C"), if_match=created["_etag"])
    with pytest.raises(ConcurrencyConflict):
        await store.replace("Accounts", account("a1"), if_match='"not-one-of-ours"')
    assert (await store.read("Accounts", "a1", "a1"))["displayName"] == "B"


async def test_replace_honours_expected_version(store: RelationalStore) -> None:
    await store.create("Accounts", account("a1") | {"_version": 5})
    with pytest.raises(ConcurrencyConflict):
        await store.replace("Accounts", account("a1") | {"_version": 7}, expected_version=4)
    done = await store.replace("Accounts", account("a1") | {"_version": 6}, expected_version=5)
    assert done["_version"] == 6


async def test_replace_of_a_missing_or_deleted_row_is_not_found(store: RelationalStore) -> None:
    with pytest.raises(NotFound):
        await store.replace("Accounts", account("nobody"))
    await store.create("Accounts", account("a1"))
    await store.delete("Accounts", "a1", "a1")
    with pytest.raises(NotFound):
        await store.replace("Accounts", account("a1"), if_match='"v2"')


async def test_delete_leaves_a_tombstone(store: RelationalStore) -> None:
    await store.create("Accounts", account("a1"))
    tombstone = await store.delete("Accounts", "a1", "a1")
    assert tombstone["_deleted"] is True
    assert tombstone["_version"] == 2
    assert tombstone["email"] == "a1@example.test"  # the body travels with the tombstone
    with pytest.raises(NotFound):
        await store.read("Accounts", "a1", "a1")
    with pytest.raises(NotFound):
        await store.delete("Accounts", "a1", "a1")
    everything = [d async for d in store.read_all("Accounts", include_deleted=True)]
    assert everything == [tombstone]
    assert [d async for d in store.read_all("Accounts")] == []


async def test_delete_honours_if_match(store: RelationalStore) -> None:
    await store.create("Accounts", account("a1"))
    await store.upsert("Accounts", account("a1"))
    with pytest.raises(ConcurrencyConflict):
        await store.delete("Accounts", "a1", "a1", if_match='"v1"')
    assert (await store.delete("Accounts", "a1", "a1", expected_version=2))["_version"] == 3


async def test_read_stored_sees_tombstones_and_honours_the_partition(
    store: RelationalStore,
) -> None:
    await store.create("Accounts", account("a1"))
    created = await store.create("GameSessions", session("s1", "a1"))
    assert await store.read_stored("GameSessions", "s1", "a1") == created
    tombstone = await store.delete("GameSessions", "s1", "a1")
    assert await store.read_stored("GameSessions", "s1", "a1") == tombstone
    assert await store.read_stored("GameSessions", "s1", "another-account") is None
    assert await store.read_stored("GameSessions", "s1", 1) is None
    assert await store.read_stored("GameSessions", "s2", "a1") is None
    assert (await store.read_stored("Accounts", "a1", "a1"))["id"] == "a1"  # type: ignore[index]
    assert await store.read_stored("Accounts", "a1", "a2") is None  # partitioned by id


async def test_reads_are_addressed_by_partition_key(store: RelationalStore) -> None:
    await store.create("Accounts", account("a1"))
    await store.create("GameSessions", session("s1", "a1"))
    with pytest.raises(NotFound):
        await store.read("GameSessions", "s1", "another-account")
    with pytest.raises(NotFound):
        await store.read("GameSessions", "s1", 1)


async def test_purge_applies_the_v002_foreign_key_actions(store: RelationalStore) -> None:
    await store.create("Accounts", account("a1"))
    await store.create("GameSessions", session("s1", "a1"))
    await store.create("GameSessions", session("s2", "a1"))
    await store.create("PlayerScenarioScores", score("p1", "prof", gameSessionId="s2"))
    await store.purge("GameSessions", "s2", "a1")
    assert (await store.read("PlayerScenarioScores", "p1", "prof"))["gameSessionId"] is None
    await store.purge("Accounts", "a1", "a1")  # cascades to the account's sessions
    assert await store.count("GameSessions", Query(cross_partition=True, include_deleted=True)) == 0
    await store.purge("Accounts", "a1", "a1")  # idempotent


async def test_empty_session_reference_is_kept_exactly(store: RelationalStore) -> None:
    created = await store.create("PlayerScenarioScores", score("p1", "prof", gameSessionId=""))
    assert created["gameSessionId"] == ""
    assert (await store.read("PlayerScenarioScores", "p1", "prof"))["gameSessionId"] == ""


async def test_a_missing_parent_is_a_foreign_key_violation(store: RelationalStore) -> None:
    with pytest.raises(ForeignKeyViolation) as caught:
        await store.create("GameSessions", session("s1", "no-such-account"))
    assert caught.value.path in ("accountId", "")
    with pytest.raises(ForeignKeyViolation):
        await store.create("PlayerScenarioScores", score("p1", "prof", gameSessionId="nope"))
    assert await store.outbox_pending() == []  # the outbox row rolled back with the write


async def test_a_second_account_with_the_same_email_is_refused(store: RelationalStore) -> None:
    await store.create("Accounts", account("a1", email="same@example.test"))
    with pytest.raises(AlreadyExists):
        await store.create("Accounts", account("a2", email="same@example.test"))


@pytest.mark.parametrize(
    ("doc", "path"),
    [
        (account("x" * 37), "id"),
        (account("a1", email="e" * 257), "email"),
        (account("a1", role="r" * 51), "role"),
        (session("s1", "a1", targetAgeGroup="g" * 21), "targetAgeGroup"),
        (session("s1", "a1", scenarioId="s" * 37), "scenarioId"),
    ],
)
async def test_values_beyond_v001_columns_are_invalid_documents(
    store: RelationalStore, doc: dict[str, object], path: str
) -> None:
    container = "Accounts" if "email" in doc else "GameSessions"
    with pytest.raises(InvalidDocument) as caught:
        await store.upsert(container, doc)
    assert caught.value.path == path


async def test_documents_are_validated_by_the_domain_model(store: RelationalStore) -> None:
    bad = session("s1", "a1") | {"sceneCount": "many"}
    with pytest.raises(InvalidDocument) as caught:
        await store.upsert("GameSessions", bad)
    assert caught.value.path == "sceneCount"
    with pytest.raises(InvalidDocument):
        await store.upsert("Accounts", account("a1") | {"_version": -1})


async def test_nul_characters(store: RelationalStore) -> None:
    # SQLite text could hold NUL, but the embedded store behaves as PostgreSQL does.
    doc = account("a1", displayName="nul\x00here")
    with pytest.raises(InvalidDocument, match="NUL"):
        await store.upsert("Accounts", doc)


async def test_every_write_records_an_outbox_row(store: RelationalStore) -> None:
    created = await store.create("Accounts", account("a1"))
    upserted = await store.upsert("Accounts", account("a1", displayName="u"))
    replaced = await store.replace("Accounts", account("a1", displayName="r"))
    tombstone = await store.delete("Accounts", "a1", "a1")
    pending = await store.outbox_pending()
    assert [(e.operation, e.version) for e in pending] == [
        ("create", 1), ("upsert", 2), ("replace", 3), ("delete", 4),
    ]  # fmt: skip
    assert [e.payload for e in pending] == [created, upserted, replaced, tombstone]
    assert {(e.container, e.entity_id, e.partition_key) for e in pending} == {
        ("Accounts", "a1", "a1")
    }
    assert await store.mark_relayed([pending[0].id, pending[1].id]) == 2
    assert [e.operation for e in await store.outbox_pending()] == ["replace", "delete"]
    assert [e.operation for e in await store.outbox_pending(after_id=pending[2].id)] == ["delete"]
    await store.record_relay_failure(pending[3].id, "document store down")
    assert (await store.outbox_pending())[-1].attempts == 1


async def test_upsert_if_newer_applies_only_newer_versions(store: RelationalStore) -> None:
    await store.create("Accounts", account("a1"))
    v3 = session("s1", "a1", sceneCount=3) | {"_version": 3}
    v2 = session("s1", "a1", sceneCount=2) | {"_version": 2}
    assert await store.upsert_if_newer("GameSessions", [v3], outbox=False) == 1
    assert await store.upsert_if_newer("GameSessions", [v2, v3], outbox=False) == 0
    assert (await store.read("GameSessions", "s1", "a1"))["sceneCount"] == 3
    tombstone = v3 | {"_version": 4, "_deleted": True}
    assert await store.upsert_if_newer("GameSessions", [tombstone], outbox=True) == 1
    with pytest.raises(NotFound):
        await store.read("GameSessions", "s1", "a1")
    pending = await store.outbox_pending(container="GameSessions")
    assert [(e.operation, e.version) for e in pending] == [("delete", 4)]


async def test_upsert_if_newer_needs_versions(store: RelationalStore) -> None:
    with pytest.raises(InvalidDocument):
        await store.upsert_if_newer("Accounts", [account("a1")], outbox=False)
    assert await store.upsert_if_newer("Accounts", [], outbox=False) == 0


async def test_bulk_upsert_if_newer_merges_in_batches(store: RelationalStore) -> None:
    await store.create("Accounts", account("a1"))
    docs = [
        session(f"s{i % 40}", "a1", sceneCount=v) | {"_version": v}
        for v in (1, 3, 2)
        for i in range(40)
    ]
    applied = await store.bulk_upsert_if_newer("GameSessions", docs, batch_size=30)
    assert applied == 80 + 40 - 40  # v1 inserts 40, v3 updates 40, v2 is older: no-op
    assert await store.bulk_upsert_if_newer("GameSessions", docs, batch_size=25) == 0
    found = [d async for d in store.read_all("GameSessions")]
    assert len(found) == 40
    assert {d["sceneCount"] for d in found} == {3}
    assert await store.outbox_pending(container="GameSessions") == []


async def test_bulk_upsert_can_record_the_outbox(store: RelationalStore) -> None:
    await store.create("Accounts", account("a1"))
    docs = [session(f"s{i}", "a1") | {"_version": 1} for i in range(7)]
    assert await store.bulk_upsert_if_newer("GameSessions", docs, outbox=True, batch_size=3) == 7
    pending = await store.outbox_pending(container="GameSessions")
    assert sorted(e.entity_id for e in pending) == [f"s{i}" for i in range(7)]


async def test_bulk_prepare_sets_invalid_documents_aside(store: RelationalStore) -> None:
    await store.create("Accounts", account("a1"))
    docs = [session(f"s{i}", "a1") | {"_version": 1} for i in range(4)]
    docs[1] = docs[1] | {"sceneCount": "many"}
    docs[2] = {k: v for k, v in docs[2].items() if k != "_version"}
    rejected: list[tuple[Any, InvalidDocument]] = []
    batch = await store.bulk_prepare("GameSessions", docs, rejected=rejected)
    assert [(d["id"], e.path) for d, e in rejected] == [("s1", "sceneCount"), ("s2", "_version")]
    assert await store.bulk_write(batch) == 2
    assert sorted([d["id"] async for d in store.read_all("GameSessions")]) == ["s0", "s3"]


async def test_a_non_relational_container_is_refused(store: RelationalStore) -> None:
    from mystira_data.errors import InvalidQuery

    with pytest.raises(InvalidQuery, match="no relational table"):
        await store.read("Scenarios", "x", "x")


async def test_bulk_stops_at_an_invalid_document_after_committing_earlier_batches(
    store: RelationalStore,
) -> None:
    await store.create("Accounts", account("a1"))
    docs = [session(f"s{i}", "a1") | {"_version": 1} for i in range(6)]
    docs[4] = docs[4] | {"sceneCount": "not a number"}
    with pytest.raises(InvalidDocument) as caught:
        await store.bulk_upsert_if_newer("GameSessions", iter(docs), batch_size=2)
    assert caught.value.path == "sceneCount"
    found = [d["id"] async for d in store.read_all("GameSessions")]
    assert found == ["s0", "s1", "s2", "s3"]  # batches are transactions of their own
