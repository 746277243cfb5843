"""Demo generation: determinism, validity through the codecs, referential sanity."""

from __future__ import annotations

import json
from collections import Counter
from functools import cache
from typing import Any

import pytest

from mystira_data import catalog
from mystira_data.domain.base import Document
from mystira_data.domain.codec import codec_for
from mystira_data.domain.content import Scenario
from mystira_data.domain.enums import SessionStatus
from mystira_data.domain.media import MediaAsset
from mystira_data.domain.play import GameSession, PlayerScenarioScore
from mystira_data.domain.users import Account, UserProfile
from mystira_data.seed import DEMO_EPOCH
from mystira_data.seed.demo import DEMO_CONTAINERS, build_demo
from mystira_data.seed.master import MASTER_CONTAINERS, load_master

ACCOUNTS = 40


@cache
def demo(seed: int = 5) -> dict[str, list[Document]]:
    return build_demo(accounts=ACCOUNTS, random_seed=seed)


def as_json(docs: dict[str, list[Document]]) -> str:
    encoded = {n: [codec_for(type(d)).encode(d) for d in items] for n, items in docs.items()}
    return json.dumps(encoded, sort_keys=True)


def of(container: str, cls: type[Any], seed: int = 5) -> list[Any]:
    items = demo(seed)[container]
    assert all(isinstance(i, cls) for i in items)
    return items


def test_same_seed_gives_identical_json() -> None:
    assert as_json(build_demo(accounts=ACCOUNTS, random_seed=5)) == as_json(demo(5))


def test_different_seed_gives_different_documents() -> None:
    other = build_demo(accounts=ACCOUNTS, random_seed=6)
    assert as_json(other) != as_json(demo(5))
    ids = {d.id for d in other["Accounts"]}
    assert ids.isdisjoint(d.id for d in demo(5)["Accounts"])


def test_ids_are_uuids_from_the_rng_and_timestamps_from_the_fixed_epoch() -> None:
    # Nothing reads the wall clock or os.urandom: ids come from the RNG, times from the epoch.
    sessions = of("GameSessions", GameSession)
    assert all(len(s.id) == 36 and s.id[14] == "4" for s in sessions)  # UUID version 4
    profiles = {p.id: p for p in of("UserProfiles", UserProfile)}
    for session in sessions:
        assert profiles[session.profile_id].created_at <= session.start_time <= DEMO_EPOCH
        assert (session.end_time or session.start_time) <= DEMO_EPOCH


def test_every_container_but_master_is_filled() -> None:
    docs = demo()
    assert set(docs) == set(DEMO_CONTAINERS)
    assert all(docs[name] for name in DEMO_CONTAINERS)
    every = set(DEMO_CONTAINERS) | set(MASTER_CONTAINERS)
    assert every == {c.name for c in catalog.document_containers()}


def test_every_document_round_trips_through_its_container_codec() -> None:
    for name, items in demo().items():
        codec = codec_for(catalog.get(name).model)
        for item in items:
            encoded = codec.encode(item)
            assert codec.decode(json.loads(json.dumps(encoded))) == item


def test_accounts_have_unique_emails_and_one_to_three_profiles() -> None:
    accounts = of("Accounts", Account)
    assert len(accounts) == ACCOUNTS
    assert len({a.email for a in accounts}) == ACCOUNTS
    assert all(1 <= len(a.user_profile_ids) <= 3 for a in accounts)
    profiles = {p.id: p for p in of("UserProfiles", UserProfile)}
    for account in accounts:
        for profile_id in account.user_profile_ids:
            assert profiles[profile_id].account_id == account.id


def test_sessions_point_at_existing_accounts_profiles_and_scenarios() -> None:
    accounts = {a.id for a in of("Accounts", Account)}
    profiles = {p.id: p for p in of("UserProfiles", UserProfile)}
    scenarios = {s.id: s for s in of("Scenarios", Scenario)}
    for session in of("GameSessions", GameSession):
        assert session.account_id in accounts
        assert profiles[session.profile_id].account_id == session.account_id
        scenario = scenarios[session.scenario_id]
        assert session.start_time >= scenario.created_at
        assert session.current_scene_id in {scene.id for scene in scenario.scenes}


def test_session_statuses_are_mixed_and_consistent() -> None:
    sessions = of("GameSessions", GameSession)
    assert set(Counter(s.status for s in sessions)) == set(SessionStatus)
    for session in sessions:
        finished = session.status in (SessionStatus.COMPLETED, SessionStatus.ABANDONED)
        assert (session.end_time is not None) == finished
        assert session.is_paused == (session.status is SessionStatus.PAUSED)
        if session.end_time is not None:
            assert session.end_time - session.start_time == session.elapsed_time
        totals = {t.axis: t.total for t in session.player_compass_progress_totals}
        assert totals == {a: v.current_value for a, v in session.compass_values.items()}
    assert any(s.echo_history for s in sessions)


def test_scores_are_unique_per_profile_and_scenario_and_match_sessions() -> None:
    scores = of("PlayerScenarioScores", PlayerScenarioScore)
    pairs = [(s.profile_id, s.scenario_id) for s in scores]
    assert len(pairs) == len(set(pairs))
    sessions = {s.id: s for s in of("GameSessions", GameSession)}
    for score in scores:
        session = sessions[score.game_session_id]
        assert session.status is SessionStatus.COMPLETED
        assert (session.profile_id, session.scenario_id) == (score.profile_id, score.scenario_id)


def test_scenarios_are_deeply_nested_and_their_graphs_are_sound() -> None:
    media_ids = {m.media_id for m in of("MediaAssets", MediaAsset)}
    for scenario in of("Scenarios", Scenario):
        assert 5 <= len(scenario.scenes) <= 12
        assert scenario.characters
        assert all(c.metadata.traits for c in scenario.characters)
        ids = {scene.id for scene in scenario.scenes}
        for scene in scenario.scenes:
            assert scene.media is not None
            assert scene.media.image in media_ids
            assert all(b.next_scene_id in ids for b in scene.branches)
            assert all(r.trigger_scene_id in ids for r in scene.echo_reveals)
            assert all(fx.track in media_ids for fx in scene.sound_effects)
    scenes = [scene for s in of("Scenarios", Scenario) for scene in s.scenes]
    assert any(b.echo_log and b.compass_change for s in scenes for b in s.branches)
    assert any(s.echo_reveals for s in scenes)
    assert any(s.music for s in scenes)


def test_media_assets_cover_every_media_type() -> None:
    kinds = {m.media_type.value for m in of("MediaAssets", MediaAsset)}
    assert kinds == {"image", "audio", "video"}


def test_earned_badges_are_real_badges_of_the_profile_age_group() -> None:
    badges = {b.id: b for b in load_master()["Badges"]}
    profiles = of("UserProfiles", UserProfile)
    assert any(p.earned_badges for p in profiles)
    for profile in profiles:
        for earned in profile.earned_badges:
            badge = badges[earned.badge_id or ""]
            assert badge.age_group_id == profile.age_group  # type: ignore[attr-defined]
            assert earned.user_profile_id == profile.id
            assert earned.trigger_value >= earned.threshold


def test_zero_accounts_still_builds_content() -> None:
    docs = build_demo(accounts=0)
    assert docs["Accounts"] == []
    assert docs["Scenarios"]


def test_negative_accounts_is_refused() -> None:
    with pytest.raises(ValueError, match="accounts"):
        build_demo(accounts=-1)
