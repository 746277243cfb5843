"""``/admin/v1/controls`` on PostgreSQL: the exact contract the console codes against, the
operator role, 404/422 problems, audit entries with the key id, the metrics, and backfill
job progress with an ETA."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from mystira_data import catalog
from mystira_data.api.auth.keys import key_id_of
from tests.integration.api.conftest import Service
from tests.integration.api.test_metrics import scrape, value
from tests.integration.consistency.data import account, put_all

pytestmark = pytest.mark.parametrize("pair", ["sqlite-postgres"], indirect=True)
URL = "/admin/v1/controls"
C_KEYS = {"container", "task", "paused", "rateLimit", "maxLagSeconds", "batchSize",
          "concurrency", "reason", "updatedBy", "updatedAt", "state"}


def actor(headers: dict[str, str]) -> str:
    return f"key:{key_id_of(headers['Authorization'].removeprefix('Bearer '))}"


async def test_operators_read_and_change_controls_and_every_change_is_audited(
    service: Service,
) -> None:
    op = await service.key("operator")
    put = await service.http.put(f"{URL}/GameSessions/backfill", headers=op,
                                 json={"rateLimit": 50, "batchSize": 200, "reason": "night"})
    assert put.status_code == 200, put.text
    c = put.json()
    assert set(c) == C_KEYS
    assert (c["container"], c["task"], c["paused"], c["rateLimit"], c["batchSize"]) == (
        "GameSessions", "backfill", False, 50.0, 200)
    assert (c["maxLagSeconds"], c["concurrency"], c["state"]) == (None, None, None)
    assert (c["reason"], c["updatedBy"]) == ("night", actor(op))
    paused = await service.http.put(f"{URL}/GameSessions/replication", headers=op,
                                    json={"paused": True, "reason": "incident"})
    assert paused.json()["paused"] is True
    cleared = await service.http.put(f"{URL}/GameSessions/backfill", headers=op,
                                     json={"rateLimit": None, "reason": "day"})
    assert (cleared.json()["rateLimit"], cleared.json()["batchSize"]) == (None, 200)

    every = (await service.http.get(URL, headers=op)).json()["controls"]
    assert set(every) == {c.name for c in catalog.relational_containers()}
    assert all(set(c) == C_KEYS for tasks in every.values() for c in tasks.values())
    one = (await service.http.get(f"{URL}/GameSessions", headers=op)).json()
    assert set(one) == {"replication", "backfill"}
    assert (one["replication"]["paused"], one["backfill"]["reason"]) == (True, "day")

    log = await service.http.get("/admin/v1/audit?container=GameSessions", headers=op)
    assert [(e["action"], e["reason"], e["actor"]) for e in log.json()["items"]] == [
        ("throttle", "day", actor(op)),
        ("pause", "incident", actor(op)),
        ("throttle", "night", actor(op)),
    ]
    scraped = await scrape(service)
    held = {"container": "GameSessions", "task": "replication"}
    assert value(scraped, "mystira_throttled", **held) == 1
    assert value(scraped, "mystira_throttle_reason", **held, reason="paused") == 1
    assert value(scraped, "mystira_throttled", container="Accounts", task="backfill") == 0


BAD: list[tuple[str, dict[str, Any], int, str | None]] = [
    ("GameSessions/sideways", {"paused": True, "reason": "r"}, 422, None),
    ("GameSessions/backfill", {"paused": True}, 422, "reason"),
    ("GameSessions/backfill", {"paused": True, "reason": "  "}, 422, "reason"),
    ("GameSessions/backfill", {"rateLimit": 0, "reason": "r"}, 422, "rateLimit"),
    ("GameSessions/backfill", {"paused": "yes", "reason": "r"}, 422, "paused"),
    ("GameSessions/backfill", {"batchSize": 2.5, "reason": "r"}, 422, "batchSize"),
    ("GameSessions/backfill", {"owner": "me", "reason": "r"}, 422, "owner"),
    ("GameSessions/replication", {"maxLagSeconds": 3, "reason": "r"}, 422, "maxLagSeconds"),
    ("Nope/backfill", {"paused": True, "reason": "r"}, 404, None),
    ("Badges/backfill", {"paused": True, "reason": "r"}, 404, None),
]


async def test_bad_requests_are_problems_and_change_nothing(service: Service) -> None:
    op = await service.key("operator")
    for path, body, status, field in BAD:
        answer = await service.http.put(f"{URL}/{path}", headers=op, json=body)
        assert answer.status_code == status, (path, body, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
        if field is not None:
            assert field in {e["path"].split(".")[-1] for e in answer.json()["errors"]}, body
    assert (await service.http.get(f"{URL}/Nope", headers=op)).status_code == 404
    log = (await service.http.get("/admin/v1/audit", headers=op)).json()["items"]
    assert [e["action"] for e in log] == ["key.create"]  # no control change was made


async def test_no_key_is_401_and_a_player_key_403(service: Service) -> None:
    player = await service.key("player", "acc-1")
    body = {"paused": True, "reason": "r"}
    assert (await service.http.get(URL)).status_code == 401
    assert (await service.http.put(f"{URL}/Accounts/backfill", json=body)).status_code == 401
    assert (await service.http.get(URL, headers=player)).status_code == 403
    refused = await service.http.put(f"{URL}/Accounts/backfill", json=body, headers=player)
    assert refused.status_code == 403
    assert (await service.http.get(f"{URL}/Accounts", headers=player)).status_code == 403


async def test_a_backfill_job_reports_progress_with_rate_and_eta(service: Service) -> None:
    op = await service.key("operator")
    poly = service.state.poly
    await put_all(poly.stores.documents, "Accounts", (account(i) for i in range(300)))
    await service.http.put(f"{URL}/Accounts/backfill", headers=op,
                           json={"batchSize": 50, "rateLimit": 600, "reason": "paced"})
    started = await service.http.post("/admin/v1/backfill", headers=op,
                                      json={"container": "Accounts"})
    assert started.status_code == 202
    job_url = f"/admin/v1/jobs/{started.json()['id']}"
    seen: list[dict[str, Any]] = []
    for _ in range(200):
        job = (await service.http.get(job_url, headers=op)).json()
        if job["progress"]:
            seen.append(job["progress"])
        if job["state"] != "running":
            break
        await asyncio.sleep(0.05)
    assert job["state"] == "succeeded", job
    final = job["progress"]
    assert (final["done"], final["total"], final["read"]) == (300, 300, 300)
    assert final["rate"] > 0
    assert final["etaSeconds"] is not None
    assert any(p["done"] < 300 and p["etaSeconds"] > 0 for p in seen)
    assert any(p["state"] == "throttled: rate 600/s" for p in seen)


async def test_a_verify_job_reports_documents_compared_with_rate_and_eta(service: Service) -> None:
    op = await service.key("operator")
    poly = service.state.poly
    await put_all(poly.stores.documents, "Accounts", (account(i) for i in range(1500)))
    await put_all(poly.stores.relational, "Accounts", (account(i) for i in range(1500)))
    moved = await service.http.put("/admin/v1/phases/Accounts", headers=op,
                                   json={"phase": "DualWriteCosmosRead"})
    assert moved.status_code == 200, moved.text
    started = await service.http.post("/admin/v1/verify", headers=op,
                                      json={"container": "Accounts"})
    job_url = f"/admin/v1/jobs/{started.json()['id']}"
    for _ in range(400):
        job = (await service.http.get(job_url, headers=op)).json()
        if job["state"] != "running":
            break
        await asyncio.sleep(0.05)
    assert job["state"] == "succeeded", job
    assert job["result"]["reports"][0]["clean"] is True
    final = job["progress"]
    assert (final["container"], final["done"], final["total"]) == ("Accounts", 1500, 1500)
    assert final["containers"] == {"done": 0, "total": 1}
    assert final["rate"] > 0
    assert final["etaSeconds"] == 0
