"""The OpenAPI document says what errors really look like: every operation's error answers
are problem+json (`problems.py`), not FastAPI's default ``HTTPValidationError`` JSON.

FastAPI documents a 422 with its own schema and media type; the service answers every error,
422 included, as ``application/problem+json``. This rewrites the generated document once:
the 422 and a ``default`` response point at one ``Problem`` schema, so clients (and
schemathesis) see the shape they will get.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from mystira_data.api.problems import MEDIA_TYPE

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"path": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}
_REF = {"$ref": "#/components/schemas/Problem"}
_METHODS = frozenset({"get", "put", "post", "delete", "patch", "head", "options"})


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {MEDIA_TYPE: {"schema": _REF}}}


def rewrite(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with problem+json error responses on every operation."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas["Problem"] = PROBLEM_SCHEMA
    for item in document.get("paths", {}).values():
        for method, operation in item.items():
            if method not in _METHODS:
                continue
            responses = operation.setdefault("responses", {})
            if "422" in responses:
                responses["422"] = _problem("Invalid request: the field paths are in errors")
            responses.setdefault("default", _problem("An error, as problem+json"))
    return document


def install(app: FastAPI) -> None:
    """Serve the rewritten document at ``/openapi.json`` (built once, on first request)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = rewrite(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
