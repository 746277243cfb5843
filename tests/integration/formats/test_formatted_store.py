"""`FormattedDocumentStore` over the embedded store: what crosses the boundary, both ways."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from mystira_data.documents.formats import Efcore9Format, FormattedDocumentStore, formatted
from mystira_data.documents.sqlite import SqliteDocumentStore
from mystira_data.errors import InvalidDocument, NotFound
from mystira_data.polyglot.write.guarded import apply_if_newer
from mystira_data.query import Op, Query

FIXTURES = Path(__file__).parents[2] / "fixtures" / "efcore9"
FMT = Efcore9Format()


class CountingStore(SqliteDocumentStore):
    """The real embedded store, counting the reads a write needs."""

    stored_reads = 0

    async def read_stored(self, container: str, id: str, partition_key: Any) -> Any:
        self.stored_reads += 1
        return await super().read_stored(container, id, partition_key)


@pytest.fixture
async def raw(tmp_path: Path) -> AsyncIterator[CountingStore]:
    async with CountingStore(tmp_path / "docs.sqlite", FMT.partition_keys()) as store:
        yield store


@pytest.fixture
def store(raw: CountingStore) -> FormattedDocumentStore:
    wrapped = formatted(raw, FMT)
    assert isinstance(wrapped, FormattedDocumentStore)
    return wrapped


def fixture(container: str, n: int) -> dict[str, Any]:
    lines = (FIXTURES / f"{container}.jsonl").read_text(encoding="utf-8").splitlines()
    return {k: v for k, v in json.loads(lines[n]).items() if not k.startswith("_")}


async def test_reads_are_native_and_writes_keep_the_stored_shape(
    raw: CountingStore, store: FormattedDocumentStore
) -> None:
    stored = await raw.create("Accounts", {**fixture("Accounts", 0), "Nickname": "Dee"})
    doc = await store.read("Accounts", stored["id"], stored["id"])
    assert doc["subscription"]["endDate"] == "9999-12-31T23:59:59.999999Z"
    assert "Nickname" not in doc
    doc["displayName"] = "Dana W."
    reads = raw.stored_reads
    await store.upsert("Accounts", doc, if_match=doc["_etag"])
    assert raw.stored_reads == reads  # the document just read is the base: no second read
    again = await raw.read("Accounts", stored["id"], stored["id"])
    assert again["DisplayName"] == "Dana W."
    assert again["Nickname"] == "Dee"
    assert again["Subscription"] == stored["Subscription"]
    assert again["LastLoginAt"] == stored["LastLoginAt"]


async def test_a_write_without_a_read_first_reads_its_base(
    raw: CountingStore, store: FormattedDocumentStore
) -> None:
    stored = await raw.create("BadgeConfigurations", fixture("BadgeConfigurations", 0))
    doc = FMT.decode("BadgeConfigurations", stored)
    doc["name"] = "Braver Heart"
    await store.upsert("BadgeConfigurations", {k: v for k, v in doc.items() if k[0] != "_"})
    again = await raw.read("BadgeConfigurations", stored["id"], stored["id"])
    assert again["Name"] == "Braver Heart"
    assert again["UpdatedAt"] == "2025-03-03T03:03:03.3030303Z"


async def test_older_ids_are_found_by_their_key(
    raw: CountingStore, store: FormattedDocumentStore
) -> None:
    legacy = {**fixture("GameSessions", 2), "_version": 1}
    await raw.create("GameSessions", legacy)
    key, pk = legacy["Id"], legacy["accountId"]
    assert (await store.read("GameSessions", key, pk))["id"] == key
    assert (await store.read_stored("GameSessions", key, pk) or {})["status"] == "Paused"
    newer = {**FMT.decode("GameSessions", legacy), "_version": 2, "currentSceneId": "x"}
    assert await apply_if_newer(store, "GameSessions", newer)
    assert (await raw.read("GameSessions", legacy["id"], pk))["CurrentSceneId"] == "x"
    tomb = await store.delete("GameSessions", key, pk)
    assert tomb["_deleted"] is True
    with pytest.raises(NotFound):
        await store.read("GameSessions", key, pk)


async def test_a_malformed_document_fails_a_point_read_and_passes_a_batch_read(
    raw: CountingStore, store: FormattedDocumentStore
) -> None:
    bad = {**fixture("GameSessions", 0), "Status": 12}
    await raw.create("GameSessions", bad)
    with pytest.raises(InvalidDocument) as caught:
        await store.read("GameSessions", bad["id"], bad["accountId"])
    assert caught.value.path == "Status"
    page = await store.query("GameSessions", Query(cross_partition=True))
    assert [d["status"] for d in page.items] == [12]  # the model refuses it downstream


async def test_queries_name_native_fields(
    raw: CountingStore, store: FormattedDocumentStore
) -> None:
    for n in range(3):
        await raw.create("GameSessions", fixture("GameSessions", n))
    q = Query(cross_partition=True).where("status", Op.IN, ["InProgress", "Completed"])
    found = [d["id"] for d in (await store.query("GameSessions", q)).items]
    assert sorted(found) == sorted([fixture("GameSessions", n)["id"] for n in (0, 1)])
    assert (
        await store.count(
            "GameSessions", Query(cross_partition=True).where("playerNames", Op.EQ, ["Lena", "Pip"])
        )
        == 1
    )
