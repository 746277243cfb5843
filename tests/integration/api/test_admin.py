"""The admin API: phases with their guards, status, lag, replication, dead letters, jobs."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from mystira_data import catalog
from mystira_data.polyglot.replication.processor import DeadLetter
from mystira_data.polyglot.state.dead_letters import RelationalDeadLetters
from tests.integration.api.conftest import Service, account


@pytest.fixture(params=["embedded", "cosmos-postgres"])
def pair(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def finished(service: Service, headers: dict[str, str], job: dict[str, Any]) -> Any:
    """The job once it has ended (polled; the bound is a limit, not a speed claim)."""
    for _ in range(2400):
        found = (await service.http.get(f"/admin/v1/jobs/{job['id']}", headers=headers)).json()
        if found["state"] != "running":
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"job {job['id']} still running")


async def test_phases_move_with_the_clis_guards(service: Service) -> None:
    op = await service.key("operator")
    phases = (await service.http.get("/admin/v1/phases", headers=op)).json()["phases"]
    assert set(phases) == set(catalog.BY_NAME)
    assert phases["Accounts"] == {"phase": "CosmosOnly", "pending": None}

    moved = await service.http.put(
        "/admin/v1/phases/Accounts",
        headers=op,
        json={"phase": "DualWriteCosmosRead", "reason": "start"},
    )
    assert moved.status_code == 200
    assert (moved.json()["from"], moved.json()["to"]) == ("CosmosOnly", "DualWriteCosmosRead")
    assert op["Authorization"] not in str(moved.json())
    skip = await service.http.put(
        "/admin/v1/phases/Accounts", headers=op, json={"phase": "PostgresOnly"}
    )
    assert skip.status_code == 409
    forced = await service.http.put(
        "/admin/v1/phases/Accounts",
        headers=op,
        json={"phase": "DualWritePostgresRead", "force": True},
    )
    assert (forced.status_code, forced.json()["errors"][0]["path"]) == (422, "reason")
    unknown = await service.http.put(
        "/admin/v1/phases/Nope", headers=op, json={"phase": "CosmosOnly"}
    )
    assert unknown.status_code == 404
    child_first = await service.http.put(
        "/admin/v1/phases/PlayerScenarioScores", headers=op, json={"phase": "DualWriteCosmosRead"}
    )
    assert child_first.status_code == 409


async def test_status_lag_and_replication(service: Service) -> None:
    op = await service.key("operator")
    await service.http.post("/api/v1/accounts", json=account("a1"), headers=op)
    status = (await service.http.get("/admin/v1/status", headers=op)).json()
    accounts = next(c for c in status["containers"] if c["container"] == "Accounts")
    assert accounts["phase"] == "CosmosOnly"
    assert 1 in accounts["counts"].values()
    lag = (await service.http.get("/admin/v1/lag", headers=op)).json()["lag"]
    assert [x["container"] for x in lag] == [c.name for c in catalog.relational_containers()]
    replication = (await service.http.get("/admin/v1/replication", headers=op)).json()
    assert replication["containers"][0]["into"] is None  # CosmosOnly: nothing to replicate


async def test_dead_letters_list_retry_and_discard(service: Service) -> None:
    op = await service.key("operator")
    made = await service.http.post("/api/v1/accounts", json=account("a1"), headers=op)
    assert made.status_code == 201
    letters = RelationalDeadLetters(service.state.poly.raw_relational, "change-feed")
    now = datetime.now(UTC)
    for id in ("a1", "a9"):
        await letters.add(DeadLetter("Accounts", id, 1, "refused", 5, now, account(id)))
    listed = (await service.http.get("/admin/v1/dead-letters", headers=op)).json()["items"]
    assert sorted(x["entityId"] for x in listed) == ["a1", "a9"]
    by_id = {x["entityId"]: x["id"] for x in listed}

    retried = await service.http.post(f"/admin/v1/dead-letters/{by_id['a1']}/retry", headers=op)
    assert retried.json()["delivered"] is True
    copy = await service.state.poly.raw_relational.read("Accounts", "a1", "a1")
    assert copy["email"] == "a1@example.org"
    dropped = await service.http.delete(f"/admin/v1/dead-letters/{by_id['a9']}", headers=op)
    assert dropped.status_code == 204
    assert (await service.http.get("/admin/v1/dead-letters", headers=op)).json()["items"] == []
    again = await service.http.delete(f"/admin/v1/dead-letters/{by_id['a9']}", headers=op)
    assert again.status_code == 404


async def test_backfill_verify_and_repair_run_as_jobs(service: Service) -> None:
    op = await service.key("operator")
    for i in range(3):
        await service.http.post("/api/v1/accounts", json=account(f"a{i}"), headers=op)
    started = await service.http.post(
        "/admin/v1/backfill", json={"container": "Accounts"}, headers=op
    )
    assert started.status_code == 202
    assert started.headers["location"] == f"/admin/v1/jobs/{started.json()['id']}"
    backfilled = await finished(service, op, started.json())
    assert backfilled["state"] == "succeeded", backfilled
    assert backfilled["result"]["written"] == 3

    await service.http.put(
        "/admin/v1/phases/Accounts", headers=op, json={"phase": "DualWriteCosmosRead"}
    )
    verify = await service.http.post("/admin/v1/verify", json={"container": "Accounts"}, headers=op)
    verified = await finished(service, op, verify.json())
    assert verified["result"]["reports"][0]["clean"] is True
    everything = await finished(
        service, op, (await service.http.post("/admin/v1/verify", json={}, headers=op)).json()
    )
    assert "GameSessions" in everything["result"]["notApplicable"]
    runs = (await service.http.get("/admin/v1/verify-runs?container=Accounts", headers=op)).json()[
        "items"
    ]
    assert runs[0]["clean"] is True
    run = (await service.http.get(f"/admin/v1/verify-runs/{runs[0]['id']}", headers=op)).json()
    assert run["report"]["container"] == "Accounts"

    # Drift the secondary, then repair it from the primary.
    await service.state.poly.raw_relational.delete("Accounts", "a1", "a1")
    repair = await service.http.post("/admin/v1/repair", json={"container": "Accounts"}, headers=op)
    repaired = await finished(service, op, repair.json())
    assert repaired["result"]["repaired"] == 1, repaired
    jobs = (await service.http.get("/admin/v1/jobs", headers=op)).json()["items"]
    assert {j["kind"] for j in jobs} == {"backfill", "verify", "repair"}
    assert all(j["startedBy"] for j in jobs)


async def test_job_requests_are_checked(service: Service) -> None:
    op = await service.key("operator")
    for path, body in (
        ("/admin/v1/verify", {"container": "Scenarios"}),
        ("/admin/v1/repair", {"container": "Nope"}),
        ("/admin/v1/backfill", {"container": "Accounts", "batchSize": 0}),
        ("/admin/v1/backfill", {"container": "Accounts", "to": "sideways"}),
    ):
        answer = await service.http.post(path, json=body, headers=op)
        assert answer.status_code == 422, (path, body)
    assert (await service.http.get("/admin/v1/jobs/nope", headers=op)).status_code == 404
