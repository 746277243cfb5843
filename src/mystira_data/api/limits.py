"""The request body limit (``Api:MaxBodyBytes``) → 413, checked before a route reads it.

A declared ``Content-Length`` over the limit is refused at once; a body sent without one
(chunked) is counted as it arrives and refused the moment it passes the limit.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mystira_data.api.problems import ApiProblem, problem_response


def too_large(limit: int) -> ApiProblem:
    return ApiProblem(413, "Content Too Large", f"the request body exceeds {limit} bytes")


class BodyLimit:
    """``max_bytes`` for every path but those in ``per_path`` (uploads have their own)."""

    def __init__(
        self, app: ASGIApp, max_bytes: int, per_path: Mapping[str, int] | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.per_path = dict(per_path or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.per_path.get(scope["path"], self.max_bytes)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await problem_response(scope["path"], too_large(limit))(scope, receive, send)
            return
        seen = 0

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    # An HTTPException: FastAPI lets those through its body parsing as they are.
                    raise HTTPException(413, too_large(limit).detail)
            return message

        await self.app(scope, counting_receive, send)
