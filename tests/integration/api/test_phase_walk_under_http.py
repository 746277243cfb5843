"""Phases walked forward and back over the admin API while HTTP clients write: every
acknowledged write is there at the end, in its last acknowledged version."""

from __future__ import annotations

import asyncio

import pytest

from mystira_data.settings import Phase
from tests.integration.api.conftest import Service, account

FORWARD = [Phase.DUAL_WRITE_COSMOS_READ, Phase.DUAL_WRITE_POSTGRES_READ, Phase.POSTGRES_ONLY]
WALK = [*FORWARD, *reversed([Phase.COSMOS_ONLY, *FORWARD[:-1]])]
WRITERS = 4


@pytest.fixture(params=["embedded", "cosmos-postgres"])
def pair(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def test_no_acknowledged_write_is_lost_across_a_phase_walk(service: Service) -> None:
    op = await service.key("operator")
    acked: dict[str, str] = {}  # id → the display name last acknowledged
    done = asyncio.Event()

    async def writer(w: int) -> None:
        n = 0
        while not done.is_set() or n < 5:
            doc = account(f"w{w}-{n}")
            made = await service.http.post("/api/v1/accounts", json=doc, headers=op)
            assert made.status_code == 201, made.text
            acked[doc["id"]] = ""
            named = {**made.json(), "displayName": f"v{n}"}
            put = await service.http.put(
                f"/api/v1/accounts/{doc['id']}",
                json=named,
                headers={**op, "If-Match": made.headers["etag"]},
            )
            assert put.status_code == 200, put.text
            acked[doc["id"]] = f"v{n}"
            n += 1

    async def walk() -> None:
        for phase in WALK:
            await asyncio.sleep(0.2)  # let writes land in each phase
            moved = await service.http.put(
                "/admin/v1/phases/Accounts",
                headers=op,
                json={"phase": phase.value, "force": True, "reason": "walk under HTTP writes"},
            )
            assert moved.status_code == 200, moved.text
        done.set()

    await asyncio.gather(walk(), *(writer(w) for w in range(WRITERS)))
    phases = (await service.http.get("/admin/v1/phases", headers=op)).json()["phases"]
    assert phases["Accounts"]["phase"] == "CosmosOnly"
    assert len(acked) >= WRITERS * 5
    for id, name in acked.items():
        read = await service.http.get(f"/api/v1/accounts/{id}", headers=op)
        assert (read.status_code, read.json()["displayName"]) == (200, name), id
