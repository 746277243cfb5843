"""Simulated game play through the polyglot repository (demo, benchmarks, fault tests).

Each player gets an account and plays sessions: start, choices (scene changes, compass
shifts, echoes), end, and a score. A small share of the writes are deletes — a score, a
session with its scores, at the end an account with its sessions — so every end-to-end test
also carries tombstones, in whichever direction the phase replicates. Every acknowledged
write is remembered with its version (and whether it left a tombstone) so tests can check
afterwards that both stores hold exactly what was acknowledged.

Ids are fresh on every run (a per-run salt), so a second run against the same stores never
collides with the first; the seed alone fixes the sequence of moves.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from mystira_data.cache.repository import Repository
from mystira_data.errors import MystiraError
from mystira_data.types import JsonDoc

AXES = ("honesty", "empathy", "courage", "curiosity")
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
# Shares of deletes: after a finished session, its score is withdrawn or the session is
# deleted with its scores; at the end of play, the account goes with everything under it.
SCORE_DELETE_SHARE = 0.08
SESSION_DELETE_SHARE = 0.05
ACCOUNT_DELETE_SHARE = 0.15

Key = tuple[str, str]


@dataclass
class SimulationReport:
    ok: int = 0
    failed: int = 0
    deletes: int = 0  # acknowledged deletes, counted in ``ok`` too
    errors: list[str] = field(default_factory=list)
    acknowledged: dict[Key, int] = field(default_factory=dict)
    deleted: set[Key] = field(default_factory=set)  # whose newest acknowledged write is a delete
    run_id: uuid.UUID = field(default_factory=uuid.uuid4)

    def ack(self, container: str, doc: JsonDoc) -> None:
        self.ok += 1
        key = (container, doc["id"])
        version = int(doc["_version"])
        if version < self.acknowledged.get(key, 0):
            return
        self.acknowledged[key] = version
        if doc.get("_deleted"):
            self.deletes += 1
            self.deleted.add(key)
        else:
            self.deleted.discard(key)


class Player:
    """One simulated player's state and moves (one player's writes never overlap)."""

    def __init__(
        self,
        repo: Repository,
        rng: random.Random,
        report: SimulationReport,
        salt: uuid.UUID | None = None,
    ):
        self.repo, self.rng, self.report = repo, rng, report
        self.salt = (salt or report.run_id).int
        self.account_id = self.new_id()
        self.profile_id = self.new_id()
        self.session: JsonDoc | None = None
        self.sessions: dict[str, JsonDoc] = {}  # live sessions by id, finished or not
        self.scores: dict[str, JsonDoc] = {}  # live scores by id

    def new_id(self) -> str:
        """An id from the seeded sequence, made unique to this run by the salt."""
        return str(uuid.UUID(int=self.rng.getrandbits(128) ^ self.salt))

    async def write(self, op: str, container: str, *args: Any) -> JsonDoc | None:
        try:
            doc: JsonDoc = await getattr(self.repo, op)(container, *args)
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
        self.session = self.track(
            await self.write(
                "create",
                "GameSessions",
                {
                    "id": self.new_id(),
                    "scenarioId": scenario_id,
                    "accountId": self.account_id,
                    "profileId": self.profile_id,
                    "status": "InProgress",
                    "playerNames": ["Ada", "Linus"][: self.rng.randint(1, 2)],
                    "startTime": _iso(EPOCH + timedelta(minutes=self.rng.randint(0, 10_000))),
                    "currentSceneId": "scene-1",
                },
            )
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
        self.session = self.track(await self.write("replace", "GameSessions", s)) or self.session

    async def finish(self) -> None:
        if self.session is None:
            return
        s = {k: v for k, v in self.session.items() if not k.startswith("_")}
        s["status"], s["endTime"] = "Completed", s["startTime"]
        s["elapsedTime"] = f"00:{self.rng.randint(1, 59):02d}:00"
        if self.track(await self.write("replace", "GameSessions", s)) is not None:
            await self.score(s)
        self.session = None

    def track(self, session: JsonDoc | None) -> JsonDoc | None:
        """Remember a session write (even of one never finished, so `leave` deletes it too
        rather than the account's cascade behind the report's back); None if it failed."""
        if session is not None:
            self.sessions[session["id"]] = session
        return session

    async def score(self, session: JsonDoc) -> None:
        score = await self.write(
            "upsert",
            "PlayerScenarioScores",
            {
                "id": str(
                    uuid.uuid5(uuid.NAMESPACE_URL, f"{self.profile_id}/{session['scenarioId']}")
                ),
                "profileId": self.profile_id,
                "scenarioId": session["scenarioId"],
                "gameSessionId": session["id"],
                "axisScores": {a: round(self.rng.uniform(-2, 2), 2) for a in AXES},
            },
        )
        if score is not None:
            self.scores[score["id"]] = score

    async def withdraw(self) -> int:
        """Now and then delete a score, or a session with its scores; the writes it made."""
        roll = self.rng.random()
        if roll < SCORE_DELETE_SHARE and self.scores:
            # Picked in insertion order, never by id: ids are salted, the moves must not be.
            await self.delete_score(self.rng.choice(list(self.scores)))
            return 1
        if roll < SCORE_DELETE_SHARE + SESSION_DELETE_SHARE and self.sessions:
            return await self.delete_session(self.rng.choice(list(self.sessions)))
        return 0

    async def delete_score(self, score_id: str) -> bool:
        gone = await self.write("delete", "PlayerScenarioScores", score_id, self.profile_id)
        if gone is not None:
            del self.scores[score_id]
        return gone is not None

    async def delete_session(self, session_id: str) -> int:
        """Children first, so the repository's cascade finds nothing left to change (and every
        write of this delete is one the report acknowledged)."""
        children = [i for i, s in self.scores.items() if s.get("gameSessionId") == session_id]
        for score_id in children:
            if not await self.delete_score(score_id):
                return len(children)  # keep the parent: its cascade would write unseen
        if await self.write("delete", "GameSessions", session_id, self.account_id) is not None:
            del self.sessions[session_id]
        return len(children) + 1

    async def leave(self) -> None:
        """Delete the account with its sessions (and their scores), children first."""
        for session_id in list(self.sessions):
            await self.delete_session(session_id)
        if not self.sessions:
            await self.write("delete", "Accounts", self.account_id, self.account_id)


async def simulate(
    repo: Repository,
    *,
    players: int,
    writes: int,
    concurrency: int = 8,
    seed: int = 0,
    run_id: uuid.UUID | None = None,
) -> SimulationReport:
    """Play until about ``writes`` repository writes were attempted across ``players``.

    ``seed`` fixes the moves; ``run_id`` (fresh by default) salts the ids.
    """
    report = SimulationReport() if run_id is None else SimulationReport(run_id=run_id)
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
        used += steps + 3 + await player.withdraw()
    if player.rng.random() < ACCOUNT_DELETE_SHARE:
        await player.leave()


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
