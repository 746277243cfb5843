"""The admin API's state and control: phases, status, lag, replication, dead letters.

Operators and admins only. The same calls as the CLI's `phase`, `status` and `replicate`
commands; long operations (verify, repair, backfill) are jobs (`admin_jobs.py`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from mystira_data import catalog
from mystira_data.api.auth import Operator
from mystira_data.api.listing import RowId
from mystira_data.api.problems import invalid
from mystira_data.api.state import Platform
from mystira_data.errors import NotFound
from mystira_data.polyglot.phase.rules import route_for
from mystira_data.polyglot.replication.redeliver import retry_letter
from mystira_data.polyglot.state.audit_log import key_actor
from mystira_data.polyglot.state.dead_letters import RelationalDeadLetters
from mystira_data.polyglot.state.leases import RelationalLeaseStore
from mystira_data.settings import Phase
from mystira_data.status import collect

PREFIX = "/admin/v1"
router = APIRouter(prefix=PREFIX, tags=["admin"])


class Body(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class PhaseChange(Body):
    phase: Phase
    force: bool = False
    reason: str = ""


def known(container: str) -> str:
    if container not in catalog.BY_NAME:
        raise NotFound("containers", container)
    return container


@router.get("/phases", summary="Every container's live phase and any pending switch")
async def get_phases(state: Platform, caller: Operator) -> dict[str, Any]:
    control = state.poly.control
    out: dict[str, Any] = {}
    for spec in catalog.CONTAINERS:
        record = await control.record(spec.name)
        pending = record.pending.as_json() if record.pending is not None else None
        out[spec.name] = {"phase": record.phase.value, "pending": pending}
    return {"phases": out, "source": control.source.value}


@router.put("/phases/{container}", summary="Move a container one phase (same guards as the CLI)")
async def set_phase(
    container: str, change: PhaseChange, state: Platform, caller: Operator
) -> dict[str, Any]:
    known(container)
    if change.force and not change.reason.strip():
        raise invalid("reason", "a forced move needs a reason (it is recorded)")
    # Who asked is the audit log's actor: the key id (never the key).
    moved = await state.poly.control.set(
        container,
        change.phase,
        force=change.force,
        reason=change.reason.strip(),
        actor=key_actor(caller.subject),
    )
    return {
        "container": moved.container,
        "from": moved.from_phase.value,
        "to": moved.to_phase.value,
        "forced": moved.forced,
        "reason": moved.reason,
    }


@router.get("/status", summary="Per container: phase, counts per store, lag, dead letters")
async def get_status(state: Platform, caller: Operator) -> dict[str, Any]:
    status = await collect(state.poly)
    return {**status.as_json(), "containers": [c.as_json() for c in status.containers]}


@router.get("/lag", summary="Replication lag of every relational container")
async def get_lag(state: Platform, caller: Operator) -> dict[str, Any]:
    out = []
    for spec in catalog.relational_containers():
        lag = await state.poly.lag(spec.name)
        out.append(
            {
                "container": spec.name,
                "direction": lag.direction,
                "pending": lag.pending,
                "oldestAgeSeconds": lag.oldest_age_s,
            }
        )
    return {"lag": out}


@router.get("/replication", summary="Replication per container: direction, lag, leases")
async def get_replication(state: Platform, caller: Operator) -> dict[str, Any]:
    leases = RelationalLeaseStore(state.poly.raw_relational)
    out = []
    for spec in catalog.relational_containers():
        phase = await state.poly.control.phase(spec.name)
        secondary = route_for(spec.name, phase).secondary
        lag = await state.poly.lag(spec.name)
        out.append(
            {
                "container": spec.name,
                "phase": phase.value,
                "into": secondary.value if secondary is not None else None,
                "pending": lag.pending,
                "oldestAgeSeconds": lag.oldest_age_s,
                "leases": [
                    {
                        "range": le.feed_range,
                        "owner": le.owner,
                        "expiresAt": le.expires_at.isoformat() if le.expires_at else None,
                        "checkpointed": le.checkpoint is not None,
                    }
                    for le in await leases.leases(spec.name)
                ],
            }
        )
    return {"containers": out}


@router.get("/dead-letters", summary="Open dead letters, newest first")
async def list_dead_letters(
    state: Platform,
    caller: Operator,
    container: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    letters = RelationalDeadLetters(state.poly.raw_relational, "")
    return {"items": [x.as_json() for x in await letters.listing(container, limit)]}


@router.post("/dead-letters/{letter_id}/retry", summary="Deliver the document again")
async def retry_dead_letter(letter_id: RowId, state: Platform, caller: Operator) -> dict[str, Any]:
    return (await retry_letter(state.poly, letter_id)).as_json()


@router.delete("/dead-letters/{letter_id}", status_code=204, summary="Discard a dead letter")
async def discard_dead_letter(letter_id: RowId, state: Platform, caller: Operator) -> Response:
    letters = RelationalDeadLetters(state.poly.raw_relational, "")
    if not await letters.resolve(letter_id):
        raise NotFound("dead letters", str(letter_id))
    return Response(status_code=204)


def routers() -> list[APIRouter]:
    return [router]
