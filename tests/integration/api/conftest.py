"""The app on real stores (the embedded pair unless a test asks otherwise), its lifespan
running, an httpx client over ASGI, and a seeded `World`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import stamina
from fastapi import FastAPI

from mystira_data.api.app import create_app
from mystira_data.api.state import ApiState
from mystira_data.settings import Settings, load_settings
from tests.integration.api.world import World, build_world

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


@pytest.fixture(autouse=True)
def _fast_retries() -> Any:
    with stamina.set_testing(True, attempts=3, cap=True):
        yield


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
