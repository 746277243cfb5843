"""``GET /admin/v1/audit``: the audit log, newest first (operators and admins)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from mystira_data.api.auth import Operator
from mystira_data.api.routes.admin import PREFIX, known
from mystira_data.api.state import Platform
from mystira_data.polyglot.state.audit_log import entries

router = APIRouter(prefix=PREFIX, tags=["admin"])


@router.get("/audit", summary="Audit log: phase moves with their gate evidence, repairs, keys")
async def list_audit(
    state: Platform,
    caller: Operator,
    container: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> dict[str, Any]:
    if container is not None:
        known(container)
    return {"items": await entries(state.poly.raw_relational, container, limit)}


def routers() -> list[APIRouter]:
    return [router]
