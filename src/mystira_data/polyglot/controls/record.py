"""The control record of one (container, task): what an operator set, and what workers report.

``paused``, ``rate_limit`` (documents per second), ``max_lag_s`` (backfill waits while the
container's replication lag is above it), ``batch_size`` and ``concurrency`` (None: the
worker's default) are set by operators; ``state`` is the reason the running workers last
reported ("running", "paused by operator", "throttled: rate 50/s", …), with who and when.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from mystira_data.errors import InvalidDocument
from mystira_data.query import MAX_PAGE_SIZE

__all__ = [
    "FIELDS",
    "MAX_CONCURRENCY",
    "REASON_KINDS",
    "STATE_FRESH_S",
    "Control",
    "InvalidControl",
    "Task",
    "changed",
    "checked",
    "reason_kind",
]

# A reported state older than this is stale: no worker is running (or reporting) any more.
STATE_FRESH_S = 15.0
MAX_CONCURRENCY = 64


class Task(StrEnum):
    REPLICATION = "replication"
    BACKFILL = "backfill"


class InvalidControl(InvalidDocument):
    """A control value out of range; ``path`` names it as the API spells it."""


# Settable fields: the record's attribute → the API's camelCase name.
FIELDS: dict[str, str] = {
    "paused": "paused",
    "rate_limit": "rateLimit",
    "max_lag_s": "maxLagSeconds",
    "batch_size": "batchSize",
    "concurrency": "concurrency",
}


@dataclass(frozen=True)
class Control:
    container: str
    task: Task
    paused: bool = False
    rate_limit: float | None = None
    max_lag_s: float | None = None
    batch_size: int | None = None
    concurrency: int | None = None
    reason: str | None = None
    updated_by: str | None = None
    updated_at: datetime | None = None
    state: str | None = None
    state_by: str | None = None
    state_at: datetime | None = None

    def live_state(self, now: datetime | None = None) -> str | None:
        """The reported state if a worker reported it recently, else None."""
        if self.state is None or self.state_at is None:
            return None
        age = ((now or datetime.now(UTC)) - _utc(self.state_at)).total_seconds()
        return self.state if age <= STATE_FRESH_S else None

    def holding(self) -> str | None:
        """Why this task does not run freely now (the live state, else "paused by operator"
        while paused with no worker reporting); None when it runs or nothing holds it."""
        live = self.live_state()
        if live is not None and live != "running":
            return live
        return "paused by operator" if self.paused else None

    def as_json(self) -> dict[str, Any]:
        return {
            "container": self.container,
            "task": self.task.value,
            "paused": self.paused,
            "rateLimit": self.rate_limit,
            "maxLagSeconds": self.max_lag_s,
            "batchSize": self.batch_size,
            "concurrency": self.concurrency,
            "reason": self.reason,
            "updatedBy": self.updated_by,
            "updatedAt": None if self.updated_at is None else _utc(self.updated_at).isoformat(),
            "state": self.live_state(),
        }

    def settings(self) -> dict[str, Any]:
        """The operator-set values, by attribute name (what a change may alter)."""
        return {name: getattr(self, name) for name in FIELDS}


# The reasons a metric may name (bounded: never free text).
REASON_KINDS = ("paused", "rate", "lag", "429", "budget")


def reason_kind(state: str) -> str:
    """The bounded kind of a state string: "paused", "rate", "lag", "429", … or "other"."""
    if state.startswith("paused"):
        return "paused"
    head = state.removeprefix("throttled:").split()
    return head[0] if head and head[0] in REASON_KINDS else "other"


def checked(task: Task, changes: Mapping[str, Any]) -> dict[str, Any]:
    """``changes`` (attribute → value) validated; a bad one is `InvalidControl` naming it."""
    out: dict[str, Any] = {}
    for name, value in changes.items():
        if name not in FIELDS:
            raise InvalidControl(f"not a control (one of {', '.join(FIELDS.values())})", path=name)
        out[name] = _checked_value(task, name, value)
    return out


def _checked_value(task: Task, name: str, value: Any) -> Any:
    path = FIELDS[name]
    if name == "paused":
        if not isinstance(value, bool):
            raise InvalidControl("must be true or false", path=path)
        return value
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidControl("must be a number or null", path=path)
    if name == "rate_limit":
        return _bounded(path, float(value), low=0.0, strict=True)
    if name == "max_lag_s":
        if task is not Task.BACKFILL:
            raise InvalidControl("only backfill waits on replication lag", path=path)
        return _bounded(path, float(value), low=0.0)
    if not float(value).is_integer():
        raise InvalidControl("must be a whole number", path=path)
    high = MAX_PAGE_SIZE if name == "batch_size" else MAX_CONCURRENCY
    if not 1 <= int(value) <= high:
        raise InvalidControl(f"must be within 1..{high}", path=path)
    return int(value)


def _bounded(path: str, value: float, *, low: float, strict: bool = False) -> float:
    if not math.isfinite(value) or value < low or (strict and value == low):
        raise InvalidControl(f"must be {'above' if strict else 'at least'} {low:g}", path=path)
    return value


def changed(control: Control, changes: Mapping[str, Any], **meta: Any) -> Control:
    """``control`` with ``changes`` (already `checked`) and the new reason/author applied."""
    return replace(control, **changes, **meta)


def _utc(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)
