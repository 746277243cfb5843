"""One error shape for every HTTP answer that is not a success: RFC 9457 problem+json.

``{"type", "title", "status", "detail", "instance"}`` plus ``errors`` (field paths) on a 422,
and on a 409 phase refusal one ``gates.<name>`` entry per failed evidence gate.
The platform's typed errors (`mystira_data.errors`) are mapped here, once; anything else is a
500 with no detail (the traceback goes to the server log only, never to the caller).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mystira_data import errors as e
from mystira_data.domain.codec import error_path

log = logging.getLogger(__name__)
MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:mystira:problem:"
# When a store gives no hint: long enough for a reconnect, short enough to feel live.
DEFAULT_RETRY_AFTER_S = 5


@dataclass
class ApiProblem(Exception):
    """An HTTP-level refusal raised by the service itself (auth, limits, scoping)."""

    status: int
    title: str
    detail: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    errors: list[dict[str, str]] | None = None

    def __str__(self) -> str:
        return f"{self.status} {self.title}: {self.detail or ''}"


def unauthorized(detail: str) -> ApiProblem:
    return ApiProblem(401, "Unauthorized", detail, {"WWW-Authenticate": "Bearer"})


def forbidden(detail: str) -> ApiProblem:
    return ApiProblem(403, "Forbidden", detail)


def rate_limited(retry_after_s: float) -> ApiProblem:
    retry = str(max(1, math.ceil(retry_after_s)))
    return ApiProblem(
        429, "Too Many Requests", "rate limit of this key exceeded", {"Retry-After": retry}
    )


def invalid(path: str, message: str) -> ApiProblem:
    """A 422 naming one field path."""
    return ApiProblem(
        422,
        "Unprocessable Content",
        f"{path}: {message}",
        errors=[{"path": path, "message": message}],
    )


def problem_response(request: Request | str, p: ApiProblem) -> JSONResponse:
    """``p`` as a problem+json response; ``request`` (or its path) names the instance."""
    body: dict[str, Any] = {
        "type": TYPE_PREFIX + _slug(p.title),
        "title": p.title,
        "status": p.status,
        "detail": p.detail,
        "instance": request if isinstance(request, str) else request.url.path,
    }
    if p.errors is not None:
        body["errors"] = p.errors
    return JSONResponse(body, status_code=p.status, headers=p.headers, media_type=MEDIA_TYPE)


def _slug(title: str) -> str:
    return title.lower().replace(" ", "-")


def from_platform(exc: e.MystiraError, breaker_open_s: float) -> ApiProblem:
    """The HTTP meaning of one of our typed errors."""
    if isinstance(exc, e.InvalidDocument):
        path = exc.path or "body"
        return ApiProblem(
            422, "Unprocessable Content", str(exc), errors=[{"path": path, "message": str(exc)}]
        )
    if isinstance(exc, e.Throttled):
        retry = exc.retry_after if exc.retry_after is not None else 1.0
        return ApiProblem(
            429,
            "Too Many Requests",
            "the store is throttling; retry later",
            {"Retry-After": str(max(1, math.ceil(retry)))},
        )
    if isinstance(exc, e.StoreUnavailable):
        retry = breaker_open_s if isinstance(exc, e.CircuitOpen) else DEFAULT_RETRY_AFTER_S
        return ApiProblem(
            503,
            "Service Unavailable",
            "a store is unavailable; retry later",
            {"Retry-After": str(max(1, math.ceil(retry)))},
        )
    if isinstance(exc, e.SchemaOutdated):
        return ApiProblem(
            503,
            "Service Unavailable",
            "the database schema is being upgraded",
            {"Retry-After": str(DEFAULT_RETRY_AFTER_S)},
        )
    if isinstance(exc, e.PhaseTransitionRefused) and exc.gates:
        return ApiProblem(409, "Conflict", str(exc), errors=exc.gates)  # each failed gate
    simple: dict[type[e.MystiraError], tuple[int, str]] = {
        e.NotFound: (404, "Not Found"),
        e.AlreadyExists: (409, "Conflict"),
        e.ConcurrencyConflict: (412, "Precondition Failed"),
        e.PhaseTransitionRefused: (409, "Conflict"),
        e.InvalidQuery: (422, "Unprocessable Content"),
    }
    for kind, (status, title) in simple.items():
        if isinstance(exc, kind):
            return ApiProblem(status, title, str(exc))
    return ApiProblem(500, "Internal Server Error")  # ConfigError at run time: a server fault


def from_validation(errors: Sequence[Any]) -> ApiProblem:
    """FastAPI's request validation errors, with paths like ``body.sessions[0].id``."""
    found = [
        {"path": error_path(_strip_body(err.get("loc", ()))), "message": str(err.get("msg", ""))}
        for err in errors
    ]
    detail = "; ".join(f"{f['path']}: {f['message']}" for f in found[:5])
    return ApiProblem(422, "Unprocessable Content", detail, errors=found)


def _strip_body(loc: Sequence[int | str]) -> Sequence[int | str]:
    # "body" is where, not what: the field path inside the document is what callers fix.
    return loc[1:] if len(loc) > 1 and loc[0] == "body" else loc


# The shape in OpenAPI, documented on every route for the statuses any route may answer.
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": ["string", "null"]},
        "instance": {"type": ["string", "null"]},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["path", "message"],
                "properties": {"path": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}
DOCUMENTED = (401, 403, 404, 409, 412, 413, 422, 429, 500, 503)


def documented_problems() -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the problem answers (FastAPI's own 422 schema replaced)."""
    return {
        status: {
            "description": _TITLES.get(status, "Error"),
            "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in DOCUMENTED
    }


def document_problem_schema(app: FastAPI) -> None:
    """Add ``Problem`` to the OpenAPI components (the responses refer to it)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = (
                PROBLEM_SCHEMA
            )
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]


def install(app: FastAPI, breaker_open_s: float) -> None:
    """Register the problem handlers and the catch-all for unexpected exceptions."""

    async def on_problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiProblem)
        return problem_response(request, exc)

    async def on_platform(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, e.MystiraError)
        found = from_platform(exc, breaker_open_s)
        if found.status == 500:
            log.error("unexpected %s on %s", type(exc).__name__, request.url.path, exc_info=exc)
        return problem_response(request, found)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return problem_response(request, from_validation(exc.errors()))

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        title = _TITLES.get(exc.status_code, "Error")
        return problem_response(
            request, ApiProblem(exc.status_code, title, str(exc.detail), dict(exc.headers or {}))
        )

    app.add_exception_handler(ApiProblem, on_problem)
    app.add_exception_handler(e.MystiraError, on_platform)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_middleware(CatchAll)
    document_problem_schema(app)


_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    409: "Conflict",
    412: "Precondition Failed",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class CatchAll:
    """Any exception no handler took: logged with its traceback, answered as a bare 500."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise  # the answer is already on its way: only the server can cut it
            failure = ApiProblem(500, "Internal Server Error")
            response = problem_response(str(scope.get("path", "")), failure)
            await response(scope, receive, send)
