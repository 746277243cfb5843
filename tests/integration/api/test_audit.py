"""The admin API refuses a gated move as a 409 problem naming the gates, and audits moves and
key changes with the caller's key id; `GET /admin/v1/audit` reads the log (operators)."""

from __future__ import annotations

from mystira_data.api.auth.keys import key_id_of
from tests.integration.api.conftest import Service


def key_id(headers: dict[str, str]) -> str:
    found = key_id_of(headers["Authorization"].removeprefix("Bearer "))
    assert found is not None
    return found


async def test_refusals_name_the_gates_and_moves_are_audited(service: Service) -> None:
    op = await service.key("operator")
    url = "/admin/v1/phases/Accounts"
    started = await service.http.put(url, headers=op, json={"phase": "DualWriteCosmosRead"})
    assert started.status_code == 200
    refused = await service.http.put(url, headers=op, json={"phase": "DualWritePostgresRead"})
    assert refused.status_code == 409
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "gate 2 (verify): no verify has run" in refused.json()["detail"]
    assert refused.json()["errors"] == [
        {"path": "gates.verify", "message": "no verify has run for this container"}
    ]
    forced = await service.http.put(
        url, headers=op, json={"phase": "DualWritePostgresRead", "force": True, "reason": "drill"}
    )
    assert forced.status_code == 200

    log = await service.http.get("/admin/v1/audit?container=Accounts", headers=op)
    moved, first = log.json()["items"]
    assert {moved["actor"], first["actor"]} == {f"key:{key_id(op)}"}
    assert (moved["forced"], moved["detail"]["to"]) == (True, "DualWritePostgresRead")
    assert moved["evidence"]["verify"]["passed"] is False
    player = await service.key("player", "acc-1")
    assert (await service.http.get("/admin/v1/audit", headers=player)).status_code == 403


async def test_key_create_and_revoke_are_audited(service: Service) -> None:
    admin = await service.key("admin")
    made = await service.http.post("/admin/v1/keys", headers=admin, json={"role": "operator"})
    new_id = made.json()["keyId"]
    assert (await service.http.delete(f"/admin/v1/keys/{new_id}", headers=admin)).status_code == 204
    items = (await service.http.get("/admin/v1/audit?limit=2", headers=admin)).json()["items"]
    assert [(e["action"], e["detail"]["keyId"]) for e in items] == [
        ("key.revoke", new_id),
        ("key.create", new_id),
    ]
    assert {e["actor"] for e in items} == {f"key:{key_id(admin)}"}
    assert "key" not in items[1]["detail"]  # the key itself is never logged
