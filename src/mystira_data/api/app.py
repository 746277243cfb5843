"""The app factory: `create_app(settings)` builds the FastAPI service over those stores.

Routers come from the registry in `routes/__init__.py`; errors take one shape
(`problems.py`); the lifespan opens and closes the platform (`lifespan.py`).
"""

from __future__ import annotations

from fastapi import FastAPI

from mystira_data.api import problems
from mystira_data.api.lifespan import lifespan_for
from mystira_data.api.limits import BodyLimit
from mystira_data.api.routes import all_routers, media
from mystira_data.settings import Settings

TITLE = "Mystira data API"
VERSION = "1"


def create_app(settings: Settings, *, provision: bool = False, refresh_s: float = 1.0) -> FastAPI:
    """The service over ``settings``' stores (``provision``: create missing document
    containers at start, for tests and demos; ``refresh_s``: how often phases are re-read)."""
    app = FastAPI(
        title=TITLE,
        version=VERSION,
        lifespan=lifespan_for(settings, provision=provision, refresh_s=refresh_s),
        description="Game data (/api/v1) and operations (/admin/v1). "
        "Authenticate with `Authorization: Bearer <key>`.",
    )
    problems.install(app, settings.polyglot_persistence.breaker_open_seconds)
    uploads = {media.UPLOAD_PATH: settings.media.max_upload_bytes}
    app.add_middleware(BodyLimit, max_bytes=settings.api.max_body_bytes, per_path=uploads)
    for router in all_routers():
        app.include_router(router, responses=problems.documented_problems())
    return app
