"""Simulated game play through the polyglot repository (demo, benchmarks, fault tests).

Each player gets an account and plays sessions: start, choices (scene changes, compass
shifts, echoes), end, and a score. Every acknowledged write is remembered with its version so
tests can check afterwards that both stores hold exactly what was acknowledged.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from mystira_data.documents.port import Document
from mystira_data.errors import MystiraError
from mystira_data.polyglot.repository import PolyglotRepository

AXES = ("honesty", "empathy", "courage", "curiosity")
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class SimulationReport:
    ok: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    acknowledged: dict[tuple[str, str], int] = field(default_factory=dict)

    def ack(self, container: str, doc: Document) -> None:
        self.ok += 1
        key = (container, doc["id"])
        self.acknowledged[key] = max(self.acknowledged.get(key, 0), int(doc["_version"]))


class Player:
    """One simulated player's state and moves."""

    def __init__(self, repo: PolyglotRepository, rng: random.Random, report: SimulationReport):
        self.repo, self.rng, self.report = repo, rng, report
        self.account_id = str(uuid.UUID(int=rng.getrandbits(128)))
        self.profile_id = str(uuid.UUID(int=rng.getrandbits(128)))
        self.session: Document | None = None

    async def write(self, op: str, container: str, *args: Any) -> Document | None:
        try:
            doc: Document = await getattr(self.repo, op)(container, *args)
        except MystiraError as exc:
            self.report.failed += 1
            self.report.errors.append(f"{op} {container}: {type(exc).__name__}: {exc}")
            return None
        self.report.ack(container, doc)
        return doc

    async def sign_up(self) -> None:
        await self.write(
            "upsert",
            "Accounts",
            {
                "id": self.account_id,
                "email": f"{self.account_id}@players.example",
                "displayName": f"Player {self.account_id[:6]}",
                "userProfileIds": [self.profile_id],
            },
        )

    async def start(self, scenario_id: str) -> None:
        self.session = await self.write(
            "create",
            "GameSessions",
            {
                "id": str(uuid.UUID(int=self.rng.getrandbits(128))),
                "scenarioId": scenario_id,
                "accountId": self.account_id,
                "profileId": self.profile_id,
                "status": "InProgress",
                "playerNames": ["Ada", "Linus"][: self.rng.randint(1, 2)],
                "startTime": _iso(EPOCH + timedelta(minutes=self.rng.randint(0, 10_000))),
                "currentSceneId": "scene-1",
            },
        )

    async def choose(self) -> None:
        if self.session is None:
            return
        s = {k: v for k, v in self.session.items() if not k.startswith("_")}
        n = s.get("sceneCount", 0) + 1
        axis = self.rng.choice(AXES)
        s["choiceHistory"] = [
            *s.get("choiceHistory", []),
            {
                "sceneId": s["currentSceneId"],
                "choiceText": f"choice {n}",
                "nextScene": f"scene-{n + 1}",
                "playerId": self.profile_id,
                "compassAxis": axis,
                "compassDelta": self.rng.choice((-0.5, 0.5, 1.0)),
                "chosenAt": s["startTime"],
            },
        ]
        s["currentSceneId"], s["sceneCount"] = f"scene-{n + 1}", n
        self.session = await self.write("replace", "GameSessions", s) or self.session

    async def finish(self) -> None:
        if self.session is None:
            return
        s = {k: v for k, v in self.session.items() if not k.startswith("_")}
        s["status"], s["endTime"] = "Completed", s["startTime"]
        s["elapsedTime"] = f"00:{self.rng.randint(1, 59):02d}:00"
        if await self.write("replace", "GameSessions", s) is not None:
            await self.write(
                "upsert",
                "PlayerScenarioScores",
                {
                    "id": str(
                        uuid.uuid5(uuid.NAMESPACE_URL, f"{self.profile_id}/{s['scenarioId']}")
                    ),
                    "profileId": self.profile_id,
                    "scenarioId": s["scenarioId"],
                    "gameSessionId": s["id"],
                    "axisScores": {a: round(self.rng.uniform(-2, 2), 2) for a in AXES},
                },
            )
        self.session = None


async def simulate(
    repo: PolyglotRepository, *, players: int, writes: int, concurrency: int = 8, seed: int = 0
) -> SimulationReport:
    """Play until about ``writes`` repository writes were attempted across ``players``."""
    report = SimulationReport()
    per_player = max(4, writes // max(players, 1))
    gate = asyncio.Semaphore(concurrency)

    async def play(index: int) -> None:
        async with gate:
            await _play(Player(repo, random.Random(seed * 1_000_003 + index), report), per_player)

    await asyncio.gather(*(play(i) for i in range(players)))
    return report


async def _play(player: Player, budget: int) -> None:
    await player.sign_up()
    used = 1
    while used < budget:
        await player.start(f"scenario-{player.rng.randint(1, 5)}")
        steps = min(player.rng.randint(2, 8), max(budget - used - 3, 0))
        for _ in range(steps):
            await player.choose()
        await player.finish()
        used += steps + 3


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
