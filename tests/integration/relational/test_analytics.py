"""Analytics: known answers on both databases, and index use on 100k+ rows (PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from mystira_data.errors import InvalidQuery
from mystira_data.relational import RelationalStore, migrate
from mystira_data.relational import analytics as an
from mystira_data.relational.analytics import Analytics
from tests.servers import postgres as pg

from .docs import T0, account, minutes, score, session


async def load(store: RelationalStore) -> None:
    for id in ("acc-0", "acc-1", "acc-idle"):
        await store.create("Accounts", account(id))
    plays = [  # (scenario, age group, status, minutes, account)
        ("A", "6-9", "Completed", 10, "acc-0"),
        ("A", "6-9", "Completed", 40, "acc-0"),
        ("A", "6-9", "Completed", 20, "acc-1"),
        ("A", "6-9", "InProgress", 5, "acc-1"),
        ("A", "10-12", "Completed", 10, "acc-0"),
        ("A", "10-12", "Completed", 30, "acc-0"),
        ("B", "6-9", "Abandoned", 3, "acc-1"),
    ]
    for i, (scenario, age, status, mins, acc) in enumerate(plays):
        await store.create("GameSessions", session(
            f"s{i}", acc, scenarioId=scenario, targetAgeGroup=age, status=status,
            elapsedTime=minutes(mins), startTime=T0 + timedelta(hours=i),
            endTime=T0 + timedelta(hours=i, minutes=mins) if status == "Completed" else None,
        ))  # fmt: skip
    gone = session("gone", "acc-0", scenarioId="A", targetAgeGroup="6-9", status="Completed")
    await store.create("GameSessions", gone | {"startTime": "2030-01-01T00:00:00.000000Z"})
    await store.delete("GameSessions", "gone", "acc-0")
    boards = [
        ("p1", {"honesty": 5.0}),
        ("p2", {"honesty": 9.5, "bravery": 1.0}),
        ("p3", {"honesty": 9.5}),
        ("p4", {"bravery": 2.0}),
        ("p5", {"honesty": 100.0}),
    ]
    for i, (profile, axes) in enumerate(boards):
        await store.create("PlayerScenarioScores", score(
            f"b{i}", profile, scenarioId="scen-1", axisScores=axes,
            createdAt=T0 + timedelta(days=i), gameSessionId=None))  # fmt: skip
    await store.delete("PlayerScenarioScores", "b4", "p5")
    for i, axes in enumerate([{"honesty": 1.0, "bravery": 2.0}, {"honesty": 3.0}]):
        await store.create("PlayerScenarioScores", score(
            f"prog{i}", "kid", scenarioId=f"scen-{i + 2}", axisScores=axes,
            createdAt=T0 + timedelta(days=10 + i)))  # fmt: skip


async def test_leaderboard_per_scenario_and_axis(store: RelationalStore) -> None:
    await load(store)
    board = await Analytics(store).leaderboard("scen-1", "honesty")
    assert [(e.rank, e.profile_id, e.score) for e in board] == [
        (1, "p2", 9.5), (1, "p3", 9.5), (3, "p1", 5.0),
    ]  # fmt: skip
    assert board[0].achieved_at == T0 + timedelta(days=1)
    assert [e.profile_id for e in await Analytics(store).leaderboard("scen-1", "bravery")] == [
        "p4", "p2",
    ]  # fmt: skip
    assert await Analytics(store).leaderboard("scen-1", "honesty", limit=1) == board[:1]
    with pytest.raises(InvalidQuery):
        await Analytics(store).leaderboard("scen-1", 'x"]')


async def test_completion_rate_and_median_length(store: RelationalStore) -> None:
    await load(store)
    stats = await Analytics(store).completion()
    rows = [(s.scenario_id, s.age_group, s.sessions, s.completed, s.median_elapsed) for s in stats]
    assert rows == [
        ("A", "10-12", 2, 2, minutes(20)),
        ("A", "6-9", 4, 3, minutes(20)),
        ("B", "6-9", 1, 0, None),
    ]  # fmt: skip
    assert stats[1].completion_rate == 0.75
    only_b = await Analytics(store).completion("B")
    assert [(s.scenario_id, s.completion_rate) for s in only_b] == [("B", 0.0)]


async def test_sessions_and_last_activity_per_account(store: RelationalStore) -> None:
    await load(store)
    activity = await Analytics(store).account_activity()
    assert [(a.account_id, a.sessions, a.completed) for a in activity] == [
        ("acc-1", 3, 1), ("acc-0", 4, 4), ("acc-idle", 0, 0),
    ]  # fmt: skip
    assert activity[0].last_activity == T0 + timedelta(hours=6)
    assert activity[1].last_activity == T0 + timedelta(hours=5, minutes=30)
    assert activity[2].last_activity is None
    one = await Analytics(store).account_activity(["acc-0"])
    assert [a.account_id for a in one] == ["acc-0"]


async def test_a_profiles_progress_over_time(store: RelationalStore) -> None:
    await load(store)
    points = await Analytics(store).profile_progress("kid")
    assert [(p.scenario_id, p.axis, p.score, p.running_total) for p in points] == [
        ("scen-2", "bravery", 2.0, 2.0),
        ("scen-2", "honesty", 1.0, 1.0),
        ("scen-3", "honesty", 3.0, 4.0),
    ]
    assert points[-1].at == T0 + timedelta(days=11)


# -- index use on a realistic volume -------------------------------------------------------------

SEED = [
    """INSERT INTO accounts (id, email, _version)
        SELECT 'acc-' || g, 'acc-' || g || '@example.test', 1 FROM generate_series(1, 2000) g""",
    """INSERT INTO game_sessions (id, scenario_id, account_id, profile_id, status, start_time,
            elapsed_time, target_age_group, _version)
        SELECT 'gs-' || g, 'scen-' || (g % 1000), 'acc-' || (1 + g % 2000), 'prof-' || (g / 5),
            (ARRAY['Completed','InProgress','Paused','Abandoned','NotStarted'])[1 + g % 5],
            TIMESTAMPTZ '2024-01-01' + g * INTERVAL '1 minute', (g % 90) * INTERVAL '1 minute',
            (ARRAY['6-9','10-12','13-18'])[1 + g % 3], 1
        FROM generate_series(1, 100000) g""",
    """INSERT INTO player_scenario_scores (id, profile_id, scenario_id, axis_scores, created_at,
            _version)
        SELECT 'sc-' || g, 'prof-' || (g / 5), 'scen-' || (g % 1000),
            jsonb_build_object('honesty', (g % 97) / 7.0, 'bravery', g % 13),
            TIMESTAMPTZ '2024-01-01' + g * INTERVAL '1 minute', 1
        FROM generate_series(1, 100000) g""",
    "ANALYZE",
]


@pytest.fixture(scope="module")
def big_pg(pg_server_url: str) -> Iterator[str]:
    with pg.fresh_database(pg_server_url) as url:
        yield url


def plan_of(stmt: sa.Select[object]) -> str:
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    sql = stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True})
    return f"EXPLAIN {sql}"


@pytest.mark.slow
async def test_analytics_use_indexes_on_100k_rows(big_pg: str) -> None:
    await migrate.upgrade(big_pg)
    async with RelationalStore(big_pg) as store:
        async with store.transaction() as conn:
            for statement in SEED:
                await conn.execute(sa.text(statement))
        checks = {
            "player_scenario_scores": [
                an.leaderboard_sql("postgresql", "scen-7", "honesty", 10),
                an.profile_progress_sql("postgresql", "prof-42"),
            ],
            "game_sessions": [
                an.completion_sql("postgresql", "scen-7"),
                an.account_activity_sql("postgresql", ["acc-7"], 10),
            ],
        }
        async with store.reading() as conn:
            for table, statements in checks.items():
                for stmt in statements:
                    plan = "\n".join(r[0] for r in await conn.execute(sa.text(plan_of(stmt))))
                    assert f"Seq Scan on {table}" not in plan, plan
                    assert f"ix_{table}" in plan or "uix_" in plan, plan
        board = await Analytics(store).leaderboard("scen-7", "honesty")
        assert len(board) == 10
        assert [e.score for e in board] == sorted((e.score for e in board), reverse=True)
        (stats,) = [s for s in await Analytics(store).completion("scen-7") if s.age_group == "6-9"]
        assert stats.sessions > 0
