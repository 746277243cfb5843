"""Seeding a real (embedded SQLite) document store: idempotency, versions, demo contents."""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from mystira_data import catalog
from mystira_data.documents.sqlite import SqliteDocumentStore
from mystira_data.domain.codec import codec_for
from mystira_data.fields import SYSTEM_FIELDS
from mystira_data.query import Query
from mystira_data.seed.demo import seed_demo
from mystira_data.seed.master import load_master, seed_master

FIXTURE = Path(__file__).parents[2] / "unit" / "seed" / "fixtures" / "master"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteDocumentStore]:
    async with SqliteDocumentStore(tmp_path / "docs.db", catalog.partition_keys()) as opened:
        yield opened


async def stored_counts(store: SqliteDocumentStore) -> dict[str, int]:
    return {
        c.name: await store.count(c.name, Query(cross_partition=True))
        for c in catalog.document_containers()
    }


async def dump(store: SqliteDocumentStore, container: str) -> dict[str, dict[str, Any]]:
    return {d["id"]: d async for d in store.read_all(container, include_deleted=True)}


async def test_seeding_master_twice_is_idempotent(store: SqliteDocumentStore) -> None:
    first = await seed_master(store, None)
    before = {name: await dump(store, name) for name in first}
    second = await seed_master(store, None)
    assert first == second
    counts = await stored_counts(store)
    assert {name: counts[name] for name in first} == first
    # Nothing was rewritten: same etags, still version 1.
    for name in first:
        after = await dump(store, name)
        assert after == before[name]
        assert {d["_version"] for d in after.values()} == {1}


async def test_reseeding_bumps_only_changed_documents(
    store: SqliteDocumentStore, tmp_path: Path
) -> None:
    source = tmp_path / "master"
    shutil.copytree(FIXTURE, source)
    await seed_master(store, source)
    original = await store.read("Badges", "3-5-patience-bronze-1", "3-5-patience-bronze-1")

    badge_file = source / "Badges" / "3-5.json"
    data = json.loads(badge_file.read_text())
    data["Badges"][0]["Title"] = "Renamed Pebble"
    badge_file.write_text(json.dumps(data))
    await seed_master(store, source)

    changed = await store.read("Badges", "3-5-patience-bronze-1", "3-5-patience-bronze-1")
    assert changed["title"] == "Renamed Pebble"
    assert changed["_version"] == original["_version"] + 1
    assert changed["createdAt"] == original["createdAt"]
    untouched = await store.read("Badges", "3-5-patience-bronze-2", "3-5-patience-bronze-2")
    assert untouched["_version"] == 1


async def test_reseeding_revives_a_deleted_document_above_its_tombstone(
    store: SqliteDocumentStore,
) -> None:
    await seed_master(store, FIXTURE)
    tombstone = await store.delete("CompassAxes", "patience", "patience")
    await seed_master(store, FIXTURE)
    revived = await store.read("CompassAxes", "patience", "patience")
    assert revived["_version"] == tombstone["_version"] + 1
    assert not revived.get("_deleted")


async def test_seeded_master_documents_decode_and_match_the_files(
    store: SqliteDocumentStore,
) -> None:
    expected = load_master(FIXTURE)
    await seed_master(store, FIXTURE)
    for name, docs in expected.items():
        model = catalog.get(name).model
        by_id = {d["id"]: codec_for(model).decode(d) async for d in store.read_all(name)}
        assert by_id == {d.id: d for d in docs}


async def test_demo_fills_every_container(store: SqliteDocumentStore) -> None:
    counts = await seed_demo(store, accounts=12, random_seed=3)
    stored = await stored_counts(store)
    assert stored == counts
    assert all(stored.values()), stored
    for spec in catalog.document_containers():
        async for doc in store.read_all(spec.name):
            assert doc["_version"] == 1
            codec_for(spec.model).decode(doc)


async def test_demo_is_identical_across_stores_and_reruns(tmp_path: Path) -> None:
    async def contents(path: Path, runs: int) -> dict[str, Any]:
        async with SqliteDocumentStore(path, catalog.partition_keys()) as store:
            for _ in range(runs):
                await seed_demo(store, accounts=8, random_seed=11)
            return {
                spec.name: sorted(
                    [
                        {k: v for k, v in d.items() if k not in SYSTEM_FIELDS}
                        async for d in store.read_all(spec.name)
                    ],
                    key=lambda d: str(d["id"]),
                )
                for spec in catalog.document_containers()
            }

    once = await contents(tmp_path / "a.db", 1)
    twice = await contents(tmp_path / "b.db", 2)
    assert once == twice


async def test_demo_references_resolve_inside_the_store(store: SqliteDocumentStore) -> None:
    await seed_demo(store, accounts=10, random_seed=4)
    accounts = await dump(store, "Accounts")
    profiles = await dump(store, "UserProfiles")
    scenarios = await dump(store, "Scenarios")
    badges = await dump(store, "Badges")
    pairs: set[tuple[str, str]] = set()
    async for score in store.read_all("PlayerScenarioScores"):
        pair = (score["profileId"], score["scenarioId"])
        assert pair not in pairs
        pairs.add(pair)
    async for session in store.read_all("GameSessions"):
        assert session["accountId"] in accounts
        assert profiles[session["profileId"]]["accountId"] == session["accountId"]
        assert session["scenarioId"] in scenarios
    for profile in profiles.values():
        assert all(b["badgeId"] in badges for b in profile["earnedBadges"])


async def test_demo_without_master_uses_the_given_source_for_references(
    store: SqliteDocumentStore,
) -> None:
    counts = await seed_demo(
        store, accounts=6, random_seed=2, source_dir=FIXTURE, include_master=False
    )
    assert "Badges" not in counts
    assert await store.count("Badges", Query(cross_partition=True)) == 0
    axes = {"Patience", "Wonder & Drive"}
    async for scenario in store.read_all("Scenarios"):
        assert set(scenario["coreAxes"]) <= axes
        assert scenario["ageGroup"] in {"3-5", "10-12"}
