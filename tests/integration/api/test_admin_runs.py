"""`GET /admin/v1/runs/{id}`: a shared run's progress, as `--status RUN --json` prints it."""

from __future__ import annotations

from mystira_data.polyglot.runs.record import RunKind
from mystira_data.polyglot.runs.start import start_run
from mystira_data.polyglot.state.runs import RelationalRunStore
from tests.integration.api.conftest import Service, account


async def test_a_runs_progress_is_served_to_operators(service: Service) -> None:
    poly = service.state.poly
    for i in range(3):
        await poly.documents.upsert("Accounts", {**account(f"a{i}"), "_version": 1})
    run = await start_run(
        poly, RelationalRunStore(poly.raw_relational), RunKind.BACKFILL, "Accounts", segments=2
    )
    op, player = await service.key("operator"), await service.key("player", "a0")
    shown = (await service.http.get(f"/admin/v1/runs/{run.id}", headers=op)).json()
    assert (shown["run"], shown["status"], shown["state"]) == (run.id, "running", "running")
    assert (shown["done"], shown["total"], shown["segmentsDone"]) == (0, 3, 0)
    assert {o["owner"] for o in shown["owners"]} == {"unclaimed"}
    missing = await service.http.get("/admin/v1/runs/run-nope", headers=op)
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    forbidden = await service.http.get(f"/admin/v1/runs/{run.id}", headers=player)
    assert forbidden.status_code == 403
