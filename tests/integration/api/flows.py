"""Game-flow steps over HTTP shared by the API tests."""

from __future__ import annotations

from typing import Any

from tests.integration.api.conftest import Api
from tests.integration.api.world import HELP, TRUTH

PLAY = "/api/v1/play"


async def start(api: Api, who: str = "player", profile: str | None = None) -> dict[str, Any]:
    body = {"profileId": profile or api.world.profile, "scenarioId": api.world.scenario}
    r = await api.client.post(f"{PLAY}/sessions", json=body, headers=api.auth(who))
    assert r.status_code == 201, r.text
    assert r.headers["Location"] == f"/api/v1/game-sessions/{r.json()['id']}"
    return dict(r.json())


async def choose(api: Api, session: str, text: str, who: str = "player", **extra: Any) -> Any:
    body = {"choiceText": text, **extra}
    return await api.client.post(
        f"{PLAY}/sessions/{session}/choices", json=body, headers=api.auth(who)
    )


async def play_through(api: Api, who: str = "player") -> dict[str, Any]:
    session = await start(api, who)
    assert (await choose(api, session["id"], TRUTH, who)).status_code == 200
    assert (await choose(api, session["id"], HELP, who)).status_code == 200
    r = await api.client.post(f"{PLAY}/sessions/{session['id']}/complete", headers=api.auth(who))
    assert r.status_code == 200, r.text
    return dict(r.json())
