"""The game's rules as pure functions on the domain models: no I/O, no clock of their own.

Each takes the current `GameSession` (and the `Scenario` where the story matters) and returns
the changed session, or raises `PlayRefused` (the move does not fit the session's state, 409)
or `InvalidDocument` (the request names a scene or choice the story does not have, 422).
The service (`play.service`) applies them inside one conditional write, so a rule may be
run more than once for one request: they must depend on their arguments only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mystira_data.domain.analytics import CompassTrackingState
from mystira_data.domain.content import Branch, CompassChange, Scenario, Scene
from mystira_data.domain.enums import AchievementType, SessionStatus
from mystira_data.domain.play import (
    GameSession,
    PlayerCompassProgress,
    SessionAchievement,
    SessionCharacterAssignment,
    SessionChoice,
    SessionPlayerAssignment,
)
from mystira_data.domain.users import UserProfile
from mystira_data.errors import InvalidDocument, MystiraError

# Statuses in which the story can still move on.
OPEN = frozenset({SessionStatus.NOT_STARTED, SessionStatus.IN_PROGRESS})
ENDED = frozenset({SessionStatus.COMPLETED, SessionStatus.ABANDONED})


class PlayRefused(MystiraError):
    """The move does not fit the session's state (e.g. a choice in a paused session)."""


def new_session(
    session_id: str,
    profile: UserProfile,
    scenario: Scenario,
    now: datetime,
    player_names: list[str],
) -> GameSession:
    """A session at the scenario's first scene, with the profile on the first character."""
    if not scenario.scenes:
        raise InvalidDocument("the scenario has no scenes to play", path="scenarioId")
    if not scenario.is_active:
        raise PlayRefused(f"scenario {scenario.id} is not active")
    if profile.account_id is None:
        raise PlayRefused(f"profile {profile.id} belongs to no account")
    return GameSession(
        id=session_id,
        scenario_id=scenario.id,
        account_id=profile.account_id,
        profile_id=profile.id,
        player_names=player_names or [profile.name],
        status=SessionStatus.IN_PROGRESS,
        current_scene_id=scenario.scenes[0].id,
        character_assignments=_assignments(scenario, profile),
        start_time=now,
        scene_count=1,
        target_age_group=profile.age_group,
        selected_character_id=scenario.characters[0].id if scenario.characters else None,
    )


def _assignments(scenario: Scenario, profile: UserProfile) -> list[SessionCharacterAssignment]:
    out = []
    for position, character in enumerate(scenario.characters):
        who = None
        if position == 0:
            who = SessionPlayerAssignment(
                type="Player",
                profile_id=profile.id,
                profile_name=profile.name,
                selected_avatar_media_id=profile.selected_avatar_media_id,
            )
        out.append(SessionCharacterAssignment.cast(character, who))
    return out


def find_branch(scenario: Scenario, scene_id: str, choice: str) -> tuple[Scene, Branch]:
    """The scene and the branch named by its choice text (422 naming the field otherwise)."""
    scene = next((s for s in scenario.scenes if s.id == scene_id), None)
    if scene is None:
        raise InvalidDocument(f"scenario {scenario.id} has no scene {scene_id!r}", path="sceneId")
    branch = next((b for b in scene.branches if b.choice == choice), None)
    if branch is None:
        raise InvalidDocument(f"scene {scene_id!r} has no choice {choice!r}", path="choiceText")
    return scene, branch


