"""FastAPI dependencies: who is calling (`Caller`) and which role a route needs.

Authentication runs before the rate limit, so the bucket is per key id, never per made-up
token. Routes declare ``caller: Caller`` (any role) or ``caller: Operator`` / ``Admin``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request

from mystira_data.api.auth.roles import Principal, Role
from mystira_data.api.problems import forbidden, rate_limited
from mystira_data.api.state import api_state


async def current_principal(request: Request) -> Principal:
    state = api_state(request)
    principal = await state.auth.authenticate(request.headers.get("authorization"))
    wait = state.limiter.take(principal.subject)
    if wait > 0:
        raise rate_limited(wait)
    return principal


def require(role: Role) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency letting through callers of ``role`` or above (403 otherwise: the admin
    routes are no secret; data a player may not see answers 404 in the data routes)."""

    async def check(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if not principal.at_least(role):
            raise forbidden(f"needs the {role.value} role")
        return principal

    return check


Caller = Annotated[Principal, Depends(current_principal)]
Operator = Annotated[Principal, Depends(require(Role.OPERATOR))]
Admin = Annotated[Principal, Depends(require(Role.ADMIN))]
