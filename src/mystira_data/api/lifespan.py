"""The app's lifespan: the platform's one lifecycle (`bootstrap.open_platform`).

Opening builds every store the settings name (cache and blobs included); closing drains the
secondary queue and flushes the sync log. A store that is down at start does not stop the
service: `/readyz` says so and requests touching it answer 503 until it is back.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import FastAPI

from mystira_data.api.auth.authenticator import Authenticator
from mystira_data.api.auth.keys import KeyStore
from mystira_data.api.auth.oidc import OidcVerifier
from mystira_data.api.jobs import JobRunner, JobStore
from mystira_data.api.ratelimit import RateLimiter
from mystira_data.api.state import ApiState
from mystira_data.bootstrap import open_platform
from mystira_data.errors import StoreUnavailable
from mystira_data.settings import Settings

log = logging.getLogger(__name__)
Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def lifespan_for(
    settings: Settings, *, provision: bool = False, refresh_s: float = 1.0
) -> Lifespan:
    """The lifespan of an app over ``settings``' stores (``provision``: create missing
    document containers first, for tests and demos)."""
    api = settings.api
    oidc = OidcVerifier(api) if api.oidc_enabled else None  # a bad JWKS fails here, at start

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_platform(
            settings, blobs=True, provision=provision, refresh_s=refresh_s
        ) as poly:
            keys = KeyStore(poly.raw_relational)
            auth = Authenticator(keys, ttl_s=api.key_cache_seconds, oidc=oidc)
            limiter = RateLimiter(api.rate_limit_per_second, api.rate_limit_burst)
            jobs = JobRunner(JobStore(poly.raw_relational))
            state = ApiState(settings, poly, auth, limiter, keys, jobs)
            await _load_phases(state)
            app.state.api = state
            poly.evidence.start(poly.raw_relational)  # gate evidence for `phase set` anywhere
            try:
                yield
            finally:
                await jobs.close()  # before the platform closes under them

    return lifespan


async def _load_phases(state: ApiState) -> None:
    """Read the phases once at start, so a configuration the record refuses stops here."""
    try:
        await state.poly.control.all_phases()
    except StoreUnavailable as exc:
        log.warning("phases not loaded at start (%s); /readyz reports not ready", exc)
