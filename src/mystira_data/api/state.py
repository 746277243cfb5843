"""What the app holds while it runs: the polyglot layer and the service's helpers.

Built by the lifespan (`lifespan.py`) and read by routes through `Platform` (a dependency).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from mystira_data.api.auth.authenticator import Authenticator
from mystira_data.api.auth.keys import KeyStore
from mystira_data.api.jobs import JobRunner
from mystira_data.api.ratelimit import RateLimiter
from mystira_data.polyglot.layer import Polyglot
from mystira_data.settings import Settings


@dataclass
class ApiState:
    settings: Settings
    poly: Polyglot
    auth: Authenticator
    limiter: RateLimiter
    keys: KeyStore
    jobs: JobRunner


def api_state(request: Request) -> ApiState:
    state: ApiState = request.app.state.api
    return state


async def _platform(request: Request) -> ApiState:
    # Async on purpose: FastAPI runs a plain-function dependency in a worker thread.
    return api_state(request)


Platform = Annotated[ApiState, Depends(_platform)]
