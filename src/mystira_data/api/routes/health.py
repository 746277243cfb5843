"""``/healthz`` (the process answers) and ``/readyz`` (it can serve: stores, cache, phases).

Readiness is honest: a cache that fell back to memory, or phases read from a copy, show in
the body; the answer is 503 only when a store cannot be reached or no phase is known.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from mystira_data.api.state import ApiState, Platform
from mystira_data.catalog import CONTROL_CONTAINER
from mystira_data.errors import MystiraError
from mystira_data.query import Query

router = APIRouter(tags=["health"])
# A blob name looked up (never written) to see that blob storage answers.
READINESS_PROBE = "readiness-probe"


@router.get("/healthz", summary="The process is up")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Every store reachable and the phases loaded")
async def readyz(state: Platform) -> JSONResponse:
    checks = {
        "documents": await _check(_ping_documents(state)),
        "relational": await _check(state.poly.raw_relational.ping()),
        "phases": await _check(_phases(state)),
    }
    blobs = state.poly.stores.blobs
    if blobs is not None:
        checks["blobs"] = await _check(blobs.exists(READINESS_PROBE))
    ready = all(c["ok"] for c in checks.values())
    body: dict[str, Any] = {
        "status": "ready" if ready else "not ready",
        "checks": checks,
        "cache": _cache_mode(state),
        "phaseSource": state.poly.control.source.value,
    }
    return JSONResponse(body, status_code=200 if ready else 503)


async def _check(work: Any) -> dict[str, Any]:
    try:
        await work
    except MystiraError as exc:
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True}


async def _ping_documents(state: ApiState) -> None:
    # The control container always exists: counting it touches the store and nothing else.
    await state.poly.stores.documents.count(CONTROL_CONTAINER, Query(cross_partition=True))


async def _phases(state: ApiState) -> None:
    await state.poly.control.all_phases()


def _cache_mode(state: ApiState) -> str:
    cache = state.poly.stores.cache
    return "off" if cache is None else cache.stats().mode


def routers() -> list[APIRouter]:
    return [router]
