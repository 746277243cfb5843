"""``/admin/v1/controls``: pause, resume and throttle replication and backfill per container.

The same record `mystira control` changes; every worker obeys it within about a second.
Operators and admins only; every change is audited with the caller's key id.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import StrictBool, StrictInt

from mystira_data.api.auth import Operator
from mystira_data.api.problems import invalid
from mystira_data.api.routes.admin import PREFIX, Body
from mystira_data.api.state import Platform
from mystira_data.errors import NotFound
from mystira_data.polyglot.controls.record import Task
from mystira_data.polyglot.controls.store import CONTAINERS, RelationalControlStore, by_container
from mystira_data.polyglot.state.audit_log import key_actor

router = APIRouter(prefix=PREFIX, tags=["admin controls"])


class ControlChange(Body):
    """Only the fields given change; ``null`` clears a limit (back to the default)."""

    paused: StrictBool | None = None
    rate_limit: float | None = None
    max_lag_seconds: float | None = None
    batch_size: StrictInt | None = None
    concurrency: StrictInt | None = None
    reason: str

    def changes(self) -> dict[str, Any]:
        """What was given, by record attribute."""
        names = {"max_lag_seconds": "max_lag_s"}
        given = self.model_fields_set - {"reason"}
        return {names.get(f, f): getattr(self, f) for f in sorted(given)}


def controlled(container: str) -> str:
    if container not in CONTAINERS:
        raise NotFound("containers", container)
    return container


@router.get("/controls", summary="Every container's controls and the state of its workers")
async def list_controls(state: Platform, caller: Operator) -> dict[str, Any]:
    found = await by_container(RelationalControlStore(state.poly.raw_relational))
    return {"controls": {n: _json(tasks) for n, tasks in found.items()}}


@router.get("/controls/{container}", summary="One container's replication and backfill controls")
async def get_controls(container: str, state: Platform, caller: Operator) -> dict[str, Any]:
    store = RelationalControlStore(state.poly.raw_relational)
    found = await by_container(store, (controlled(container),))
    return _json(found[container])


@router.put("/controls/{container}/{task}", summary="Pause, resume or throttle (audited)")
async def put_control(
    container: str, task: Task, change: ControlChange, state: Platform, caller: Operator
) -> dict[str, Any]:
    controlled(container)
    reason = change.reason.strip()
    if not reason:
        raise invalid("reason", "required: say why (it is recorded in the audit log)")
    store = RelationalControlStore(state.poly.raw_relational)
    actor = key_actor(caller.subject)
    control = await store.change(container, task, change.changes(), reason=reason, actor=actor)
    return control.as_json()


def _json(tasks: dict[str, Any]) -> dict[str, Any]:
    return {task: control.as_json() for task, control in tasks.items()}


def routers() -> list[APIRouter]:
    return [router]
