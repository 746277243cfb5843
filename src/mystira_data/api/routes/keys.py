"""``/admin/v1/keys``: API key management (admins only). A key is shown once, on creation."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from mystira_data.api.auth import Admin
from mystira_data.api.auth.roles import Role
from mystira_data.api.routes.admin import PREFIX, Body
from mystira_data.api.state import Platform
from mystira_data.errors import NotFound
from mystira_data.polyglot.state.audit_log import key_actor

router = APIRouter(prefix=f"{PREFIX}/keys", tags=["keys"])


class NewKey(Body):
    role: Role
    account_id: str | None = None
    label: str | None = None


@router.get("", summary="Every key: id, role, account, created, revoked (never the key)")
async def list_keys(state: Platform, caller: Admin) -> dict[str, Any]:
    return {"items": [k.as_json() for k in await state.keys.list()]}


@router.post("", status_code=201, summary="Make a key; the answer is the only time it is shown")
async def create_key(new: NewKey, state: Platform, caller: Admin) -> JSONResponse:
    actor = key_actor(caller.subject)
    record, token = await state.keys.create(new.role, new.account_id, new.label, actor=actor)
    body = {**record.as_json(), "key": token}
    return JSONResponse(body, status_code=201, headers={"Cache-Control": "no-store"})


@router.delete("/{key_id}", status_code=204, summary="Revoke a key (refused within a second)")
async def revoke_key(key_id: str, state: Platform, caller: Admin) -> Response:
    if not await state.keys.revoke(key_id, actor=key_actor(caller.subject)):
        raise NotFound("keys", key_id)
    return Response(status_code=204)


def routers() -> list[APIRouter]:
    return [router]
