"""Concurrent choices on one session: each is one conditional write, so a conflict re-reads
and re-applies; no choice is lost, and when every attempt meets a newer version the caller
gets a 409 (its choice not written) while every competing choice stays."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from mystira_data.api.routes import play as play_routes
from mystira_data.play import PlayService, WriteContended
from mystira_data.polyglot.write.repository import PolyglotRepository
from mystira_data.types import JsonDoc
from tests.integration.api.conftest import Api
from tests.integration.api.flows import choose, start
from tests.integration.api.world import HIDE, TRUTH


class Interfering:
    """The real repository, but before each of its first ``times`` session replaces another
    player's choice lands first (through the same real stores), making that replace stale."""

    def __init__(self, repo: PolyglotRepository, account: str, times: int) -> None:
        self.repo = repo
        self.rival = PlayService(repo)
        self.account = account
        self.times = times
        self.interfered = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.repo, name)

    async def replace(self, container: str, doc: JsonDoc, **kwargs: Any) -> JsonDoc:
        if container == "GameSessions" and self.interfered < self.times:
            self.interfered += 1
            await self.rival.choose(self.account, doc["id"], HIDE, scene_id="s1")
        return await self.repo.replace(container, doc, **kwargs)


async def history(api: Api, session_id: str) -> list[str]:
    r = await api.client.get(f"/api/v1/game-sessions/{session_id}", headers=api.auth("player"))
    return [c["choiceText"] for c in r.json()["choiceHistory"]]


async def test_a_conflicting_choice_is_retried_and_both_choices_stay(api: Api) -> None:
    session = await start(api)
    repo = Interfering(api.state.poly.repository, api.world.account, times=1)
    service = PlayService(repo)  # type: ignore[arg-type]
    await service.choose(api.world.account, session["id"], TRUTH, scene_id="s1")
    assert repo.interfered == 1
    assert sorted(await history(api, session["id"])) == sorted([HIDE, TRUTH])


async def test_exhausted_attempts_answer_409_and_lose_no_acknowledged_choice(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = await start(api)
    repo = Interfering(api.state.poly.repository, api.world.account, times=10)

    def contended(state: Any) -> PlayService:
        return PlayService(repo, attempts=3)  # type: ignore[arg-type]

    monkeypatch.setattr(play_routes, "service", contended)
    r = await choose(api, session["id"], TRUTH, sceneId="s1")
    assert r.status_code == 409
    assert r.headers["Retry-After"] == "1"
    assert "retry" in r.json()["detail"]
    # the three rival choices were acknowledged and all stayed; the refused one was not written
    assert await history(api, session["id"]) == [HIDE, HIDE, HIDE]


async def test_concurrent_choices_over_http_all_land(api: Api) -> None:
    session = await start(api)
    texts = [TRUTH, HIDE] * 4
    answers = await asyncio.gather(
        *(choose(api, session["id"], text, sceneId="s1") for text in texts)
    )
    assert [r.status_code for r in answers] == [200] * len(texts)
    assert sorted(await history(api, session["id"])) == sorted(texts)
    versions = sorted(int(r.headers["ETag"].strip('"')) for r in answers)
    assert len(set(versions)) == len(texts)  # each acknowledged its own write


def test_write_contended_pickles() -> None:
    import pickle

    err = pickle.loads(pickle.dumps(WriteContended("GameSessions", "s", 3)))
    assert (err.container, err.id, err.attempts) == ("GameSessions", "s", 3)
