"""Badges a profile earns when its compass totals (the sum of its scenario scores per axis)
reach a badge's required score for the profile's age group.

Awarding is idempotent: a badge's `UserBadge` id is derived from the profile and the badge,
and a badge already earned is never added twice, so a retried completion changes nothing.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime

from mystira_data.domain.badges import Badge
from mystira_data.domain.codec import codec_for
from mystira_data.domain.play import PlayerScenarioScore
from mystira_data.domain.users import UserBadge, UserProfile
from mystira_data.play.conditional import DEFAULT_ATTEMPTS, Target, update
from mystira_data.polyglot.layer import GameData
from mystira_data.query import Filter, Op, Query, every
from mystira_data.types import JsonDoc

PROFILES = "UserProfiles"
SCORES = "PlayerScenarioScores"
BADGES = "Badges"
_scores = codec_for(PlayerScenarioScore)
_badges = codec_for(Badge)


async def profile_scores(repo: GameData, profile_id: str) -> list[PlayerScenarioScore]:
    """The profile's live scores, oldest first (one partition: scores are keyed by profile)."""
    q = Query(partition_key=profile_id, filters=(Filter("profileId", Op.EQ, profile_id),))
    found = [_scores.decode(doc) async for doc in every(repo, SCORES, q)]
    return sorted(found, key=lambda s: (s.created_at, s.id))


def axis_totals(scores: list[PlayerScenarioScore]) -> dict[str, float]:
    totals: dict[str, float] = defaultdict(float)
    for score in scores:
        for axis, value in score.axis_scores.items():
            totals[axis] += value
    return {axis: round(total, 4) for axis, total in sorted(totals.items())}


async def age_group_badges(repo: GameData, age_group: str) -> list[Badge]:
    q = Query(filters=(Filter("ageGroupId", Op.EQ, age_group),), cross_partition=True)
    found = [_badges.decode(doc) async for doc in every(repo, BADGES, q)]
    return sorted(found, key=lambda b: (b.required_score, b.compass_axis_id, b.id))


def user_badge(profile: UserProfile, badge: Badge, total: float, now: datetime) -> UserBadge:
    return UserBadge(
        id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"mystira:badge/{profile.id}/{badge.id}")),
        user_profile_id=profile.id,
        badge_configuration_id=badge.id,  # master seeding keeps one configuration per badge
        badge_id=badge.id,
        badge_name=badge.title,
        badge_message=badge.description,
        axis=badge.compass_axis_id,
        trigger_value=total,
        threshold=badge.required_score,
        earned_at=now,
        image_id=badge.image_id,
    )


async def award(
    repo: GameData,
    profile_doc: JsonDoc,
    now: datetime,
    *,
    attempts: int = DEFAULT_ATTEMPTS,
) -> list[UserBadge]:
    """Add every badge the profile's totals reached and it lacks; the badges added."""
    profile_id = str(profile_doc["id"])
    totals = axis_totals(await profile_scores(repo, profile_id))
    age_group = str(profile_doc.get("ageGroup") or "")
    ladder = await age_group_badges(repo, age_group)
    added: list[UserBadge] = []

    def change(profile: UserProfile) -> UserProfile:
        added.clear()  # a retry starts again from the newer profile
        for badge in ladder:
            total = totals.get(badge.compass_axis_id)
            if total is None or total < badge.required_score:
                continue
            if not profile.has_earned_badge(badge.id):
                added.append(user_badge(profile, badge, total, now))
        if not added:
            return profile
        return profile.model_copy(
            update={"earned_badges": [*profile.earned_badges, *added], "updated_at": now}
        )

    target = Target(PROFILES, profile_id, profile_id)
    await update(repo, target, UserProfile, change, attempts=attempts, current=profile_doc)
    return list(added)
