"""UserProfiles documents for the split tests: a profile with a given set of badges."""

from __future__ import annotations

from typing import Any

T0 = "2026-01-01T00:00:00Z"
CORE = {
    "id",
    "accountId",
    "name",
    "ageGroup",
    "dateOfBirth",
    "isGuest",
    "isNpc",
    "hasCompletedOnboarding",
    "createdAt",
    "updatedAt",
    "earnedBadges",
}


def badge(profile_id: str, n: int, **fields: Any) -> dict[str, Any]:
    return {
        "id": f"{profile_id}-badge-{n}",
        "userProfileId": profile_id,
        "badgeConfigurationId": f"config-{n}",
        "badgeName": f"Badge {n}",
        "axis": "courage",
        "triggerValue": 1.5 * n,
        "threshold": 0.1,
        "earnedAt": T0,
        **fields,
    }


def profile(id: str, account_id: str | None, badges: int = 0, **fields: Any) -> dict[str, Any]:
    return {
        "id": id,
        "accountId": account_id,
        "name": f"Player {id}",
        "ageGroup": "6-9",
        "dateOfBirth": "2016-05-04T00:00:00Z",
        "preferredFantasyThemes": ["Dragons & Knights", "Fairy Tales"],
        "avatarMediaId": "avatar-7",
        "pronouns": "they/them",
        "bio": "likes dragons",
        "earnedBadges": [badge(id, n) for n in range(badges)],
        "createdAt": T0,
        "updatedAt": T0,
        **fields,
    }
