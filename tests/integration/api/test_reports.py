"""The `mystira report` analytics as read endpoints, over play written through the API (the
play containers dual-write, so the relational store holds the rows the reports read)."""

from __future__ import annotations

from typing import Any

from tests.integration.api.conftest import Api
from tests.integration.api.flows import play_through

REPORTS = "/api/v1/reports"


async def get(api: Api, path: str, who: str = "operator", **params: Any) -> Any:
    return await api.client.get(f"{REPORTS}{path}", params=params, headers=api.auth(who))


async def settled(api: Api) -> None:
    """Wait for the dual writes' relational side (inline, but queued on a timeout)."""
    await api.state.poly.router.secondary.drain()


async def test_leaderboard_axes_and_completion_for_operators(api: Api) -> None:
    done = await play_through(api)
    await settled(api)
    for who in ("operator", "admin"):
        board = await get(api, "/leaderboard", who, scenarioId=api.world.scenario, axis="honesty")
        assert board.status_code == 200, board.text
        assert board.json() == [
            {
                "rank": 1,
                "profileId": api.world.profile,
                "score": 1.0,
                "gameSessionId": done["session"]["id"],
                "achievedAt": board.json()[0]["achievedAt"],
            }
        ]
    axes = (await get(api, "/axes")).json()
    assert {"axis": "honesty", "scores": 1} in axes
    rows = (await get(api, "/completion", scenarioId=api.world.scenario)).json()
    assert len(rows) == 1
    assert rows[0]["sessions"] == 1
    assert rows[0]["completed"] == 1
    assert rows[0]["completionRate"] == 1.0
    assert rows[0]["medianElapsed"] is not None


async def test_players_get_403_on_cross_account_reports(api: Api) -> None:
    await play_through(api)
    for path, params in (
        ("/leaderboard", {"scenarioId": api.world.scenario, "axis": "honesty"}),
        ("/axes", {}),
        ("/completion", {}),
    ):
        r = await get(api, path, "player", **params)
        assert r.status_code == 403, path


async def test_account_activity_is_the_players_own_only(api: Api) -> None:
    await play_through(api)
    await play_through(api, "operator")  # a session of the first account by an operator
    await settled(api)
    mine = (await get(api, "/accounts", "player")).json()
    assert [row["accountId"] for row in mine] == [api.world.account]
    assert mine[0]["sessions"] == 2
    assert mine[0]["completed"] == 2
    everyone = (await get(api, "/accounts", "operator")).json()
    assert {api.world.account, api.world.other_account} <= {r["accountId"] for r in everyone}
    theirs = (await get(api, "/accounts", "other")).json()
    assert theirs == [
        {
            "accountId": api.world.other_account,
            "sessions": 0,
            "completed": 0,
            "lastActivity": None,
        }
    ]


async def test_profile_progress_for_its_player_and_operators(api: Api) -> None:
    await play_through(api)
    await settled(api)
    path = f"/profiles/{api.world.profile}/progress"
    for who in ("player", "operator"):
        r = await get(api, path, who)
        assert r.status_code == 200
        assert {(p["axis"], p["runningTotal"]) for p in r.json()} == {
            ("empathy", 1.0),
            ("honesty", 1.0),
        }
    assert (await get(api, path, "other")).status_code == 404


async def test_bad_report_parameters_are_422(api: Api) -> None:
    r = await get(api, "/leaderboard", scenarioId="x", axis='bad"axis')
    assert r.status_code == 422
    r = await get(api, "/leaderboard", scenarioId="x", axis="honesty", limit=0)
    assert r.status_code == 422
    r = await get(api, "/leaderboard", axis="honesty")
    assert r.status_code == 422
