"""UserProfiles (split) over HTTP: one logical document to callers in every phase, its badges
as rows once PostgreSQL holds the core, verify clean through the admin API, and an account's
deletion taking profiles and badges with it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.api.conftest import Service, account
from tests.integration.api.test_admin import finished
from tests.integration.split.profiles import badge, profile
from tests.integration.split.test_split_rows import badge_rows

FORWARD = ["DualWriteCosmosRead", "DualWritePostgresRead", "PostgresOnly"]


@pytest.fixture(params=["embedded", "cosmos-postgres"])
def pair(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def move(service: Service, op: dict[str, str], container: str, phase: str) -> None:
    moved = await service.http.put(
        f"/admin/v1/phases/{container}",
        headers=op,
        json={"phase": phase, "force": True, "reason": "split walk over HTTP"},
    )
    assert moved.status_code == 200, moved.text


async def job(service: Service, op: dict[str, str], kind: str, container: str) -> Any:
    body = {"container": container}
    started = await service.http.post(f"/admin/v1/{kind}", json=body, headers=op)
    assert started.status_code == 202, started.text
    ended = await finished(service, op, started.json())
    assert ended["state"] == "succeeded", ended
    return ended["result"]


async def test_a_profile_stays_one_document_through_the_walk(service: Service) -> None:
    op = await service.key("operator")
    assert (await service.http.post("/api/v1/accounts", json=account("a1"), headers=op)).is_success
    made = await service.http.post("/api/v1/user-profiles", json=profile("p1", "a1", 2), headers=op)
    assert made.status_code == 201, made.text
    await job(service, op, "backfill", "Accounts")
    await job(service, op, "backfill", "UserProfiles")

    kept = ["config-0", "config-1"]  # the badges the profile holds
    for step, phase in enumerate(FORWARD, start=2):
        await move(service, op, "Accounts", phase)  # a child never leads its parent
        await move(service, op, "UserProfiles", phase)
        current = (await service.http.get("/api/v1/user-profiles/p1", headers=op)).json()
        # Drop the oldest badge, earn a new one: both the core and the document part change.
        kept = [*kept[1:], f"config-{step}"]
        badges = [badge("p1", int(c.removeprefix("config-"))) for c in kept]
        body = {**current, "earnedBadges": badges, "bio": f"bio in {phase}"}
        put = await service.http.put("/api/v1/user-profiles/p1", json=body, headers=op)
        assert put.status_code == 200, put.text

        read = (await service.http.get("/api/v1/user-profiles/p1", headers=op)).json()
        assert [b["badgeConfigurationId"] for b in read["earnedBadges"]] == kept, phase
        assert (read["bio"], read["pronouns"]) == (f"bio in {phase}", "they/them"), phase
        rows = await badge_rows(service.state.poly.raw_relational, "p1")
        assert rows == [f"p1-badge-{c.removeprefix('config-')}" for c in kept], phase
        if phase != "PostgresOnly":  # verify compares the two stores while both take writes
            verified = await job(service, op, "verify", "UserProfiles")
            assert verified["reports"][0]["clean"] is True, (phase, verified)

    deleted = await service.http.delete("/api/v1/accounts/a1", headers=op)
    assert deleted.status_code == 204, deleted.text
    gone = await service.http.get("/api/v1/user-profiles/p1", headers=op)
    assert gone.status_code == 404, gone.text
    assert await badge_rows(service.state.poly.raw_relational, "p1") == []
