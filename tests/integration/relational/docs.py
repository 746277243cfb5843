"""Small factories of canonical documents for the relational tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from mystira_data.domain.codec import codec_for
from mystira_data.domain.play import GameSession, PlayerScenarioScore
from mystira_data.domain.users import Account

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def account(id: str, **fields: Any) -> dict[str, Any]:
    model = Account.model_validate({"id": id, "email": f"{id}@example.test", **fields})
    return codec_for(Account).encode(model)


def session(id: str, account_id: str, **fields: Any) -> dict[str, Any]:
    data = {"id": id, "accountId": account_id, "startTime": T0, "scenarioId": "sc-1", **fields}
    return codec_for(GameSession).encode(GameSession.model_validate(data))


def score(id: str, profile_id: str, **fields: Any) -> dict[str, Any]:
    data = {"id": id, "profileId": profile_id, "scenarioId": "sc-1", "createdAt": T0, **fields}
    return codec_for(PlayerScenarioScore).encode(PlayerScenarioScore.model_validate(data))


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)
