"""Long admin operations as jobs: verify, repair, backfill; their state under ``/jobs``.

``POST`` answers 202 with the job (``Location: /admin/v1/jobs/{id}``) at once; the work goes
on in this instance and its progress and result are kept in the store for every instance.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from mystira_data import catalog
from mystira_data.api.auth import Operator
from mystira_data.api.jobs import Job, Progress, Work
from mystira_data.api.listing import RowId
from mystira_data.api.problems import invalid
from mystira_data.api.routes.admin import PREFIX, Body
from mystira_data.api.state import ApiState, Platform
from mystira_data.errors import NotFound
from mystira_data.polyglot.consistency.backfill import backfill, pending_total
from mystira_data.polyglot.consistency.repair import repair_container
from mystira_data.polyglot.consistency.targets import one_copy
from mystira_data.polyglot.consistency.verify import VerifyReport
from mystira_data.polyglot.controls.progress import Progress as Copied
from mystira_data.polyglot.controls.record import Task
from mystira_data.polyglot.phase.rules import Side
from mystira_data.polyglot.state.audit_log import key_actor
from mystira_data.polyglot.state.verify_log import verify_run, verify_runs
from mystira_data.query import MAX_PAGE_SIZE

router = APIRouter(prefix=PREFIX, tags=["admin jobs"])


class VerifyRequest(Body):
    container: str | None = None  # None: every relational container with two live copies


class RepairRequest(Body):
    container: str
    dry_run: bool = False


class BackfillRequest(Body):
    container: str
    to: Side = Side.RELATIONAL
    batch_size: int = MAX_PAGE_SIZE
    restart: bool = False


def relational(container: str) -> str:
    spec = catalog.BY_NAME.get(container)
    if spec is None or not spec.is_relational:
        names = ", ".join(c.name for c in catalog.relational_containers())
        raise invalid("container", f"not a container with a relational mapping ({names})")
    return container


def accepted(job: Job) -> JSONResponse:
    return JSONResponse(
        job.as_json(), status_code=202, headers={"Location": f"{PREFIX}/jobs/{job.id}"}
    )


def summary(report: VerifyReport) -> dict[str, Any]:
    return {
        "container": report.container,
        "primary": report.primary,
        "secondary": report.secondary,
        "scanned": report.scanned,
        **report.counts(),
        "clean": report.clean,
    }


@router.post("/verify", status_code=202, summary="Start a verify job (one container or all)")
async def start_verify(request: VerifyRequest, state: Platform, caller: Operator) -> JSONResponse:
    names = (
        [relational(request.container)]
        if request.container
        else [c.name for c in catalog.relational_containers()]
    )

    async def work(progress: Progress) -> dict[str, Any]:
        single = await one_copy(state.poly, names) if request.container is None else {}
        compared = [n for n in names if n not in single]
        reports = []
        for done, name in enumerate(compared):
            scanned = Copied(await state.poly.verify_total(name))
            at = {"container": name, "containers": {"done": done, "total": len(compared)}}

            def on_scanned(n: int, at: dict[str, Any] = at, scanned: Copied = scanned) -> None:
                scanned.reach(n)
                # done/total/rate/etaSeconds count this container's documents.
                progress({**at, **scanned.as_json()})

            on_scanned(0)
            reports.append(summary(await state.poly.verify(name, on_scanned=on_scanned)))
        return {"reports": reports, "notApplicable": {n: p.value for n, p in single.items()}}

    return accepted(await _start(state, "verify", request.container, caller.subject, work))


@router.post("/repair", status_code=202, summary="Start a repair job (verify, then fix)")
async def start_repair(request: RepairRequest, state: Platform, caller: Operator) -> JSONResponse:
    name = relational(request.container)

    async def work(progress: Progress) -> dict[str, Any]:
        progress({"step": "verify and repair"})
        actor = key_actor(caller.subject)
        result = await repair_container(state.poly, name, dry_run=request.dry_run, actor=actor)
        return result.as_json()

    return accepted(await _start(state, "repair", name, caller.subject, work))


@router.post("/backfill", status_code=202, summary="Start a backfill job (resumable)")
async def start_backfill(
    request: BackfillRequest, state: Platform, caller: Operator
) -> JSONResponse:
    name = relational(request.container)
    if not 1 <= request.batch_size <= MAX_PAGE_SIZE:
        raise invalid("batchSize", f"must be within 1..{MAX_PAGE_SIZE}")

    async def work(progress: Progress) -> dict[str, Any]:
        copied = Copied(await pending_total(state.poly, name, request.to))
        pacer = state.poly.pacer(name, Task.BACKFILL)

        def on_page(n: int) -> None:
            copied.add(n)
            # ``read`` as before; done/total/rate/etaSeconds and the throttle state added.
            progress({"read": copied.done, **copied.as_json(), "state": pacer.state})

        report = await backfill(
            state.poly,
            name,
            request.to,
            batch_size=request.batch_size,
            restart=request.restart,
            on_page=on_page,
        )
        return report.as_json()

    return accepted(await _start(state, "backfill", name, caller.subject, work))


async def _start(state: ApiState, kind: str, container: str | None, who: str, work: Work) -> Job:
    return await state.jobs.start(kind, container, who, work)


@router.get("/jobs", summary="The newest jobs")
async def list_jobs(
    state: Platform, caller: Operator, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> dict[str, Any]:
    return {"items": [j.as_json() for j in await state.jobs.store.recent(limit)]}


@router.get("/jobs/{job_id}", summary="A job's state, progress and result")
async def get_job(job_id: str, state: Platform, caller: Operator) -> dict[str, Any]:
    job = await state.jobs.store.get(job_id)
    if job is None:
        raise NotFound("jobs", job_id)
    return job.as_json()


@router.get("/verify-runs", summary="The newest verify runs (counts)")
async def list_verify_runs(
    state: Platform,
    caller: Operator,
    container: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 20,
) -> dict[str, Any]:
    return {"items": await verify_runs(state.poly.raw_relational, container, limit)}


@router.get("/verify-runs/{run_id}", summary="One verify run with its report")
async def get_verify_run(run_id: RowId, state: Platform, caller: Operator) -> dict[str, Any]:
    run = await verify_run(state.poly.raw_relational, run_id)
    if run is None:
        raise NotFound("verify runs", str(run_id))
    return run


def routers() -> list[APIRouter]:
    return [router]
