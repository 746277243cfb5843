"""The tiered badge system: badges per age group and axis, their images, axis achievements."""

from __future__ import annotations

from pydantic import Field

from mystira_data.domain.base import Base64Bytes, Document, Int32, Long, UtcDateTime, utc_now


class Badge(Document):
    """A badge tier (bronze, silver, ...) on one compass axis for one age group."""

    age_group_id: str = ""
    compass_axis_id: str = ""
    tier: str = ""
    tier_order: Int32 = 0
    title: str = ""
    description: str = ""
    required_score: float = 0.0
    image_id: str = ""
    created_at: UtcDateTime = Field(default_factory=utc_now)
    updated_at: UtcDateTime = Field(default_factory=utc_now)


class BadgeImage(Document):
    """Artwork of a badge; the bytes may be inline (base64 in JSON)."""

    image_id: str = ""
    content_type: str = "image/png"
    image_data: Base64Bytes | None = None
    file_size_bytes: Long = 0
    created_at: UtcDateTime = Field(default_factory=utc_now)
    updated_at: UtcDateTime = Field(default_factory=utc_now)


class AxisAchievement(Document):
    """What progress on an axis in a direction means for an age group."""

    age_group_id: str = ""
    compass_axis_id: str = ""
    axes_direction: str = ""  # "positive" or "negative"
    description: str = ""
    created_at: UtcDateTime = Field(default_factory=utc_now)
    updated_at: UtcDateTime = Field(default_factory=utc_now)
