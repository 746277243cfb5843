"""Backfill and verify runs shared by workers (`polyglot/runs`): their progress under
``/runs/{id}``, as `mystira backfill|verify --status RUN --json` prints it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from mystira_data.api.auth import Operator
from mystira_data.api.routes.admin import PREFIX
from mystira_data.api.state import Platform
from mystira_data.errors import NotFound
from mystira_data.polyglot.runs.progress import RunProgress
from mystira_data.polyglot.state.runs import RelationalRunStore

__all__ = ["routers"]

router = APIRouter(prefix=PREFIX, tags=["admin runs"])


@router.get("/runs/{run_id}", summary="A shared run's progress, ETA and segment owners")
async def get_run(run_id: str, state: Platform, caller: Operator) -> dict[str, Any]:
    store = RelationalRunStore(state.poly.raw_relational)
    run = await store.run(run_id)
    if run is None:
        raise NotFound("runs", run_id)
    return RunProgress.of(run, await store.segments(run_id)).as_json()


def routers() -> list[APIRouter]:
    return [router]
