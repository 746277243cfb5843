"""Game sessions (live play state) and per-scenario scores."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field

from mystira_data.domain.analytics import CompassTrackingState
from mystira_data.domain.base import (
    Document,
    Duration,
    Int32,
    MystiraModel,
    NonBlankStr,
    UtcDateTime,
    new_id,
    utc_now,
)
from mystira_data.domain.content import CompassChange, EchoLog, ScenarioCharacter
from mystira_data.domain.enums import DEFAULT_AGE_GROUP, AchievementType, SessionStatus

# The compass scale of a session, as the C# app defines it (not enforced on stored values).
COMPASS_MIN_VALUE = -2.0
COMPASS_MAX_VALUE = 2.0


class SessionChoice(MystiraModel):
    """A choice a player made in a scene, with its echo and compass effect."""

    scene_id: str = ""
    scene_title: str = ""
    choice_text: str = ""
    next_scene: str = ""
    player_id: str = ""
    compass_axis: str | None = None
    compass_direction: str | None = None
    compass_delta: float | None = None
    chosen_at: UtcDateTime = Field(default_factory=utc_now)
    echo_generated: EchoLog | None = None
    # Older shape of the compass effect; newer writes use compass_axis/compass_delta.
    compass_change: CompassChange | None = None


class SessionAchievement(MystiraModel):
    """An achievement unlocked during a session."""

    id: str = Field(default_factory=new_id)
    title: str = ""
    description: str = ""
    icon_name: str = ""
    type: AchievementType = AchievementType.COMPASS_THRESHOLD
    compass_axis: str = ""
    threshold_value: float = 0.0
    earned_at: UtcDateTime = Field(default_factory=utc_now)
    is_visible: bool = True


class SessionPlayerAssignment(MystiraModel):
    """Who plays a character: a profile ("Player") or a guest ("Guest")."""

    type: str = ""
    profile_id: str | None = None
    profile_name: str | None = None
    profile_image: str | None = None
    selected_avatar_media_id: str | None = None
    guest_name: str | None = None
    guest_age_range: str | None = None
    guest_avatar: str | None = None
    save_as_profile: bool = False


class SessionCharacterAssignment(MystiraModel):
    """A story character and the player assigned to it in this session."""

    character_id: str = ""
    character_name: str = ""
    image: str | None = None
    audio: str | None = None
    role: str = ""
    archetype: str = ""
    player_assignment: SessionPlayerAssignment | None = None
    is_unused: bool = False

    @classmethod
    def cast(
        cls, character: ScenarioCharacter, who: SessionPlayerAssignment | None
    ) -> SessionCharacterAssignment:
        """``character`` played by ``who`` (unused when nobody): its first role and archetype."""
        meta = character.metadata
        return cls(
            character_id=character.id,
            character_name=character.name,
            image=character.image,
            audio=character.audio,
            role=meta.role[0] if meta.role else "",
            archetype=meta.archetype[0] if meta.archetype else "",
            player_assignment=who,
            is_unused=who is None,
        )


class PlayerCompassProgress(MystiraModel):
    """A player's running total on one compass axis within a session."""

    player_id: str = ""
    axis: str = ""
    total: float = 0.0


class GameSession(Document):
    """One play-through of a scenario by an account's players; partitioned by account."""

    scenario_id: str = ""
    account_id: NonBlankStr
    profile_id: str = ""
    player_names: list[str] = Field(default_factory=list)  # children play by name only
    status: SessionStatus = SessionStatus.NOT_STARTED
    current_scene_id: str = ""
    choice_history: list[SessionChoice] = Field(default_factory=list)
    echo_history: list[EchoLog] = Field(default_factory=list)
    compass_values: dict[str, CompassTrackingState] = Field(default_factory=dict)
    player_compass_progress_totals: list[PlayerCompassProgress] = Field(default_factory=list)
    achievements: list[SessionAchievement] = Field(default_factory=list)
    character_assignments: list[SessionCharacterAssignment] = Field(default_factory=list)
    start_time: UtcDateTime
    end_time: UtcDateTime | None = None
    elapsed_time: Duration = timedelta(0)
    is_paused: bool = False
    paused_at: UtcDateTime | None = None
    scene_count: Int32 = 0
    target_age_group: str = DEFAULT_AGE_GROUP
    selected_character_id: str | None = None


class PlayerScenarioScore(Document):
    """A profile's compass scores for its first completion of a scenario."""

    profile_id: NonBlankStr
    scenario_id: str = ""
    game_session_id: str | None = None  # NULL once its session is deleted (V002 SET NULL)
    axis_scores: dict[str, float] = Field(default_factory=dict)
    created_at: UtcDateTime = Field(default_factory=utc_now)
