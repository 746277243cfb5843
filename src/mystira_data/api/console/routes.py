"""``/console``: the operator console's pages, sign-in and sign-out, and its static files.

Sign-in takes an API key from a form's password field (never a URL), refuses a key below
the operator role, and sets the session cookie: HttpOnly, SameSite=Strict, Secure over
https, Path=/. The page's buttons call the admin API itself (`/admin/v1/...`) with that
cookie and the session's CSRF token (`auth.dependency`), so they are the API's calls.
"""

from __future__ import annotations

from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.routing import iter_route_contexts

from mystira_data import health
from mystira_data.api.auth.keys import key_id_of
from mystira_data.api.console import view
from mystira_data.api.console.render import SECURITY_HEADERS, page
from mystira_data.api.console.sessions import (
    COOKIE,
    CSRF_FIELD,
    CSRF_HEADER,
    SESSION_LIFETIME,
    ConsoleSession,
    SessionStore,
    check_csrf,
    console_role,
    session_of,
)
from mystira_data.api.problems import ApiProblem, forbidden
from mystira_data.api.state import ApiState, Platform
from mystira_data.errors import NotFound, StoreUnavailable

__all__ = ["CONTROLS_ROUTE", "router", "routers"]

PREFIX = "/console"
# The controls API (pause, resume, throttle); its buttons show only when the app serves it.
CONTROLS_ROUTE = "/admin/v1/controls/{container}/{task}"
STATIC = {"console.css": "text/css", "console.js": "text/javascript"}
MAX_FORM_BYTES = 4096  # a key and a token: anything bigger is not our form

router = APIRouter(prefix=PREFIX, tags=["console"], include_in_schema=False)


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers=SECURITY_HEADERS)


def _signed_out(url: str = f"{PREFIX}/login") -> RedirectResponse:
    response = _see_other(url)
    response.delete_cookie(COOKIE, path="/")
    return response


async def _session(request: Request, state: ApiState) -> ConsoleSession | None:
    """The live session, or None (no cookie, ended, or its key revoked)."""
    try:
        return await session_of(request, state)
    except ApiProblem:
        return None


def _check_origin(request: Request) -> None:
    """A cross-site form post carries another site's Origin: refuse it (login CSRF)."""
    origin = request.headers.get("origin")
    if origin is not None and urlsplit(origin).netloc != request.headers.get("host"):
        raise forbidden("a console form must be sent from the console's own page")


async def _form(request: Request) -> dict[str, str]:
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise forbidden("not a console form")
    try:
        fields = parse_qs(body.decode("utf-8", errors="replace"), max_num_fields=5)
    except ValueError:  # more fields than our forms have
        raise forbidden("not a console form") from None
    return {k: v[0] for k, v in fields.items() if v}


def _controls(request: Request) -> bool:
    # Included routers stay nested in app.routes (FastAPI ≥ 0.165): walk their routes too.
    return any(r.path == CONTROLS_ROUTE for r in iter_route_contexts(request.app.routes))


async def _unchecked(request: Request, state: ApiState, template: str) -> Response | None:
    """With the session store down, a cookie holder sees store health only (what `/readyz`
    shows anyone) instead of an error page; None without a cookie."""
    if COOKIE not in request.cookies:
        return None
    found = await health.check(state.poly)
    status = 503 if template == "unavailable.html" else 200  # the fragment replaces the page's
    return page(template, status, h=found.as_json())


@router.get("")
async def console(request: Request, state: Platform) -> Response:
    try:
        session = await _session(request, state)
    except StoreUnavailable:
        return await _unchecked(request, state, "unavailable.html") or _signed_out()
    if session is None:
        return _signed_out()
    return page(
        "console.html",
        principal=session.principal,
        csrf=session.csrf_token,
        controls=_controls(request),
        page=await view.gather(state),
        placement=await view.placement(state),  # per page load: it flushes the evidence
    )


@router.get("/live")
async def live(request: Request, state: Platform) -> Response:
    """The page's live part, polled by the page every two seconds."""
    try:
        session = await _session(request, state)
    except StoreUnavailable:
        unchecked = await _unchecked(request, state, "unchecked.html")
        return unchecked or Response(status_code=401, headers=SECURITY_HEADERS)
    if session is None:
        return Response(status_code=401, headers=SECURITY_HEADERS)
    return page(
        "live.html",
        principal=session.principal,
        controls=_controls(request),
        page=await view.gather(state),
    )


@router.get("/login")
async def login_form(request: Request, state: Platform) -> Response:
    if await _session(request, state) is not None:
        return _see_other(PREFIX)
    return page("login.html")


@router.post("/login")
async def login(request: Request, state: Platform) -> Response:
    _check_origin(request)
    client = request.client.host if request.client is not None else "-"
    if state.limiter.take(f"console-login:{client}") > 0:
        return page("login.html", 429, message="Too many attempts; wait a moment.")
    key = (await _form(request)).get("key", "").strip()
    if key_id_of(key) is None:
        return page("login.html", 401, message="That is not an API key (myk_…).")
    try:
        principal = await state.auth.authenticate(f"Bearer {key}")
    except ApiProblem:
        return page("login.html", 401, message="Unknown or revoked key.")
    if not console_role(principal.role):
        message = (
            f"A {principal.role.value} key cannot use the console: it needs operator or admin."
        )
        return page("login.html", 403, message=message)
    token, _ = await SessionStore(state.poly.raw_relational).open(principal.subject)
    response = _see_other(PREFIX)
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        path="/",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )
    return response


@router.post("/logout")
async def logout(request: Request, state: Platform) -> Response:
    _check_origin(request)
    session = await _session(request, state)
    if session is None:
        return _signed_out()
    sent = request.headers.get(CSRF_HEADER) or (await _form(request)).get(CSRF_FIELD)
    check_csrf(session, sent)
    await SessionStore(state.poly.raw_relational).close(request.cookies[COOKIE])
    return _signed_out()


@router.get("/static/{name}")
async def static(name: str) -> Response:
    media_type = STATIC.get(name)
    if media_type is None:
        raise NotFound("console files", name)
    body = resources.files("mystira_data.api.console").joinpath("static", name).read_bytes()
    headers: dict[str, Any] = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
    return Response(body, media_type=media_type, headers=headers)


def routers() -> list[APIRouter]:
    return [router]
