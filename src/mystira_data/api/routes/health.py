"""``/healthz`` (the process answers), ``/readyz`` (it can serve) and ``/metrics``.

Readiness is the health model (`mystira_data.health`), the same object `status --json`
prints: per store reachable or not and since when, breaker, cache mode, phase source, writer.
The answer is 503 only when a needed store cannot be reached or no phase is known; a fallback
(the cache in memory, phases from a copy) keeps it 200 and shows in ``fallbacks``.

``/metrics`` is Prometheus text, open by default; ``Api:MetricsAllow`` (CIDRs) restricts it.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from mystira_data import health
from mystira_data.api.problems import forbidden
from mystira_data.api.state import Platform
from mystira_data.metrics.scrape import render

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is up")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Every needed store reachable and the phases loaded")
async def readyz(state: Platform) -> JSONResponse:
    found = await health.check(state.poly)
    body = {"status": "ready" if found.ready else "not ready", "health": found.as_json()}
    return JSONResponse(body, status_code=200 if found.ready else 503)


@router.get("/metrics", summary="Prometheus metrics (mystira_*)", response_class=Response)
async def metrics(state: Platform, request: Request) -> Response:
    client = request.client.host if request.client is not None else ""
    if not state.settings.api.metrics_allowed(client):
        raise forbidden("this address is not in Api:MetricsAllow")
    return Response(await render(state.poly), media_type=CONTENT_TYPE_LATEST)


def routers() -> list[APIRouter]:
    return [router]
