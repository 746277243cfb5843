"""Demo play data: accounts, profiles with earned badges, sessions, scores, compass tracking.

Sessions walk the real scene graphs of the demo scenarios, so choices, echoes and compass
totals are consistent with the content; scores and badges are derived from those totals.
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from mystira_data.domain.analytics import CompassTracking, CompassTrackingState
from mystira_data.domain.badges import Badge
from mystira_data.domain.content import Branch, CompassChange, Scenario, Scene
from mystira_data.domain.enums import AchievementType, SessionStatus, SubscriptionType
from mystira_data.domain.play import (
    GameSession,
    PlayerCompassProgress,
    PlayerScenarioScore,
    SessionAchievement,
    SessionCharacterAssignment,
    SessionChoice,
    SessionPlayerAssignment,
)
from mystira_data.domain.users import (
    FOREVER,
    Account,
    AccountSettings,
    SubscriptionDetails,
    UserBadge,
    UserProfile,
)
from mystira_data.seed import _demo_words as words
from mystira_data.seed._demo_content import Content, Refs
from mystira_data.seed._demo_random import DemoRandom

_STATUS_WEIGHTS = {
    SessionStatus.COMPLETED: 0.5,
    SessionStatus.IN_PROGRESS: 0.15,
    SessionStatus.PAUSED: 0.1,
    SessionStatus.ABANDONED: 0.17,
    SessionStatus.NOT_STARTED: 0.08,
}
_SUBSCRIPTIONS = {
    SubscriptionType.FREE: 0.5,
    SubscriptionType.MONTHLY: 0.2,
    SubscriptionType.ANNUAL: 0.15,
    SubscriptionType.LIFETIME: 0.05,
    SubscriptionType.INDIVIDUAL: 0.1,
}
_LANGUAGES = ("en", "en", "en", "nl", "de", "fr", "es")


@dataclass
class Play:
    accounts: list[Account] = field(default_factory=list)
    profiles: list[UserProfile] = field(default_factory=list)
    sessions: list[GameSession] = field(default_factory=list)
    scores: list[PlayerScenarioScore] = field(default_factory=list)
    trackings: list[CompassTracking] = field(default_factory=list)


def build_play(gen: DemoRandom, refs: Refs, content: Content, account_count: int) -> Play:
    play = Play()
    for index in range(account_count):
        _add_account(gen, refs, content, index, play)
    return play


# --- accounts ----------------------------------------------------------------------------------


def _add_account(gen: DemoRandom, refs: Refs, content: Content, index: int, play: Play) -> None:
    account_id = gen.uid()
    first, last = gen.pick(words.ADULT_FIRST), gen.pick(words.SURNAMES)
    created = gen.days_ago(30, 365)
    completed: dict[str, None] = {}  # ordered set of completed scenario ids
    last_seen = created
    profile_ids: list[str] = []
    for _ in range(gen.rng.randint(1, 3)):
        profile, sessions = _profile_with_play(gen, refs, content, account_id, created, play)
        profile_ids.append(profile.id)
        for session in sessions:
            if session.status is SessionStatus.COMPLETED:
                completed.setdefault(session.scenario_id)
            last_seen = max(last_seen, session.end_time or session.paused_at or session.start_time)
    play.accounts.append(
        Account(
            id=account_id,
            external_user_id=gen.uid(),
            email=f"{_ascii(first)}.{_ascii(last)}.{index + 1}@example.com",
            display_name=f"{first} {last}",
            role="Admin" if gen.chance(0.02) else "Guest",
            user_profile_ids=profile_ids,
            completed_scenario_ids=list(completed),
            subscription=_subscription(gen, content, created),
            settings=_settings(gen),
            created_at=created,
            last_login_at=gen.after(last_seen, 0, 3600),
        )
    )


def _ascii(name: str) -> str:
    # Emails stay ASCII: "Bergström" → "bergstrom".
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()


def _subscription(gen: DemoRandom, content: Content, created: datetime) -> SubscriptionDetails:
    kind = gen.weighted(_SUBSCRIPTIONS)
    paid = kind is not SubscriptionType.FREE
    lapsed = paid and gen.chance(0.1)
    valid_until = _valid_until(gen, kind, lapsed)
    purchased = (
        [s.id for s in gen.sample(content.scenarios, 1, 3)]
        if kind is SubscriptionType.INDIVIDUAL
        else []
    )
    return SubscriptionDetails(
        id=gen.uid(),
        type=kind,
        product_id=f"mystira.{kind.value.lower()}" if paid else "",
        valid_until=valid_until,
        is_active=not lapsed,
        purchase_token=gen.hex(128) if paid else None,
        last_verified=gen.days_ago(0, 7) if paid else None,
        purchased_scenarios=purchased,
        tier="Free" if not paid else ("Premium" if valid_until else kind.value),
        start_date=created,
        end_date=valid_until or FOREVER,
    )


def _valid_until(gen: DemoRandom, kind: SubscriptionType, lapsed: bool) -> datetime | None:
    days = {SubscriptionType.MONTHLY: 30, SubscriptionType.ANNUAL: 365}.get(kind)
    if days is None:
        return None
    if lapsed:
        return gen.days_ago(1, 20)
    return gen.epoch + timedelta(days=gen.rng.randint(1, days))


def _settings(gen: DemoRandom) -> AccountSettings:
    return AccountSettings(
        id=gen.uid(),
        cache_credentials=gen.chance(0.8),
        require_auth_on_startup=gen.chance(0.2),
        preferred_language=gen.pick(_LANGUAGES),
        notifications_enabled=gen.chance(0.7),
        theme=gen.pick(("Light", "Dark", None)),
    )


# --- profiles ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Player:
    id: str
    name: str
    age: int
    age_group: str
    avatar: str | None
    created: datetime
    account_id: str


def _profile_with_play(
    gen: DemoRandom,
    refs: Refs,
    content: Content,
    account_id: str,
    account_created: datetime,
    play: Play,
) -> tuple[UserProfile, list[GameSession]]:
    player = _player(gen, refs, content, account_id, account_created)
    sessions = _sessions(gen, content, player)
    scores = _first_completions(gen, sessions, player.id)
    play.sessions += sessions
    play.scores += scores
    play.trackings += [t for s in sessions for t in _trackings(gen, s, player.id)]
    profile = _profile(gen, refs, player, _earned_badges(gen, refs, player, scores))
    play.profiles.append(profile)
    return profile, sessions


def _player(
    gen: DemoRandom, refs: Refs, content: Content, account_id: str, account_created: datetime
) -> _Player:
    value, low, high = gen.pick(refs.child_age_groups)
    avatars = content.avatars_by_age.get(value, [])
    return _Player(
        id=gen.uid(),
        name=gen.pick(words.CHILD_NAMES),
        age=gen.rng.randint(low, min(high, 18)),
        age_group=value,
        avatar=gen.pick(avatars) if avatars else None,
        created=gen.after(account_created, 0, 14 * 86400),
        account_id=account_id,
    )


def _profile(gen: DemoRandom, refs: Refs, player: _Player, badges: list[UserBadge]) -> UserProfile:
    # Born `age` years before the epoch, minus up to a year: the age is exact at the epoch.
    birthday = gen.epoch.replace(year=gen.epoch.year - player.age, hour=0, minute=0)
    return UserProfile(
        id=player.id,
        name=player.name,
        preferred_fantasy_themes=gen.sample(refs.themes, 1, 3),
        date_of_birth=birthday - timedelta(days=gen.rng.randint(1, 360)),
        is_guest=gen.chance(0.04),
        age_group=player.age_group,
        avatar_media_id=player.avatar,
        selected_avatar_media_id=player.avatar,
        earned_badges=badges,
        has_completed_onboarding=gen.chance(0.85),
        created_at=player.created,
        updated_at=max([player.created, *(b.earned_at for b in badges)]),
        account_id=player.account_id,
        pronouns=gen.pick(words.PRONOUNS) if gen.chance(0.5) else None,
        bio=gen.pick(words.BIOS) if gen.chance(0.3) else None,
    )


def _earned_badges(
    gen: DemoRandom, refs: Refs, player: _Player, scores: list[PlayerScenarioScore]
) -> list[UserBadge]:
    """Badges whose threshold the profile's running axis totals crossed, in order."""
    ladder = sorted(
        (b for b in refs.badges if b.age_group_id == player.age_group),
        key=lambda b: (b.required_score, b.compass_axis_id),
    )
    totals: dict[str, float] = defaultdict(float)
    earned: list[UserBadge] = []
    for score in scores:
        for axis, value in score.axis_scores.items():
            totals[axis] += value
        for badge in ladder:
            if badge.id not in {e.badge_id for e in earned} and (
                totals[badge.compass_axis_id] >= badge.required_score
            ):
                earned.append(_user_badge(gen, player.id, badge, score, totals))
    return earned


