"""The game flow over HTTP (`mystira_data.play` holds the logic):

    POST /api/v1/play/sessions                   start (profile, scenario) → 201 + ETag
    POST /api/v1/play/sessions/{id}/choices      record a choice   [If-Match]
    POST /api/v1/play/sessions/{id}/pause        pause             [If-Match]
    POST /api/v1/play/sessions/{id}/resume       resume            [If-Match]
    POST /api/v1/play/sessions/{id}/complete     complete: session, first score, new badges
    GET  /api/v1/play/profiles/{id}/badges       the profile's earned badges
    GET  /api/v1/play/profiles/{id}/progress     sessions, scores, compass totals

Without If-Match a session write retries on a concurrent change and answers 409 once its
attempts run out; with If-Match it is tried once and a stale ETag is a 412. A player key
reaches only its own account's profiles and sessions: anything else answers 404.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from pydantic import Field

from mystira_data.api.auth import Caller
from mystira_data.api.auth.roles import Principal
from mystira_data.api.problems import ApiProblem
from mystira_data.api.routes.documents import (
    PREFIX,
    IfMatch,
    answer,
    etag,
    expected_version,
    public,
)
from mystira_data.api.state import ApiState, Platform
from mystira_data.domain.base import MystiraModel
from mystira_data.domain.play import GameSession, PlayerScenarioScore
from mystira_data.domain.users import UserBadge
from mystira_data.play import PlayRefused, PlayService, WriteContended
from mystira_data.play.progress import badges, progress
from mystira_data.types import JsonDoc

PLAY = f"{PREFIX}/play"
# A contended session frees up within milliseconds; a second is a polite wait.
CONTENDED_RETRY_AFTER_S = "1"


class StartSession(MystiraModel):
    profile_id: str = Field(min_length=1)
    scenario_id: str = Field(min_length=1)
    player_names: list[str] = Field(default_factory=list, max_length=8)


class MakeChoice(MystiraModel):
    choice_text: str = Field(min_length=1)
    scene_id: str | None = None  # default: the session's current scene
    player_id: str | None = None  # default: the session's profile


class CompletionAnswer(MystiraModel):
    session: GameSession
    score: PlayerScenarioScore
    new_badges: list[UserBadge]


class Progress(MystiraModel):
    profile_id: str
    sessions: int
    sessions_by_status: dict[str, int]
    completed_scenario_ids: list[str]
    axis_totals: dict[str, float]
    scores: list[dict[str, Any]]
    badges: int


@contextmanager
def play_errors() -> Iterator[None]:
    """The game flow's own refusals as problems (the platform's errors pass through)."""
    try:
        yield
    except PlayRefused as exc:
        raise ApiProblem(409, "Conflict", str(exc)) from exc
    except WriteContended as exc:
        raise ApiProblem(
            409, "Conflict", str(exc), {"Retry-After": CONTENDED_RETRY_AFTER_S}
        ) from exc


def service(state: ApiState) -> PlayService:
    return PlayService(state.poly.repository)


def account_of(caller: Principal) -> str | None:
    """The account a caller is limited to; None for operators and admins."""
    return caller.account_id if caller.is_player else None


SESSION: dict[int | str, dict[str, Any]] = {
    200: {"model": GameSession, "description": "The session; ETag: its version"}
}


StateChange = Callable[..., Awaitable[JsonDoc]]


def _state_change(move: StateChange) -> Callable[..., Awaitable[Response]]:
    """A route for a session move that takes only the version (pause, resume)."""

    async def change(
        id: str, state: Platform, caller: Caller, if_match: IfMatch = None
    ) -> Response:
        with play_errors():
            doc = await move(
                service(state), account_of(caller), id, expected_version=expected_version(if_match)
            )
        return answer(doc)

    return change


def session_router() -> APIRouter:
    router = APIRouter(prefix=f"{PLAY}/sessions", tags=["Play"])

    @router.post("", status_code=201, responses={201: {"model": GameSession}})
    async def start_session(body: StartSession, state: Platform, caller: Caller) -> Response:
        """Start a session of a scenario for a profile, at its first scene."""
        with play_errors():
            doc = await service(state).start(
                account_of(caller), body.profile_id, body.scenario_id, body.player_names
            )
        return answer(doc, 201, Location=f"{PREFIX}/game-sessions/{doc['id']}")

    @router.post("/{id}/choices", responses=SESSION)
    async def make_choice(
        id: str, body: MakeChoice, state: Platform, caller: Caller, if_match: IfMatch = None
    ) -> Response:
        """Record a choice: history, echo and compass move in one conditional write."""
        with play_errors():
            doc = await service(state).choose(
                account_of(caller),
                id,
                body.choice_text,
                scene_id=body.scene_id,
                player_id=body.player_id,
                expected_version=expected_version(if_match),
            )
        return answer(doc)

    for action, move in (("pause", PlayService.pause), ("resume", PlayService.resume)):
        router.post(
            f"/{{id}}/{action}",
            responses=SESSION,
            name=f"{action}_session",
            summary=f"{action.capitalize()} the session (repeating it changes nothing)",
        )(_state_change(move))

    @router.post("/{id}/complete", responses={200: {"model": CompletionAnswer}})
    async def complete_session(
        id: str, state: Platform, caller: Caller, if_match: IfMatch = None
    ) -> Response:
        """Complete the session; records the profile's first score of the scenario and
        awards the badges its compass totals reached (repeating it is harmless)."""
        with play_errors():
            done = await service(state).complete(
                account_of(caller), id, expected_version=expected_version(if_match)
            )
        body = {
            "session": public(done.session),
            "score": public(done.score),
            "newBadges": [b.model_dump(mode="json", by_alias=True) for b in done.new_badges],
        }
        return JSONResponse(body, headers={"ETag": etag(done.session)})

    return router


def profile_router() -> APIRouter:
    router = APIRouter(prefix=f"{PLAY}/profiles", tags=["Play"])

    @router.get("/{id}/badges", responses={200: {"model": list[UserBadge]}})
    async def profile_badges(id: str, state: Platform, caller: Caller) -> Response:
        """The badges the profile has earned."""
        profile = await service(state).profile(id, account_of(caller))
        return JSONResponse(badges(profile))

    @router.get("/{id}/progress", responses={200: {"model": Progress}})
    async def profile_progress(id: str, state: Platform, caller: Caller) -> Response:
        """Sessions by status, completed scenarios, scores and compass totals."""
        profile = await service(state).profile(id, account_of(caller))
        return JSONResponse(await progress(state.poly.repository, profile))

    return router


def routers() -> list[APIRouter]:
    return [session_router(), profile_router()]
