"""``GET /admin/v1/placement``: the placement report of `mystira placement` (operators and
admins): per container its phase, the catalog's placement and reasons, the recorded
workload and the flags where they disagree."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from mystira_data.api.auth import Operator
from mystira_data.api.routes.admin import PREFIX
from mystira_data.api.state import Platform
from mystira_data.placement.report import collect
from mystira_data.placement_settings import MAX_WINDOW_MINUTES

router = APIRouter(prefix=PREFIX, tags=["admin"])


@router.get("/placement", summary="Placement per container: catalog, evidence, flags")
async def get_placement(
    state: Platform,
    caller: Operator,
    window: Annotated[float | None, Query(gt=0, le=MAX_WINDOW_MINUTES)] = None,
) -> dict[str, Any]:
    """``window``: minutes of evidence (default ``Placement:WindowMinutes``)."""
    report = await collect(state.poly, window_minutes=window)
    return report.as_json()


def routers() -> list[APIRouter]:
    return [router]