def _user_badge(
    gen: DemoRandom,
    profile_id: str,
    badge: Badge,
    score: PlayerScenarioScore,
    totals: dict[str, float],
) -> UserBadge:
    return UserBadge(
        id=gen.uid(),
        user_profile_id=profile_id,
        # Master seeding derives one BadgeConfiguration per Badge under the same id.
        badge_configuration_id=badge.id,
        badge_id=badge.id,
        badge_name=badge.title,
        badge_message=badge.description,
        axis=badge.compass_axis_id,
        trigger_value=round(totals[badge.compass_axis_id], 2),
        threshold=badge.required_score,
        earned_at=score.created_at,
        game_session_id=score.game_session_id,
        scenario_id=score.scenario_id,
        image_id=badge.image_id,
    )


# --- sessions ----------------------------------------------------------------------------------


def _sessions(gen: DemoRandom, content: Content, player: _Player) -> list[GameSession]:
    suitable = [s for s in content.scenarios if s.is_active and s.minimum_age <= player.age]
    pool = suitable or content.scenarios
    # Children mostly pick stories they have not played yet, and sometimes replay a favourite.
    picks = gen.sample(pool, 1, 6)
    picks += [gen.pick(picks) for _ in range(gen.rng.randint(0, 2))]
    sessions = [_session(gen, scenario, player) for scenario in picks]
    return sorted(sessions, key=lambda s: (s.start_time, s.id))


