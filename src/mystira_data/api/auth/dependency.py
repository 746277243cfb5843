"""FastAPI dependencies: who is calling (`Caller`) and which role a route needs.

Authentication runs before the rate limit, so the bucket is per key id, never per made-up
token. Routes declare ``caller: Caller`` (any role) or ``caller: Operator`` / ``Admin``.

The admin API also accepts the operator console's session cookie (`api.console.sessions`)
when no ``Authorization`` header is sent, with the same role checks; a cookie-borne request
that changes state must carry the session's CSRF token in ``X-CSRF-Token`` (403 otherwise),
since a browser attaches the cookie to any request. Bearer callers never need that token.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request

from mystira_data.api.auth.roles import Principal, Role
from mystira_data.api.console.sessions import CSRF_HEADER, SAFE_METHODS, check_csrf, session_of
from mystira_data.api.problems import forbidden, rate_limited
from mystira_data.api.state import ApiState, api_state

# Only these routes take the console's cookie; the game data API stays bearer-only.
COOKIE_PATHS = ("/admin/v1/",)


async def current_principal(request: Request) -> Principal:
    state = api_state(request)
    authorization = request.headers.get("authorization")
    principal = await _from_cookie(request, state) if authorization is None else None
    if principal is None:
        principal = await state.auth.authenticate(authorization)
    wait = state.limiter.take(principal.subject)
    if wait > 0:
        raise rate_limited(wait)
    return principal


async def _from_cookie(request: Request, state: ApiState) -> Principal | None:
    if not request.url.path.startswith(COOKIE_PATHS):
        return None
    session = await session_of(request, state)
    if session is None:
        return None
    if request.method not in SAFE_METHODS:
        check_csrf(session, request.headers.get(CSRF_HEADER))
    return session.principal


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
