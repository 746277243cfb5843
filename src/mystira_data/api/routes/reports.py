"""The analytics of ``mystira report`` as read endpoints (`relational.analytics` runs them):

    GET /api/v1/reports/leaderboard?scenarioId=&axis=&limit=   operators
    GET /api/v1/reports/axes                                   operators
    GET /api/v1/reports/completion[?scenarioId=]               operators
    GET /api/v1/reports/accounts[?limit=]                      operators; a player: its own
    GET /api/v1/reports/profiles/{id}/progress                 operators; a player: its own

They read the relational store, as the CLI does: the tables hold the play data once a
container is dual-written (or replicated) there.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Response
from fastapi import Query as Param
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from mystira_data.api.auth import Caller, Operator
from mystira_data.api.routes.documents import PREFIX
from mystira_data.api.routes.play import account_of, service
from mystira_data.api.state import ApiState, Platform
from mystira_data.domain.base import Duration, MystiraModel, UtcDateTime
from mystira_data.relational.analytics import Analytics

REPORTS = f"{PREFIX}/reports"
MAX_ROWS = 1000


class LeaderboardRow(MystiraModel):
    rank: int
    profile_id: str
    score: float
    game_session_id: str | None
    achieved_at: UtcDateTime | None


class AxisRow(MystiraModel):
    axis: str
    scores: int


class CompletionRow(MystiraModel):
    scenario_id: str
    age_group: str | None
    sessions: int
    completed: int
    completion_rate: float
    median_elapsed: Duration | None


class AccountRow(MystiraModel):
    account_id: str
    sessions: int
    completed: int
    last_activity: UtcDateTime | None


class ProgressRow(MystiraModel):
    at: UtcDateTime | None
    scenario_id: str
    axis: str
    score: float
    running_total: float


def analytics(state: ApiState) -> Analytics:
    return Analytics(state.poly.raw_relational)


def rows(
    model: type[BaseModel], found: list[Any], properties: tuple[str, ...] = ()
) -> JSONResponse:
    """Dataclass results (and their named ``properties``) as a JSON list in ``model``'s
    camelCase shape."""
    out = []
    for item in found:
        values = asdict(item)
        values.update({name: getattr(item, name) for name in properties})
        out.append(model.model_validate(values).model_dump(mode="json", by_alias=True))
    return JSONResponse(out)


Limit = Annotated[int, Param(ge=1, le=MAX_ROWS)]
ScenarioParam = Annotated[str, Param(alias="scenarioId", min_length=1)]


def routers() -> list[APIRouter]:
    router = APIRouter(prefix=REPORTS, tags=["Reports"])

    @router.get("/leaderboard", responses={200: {"model": list[LeaderboardRow]}})
    async def leaderboard(
        scenario_id: ScenarioParam,
        axis: Annotated[str, Param(min_length=1, max_length=100)],
        state: Platform,
        caller: Operator,
        limit: Limit = 10,
    ) -> Response:
        """Best scores of a scenario on one compass axis."""
        found = await analytics(state).leaderboard(scenario_id, axis, limit=limit)
        return rows(LeaderboardRow, found)

    @router.get("/axes", responses={200: {"model": list[AxisRow]}})
    async def axes(state: Platform, caller: Operator) -> Response:
        """The compass axes the scores carry (the names the leaderboard takes)."""
        return rows(AxisRow, await analytics(state).axes())

    @router.get("/completion", responses={200: {"model": list[CompletionRow]}})
    async def completion(
        state: Platform,
        caller: Operator,
        scenario_id: Annotated[str | None, Param(alias="scenarioId")] = None,
    ) -> Response:
        """Sessions, completions, completion rate and median length per scenario and age."""
        found = await analytics(state).completion(scenario_id)
        return rows(CompletionRow, found, ("completion_rate",))

    @router.get("/accounts", responses={200: {"model": list[AccountRow]}})
    async def accounts(state: Platform, caller: Caller, limit: Limit = 100) -> Response:
        """Sessions and last activity per account (a player sees its own account only)."""
        account = account_of(caller)
        only = None if account is None else [account]
        return rows(AccountRow, await analytics(state).account_activity(only, limit=limit))

    @router.get("/profiles/{id}/progress", responses={200: {"model": list[ProgressRow]}})
    async def progress(id: str, state: Platform, caller: Caller) -> Response:
        """A profile's scores over time with running totals per axis."""
        if caller.is_player:  # its own profiles only; others answer as missing ones
            await service(state).profile(id, account_of(caller))
        return rows(ProgressRow, await analytics(state).profile_progress(id))

    return [router]
