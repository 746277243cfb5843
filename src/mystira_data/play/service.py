"""The game flow over the polyglot repository: start, choose, pause, resume, complete.

Not HTTP: the API's play routes call it, and so could the CLI or the simulator. Every
session change is one conditional write (`play.conditional`), so concurrent requests on one
session serialize instead of overwriting each other. ``account`` scopes each call: a
player's account sees only its own profiles and sessions (others are `NotFound`, exactly as
a missing one); ``None`` (operators) sees every account.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from mystira_data.domain.codec import codec_for
from mystira_data.domain.content import Scenario
from mystira_data.domain.play import GameSession, PlayerScenarioScore
from mystira_data.domain.users import UserBadge, UserProfile
from mystira_data.errors import AlreadyExists, NotFound
from mystira_data.play import rules
from mystira_data.play.badges import award
from mystira_data.play.conditional import DEFAULT_ATTEMPTS, Target, update
from mystira_data.polyglot.layer import GameData
from mystira_data.query import Filter, Op, Query
from mystira_data.types import JsonDoc

SESSIONS = "GameSessions"
PROFILES = "UserProfiles"
SCENARIOS = "Scenarios"
SCORES = "PlayerScenarioScores"
Clock = Callable[[], datetime]
_profiles = codec_for(UserProfile)
_scenarios = codec_for(Scenario)
_sessions = codec_for(GameSession)
_scores = codec_for(PlayerScenarioScore)


def _now() -> datetime:
    return datetime.now(UTC)


def score_id(profile_id: str, scenario_id: str) -> str:
    """One score per profile and scenario (its first completion): a derived id makes a
    repeated completion find the score already there."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"mystira:score/{profile_id}/{scenario_id}"))


@dataclass(frozen=True)
class Completion:
    session: JsonDoc
    score: JsonDoc
    new_badges: list[UserBadge] = field(default_factory=list)


class PlayService:
    """Game-flow operations; ``attempts`` bounds each conditional write's retries."""

    def __init__(
        self,
        repo: GameData,
        *,
        attempts: int = DEFAULT_ATTEMPTS,
        clock: Clock = _now,
    ) -> None:
        self.repo = repo
        self.attempts = attempts
        self.clock = clock

    # -- lookups -------------------------------------------------------------------------
    async def profile(self, profile_id: str, account: str | None) -> JsonDoc:
        doc = await self.repo.read(PROFILES, profile_id, profile_id)
        if account is not None and doc.get("accountId") != account:
            raise NotFound(PROFILES, profile_id)
        return doc

    async def session(self, session_id: str, account: str | None) -> JsonDoc:
        if account is not None:
            return await self.repo.read(SESSIONS, session_id, account)
        q = Query(filters=(Filter("id", Op.EQ, session_id),), cross_partition=True, page_size=2)
        found = (await self.repo.query(SESSIONS, q)).items
        if not found:
            raise NotFound(SESSIONS, session_id)
        return found[0]

    async def scenario(self, scenario_id: str) -> Scenario:
        return _scenarios.decode(await self.repo.read(SCENARIOS, scenario_id, scenario_id))

    # -- moves ---------------------------------------------------------------------------
    async def start(
        self,
        account: str | None,
        profile_id: str,
        scenario_id: str,
        player_names: list[str] | None = None,
    ) -> JsonDoc:
        """A new session of ``scenario_id`` for the profile, at the first scene."""
        profile = _profiles.decode(await self.profile(profile_id, account))
        scenario = await self.scenario(scenario_id)
        session = rules.new_session(
            str(uuid.uuid4()), profile, scenario, self.clock(), player_names or []
        )
        return await self.repo.create(SESSIONS, _sessions.encode(session))

    async def choose(
        self,
        account: str | None,
        session_id: str,
        choice_text: str,
        *,
        scene_id: str | None = None,
        player_id: str | None = None,
        expected_version: int | None = None,
    ) -> JsonDoc:
        """Record a choice (default: in the current scene, by the session's profile)."""
        doc = await self.session(session_id, account)
        state = _sessions.decode(doc)
        scenario = await self.scenario(state.scenario_id)
        scene, branch = rules.find_branch(scenario, scene_id or state.current_scene_id, choice_text)
        now = self.clock()
        who = player_id or state.profile_id

        def change(session: GameSession) -> GameSession:
            return rules.record_choice(session, scene, branch, who, now)

        return await self._update(doc, change, expected_version)

    async def pause(
        self, account: str | None, session_id: str, *, expected_version: int | None = None
    ) -> JsonDoc:
        now = self.clock()
        doc = await self.session(session_id, account)
        return await self._update(doc, lambda s: rules.pause(s, now), expected_version)

    async def resume(
        self, account: str | None, session_id: str, *, expected_version: int | None = None
    ) -> JsonDoc:
        doc = await self.session(session_id, account)
        return await self._update(doc, rules.resume, expected_version)

    async def complete(
        self, account: str | None, session_id: str, *, expected_version: int | None = None
    ) -> Completion:
        """Complete the session, then record the profile's first score of the scenario and
        award the badges it reached. Each step is idempotent, so completing again after a
        failure part-way finishes the job."""
        now = self.clock()
        doc = await self.session(session_id, account)
        done = await self._update(doc, lambda s: rules.complete(s, now), expected_version)
        session = _sessions.decode(done)
        score = await self._first_score(session)
        profile = await self.repo.read(PROFILES, session.profile_id, session.profile_id)
        badges = await award(self.repo, profile, now, attempts=self.attempts)
        return Completion(done, score, badges)

    async def _first_score(self, session: GameSession) -> JsonDoc:
        sid = score_id(session.profile_id, session.scenario_id)
        score = PlayerScenarioScore(
            id=sid,
            profile_id=session.profile_id,
            scenario_id=session.scenario_id,
            game_session_id=session.id,
            axis_scores=rules.axis_scores(session),
            created_at=session.end_time or self.clock(),
        )
        try:
            return await self.repo.create(SCORES, _scores.encode(score))
        except AlreadyExists:
            return await self.repo.read(SCORES, sid, session.profile_id)

    async def _update(
        self,
        doc: JsonDoc,
        change: Callable[[GameSession], GameSession],
        expected_version: int | None,
    ) -> JsonDoc:
        target = Target(SESSIONS, str(doc["id"]), str(doc["accountId"]))
        return await update(
            self.repo,
            target,
            GameSession,
            change,
            attempts=self.attempts,
            expected_version=expected_version,
            current=doc,
        )
