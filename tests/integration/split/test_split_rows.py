"""UserProfiles in the relational store: the core row plus one user_badges row per badge."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from mystira_data.errors import InvalidDocument, InvalidQuery
from mystira_data.query import Op, Query
from mystira_data.relational import RelationalStore
from mystira_data.relational.tables import user_badges, user_profiles

from ..relational.docs import account
from .profiles import CORE, badge, profile

P = "UserProfiles"


async def badge_rows(store: RelationalStore, profile_id: str) -> list[str]:
    stmt = (
        sa.select(user_badges.c.id)
        .where(user_badges.c.user_profile_id == profile_id)
        .order_by(user_badges.c.position)
    )
    async with store.reading() as conn:
        return [str(r[0]) for r in await conn.execute(stmt)]


@pytest.mark.parametrize("badges", [0, 1, 5])
async def test_core_and_badges_round_trip(store: RelationalStore, badges: int) -> None:
    await store.upsert("Accounts", account("acc-1"))
    written = await store.upsert(P, profile("p1", "acc-1", badges))
    assert written["pronouns"] == "they/them"  # the write answers the whole document (outbox)
    read = await store.read(P, "p1", "p1")
    assert set(read) - {"_version", "_etag"} == CORE  # only the core lives here
    assert (read["name"], read["accountId"]) == ("Player p1", "acc-1")
    assert [b["id"] for b in read["earnedBadges"]] == [f"p1-badge-{n}" for n in range(badges)]
    assert [b["triggerValue"] for b in read["earnedBadges"]] == [1.5 * n for n in range(badges)]
    assert await badge_rows(store, "p1") == [f"p1-badge-{n}" for n in range(badges)]
    async with store.reading() as conn:
        extra = (await conn.execute(sa.select(user_profiles.c._extra))).scalar_one()
    assert extra == {}  # no document-part field in the row


async def test_badges_added_removed_and_reordered(store: RelationalStore) -> None:
    await store.upsert("Accounts", account("acc-1"))
    doc = profile("p1", "acc-1", 3)
    await store.upsert(P, doc)
    doc["earnedBadges"] = [doc["earnedBadges"][2], badge("p1", 7), doc["earnedBadges"][0]]
    await store.upsert(P, doc)
    assert await badge_rows(store, "p1") == ["p1-badge-2", "p1-badge-7", "p1-badge-0"]
    # Two badges swap their configuration ids in one write (the unique key holds).
    a, b = doc["earnedBadges"][0], doc["earnedBadges"][1]
    a["badgeConfigurationId"], b["badgeConfigurationId"] = "config-7", "config-2"
    await store.upsert(P, doc)
    read = await store.read(P, "p1", "p1")
    assert [x["badgeConfigurationId"] for x in read["earnedBadges"]] == [
        "config-7",
        "config-2",
        "config-0",
    ]
    doc["earnedBadges"] = []
    await store.upsert(P, doc)
    assert await badge_rows(store, "p1") == []


async def test_guarded_merge_writes_badges_only_of_applied_rows(store: RelationalStore) -> None:
    await store.upsert("Accounts", account("acc-1"))
    newer = {**profile("p1", "acc-1", 2), "_version": 5}
    older = {**profile("p1", "acc-1", 4), "_version": 3}
    assert await store.upsert_if_newer(P, [newer], outbox=False) == 1
    assert await store.upsert_if_newer(P, [older], outbox=False) == 0
    assert await badge_rows(store, "p1") == ["p1-badge-0", "p1-badge-1"]
    batch = [{**profile(f"q{n}", "acc-1", n), "_version": 1} for n in range(3)]
    assert await store.bulk_upsert_if_newer(P, batch) == 3
    assert await badge_rows(store, "q2") == ["q2-badge-0", "q2-badge-1"]
    q = Query(cross_partition=True).where("accountId", Op.EQ, "acc-1")
    found = {d["id"]: len(d["earnedBadges"]) for d in (await store.query(P, q)).items}
    assert found == {"p1": 2, "q0": 0, "q1": 1, "q2": 2}


async def test_tombstone_and_account_purge_remove_badges(store: RelationalStore) -> None:
    await store.upsert("Accounts", account("acc-1"))
    await store.upsert(P, profile("p1", "acc-1", 2))
    await store.upsert(P, profile("p2", "acc-1", 3))
    tomb = await store.delete(P, "p1", "p1")
    assert (tomb["_deleted"], tomb["earnedBadges"]) == (True, [])
    assert await badge_rows(store, "p1") == []
    await store.purge("Accounts", "acc-1", "acc-1")  # the V002-style cascade of the FK
    assert await store.read_stored(P, "p2", "p2") is None
    assert await badge_rows(store, "p2") == []


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"badgeConfigurationId": "config-0"}, "earnedBadges[1].badgeConfigurationId"),
        ({"id": "p1-badge-0"}, "earnedBadges[1].id"),
        ({"userProfileId": "someone-else"}, "earnedBadges[1].userProfileId"),
    ],
)
async def test_badges_the_table_cannot_hold_are_refused(
    store: RelationalStore, change: dict[str, str], path: str
) -> None:
    doc = profile("p1", None, 2)
    doc["earnedBadges"][1].update(change)
    with pytest.raises(InvalidDocument) as caught:
        await store.upsert(P, doc)
    assert caught.value.path == path


async def test_a_query_on_the_document_part_is_refused(store: RelationalStore) -> None:
    await store.upsert(P, profile("p1", None, 1))
    with pytest.raises(InvalidQuery, match="document part of UserProfiles"):
        await store.query(P, Query(cross_partition=True).where("pronouns", Op.EQ, "they/them"))
