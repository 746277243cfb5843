"""Compass tracking: the running value of one compass axis, per session or as an event."""

from __future__ import annotations

from pydantic import Field

from mystira_data.domain.base import Document, MystiraModel, NonBlankStr, UtcDateTime, utc_now
from mystira_data.domain.content import CompassChange


class CompassTrackingState(MystiraModel):
    """Where one compass axis stands and how it got there.

    Used as the values of ``GameSession.compass_values`` (keyed by axis), where C# stores it
    without an id.
    """

    axis: str = ""
    current_value: float = 0.0
    starting_value: float = 0.0
    history: list[CompassChange] = Field(default_factory=list)
    last_updated: UtcDateTime = Field(default_factory=utc_now)


class CompassTracking(CompassTrackingState, Document):
    """A compass-tracking record in the analytics container, partitioned by ``axis``.

    ``id`` and the optional profile/session links are our additions: the C# app keyed these
    records by axis alone, which allows only one record per axis.
    """

    axis: NonBlankStr
    profile_id: str | None = None
    session_id: str | None = None
