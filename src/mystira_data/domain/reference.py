"""Reference (master) data: compass axes, archetypes, echo types, themes, age groups, badges."""

from __future__ import annotations

from pydantic import Field

from mystira_data.domain.base import Document, Int32, UtcDateTime, utc_now


class BadgeConfiguration(Document):
    """A badge earned when a compass axis reaches a threshold (the older badge system)."""

    name: str = ""
    message: str = ""
    axis: str = ""  # a compass axis name
    threshold: float = 0.0
    image_id: str = ""
    created_at: UtcDateTime = Field(default_factory=utc_now)
    updated_at: UtcDateTime = Field(default_factory=utc_now)


class Definition(Document):
    """Common shape of the named master-data definitions; soft-deleted, never removed."""

    name: str = ""
    description: str = ""
    # Soft delete keeps references from scenarios and profiles resolvable.
    is_deleted: bool = False
    created_at: UtcDateTime = Field(default_factory=utc_now)
    updated_at: UtcDateTime = Field(default_factory=utc_now)


class CompassAxis(Definition):
    """A compass axis along which choices move a player."""


class ArchetypeDefinition(Definition):
    """An archetype that scenario characters can be given."""


class EchoTypeDefinition(Definition):
    """An echo type, grouped by category (moral, emotional, social, ...)."""

    category: str = ""


class FantasyThemeDefinition(Definition):
    """A fantasy theme for scenarios and profile preferences."""


class AgeGroupDefinition(Definition):
    """An age group: its value (``"6-9"``) and inclusive age range."""

    value: str = ""
    minimum_age: Int32 = 0
    maximum_age: Int32 = 0