def _walk(gen: DemoRandom, scenario: Scenario) -> list[tuple[Scene, Branch | None]]:
    """One path from the first scene to an ending, with the branch taken in each scene."""
    by_id = {scene.id: scene for scene in scenario.scenes}
    path: list[tuple[Scene, Branch | None]] = []
    scene: Scene | None = scenario.scenes[0]
    while scene is not None:
        branch = gen.pick(scene.branches) if scene.branches else None
        path.append((scene, branch))
        next_id = branch.next_scene_id if branch is not None else scene.next_scene_id
        scene = by_id.get(next_id) if next_id else None
    return path


def _session(gen: DemoRandom, scenario: Scenario, player: _Player) -> GameSession:
    status = gen.weighted(_STATUS_WEIGHTS)
    path = _walk(gen, scenario)
    if status is SessionStatus.NOT_STARTED:
        path = path[:1]
    elif status is not SessionStatus.COMPLETED and len(path) > 1:
        path = path[: gen.rng.randint(1, len(path) - 1)]
    # A session starts once both the profile and the story exist, and ends before "now".
    earliest = max(player.created, scenario.created_at)
    start = gen.after(earliest, 0, max(0, int((gen.epoch - earliest).total_seconds()) - 7200))
    choices, elapsed = _choices(gen, path, player.id, start, status)
    finished = status in (SessionStatus.COMPLETED, SessionStatus.ABANDONED)
    compass = _compass(choices)
    return GameSession(
        id=gen.uid(),
        scenario_id=scenario.id,
        account_id=player.account_id,
        profile_id=player.id,
        player_names=[player.name],
        status=status,
        current_scene_id=path[-1][0].id,
        choice_history=choices,
        echo_history=[c.echo_generated for c in choices if c.echo_generated is not None],
        compass_values=compass,
        player_compass_progress_totals=[
            PlayerCompassProgress(player_id=player.id, axis=axis, total=state.current_value)
            for axis, state in sorted(compass.items())
        ],
        achievements=_achievements(gen, choices, compass, status, start + elapsed),
        character_assignments=_assignments(gen, scenario, player),
        start_time=start,
        end_time=start + elapsed if finished else None,
        elapsed_time=elapsed,
        is_paused=status is SessionStatus.PAUSED,
        paused_at=start + elapsed if status is SessionStatus.PAUSED else None,
        scene_count=len(path) if status is not SessionStatus.NOT_STARTED else 0,
        target_age_group=player.age_group,
        selected_character_id=scenario.characters[0].id if scenario.characters else None,
    )


def _choices(
    gen: DemoRandom,
    path: list[tuple[Scene, Branch | None]],
    player_id: str,
    start: datetime,
    status: SessionStatus,
) -> tuple[list[SessionChoice], timedelta]:
    if status is SessionStatus.NOT_STARTED:
        return [], timedelta(0)
    clock = start
    choices: list[SessionChoice] = []
    for scene, branch in path:
        clock = gen.after(clock, 40, 240)  # reading the scene, then deciding
        if branch is not None:
            choices.append(_choice(scene, branch, player_id, clock))
    return choices, clock - start


