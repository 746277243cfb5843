"""Analytic queries that justify moving play data to PostgreSQL; each is one SQL statement.

* `Analytics.leaderboard` — best scores of one scenario on one compass axis
  (``player_scenario_scores.axis_scores``), via ``ix_player_scenario_scores_scenario_id``;
* `Analytics.completion` — sessions, completions, completion rate and median length of
  completed sessions per scenario and age group (``game_sessions``);
* `Analytics.account_activity` — sessions and last activity per account;
* `Analytics.profile_progress` — a profile's scores over time with running totals per axis.

The same statements run on SQLite (embedded default): the JSON functions and the median
differ per dialect (``percentile_cont`` on PostgreSQL, a window-function median on SQLite).
Tombstoned rows never count. The statement builders are public so tests can EXPLAIN them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from mystira_data.domain.enums import SessionStatus
from mystira_data.errors import InvalidQuery
from mystira_data.relational.store import RelationalStore
from mystira_data.relational.tables import accounts, game_sessions, player_scenario_scores
from mystira_data.relational.types import Elapsed, Timestamp

# Axis names are JSON keys ("Curiosity & Initiative"); the SQLite JSON path quotes them, so
# only a double quote, a backslash or a control character could break out of the label.
_AXIS = re.compile(r'^[^"\\\x00-\x1f]{1,100}$')
COMPLETED = SessionStatus.COMPLETED.value
sessions = game_sessions
scores = player_scenario_scores


@dataclass(frozen=True)
class LeaderboardEntry:
    rank: int
    profile_id: str
    score: float
    game_session_id: str | None
    achieved_at: datetime | None


@dataclass(frozen=True)
class CompletionStats:
    scenario_id: str
    age_group: str | None
    sessions: int
    completed: int
    median_elapsed: timedelta | None  # of completed sessions

    @property
    def completion_rate(self) -> float:
        return self.completed / self.sessions if self.sessions else 0.0


@dataclass(frozen=True)
class AccountActivity:
    account_id: str
    sessions: int
    completed: int
    last_activity: datetime | None


@dataclass(frozen=True)
class ProgressPoint:
    at: datetime | None
    scenario_id: str
    axis: str
    score: float
    running_total: float


@dataclass(frozen=True)
class AxisUsage:
    axis: str
    scores: int


def _live(table: sa.Table) -> sa.ColumnElement[bool]:
    return table.c._deleted.is_(sa.false())


def check_axis(axis: str) -> str:
    if not _AXIS.match(axis):
        raise InvalidQuery(f"invalid compass axis name {axis!r}")
    return axis


def axis_score(dialect: str, axis: str) -> sa.ColumnElement[float]:
    """The numeric score of ``axis`` in ``axis_scores`` (NULL when the axis is absent)."""
    if dialect == "postgresql":
        text = sa.func.jsonb_extract_path_text(scores.c.axis_scores, axis)
        return sa.cast(text, postgresql.DOUBLE_PRECISION)
    path = f'$."{check_axis(axis)}"'
    return sa.cast(sa.func.json_extract(scores.c.axis_scores, path), sa.Float)


def leaderboard_sql(dialect: str, scenario_id: str, axis: str, limit: int) -> sa.Select[Any]:
    score = axis_score(dialect, check_axis(axis)).label("score")
    ranked = (
        sa.select(
            sa.func.rank().over(order_by=score.desc()).label("rank"),
            scores.c.profile_id,
            score,
            scores.c.game_session_id,
            scores.c.created_at,
        )
        .where(scores.c.scenario_id == scenario_id, _live(scores), score.is_not(None))
        .order_by(score.desc(), scores.c.created_at, scores.c.id)
        .limit(limit)
    )
    return ranked


def completion_sql(dialect: str, scenario_id: str | None) -> sa.Select[Any]:
    s = sessions
    done = s.c.status == COMPLETED
    where = [_live(s)] + ([s.c.scenario_id == scenario_id] if scenario_id is not None else [])
    if dialect == "postgresql":
        median: Any = sa.func.percentile_cont(0.5).within_group(s.c.elapsed_time).filter(done)
        return (
            sa.select(
                s.c.scenario_id,
                s.c.target_age_group,
                sa.func.count().label("sessions"),
                sa.func.count().filter(done).label("completed"),
                sa.type_coerce(median, Elapsed()).label("median"),
            )
            .where(*where)
            .group_by(s.c.scenario_id, s.c.target_age_group)
            .order_by(s.c.scenario_id, s.c.target_age_group)
        )
    return _sqlite_completion(where, done)


def _sqlite_completion(where: list[Any], done: Any) -> sa.Select[Any]:
    # SQLite has no percentile function: number the completed sessions per group by length
    # and average the middle one or two.
    s = sessions
    group = (s.c.scenario_id, s.c.target_age_group)
    numbered = (
        sa.select(
            *group,
            s.c.elapsed_time.label("elapsed"),
            sa.func.row_number().over(partition_by=group, order_by=s.c.elapsed_time).label("rn"),
            sa.func.count().over(partition_by=group).label("n"),
        )
        .where(*where, done, s.c.elapsed_time.is_not(None))
        .cte("numbered")
    )
    half = ((numbered.c.n + 1) // 2, (numbered.c.n + 2) // 2)  # the middle one or two
    middle = numbered.c.rn.in_(half)
    medians = (
        sa.select(
            numbered.c.scenario_id,
            numbered.c.target_age_group,
            sa.func.avg(numbered.c.elapsed).label("median"),
        )
        .where(middle)
        .group_by(numbered.c.scenario_id, numbered.c.target_age_group)
        .cte("medians")
    )
    counts = (
        sa.select(
            *group,
            sa.func.count().label("sessions"),
            sa.func.count().filter(done).label("completed"),
        )
        .where(*where)
        .group_by(*group)
        .cte("counts")
    )
    same_group = sa.and_(
        medians.c.scenario_id == counts.c.scenario_id,
        medians.c.target_age_group.is_not_distinct_from(counts.c.target_age_group),
    )
    return (
        sa.select(
            counts.c.scenario_id,
            counts.c.target_age_group,
            counts.c.sessions,
            counts.c.completed,
            sa.type_coerce(sa.func.round(medians.c.median), Elapsed()).label("median"),
        )
        .select_from(counts.outerjoin(medians, same_group))
        .order_by(counts.c.scenario_id, counts.c.target_age_group)
    )


def _latest(dialect: str, *values: Any) -> Any:
    # PostgreSQL's greatest() skips NULLs; SQLite's multi-argument max() does not, so
    # every value falls back to start_time (always set) there.
    if dialect == "postgresql":
        return sa.func.greatest(*values)
    return sa.func.max(*(sa.func.coalesce(v, sessions.c.start_time) for v in values))


def account_activity_sql(
    dialect: str, account_ids: Sequence[str] | None, limit: int
) -> sa.Select[Any]:
    s = sessions
    joined = accounts.outerjoin(s, sa.and_(s.c.account_id == accounts.c.id, _live(s)))
    last = sa.func.max(_latest(dialect, s.c.start_time, s.c.end_time, s.c.paused_at))
    stmt = (
        sa.select(
            accounts.c.id.label("account_id"),
            sa.func.count(s.c.id).label("sessions"),
            sa.func.count(s.c.id).filter(s.c.status == COMPLETED).label("completed"),
            sa.type_coerce(last, Timestamp()).label("last_activity"),
        )
        .select_from(joined)
        .where(_live(accounts))
        .group_by(accounts.c.id)
        .order_by(sa.literal_column("last_activity").desc().nulls_last(), accounts.c.id)
        .limit(limit)
    )
    if account_ids is not None:
        stmt = stmt.where(accounts.c.id.in_(list(account_ids)))
    return stmt


def profile_progress_sql(dialect: str, profile_id: str) -> sa.Select[Any]:
    if dialect == "postgresql":
        each = sa.func.jsonb_each_text(scores.c.axis_scores).table_valued("key", "value")
        value: Any = sa.cast(each.c.value, postgresql.DOUBLE_PRECISION)
    else:
        each = sa.func.json_each(scores.c.axis_scores).table_valued("key", "value")
        value = sa.cast(each.c.value, sa.Float)
    running = sa.func.sum(value).over(
        partition_by=each.c.key, order_by=(scores.c.created_at, scores.c.id)
    )
    return (
        sa.select(
            scores.c.created_at,
            scores.c.scenario_id,
            each.c.key.label("axis"),
            value.label("score"),
            running.label("running_total"),
        )
        .select_from(scores.join(each, sa.true()))
        .where(scores.c.profile_id == profile_id, _live(scores))
        .order_by(scores.c.created_at, scores.c.id, each.c.key)
    )


def axes_sql(dialect: str) -> sa.Select[Any]:
    """Every compass axis the live scores carry, with how many scores carry it."""
    fn = sa.func.jsonb_each_text if dialect == "postgresql" else sa.func.json_each
    each = fn(scores.c.axis_scores).table_valued("key", "value")
    return (
        sa.select(each.c.key.label("axis"), sa.func.count().label("scores"))
        .select_from(scores.join(each, sa.true()))
        .where(_live(scores))
        .group_by(each.c.key)
        .order_by(each.c.key)
    )


class Analytics:
    """The analytic queries, run on a `RelationalStore`."""

    def __init__(self, store: RelationalStore) -> None:
        self.store = store

    async def _rows(self, stmt: sa.Select[Any]) -> Sequence[sa.Row[Any]]:
        async with self.store.reading() as conn:
            result = await conn.execute(stmt)
            return list(result.all())

    async def leaderboard(
        self, scenario_id: str, axis: str, *, limit: int = 10
    ) -> list[LeaderboardEntry]:
        rows = await self._rows(leaderboard_sql(self.store.dialect, scenario_id, axis, limit))
        return [
            LeaderboardEntry(
                int(r.rank), r.profile_id, float(r.score), r.game_session_id, r.created_at
            )
            for r in rows
        ]

    async def completion(self, scenario_id: str | None = None) -> list[CompletionStats]:
        rows = await self._rows(completion_sql(self.store.dialect, scenario_id))
        return [
            CompletionStats(
                r.scenario_id, r.target_age_group, int(r.sessions), int(r.completed), r.median
            )
            for r in rows
        ]

    async def account_activity(
        self, account_ids: Sequence[str] | None = None, *, limit: int = 100
    ) -> list[AccountActivity]:
        rows = await self._rows(account_activity_sql(self.store.dialect, account_ids, limit))
        return [
            AccountActivity(r.account_id, int(r.sessions), int(r.completed), r.last_activity)
            for r in rows
        ]

    async def axes(self) -> list[AxisUsage]:
        rows = await self._rows(axes_sql(self.store.dialect))
        return [AxisUsage(r.axis, int(r.scores)) for r in rows]

    async def profile_progress(self, profile_id: str) -> list[ProgressPoint]:
        rows = await self._rows(profile_progress_sql(self.store.dialect, profile_id))
        return [
            ProgressPoint(
                r.created_at, r.scenario_id, r.axis, float(r.score), float(r.running_total)
            )
            for r in rows
        ]
