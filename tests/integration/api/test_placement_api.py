"""``GET /admin/v1/placement``: the placement report over HTTP, for operators only."""

from __future__ import annotations

from mystira_data import catalog
from tests.integration.api.conftest import Service

EVIDENCE = {
    "readsPerMin",
    "writesPerMin",
    "docSizeP50",
    "docSizeP99",
    "nestingDepth",
    "updateShare",
    "crossPartitionQueriesPerMin",
    "samples",
    "counts",
}


async def test_the_report_lists_every_container_with_the_traffic_it_served(
    service: Service,
) -> None:
    op = await service.key("operator")
    url = "/api/v1/character-maps"
    assert (await service.http.post(url, headers=op, json={"id": "cm1"})).status_code == 201
    for n in range(3):
        body = {"id": "cm1", "name": f"v{n}"}
        assert (await service.http.put(f"{url}/cm1", headers=op, json=body)).status_code == 200
    assert (await service.http.get(f"{url}/cm1", headers=op)).status_code == 200

    answer = await service.http.get("/admin/v1/placement?window=30", headers=op)
    assert answer.status_code == 200
    body = answer.json()
    assert body["windowMinutes"] == 30
    assert [c["container"] for c in body["containers"]] == list(catalog.BY_NAME)
    for c in body["containers"]:
        assert set(c) == {
            "container",
            "area",
            "phase",
            "recommended",
            "reasons",
            "evidence",
            "flags",
        }
        assert set(c["evidence"]) == EVIDENCE
        assert c["reasons"]["codes"]
    maps = next(c for c in body["containers"] if c["container"] == "CharacterMaps")
    counts = maps["evidence"]["counts"]
    assert (counts["inserts"], counts["updates"]) == (1, 3)
    assert counts["reads"] >= 1
    assert maps["flags"] == []  # four writes are no evidence: MinSamples is 20


async def test_players_are_refused_and_a_bad_window_is_a_problem(service: Service) -> None:
    player = await service.key("player", "acc-1")
    assert (await service.http.get("/admin/v1/placement", headers=player)).status_code == 403
    op = await service.key("operator")
    bad = await service.http.get("/admin/v1/placement?window=0", headers=op)
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
