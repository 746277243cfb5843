"""The game-flow routes on real stores: start, choose, pause/resume, complete, badges and
progress, for each role; a player key never reaches another account's profile or session."""

from __future__ import annotations

from tests.integration.api.conftest import Api
from tests.integration.api.flows import PLAY, choose, play_through, start
from tests.integration.api.world import HELP, HIDE, TRUTH


async def test_start_puts_the_profile_at_the_first_scene(api: Api) -> None:
    session = await start(api)
    assert session["accountId"] == api.world.account
    assert session["profileId"] == api.world.profile
    assert session["status"] == "InProgress"
    assert session["currentSceneId"] == "s1"
    assert session["playerNames"] == ["Ada"]


async def test_a_choice_moves_the_story_the_echo_and_the_compass(api: Api) -> None:
    session = await start(api)
    r = await choose(api, session["id"], TRUTH)
    assert r.status_code == 200, r.text
    after = r.json()
    assert after["currentSceneId"] == "s2"
    assert [c["choiceText"] for c in after["choiceHistory"]] == [TRUTH]
    assert after["choiceHistory"][0]["compassDirection"] == "positive"
    assert [e["description"] for e in after["echoHistory"]] == ["owned up"]
    assert after["compassValues"]["honesty"]["currentValue"] == 1.0
    assert after["playerCompassProgressTotals"] == [
        {"playerId": api.world.profile, "axis": "honesty", "total": 1.0}
    ]
    assert int(r.headers["ETag"].strip('"')) > 1


async def test_a_choice_the_scene_does_not_offer_is_a_422_naming_the_field(api: Api) -> None:
    session = await start(api)
    r = await choose(api, session["id"], HELP)  # offered in s2, not in s1
    assert r.status_code == 422
    assert r.json()["errors"][0]["path"] == "choiceText"
    r = await choose(api, session["id"], TRUTH, sceneId="nowhere")
    assert r.status_code == 422
    assert r.json()["errors"][0]["path"] == "sceneId"


async def test_pause_blocks_choices_until_resume(api: Api) -> None:
    session = await start(api)
    sid, auth = session["id"], api.auth("player")
    r = await api.client.post(f"{PLAY}/sessions/{sid}/pause", headers=auth)
    assert r.status_code == 200
    assert r.json()["status"] == "Paused"
    assert r.json()["isPaused"]
    assert r.json()["pausedAt"] is not None
    r = await choose(api, sid, TRUTH)
    assert r.status_code == 409
    assert r.headers["content-type"] == "application/problem+json"
    r = await api.client.post(f"{PLAY}/sessions/{sid}/resume", headers=auth)
    assert r.status_code == 200
    assert r.json()["status"] == "InProgress"
    assert r.json()["pausedAt"] is None
    assert (await choose(api, sid, TRUTH)).status_code == 200


async def test_complete_writes_the_score_and_awards_the_badge_once(api: Api) -> None:
    done = await play_through(api)
    assert done["session"]["status"] == "Completed"
    assert done["session"]["endTime"] is not None
    assert done["score"]["axisScores"] == {"empathy": 1.0, "honesty": 1.0}
    assert done["score"]["gameSessionId"] == done["session"]["id"]
    assert [b["badgeId"] for b in done["newBadges"]] == [api.world.badge]
    sid = done["session"]["id"]
    again = await api.client.post(f"{PLAY}/sessions/{sid}/complete", headers=api.auth("player"))
    assert again.status_code == 200
    assert again.json()["score"] == done["score"]
    assert again.json()["newBadges"] == []
    r = await choose(api, sid, TRUTH, sceneId="s1")
    assert r.status_code == 409  # a completed story takes no more choices


async def test_a_second_completion_of_the_scenario_keeps_the_first_score(api: Api) -> None:
    first = await play_through(api)
    session = await start(api)
    await choose(api, session["id"], HIDE)
    r = await api.client.post(
        f"{PLAY}/sessions/{session['id']}/complete", headers=api.auth("player")
    )
    assert r.json()["score"]["gameSessionId"] == first["session"]["id"]


async def test_badges_and_progress_of_a_profile(api: Api) -> None:
    await play_through(api)
    url = f"{PLAY}/profiles/{api.world.profile}"
    for who in ("player", "operator", "admin"):
        badges = await api.client.get(f"{url}/badges", headers=api.auth(who))
        assert badges.status_code == 200
        assert [b["badgeId"] for b in badges.json()] == [api.world.badge]
        progress = await api.client.get(f"{url}/progress", headers=api.auth(who))
        assert progress.status_code == 200
        body = progress.json()
        assert body["sessions"] == 1
        assert body["sessionsByStatus"] == {"Completed": 1}
        assert body["completedScenarioIds"] == [api.world.scenario]
        assert body["axisTotals"] == {"empathy": 1.0, "honesty": 1.0}
        assert body["badges"] == 1


async def test_operators_play_any_account_and_admins_too(api: Api) -> None:
    for who in ("operator", "admin"):
        session = await start(api, who, api.world.other_profile)
        assert session["accountId"] == api.world.other_account
        assert (await choose(api, session["id"], TRUTH, who)).status_code == 200


async def test_a_player_never_reaches_another_account(api: Api) -> None:
    mine = await start(api)
    other = await start(api, "other", api.world.other_profile)
    body = {"profileId": api.world.profile, "scenarioId": api.world.scenario}
    r = await api.client.post(f"{PLAY}/sessions", json=body, headers=api.auth("other"))
    assert r.status_code == 404
    for path in ("pause", "resume", "complete"):
        r = await api.client.post(f"{PLAY}/sessions/{mine['id']}/{path}", headers=api.auth("other"))
        assert r.status_code == 404, path
    assert (await choose(api, mine["id"], TRUTH, "other")).status_code == 404
    for what in ("badges", "progress"):
        url = f"{PLAY}/profiles/{api.world.profile}/{what}"
        r = await api.client.get(url, headers=api.auth("other"))
        assert r.status_code == 404
    # the other account's own session is its to play
    assert (await choose(api, other["id"], TRUTH, "other")).status_code == 200


async def test_missing_things_are_404_and_no_key_is_401(api: Api) -> None:
    body = {"profileId": api.world.profile, "scenarioId": "no-such-story"}
    r = await api.client.post(f"{PLAY}/sessions", json=body, headers=api.auth("player"))
    assert r.status_code == 404
    r = await choose(api, "no-such-session", TRUTH)
    assert r.status_code == 404
    r = await api.client.post(f"{PLAY}/sessions", json=body)
    assert r.status_code == 401


async def test_a_stale_if_match_is_a_412_and_a_current_one_writes(api: Api) -> None:
    session = await start(api)
    sid = session["id"]
    r = await choose(api, sid, TRUTH)
    tag = r.headers["ETag"]
    stale = {**api.auth("player"), "If-Match": '"1"'}
    r = await api.client.post(
        f"{PLAY}/sessions/{sid}/choices", json={"choiceText": HELP}, headers=stale
    )
    assert r.status_code == 412
    current = {**api.auth("player"), "If-Match": tag}
    r = await api.client.post(
        f"{PLAY}/sessions/{sid}/choices", json={"choiceText": HELP}, headers=current
    )
    assert r.status_code == 200
    assert r.headers["ETag"] != tag