def record_choice(
    session: GameSession, scene: Scene, branch: Branch, player_id: str, now: datetime
) -> GameSession:
    """The choice appended to the history, its echo and compass change applied.

    The choice is recorded for the scene it names, not only the current one: several players
    may answer one scene from their own devices, and each answer is kept (the later one moves
    the story on), as the C# app records a choice for the scene its request names.
    """
    if session.status not in OPEN:
        raise PlayRefused(f"session {session.id} is {session.status.value}: no choices now")
    change = branch.compass_change
    echo = branch.echo_log.model_copy(update={"timestamp": now}) if branch.echo_log else None
    choice = SessionChoice(
        scene_id=scene.id,
        scene_title=scene.title,
        choice_text=branch.choice,
        next_scene=branch.next_scene_id,
        player_id=player_id,
        compass_axis=change.axis if change else None,
        compass_direction=_direction(change),
        compass_delta=change.delta if change else None,
        chosen_at=now,
        echo_generated=echo,
    )
    changes: dict[str, Any] = {
        "status": SessionStatus.IN_PROGRESS,
        "choice_history": [*session.choice_history, choice],
    }
    if echo is not None:
        changes["echo_history"] = [*session.echo_history, echo]
    if change is not None:
        changes |= _compass_moved(session, change, player_id, now)
    if branch.next_scene_id:
        changes["current_scene_id"] = branch.next_scene_id
        changes["scene_count"] = session.scene_count + 1
    if not session.choice_history:
        changes["achievements"] = [*session.achievements, _first_choice(now)]
    # A shallow copy with new lists: the input stays as read (a retry re-applies to a newer
    # one), and no deep copy of a long history per choice.
    return session.model_copy(update=changes)


def _direction(change: CompassChange | None) -> str | None:
    if change is None:
        return None
    return "positive" if change.delta >= 0 else "negative"


def _compass_moved(
    s: GameSession, change: CompassChange, player_id: str, now: datetime
) -> dict[str, Any]:
    """The compass fields after ``change``: the axis' state and the player's running total."""
    state = s.compass_values.get(change.axis) or CompassTrackingState(axis=change.axis)
    moved = state.model_copy(
        update={
            "history": [*state.history, change],
            "current_value": round(state.current_value + change.delta, 4),
            "last_updated": now,
        }
    )
    totals = list(s.player_compass_progress_totals)
    at = next(
        (i for i, t in enumerate(totals) if t.player_id == player_id and t.axis == change.axis),
        None,
    )
    if at is None:
        totals.append(PlayerCompassProgress(player_id=player_id, axis=change.axis))
        at = len(totals) - 1
    totals[at] = totals[at].model_copy(update={"total": round(totals[at].total + change.delta, 4)})
    return {
        "compass_values": {**s.compass_values, change.axis: moved},
        "player_compass_progress_totals": totals,
    }


def _first_choice(now: datetime) -> SessionAchievement:
    return SessionAchievement(
        title="First step",
        description="Made the first choice of the story.",
        icon_name="footprints",
        type=AchievementType.FIRST_CHOICE,
        earned_at=now,
    )


def pause(session: GameSession, now: datetime) -> GameSession:
    if session.status is SessionStatus.PAUSED:
        return session  # pausing twice changes nothing
    if session.status not in OPEN:
        raise PlayRefused(f"session {session.id} is {session.status.value}: cannot pause")
    return session.model_copy(
        update={"status": SessionStatus.PAUSED, "is_paused": True, "paused_at": now}
    )


def resume(session: GameSession) -> GameSession:
    if session.status in OPEN:
        return session  # already running
    if session.status is not SessionStatus.PAUSED:
        raise PlayRefused(f"session {session.id} is {session.status.value}: cannot resume")
    return session.model_copy(
        update={"status": SessionStatus.IN_PROGRESS, "is_paused": False, "paused_at": None}
    )


def complete(session: GameSession, now: datetime) -> GameSession:
    """The session completed at ``now`` (elapsed = end - start, as the C# app counts it)."""
    if session.status is SessionStatus.COMPLETED:
        return session  # completing again is a no-op: the score step may be what failed
    if session.status is SessionStatus.ABANDONED:
        raise PlayRefused(f"session {session.id} was abandoned: cannot complete")
    the_end = SessionAchievement(
        title="The end",
        description="Finished the story.",
        icon_name="book",
        type=AchievementType.SESSION_COMPLETE,
        earned_at=now,
    )
    return session.model_copy(
        update={
            "status": SessionStatus.COMPLETED,
            "is_paused": False,
            "paused_at": None,
            "end_time": now,
            "elapsed_time": max(now - session.start_time, session.elapsed_time),
            "achievements": [*session.achievements, the_end],
        }
    )


def axis_scores(session: GameSession) -> dict[str, float]:
    """The score of a completed session: where each compass axis ended."""
    return {axis: state.current_value for axis, state in sorted(session.compass_values.items())}
