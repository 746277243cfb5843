"""A profile's progress as the game shows it: its sessions by status, the scenarios it
completed, its scores and compass totals, and the badges it earned.

Read through the polyglot repository, so it follows the containers' phases (the relational
analytics in `relational.analytics` answer the operators' cross-profile questions).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from mystira_data.domain.codec import codec_for
from mystira_data.domain.play import GameSession
from mystira_data.domain.users import UserProfile
from mystira_data.play.badges import axis_totals, profile_scores
from mystira_data.polyglot.layer import GameData
from mystira_data.query import Filter, Op, Query, every
from mystira_data.types import JsonDoc

SESSIONS = "GameSessions"
_sessions = codec_for(GameSession)
_profiles = codec_for(UserProfile)


async def profile_sessions(repo: GameData, profile: JsonDoc) -> list[GameSession]:
    """The profile's sessions (in its account's partition)."""
    account = profile.get("accountId")
    if not account:
        return []
    q = Query(partition_key=str(account), filters=(Filter("profileId", Op.EQ, profile["id"]),))
    return [_sessions.decode(doc) async for doc in every(repo, SESSIONS, q)]


async def progress(repo: GameData, profile_doc: JsonDoc) -> dict[str, Any]:
    """The progress summary of one profile, in the API's camelCase JSON."""
    profile = _profiles.decode(profile_doc)
    sessions = await profile_sessions(repo, profile_doc)
    scores = await profile_scores(repo, profile.id)
    by_status = Counter(s.status.value for s in sessions)
    completed = sorted({s.scenario_id for s in sessions if s.status.value == "Completed"})
    return {
        "profileId": profile.id,
        "sessions": len(sessions),
        "sessionsByStatus": dict(sorted(by_status.items())),
        "completedScenarioIds": completed,
        "axisTotals": axis_totals(scores),
        "scores": [
            {
                "scenarioId": s.scenario_id,
                "gameSessionId": s.game_session_id,
                "axisScores": s.axis_scores,
                "createdAt": s.created_at.isoformat().replace("+00:00", "Z"),
            }
            for s in scores
        ],
        "badges": len(profile.earned_badges),
    }


def badges(profile_doc: JsonDoc) -> list[dict[str, Any]]:
    """The profile's earned badges, as stored (camelCase)."""
    earned = profile_doc.get("earnedBadges") or []
    return [dict(b) for b in earned if isinstance(b, dict)]
