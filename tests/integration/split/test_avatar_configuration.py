"""AvatarConfigurationFiles as rows: its age group → avatar ids mapping one row per avatar,
through the relational store and through the phases."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from mystira_data.polyglot.layer import Polyglot
from mystira_data.relational import RelationalStore
from mystira_data.relational.tables import avatar_configuration_avatars as avatars
from mystira_data.settings import Phase

A = "AvatarConfigurationFiles"
PATH = [
    Phase.DUAL_WRITE_COSMOS_READ,
    Phase.DUAL_WRITE_POSTGRES_READ,
    Phase.POSTGRES_ONLY,
    Phase.DUAL_WRITE_POSTGRES_READ,
    Phase.DUAL_WRITE_COSMOS_READ,
    Phase.COSMOS_ONLY,
]


def configuration(id: str, **groups: list[str]) -> dict[str, Any]:
    return {
        "id": id,
        "ageGroupAvatars": {k.replace("_", "-"): v for k, v in groups.items()},
        "createdAt": "2026-01-01T00:00:00Z",
        "updatedAt": "2026-01-01T00:00:00Z",
    }


async def avatar_rows(store: RelationalStore) -> list[tuple[str, str, int, str]]:
    stmt = sa.select(avatars).order_by(avatars.c.file_id, avatars.c.key, avatars.c.position)
    async with store.reading() as conn:
        return [tuple(r) for r in await conn.execute(stmt)]  # type: ignore[misc]


async def test_mapping_round_trips_as_rows(store: RelationalStore) -> None:
    doc = configuration("avatar-configuration", **{"6_9": ["a3", "a1"], "1_2": []})
    doc["ageGroupAvatars"]["10-12"] = ["b1"]
    await store.upsert(A, doc)
    read = await store.read(A, "avatar-configuration", "avatar-configuration")
    assert read["ageGroupAvatars"] == {"1-2": [], "10-12": ["b1"], "6-9": ["a3", "a1"]}
    assert await avatar_rows(store) == [
        ("avatar-configuration", "1-2", -1, None),  # an empty list keeps its key
        ("avatar-configuration", "10-12", 0, "b1"),
        ("avatar-configuration", "6-9", 0, "a3"),
        ("avatar-configuration", "6-9", 1, "a1"),
    ]
    doc["ageGroupAvatars"] = {"6-9": ["a1"]}
    await store.upsert(A, doc)
    assert await avatar_rows(store) == [("avatar-configuration", "6-9", 0, "a1")]
    await store.delete(A, "avatar-configuration", "avatar-configuration")
    assert await avatar_rows(store) == []


async def test_walks_every_phase_and_back_verifying_clean(poly: Polyglot) -> None:
    repo = poly.repository
    await repo.upsert(A, configuration("avatar-configuration", **{"6_9": ["a1", "a2"]}))
    for step, phase in enumerate(PATH):
        await poly.control.set(A, phase, force=True, reason="avatar walk")
        groups = {"6-9": [f"a{n}" for n in range(step + 1)], "10-12": [f"s{step}"], "1-2": []}
        written = await repo.upsert(
            A, {**configuration("avatar-configuration"), "ageGroupAvatars": groups}
        )
        read = await repo.read(A, "avatar-configuration", "avatar-configuration")
        assert (read["ageGroupAvatars"], read["_version"]) == (groups, written["_version"])
        await poly.router.secondary.drain()
        await poly.replicate_once(A)
        if phase not in (Phase.COSMOS_ONLY, Phase.POSTGRES_ONLY):
            report = await poly.verify(A, settle_s=0)
            assert report.clean, report.differences
