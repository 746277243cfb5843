"""The HTTP service on real stores, called in-process through httpx's ASGI transport.

``service`` opens the app (its lifespan: the platform's one lifecycle) on this test's store
pair; ``Service.key(role)`` makes a real key in the relational store.

``api`` opens the app on the embedded pair with a seeded `World` (the game-flow, media and
report tests).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from mystira_data.api.app import create_app
from mystira_data.api.auth.roles import Role
from mystira_data.api.state import ApiState
from mystira_data.settings import Settings, load_settings
from tests.integration.api.world import World, build_world
from tests.integration.polyglot.conftest import (  # noqa: F401 (fixtures)
    _fast_retries,
    pair_settings,
    polyglot_pg_url,
)
from tests.integration.relational.conftest import empty_all

ServiceFactory = Callable[..., AbstractAsyncContextManager["Service"]]


@dataclass
class Service:
    app: FastAPI
    http: httpx.AsyncClient

    @property
    def state(self) -> ApiState:
        state: ApiState = self.app.state.api
        return state

    async def key(self, role: str, account: str | None = None) -> dict[str, str]:
        """Authorization headers for a new key of ``role``."""
        _, token = await self.state.keys.create(Role(role), account)
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture(params=["embedded"])
def pair(request: pytest.FixtureRequest) -> str:
    """The store pair; a module may override it (e.g. with Cosmos + PostgreSQL too)."""
    return str(request.param)


@pytest.fixture
def open_service(pair: str, tmp_path: Path, request: pytest.FixtureRequest) -> ServiceFactory:
    @asynccontextmanager
    async def factory(**overrides: Any) -> AsyncIterator[Service]:
        settings = pair_settings(pair, tmp_path, request, **overrides)
        app = create_app(settings, provision=True, refresh_s=0)
        async with app.router.lifespan_context(app):
            if pair != "embedded":
                await empty_all(app.state.api.poly.raw_relational)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
                yield Service(app, http)

    return factory


@pytest.fixture
async def service(open_service: ServiceFactory) -> AsyncIterator[Service]:
    async with open_service() as opened:
        yield opened


def account(id: str, **extra: Any) -> dict[str, Any]:
    return {"id": id, "email": f"{id}@example.org", **extra}


def profile(id: str, account_id: str, **extra: Any) -> dict[str, Any]:
    return {"id": id, "accountId": account_id, "name": f"child {id}", **extra}


def session(id: str, account_id: str, profile_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": id,
        "accountId": account_id,
        "profileId": profile_id,
        "scenarioId": "sc-1",
        "startTime": "2026-01-01T10:00:00Z",
        **extra,
    }


def score(id: str, profile_id: str, **extra: Any) -> dict[str, Any]:
    return {"id": id, "profileId": profile_id, "scenarioId": "sc-1", **extra}


# Play data dual-written to the relational store too, so the reports have rows to read.
DUAL_WRITE = {
    name: "DualWriteCosmosRead"
    for name in ("Accounts", "UserProfiles", "GameSessions", "PlayerScenarioScores")
}


@dataclass
class Api:
    app: FastAPI
    client: httpx.AsyncClient
    world: World

    @property
    def state(self) -> ApiState:
        state: ApiState = self.app.state.api
        return state

    def auth(self, who: str) -> dict[str, str]:
        return self.world.auth(who)


def embedded_settings(tmp_path: Path, **overrides: Any) -> Settings:
    polyglot = {"Containers": DUAL_WRITE, "PhaseSwitchMarginMs": 50, "PhaseSwitchDrainMs": 100}
    return load_settings(data_dir=tmp_path / "data", PolyglotPersistence=polyglot, **overrides)


async def open_api(settings: Settings) -> AsyncIterator[Api]:
    app = create_app(settings, provision=True, refresh_s=0)
    async with app.router.lifespan_context(app):
        world = await build_world(app.state.api.poly)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield Api(app, client, world)


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    async for opened in open_api(embedded_settings(tmp_path)):
        yield opened
