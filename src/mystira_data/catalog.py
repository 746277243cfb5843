"""The container catalog: every container (entity set) listed once, as data.

Stores, CLI, API and reports read this table; nothing else hard-codes container names.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel

from mystira_data.domain import analytics, badges, content, media, play, reference, users


class Placement(StrEnum):
    """Where a container belongs in the long run."""

    DOCUMENT = "document"
    RELATIONAL = "relational-candidate"
    SPLIT = "split-candidate"
    EMBEDDED = "embedded"


class TtlClass(StrEnum):
    """Cache lifetime class; `Caching` settings turn it into minutes."""

    SHORT = "short"  # live play state
    MEDIUM = "medium"  # user data
    LONG = "long"  # content and reference data, read-heavy


@dataclass(frozen=True)
class ContainerSpec:
    name: str
    area: str
    model: type[BaseModel]
    partition_key: str
    placement: Placement
    ttl_class: TtlClass
    rationale: str
    table: str | None = None
    priority: int | None = None
    embedded_in: str | None = None

    @property
    def pk_field(self) -> str:
        """The top-level JSON field named by the partition-key path."""
        return self.partition_key.strip("/").split("/")[0]

    @property
    def is_relational(self) -> bool:
        return self.table is not None

    @property
    def is_document_container(self) -> bool:
        """False for entity sets embedded in another container's documents."""
        return self.embedded_in is None


def _c(
    name: str,
    area: str,
    model: type[BaseModel],
    pk: str,
    placement: Placement,
    ttl: TtlClass,
    rationale: str,
    **extra: object,
) -> ContainerSpec:
    return ContainerSpec(name, area, model, pk, placement, ttl, rationale, **extra)  # type: ignore[arg-type]


D, R, L, M, S = Placement.DOCUMENT, TtlClass.LONG, TtlClass.LONG, TtlClass.MEDIUM, TtlClass.SHORT

CONTAINERS: tuple[ContainerSpec, ...] = (
    _c(
        "Accounts",
        "users",
        users.Account,
        "/id",
        Placement.RELATIONAL,
        M,
        "Transactional, unique email, FK target of sessions.",
        table="accounts",
        priority=1,
    ),
    _c(
        "UserProfiles",
        "users",
        users.UserProfile,
        "/id",
        Placement.SPLIT,
        M,
        "Core fields fit rows; preferences and embedded badges stay documents.",
    ),
    _c(
        "UserBadges",
        "users",
        users.UserBadge,
        "/userProfileId",
        Placement.EMBEDDED,
        M,
        "Embedded in UserProfile.earnedBadges; a child table with an FK once profiles move.",
        embedded_in="UserProfiles",
    ),
    _c(
        "GameSessions",
        "play",
        play.GameSession,
        "/accountId",
        Placement.RELATIONAL,
        S,
        "Frequent updates needing ACID; per-account queries.",
        table="game_sessions",
        priority=2,
    ),
    _c(
        "PlayerScenarioScores",
        "play",
        play.PlayerScenarioScore,
        "/profileId",
        Placement.RELATIONAL,
        M,
        "Leaderboards and joins are analytic SQL.",
        table="player_scenario_scores",
        priority=3,
    ),
    _c(
        "Scenarios",
        "content",
        content.Scenario,
        "/id",
        D,
        L,
        "Deeply nested scenes, branches and media: one document per story.",
    ),
    _c(
        "ContentBundles",
        "content",
        content.ContentBundle,
        "/id",
        D,
        L,
        "Curated lists of scenarios, read as a whole.",
    ),
    _c(
        "CharacterMaps",
        "content",
        content.CharacterMap,
        "/id",
        D,
        L,
        "Character sheets with free-form metadata.",
    ),
    _c(
        "MediaAssets",
        "media",
        media.MediaAsset,
        "/mediaType",
        D,
        L,
        "Media metadata next to its blob; queried by type.",
    ),
    _c(
        "MediaMetadataFiles",
        "media",
        media.MediaMetadataFile,
        "/id",
        D,
        L,
        "Imported metadata files, nested entry lists.",
    ),
    _c(
        "CharacterMediaMetadataFiles",
        "media",
        media.CharacterMediaMetadataFile,
        "/id",
        D,
        L,
        "Imported character media metadata files.",
    ),
    _c(
        "CharacterMapFiles",
        "media",
        media.CharacterMapFile,
        "/id",
        D,
        L,
        "Imported character map files.",
    ),
    _c(
        "AvatarConfigurationFiles",
        "media",
        media.AvatarConfigurationFile,
        "/id",
        D,
        L,
        "Age group to avatar ids; small, could become rows.",
    ),
    _c(
        "BadgeConfigurations",
        "reference",
        reference.BadgeConfiguration,
        "/id",
        D,
        R,
        "Reference data, read-heavy, rarely written.",
    ),
    _c(
        "CompassAxes",
        "reference",
        reference.CompassAxis,
        "/id",
        D,
        R,
        "Reference data, read-heavy, rarely written.",
    ),
    _c(
        "ArchetypeDefinitions",
        "reference",
        reference.ArchetypeDefinition,
        "/id",
        D,
        R,
        "Reference data, read-heavy, rarely written.",
    ),
    _c(
        "EchoTypeDefinitions",
        "reference",
        reference.EchoTypeDefinition,
        "/id",
        D,
        R,
        "Reference data, read-heavy, rarely written.",
    ),
    _c(
        "FantasyThemeDefinitions",
        "reference",
        reference.FantasyThemeDefinition,
        "/id",
        D,
        R,
        "Reference data, read-heavy, rarely written.",
    ),
    _c(
        "AgeGroupDefinitions",
        "reference",
        reference.AgeGroupDefinition,
        "/id",
        D,
        R,
        "Reference data, read-heavy, rarely written.",
    ),
    _c(
        "Badges",
        "badges",
        badges.Badge,
        "/id",
        D,
        L,
        "Badge tiers per age group and axis; read-heavy.",
    ),
    _c("BadgeImages", "badges", badges.BadgeImage, "/id", D, L, "Badge artwork metadata."),
    _c(
        "AxisAchievements",
        "badges",
        badges.AxisAchievement,
        "/id",
        D,
        L,
        "Achievement texts per age group and axis.",
    ),
    _c(
        "CompassTrackings",
        "analytics",
        analytics.CompassTracking,
        "/axis",
        D,
        S,
        "Per-axis analytics events; partitioned by axis for aggregation.",
    ),
)

BY_NAME: dict[str, ContainerSpec] = {c.name: c for c in CONTAINERS}


def get(name: str) -> ContainerSpec:
    """The spec for ``name``; `KeyError` lists the valid names."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown container {name!r}; known: {', '.join(BY_NAME)}") from None


def document_containers() -> Iterator[ContainerSpec]:
    """Containers that exist as document-store containers (not embedded sets)."""
    return (c for c in CONTAINERS if c.is_document_container)


def relational_containers() -> Iterator[ContainerSpec]:
    """Containers with a relational table mapping."""
    return (c for c in CONTAINERS if c.is_relational)


# The polyglot layer's own document container: the phase record's mirror (`phase_copies`).
CONTROL_CONTAINER = "PolyglotControl"


def partition_keys() -> dict[str, str]:
    """Container name → partition-key path, for the document stores (control included)."""
    return {c.name: c.partition_key for c in document_containers()} | {CONTROL_CONTAINER: "/id"}