def _choice(scene: Scene, branch: Branch, player_id: str, at: datetime) -> SessionChoice:
    change = branch.compass_change
    echo = branch.echo_log
    return SessionChoice(
        scene_id=scene.id,
        scene_title=scene.title,
        choice_text=branch.choice,
        next_scene=branch.next_scene_id,
        player_id=player_id,
        compass_axis=change.axis if change else None,
        compass_direction=("positive" if change.delta >= 0 else "negative") if change else None,
        compass_delta=change.delta if change else None,
        chosen_at=at,
        echo_generated=echo.model_copy(update={"timestamp": at}) if echo else None,
    )


def _compass(choices: Iterable[SessionChoice]) -> dict[str, CompassTrackingState]:
    states: dict[str, CompassTrackingState] = {}
    for choice in choices:
        if choice.compass_axis is None or choice.compass_delta is None:
            continue
        state = states.setdefault(
            choice.compass_axis,
            CompassTrackingState(axis=choice.compass_axis, last_updated=choice.chosen_at),
        )
        state.history.append(CompassChange(axis=choice.compass_axis, delta=choice.compass_delta))
        state.current_value = round(state.current_value + choice.compass_delta, 2)
        state.last_updated = choice.chosen_at
    return states


def _achievements(
    gen: DemoRandom,
    choices: list[SessionChoice],
    compass: dict[str, CompassTrackingState],
    status: SessionStatus,
    end: datetime,
) -> list[SessionAchievement]:
    found: list[SessionAchievement] = []
    if choices:
        found.append(
            SessionAchievement(
                id=gen.uid(),
                title="First step",
                description="Made the first choice of the story.",
                icon_name="footprints",
                type=AchievementType.FIRST_CHOICE,
                earned_at=choices[0].chosen_at,
            )
        )
    for axis, state in sorted(compass.items()):
        if state.current_value >= 2.0:  # the top of the session compass scale
            found.append(
                SessionAchievement(
                    id=gen.uid(),
                    title=f"{axis} rising",
                    description=f"Reached the top of the {axis} compass in one story.",
                    icon_name="compass",
                    type=AchievementType.COMPASS_THRESHOLD,
                    compass_axis=axis,
                    threshold_value=2.0,
                    earned_at=state.last_updated,
                )
            )
    if status is SessionStatus.COMPLETED:
        found.append(
            SessionAchievement(
                id=gen.uid(),
                title="The end",
                description="Finished the story.",
                icon_name="book",
                type=AchievementType.SESSION_COMPLETE,
                earned_at=end,
            )
        )
    return found


def _assignments(
    gen: DemoRandom, scenario: Scenario, player: _Player
) -> list[SessionCharacterAssignment]:
    out: list[SessionCharacterAssignment] = []
    for position, character in enumerate(scenario.characters):
        if position == 0:
            who: SessionPlayerAssignment | None = SessionPlayerAssignment(
                type="Player",
                profile_id=player.id,
                profile_name=player.name,
                profile_image=player.avatar,
                selected_avatar_media_id=player.avatar,
            )
        elif position == 1 and gen.chance(0.5):
            who = SessionPlayerAssignment(
                type="Guest",
                guest_name=gen.pick(words.CHILD_NAMES),
                guest_age_range=player.age_group,
                guest_avatar=player.avatar,
                save_as_profile=gen.chance(0.2),
            )
        else:
            who = None
        out.append(SessionCharacterAssignment.cast(character, who))
    return out


# --- scores and analytics ----------------------------------------------------------------------


def _first_completions(
    gen: DemoRandom, sessions: list[GameSession], profile_id: str
) -> list[PlayerScenarioScore]:
    """One score per scenario, from the profile's first completed session of it."""
    scores: list[PlayerScenarioScore] = []
    seen: set[str] = set()
    finished = [s for s in sessions if s.status is SessionStatus.COMPLETED and s.end_time]
    for session in sorted(finished, key=lambda s: (s.end_time or s.start_time, s.id)):
        if session.scenario_id in seen or session.end_time is None:
            continue
        seen.add(session.scenario_id)
        scores.append(
            PlayerScenarioScore(
                id=gen.uid(),
                profile_id=profile_id,
                scenario_id=session.scenario_id,
                game_session_id=session.id,
                axis_scores={a: v.current_value for a, v in sorted(session.compass_values.items())},
                created_at=session.end_time,
            )
        )
    return scores


def _trackings(gen: DemoRandom, session: GameSession, profile_id: str) -> list[CompassTracking]:
    return [
        CompassTracking(
            id=gen.uid(),
            axis=axis,
            current_value=state.current_value,
            starting_value=state.starting_value,
            history=list(state.history),
            last_updated=state.last_updated,
            profile_id=profile_id,
            session_id=session.id,
        )
        for axis, state in sorted(session.compass_values.items())
    ]
