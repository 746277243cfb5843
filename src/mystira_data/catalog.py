"""The container catalog: every container (entity set) listed once, as data.

Stores, CLI, API and reports read this table; nothing else hard-codes container names.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from pydantic import BaseModel

from mystira_data.domain import analytics, badges, content, media, play, reference, users

V = TypeVar("V")


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


class OnDelete(StrEnum):
    """What deleting a parent does to its children (V002's foreign-key rules)."""

    CASCADE = "cascade"  # the children are deleted too
    SET_NULL = "set-null"  # the children's link field is set to null


@dataclass(frozen=True)
class ParentLink:
    """A V002 foreign key, in document terms: ``field`` of the child names a ``container`` id."""

    container: str
    field: str
    on_delete: OnDelete


class ChildShape(StrEnum):
    """How an embedded field becomes child rows."""

    ITEMS = "items"  # an array of objects: one row per item, its fields in columns
    LISTS_BY_KEY = "lists-by-key"  # an object of key → list of strings: one row per value


@dataclass(frozen=True)
class ChildTable:
    """An embedded field kept as rows of a table of its own, with a foreign key to the
    parent row; ``key`` is the item field unique within one parent (`ChildShape.ITEMS`)."""

    field: str  # the parent document's field (camelCase)
    table: str
    key: str = ""
    shape: ChildShape = ChildShape.ITEMS


@dataclass(frozen=True)
class SplitSpec:
    """A `split` container: ``core`` fields (camelCase) and ``children`` live in PostgreSQL
    and move through the phases; every other field stays in the document store."""

    core: tuple[str, ...]
    children: tuple[ChildTable, ...] = ()

    @property
    def relational_fields(self) -> frozenset[str]:
        """Every top-level field the relational side holds (core and child arrays)."""
        return frozenset(self.core) | {c.field for c in self.children}


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
    embedded_field: str | None = None  # the parent document's array holding the items
    parent: ParentLink | None = None
    # The C# app's partition-key path (EF Core 9 names), where it differs from ours.
    efcore_partition_key: str | None = None
    # A split container (a table holding only part of each document); None: whole documents.
    split: SplitSpec | None = None
    # A whole-document container's fields kept as child rows (a split one's: in ``split``).
    children: tuple[ChildTable, ...] = ()

    def __post_init__(self) -> None:
        if (self.embedded_in is None) != (self.embedded_field is None):
            raise ValueError(f"{self.name}: embedded_in and embedded_field go together")

    @property
    def pk_field(self) -> str:
        """The top-level JSON field named by the partition-key path."""
        return self.partition_key.strip("/").split("/")[0]

    @property
    def efcore_pk(self) -> str:
        """The partition-key path of the C# app's container (``DocumentStore:Format=efcore9``)."""
        return self.efcore_partition_key or self.partition_key

    @property
    def is_relational(self) -> bool:
        return self.table is not None

    @property
    def is_split(self) -> bool:
        return self.split is not None

    @property
    def child_tables(self) -> tuple[ChildTable, ...]:
        """Every field of the container kept as child rows."""
        return (self.split.children if self.split else ()) + self.children

    @property
    def is_document_container(self) -> bool:
        """False for entity sets embedded in another container's documents."""
        return self.embedded_in is None


CONTAINERS: tuple[ContainerSpec, ...] = (
    ContainerSpec(
        name="Accounts",
        area="users",
        model=users.Account,
        partition_key="/id",
        placement=Placement.RELATIONAL,
        ttl_class=TtlClass.MEDIUM,
        rationale="Transactional, unique email, FK target of sessions.",
        table="accounts",
        priority=1,
    ),
    ContainerSpec(
        name="UserProfiles",
        area="users",
        model=users.UserProfile,
        partition_key="/id",
        placement=Placement.SPLIT,
        ttl_class=TtlClass.MEDIUM,
        rationale="Core fields fit rows; preferences and embedded badges stay documents.",
        table="user_profiles",
        priority=4,
        parent=ParentLink("Accounts", "accountId", OnDelete.CASCADE),
        split=SplitSpec(
            core=(
                "id",
                "accountId",
                "name",
                "ageGroup",
                "dateOfBirth",
                "isGuest",
                "isNpc",
                "hasCompletedOnboarding",
                "createdAt",
                "updatedAt",
            ),
            # The C# app awards a badge configuration once per profile (HasEarnedBadge).
            children=(ChildTable("earnedBadges", "user_badges", "badgeConfigurationId"),),
        ),
    ),
    ContainerSpec(
        name="UserBadges",
        area="users",
        model=users.UserBadge,
        partition_key="/userProfileId",
        placement=Placement.EMBEDDED,
        ttl_class=TtlClass.MEDIUM,
        rationale=(
            "Embedded in UserProfile.earnedBadges; a child table with an FK once profiles move."
        ),
        embedded_in="UserProfiles",
        embedded_field="earnedBadges",
    ),
    ContainerSpec(
        name="GameSessions",
        area="play",
        model=play.GameSession,
        partition_key="/accountId",
        placement=Placement.RELATIONAL,
        ttl_class=TtlClass.SHORT,
        rationale="Frequent updates needing ACID; per-account queries.",
        table="game_sessions",
        priority=2,
        parent=ParentLink("Accounts", "accountId", OnDelete.CASCADE),
    ),
    ContainerSpec(
        name="PlayerScenarioScores",
        area="play",
        model=play.PlayerScenarioScore,
        partition_key="/profileId",
        efcore_partition_key="/ProfileId",
        placement=Placement.RELATIONAL,
        ttl_class=TtlClass.MEDIUM,
        rationale="Leaderboards and joins are analytic SQL.",
        table="player_scenario_scores",
        priority=3,
        parent=ParentLink("GameSessions", "gameSessionId", OnDelete.SET_NULL),
    ),
    ContainerSpec(
        name="Scenarios",
        area="content",
        model=content.Scenario,
        partition_key="/id",
        placement=Placement.DOCUMENT,
        ttl_class=TtlClass.LONG,
        rationale="Deeply nested scenes, branches and media: one document per story.",
    ),
    ContainerSpec(
        name="ContentBundles",
        area="content",
        model=content.ContentBundle,
        partition_key="/id",
        placement=Placement.DOCUMENT,
        ttl_class=TtlClass.LONG,
        rationale="Curated lists of scenarios, read as a whole.",
    ),
    ContainerSpec(
        name="CharacterMaps",
        area="content",
        model=content.CharacterMap,
        partition_key="/id",
        placement=Placement.DOCUMENT,
        ttl_class=TtlClass.LONG,
        rationale="Character sheets with free-form metadata.",
    ),
    ContainerSpec(
        name="MediaAssets",
        area="media",
        model=media.MediaAsset,
        partition_key="/mediaType",
        placement=Placement.DOCUMENT,
        ttl_class=TtlClass.LONG,
        rationale="Media metadata next to its blob; queried by type.",
    ),
    ContainerSpec(
        name="MediaMetadataFiles",
        area="media",
        model=media.MediaMetadataFile,
        partition_key="/id",
        placement=Placement.DOCUMENT,
        ttl_class=TtlClass.LONG,
        rationale="Imported metadata files, nested entry lists.",
    ),
    ContainerSpec(
        name="CharacterMediaMetadataFiles",
        area="media",
        model=media.CharacterMediaMetadataFile,
        partition_key="/id",
        placement=Placement.DOCUMENT,
        ttl_class=TtlClass.LONG,
        rationale="Imported character media metadata files.",
    ),
    ContainerSpec(
        name="CharacterMapFiles",
        area="media",
        model=media.CharacterMapFile,
        partition_key="/id",
        placement=Placement.DOCUMENT,
        ttl_class=TtlClass.LONG,
        rationale="Imported character map files.",
    ),
    ContainerSpec(
        name="AvatarConfigurationFiles",
        area="media",
        model=media.AvatarConfigurationFile,
        partition_key="/id",
        placement=Placement.RELATIONAL,
        ttl_class=TtlClass.LONG,
        rationale="Age group to avatar ids; small, could become rows.",
        table="avatar_configuration_files",
        priority=5,
        children=(
            ChildTable(
                "ageGroupAvatars", "avatar_configuration_avatars", shape=ChildShape.LISTS_BY_KEY
            ),
        ),
    ),
    ContainerSpec(
        name="BadgeConfigurations",
        area="reference",
        model=reference.BadgeConfiguration,
        partition_key="/id",
        placement=Placement.DOCUMENT,
        ttl_class=TtlClass.LONG,
        rationale="Reference data, read-heavy, rarely written.",
    ),
    ContainerSpec(
        name="CompassAxes",
        area="reference",
        model=reference.CompassAxis,
        partition_key="/id",
        placement=Placement.DOCUMENT,
        ttl_class=TtlClass.LONG,
        rationale="Reference data, read-heavy, rarely written.",
    ),
    ContainerSpec(
        name="ArchetypeDefinitions",
        area="reference",
        model=reference.ArchetypeDefinition,
        partition_key="/id",
        placement=Placement.DOCUMENT,
        ttl_class=TtlClass.LONG,
        rationale="Reference data, read-heavy, rarely written.",
    ),
    ContainerSpec(
        name="EchoTypeDefinitions",
        area="reference",
        model=reference.EchoTypeDefinition,
        partition_key="/id",
        placement=Placement.DOCUMENT,
        ttl_class=TtlClass.LONG,
        rationale="Reference data, read-heavy, rarely written.",
    ),
    ContainerSpec(
        name="FantasyThemeDefinitions",
        area="reference",
        model=reference.FantasyThemeDefinition,
        partition_key="/id",
        placement=Placement.DOCUMENT,
        ttl_class=TtlClass.LONG,
        rationale="Reference data, read-heavy, rarely written.",
    ),
    ContainerSpec(
        name="AgeGroupDefinitions",
        area="reference",
        model=reference.AgeGroupDefinition,
        partition_key="/id",
        placement=Placement.DOCUMENT,
        ttl_class=TtlClass.LONG,
        rationale="Reference data, read-heavy, rarely written.",
    ),
    ContainerSpec(
        name="Badges",
        area="badges",
        model=badges.Badge,
        partition_key="/id",
        placement=Placement.DOCUMENT,
        ttl_class=TtlClass.LONG,
        rationale="Badge tiers per age group and axis; read-heavy.",
    ),
    ContainerSpec(
        name="BadgeImages",
        area="badges",
        model=badges.BadgeImage,
        partition_key="/id",
        placement=Placement.DOCUMENT,
        ttl_class=TtlClass.LONG,
        rationale="Badge artwork metadata.",
    ),
    ContainerSpec(
        name="AxisAchievements",
        area="badges",
        model=badges.AxisAchievement,
        partition_key="/id",
        placement=Placement.DOCUMENT,
        ttl_class=TtlClass.LONG,
        rationale="Achievement texts per age group and axis.",
    ),
    ContainerSpec(
        name="CompassTrackings",
        area="analytics",
        model=analytics.CompassTracking,
        partition_key="/axis",
        efcore_partition_key="/id",  # the C# app stores the axis as the id
        placement=Placement.DOCUMENT,
        ttl_class=TtlClass.SHORT,
        rationale="Per-axis analytics events; partitioned by axis for aggregation.",
    ),
)

BY_NAME: dict[str, ContainerSpec] = {c.name: c for c in CONTAINERS}


def by_catalog_name(mapping: dict[Any, V]) -> dict[str, V]:
    """``mapping`` re-keyed by catalog names, matched ignoring case (settings from the
    environment arrive lower-cased); `ValueError` naming any unknown key."""
    names = {n.lower(): n for n in BY_NAME}
    unknown = sorted(str(k) for k in mapping if str(k).lower() not in names)
    if unknown:
        raise ValueError(f"unknown container(s) {unknown}")
    return {names[str(k).lower()]: v for k, v in mapping.items()}


def get(name: str) -> ContainerSpec:
    """The spec for ``name``; `KeyError` lists the valid names."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown container {name!r}; known: {', '.join(BY_NAME)}") from None


def document_containers() -> Iterator[ContainerSpec]:
    """Containers that exist as document-store containers (not embedded sets)."""
    return (c for c in CONTAINERS if c.is_document_container)


def children_of(name: str) -> Iterator[tuple[ContainerSpec, ParentLink]]:
    """Containers whose documents point at a ``name`` document (V002 foreign keys), with
    the link."""
    return ((c, c.parent) for c in CONTAINERS if c.parent and c.parent.container == name)


def relational_containers() -> Iterator[ContainerSpec]:
    """Containers with a relational table mapping."""
    return (c for c in CONTAINERS if c.is_relational)


# The polyglot layer's own document container: the phase record's mirror (`phase_copies`).
CONTROL_CONTAINER = "PolyglotControl"


def partition_keys(*, efcore: bool = False) -> dict[str, str]:
    """Container name → partition-key path, for the document stores (control included);
    ``efcore``: the C# app's paths, for a store in the ``efcore9`` format."""
    paths = {c.name: c.efcore_pk if efcore else c.partition_key for c in document_containers()}
    return paths | {CONTROL_CONTAINER: "/id"}


# Fields a container's list may be filtered by (besides ``id`` and the partition key): the
# data API refuses others, so no caller can make a store scan on a field nobody meant to query.
QUERY_FIELDS: dict[str, tuple[str, ...]] = {
    "Accounts": ("email", "externalUserId", "role"),
    "UserProfiles": ("accountId", "ageGroup", "isGuest", "isNpc"),
    "GameSessions": ("profileId", "scenarioId", "status"),
    "PlayerScenarioScores": ("scenarioId", "gameSessionId"),
    "Scenarios": ("ageGroup", "difficulty", "sessionLength"),
    "ContentBundles": ("ageGroup", "isFree"),
    "CharacterMaps": ("name",),
    "MediaAssets": ("mediaId", "mimeType"),
    "BadgeConfigurations": ("axis",),
    "CompassAxes": ("name", "isDeleted"),
    "ArchetypeDefinitions": ("name", "isDeleted"),
    "EchoTypeDefinitions": ("name", "category", "isDeleted"),
    "FantasyThemeDefinitions": ("name", "isDeleted"),
    "AgeGroupDefinitions": ("value", "isDeleted"),
    "Badges": ("ageGroupId", "compassAxisId", "tier"),
    "BadgeImages": ("imageId",),
    "AxisAchievements": ("ageGroupId", "compassAxisId"),
    "CompassTrackings": ("profileId", "sessionId"),
}


def query_fields(name: str) -> tuple[str, ...]:
    """The fields ``name``'s list may be filtered by: ``id``, the partition key, the declared."""
    spec = get(name)
    declared = QUERY_FIELDS.get(name, ())
    return tuple(dict.fromkeys(("id", spec.pk_field, *declared)))


# -- why each container is placed where it is ------------------------------------------------
# The seed's evaluation of the C# app (which container suits PostgreSQL, which stays a
# document, and why), as data: `mystira placement` shows it beside the evidence the running
# system records, and flags where the two disagree.


class Reason(StrEnum):
    """One kind of argument for a placement."""

    ACID = "acid"  # changed in multi-field transactions that must apply whole
    FK_TARGET = "fk-target"  # other containers point at its ids
    FOREIGN_KEY = "foreign-key"  # it points at a parent's id (a child row)
    JOINS = "joins"  # read by joins and aggregates (leaderboards, reports)
    UPDATE_FREQUENCY = "update-frequency"  # how often its documents change
    NESTING_DEPTH = "nesting-depth"  # how deep its documents nest
    READ_HEAVY = "read-heavy"  # read far more often than written
    SCHEMA_FLEXIBLE = "schema-flexible"  # its shape varies or keeps growing
    SIMPLE_MAPPING = "simple-mapping"  # a flat lookup that fits rows as well as a document
    PARTITION_FIT = "partition-fit"  # its partition key matches how it is read


@dataclass(frozen=True)
class PlacementReasons:
    """The reason codes behind a container's `Placement`, and one sentence saying them."""

    codes: tuple[Reason, ...]
    summary: str


_REFERENCE_REASONS = PlacementReasons(
    (Reason.READ_HEAVY, Reason.UPDATE_FREQUENCY, Reason.SCHEMA_FLEXIBLE),
    "Configuration that is looked up constantly, edited rarely, and may gain fields.",
)

PLACEMENT_REASONS: dict[str, PlacementReasons] = {
    "Accounts": PlacementReasons(
        (Reason.ACID, Reason.FK_TARGET, Reason.UPDATE_FREQUENCY),
        "Changed often and transactionally, unique by email, and the parent that sessions "
        "and profiles point at.",
    ),
    "UserProfiles": PlacementReasons(
        (Reason.FOREIGN_KEY, Reason.FK_TARGET, Reason.SCHEMA_FLEXIBLE),
        "A fixed core (account link, name, age group, flags) fits a row keyed to Accounts; "
        "preferences and avatar choices vary in shape and stay a document.",
    ),
    "UserBadges": PlacementReasons(
        (Reason.FOREIGN_KEY,),
        "Every earned badge belongs to one profile: a child row keyed to it once profiles "
        "move, embedded in the profile document until then.",
    ),
    "GameSessions": PlacementReasons(
        (Reason.ACID, Reason.UPDATE_FREQUENCY, Reason.FOREIGN_KEY),
        "Rewritten at every scene of play, its state must change atomically, and each "
        "session belongs to an account.",
    ),
    "PlayerScenarioScores": PlacementReasons(
        (Reason.JOINS, Reason.FOREIGN_KEY),
        "Scores per axis, profile and game: leaderboards and reports join and aggregate them.",
    ),
    "Scenarios": PlacementReasons(
        (Reason.NESTING_DEPTH, Reason.READ_HEAVY, Reason.UPDATE_FREQUENCY),
        "Characters, scenes, branches, media and echo reveals nested several levels deep; "
        "read whole and seldom rewritten, so rows would only scatter them.",
    ),
    "ContentBundles": PlacementReasons(
        (Reason.READ_HEAVY, Reason.UPDATE_FREQUENCY),
        "Hierarchical curated lists, rarely changed and read as a whole.",
    ),
    "CharacterMaps": PlacementReasons(
        (Reason.SCHEMA_FLEXIBLE, Reason.READ_HEAVY),
        "Character sheets whose metadata is free-form; read far more than written.",
    ),
    "MediaAssets": PlacementReasons(
        (Reason.SCHEMA_FLEXIBLE, Reason.PARTITION_FIT),
        "Loosely structured media metadata, queried by type (its partition key).",
    ),
    "MediaMetadataFiles": PlacementReasons(
        (Reason.SCHEMA_FLEXIBLE, Reason.NESTING_DEPTH),
        "Imported metadata files: nested entry lists with no fixed shape.",
    ),
    "CharacterMediaMetadataFiles": PlacementReasons(
        (Reason.SCHEMA_FLEXIBLE,),
        "Unstructured imported metadata, queried in odd ways; the seed doubted it is needed "
        "at all, and nothing argued for rows.",
    ),
    "CharacterMapFiles": PlacementReasons(
        (Reason.SCHEMA_FLEXIBLE, Reason.NESTING_DEPTH),
        "Imported character map files kept in their nested shape.",
    ),
    "AvatarConfigurationFiles": PlacementReasons(
        (Reason.SIMPLE_MAPPING, Reason.READ_HEAVY),
        "A flat lookup from age group to avatar ids: as easily rows as a document.",
    ),
    "BadgeConfigurations": _REFERENCE_REASONS,
    "CompassAxes": _REFERENCE_REASONS,
    "ArchetypeDefinitions": _REFERENCE_REASONS,
    "EchoTypeDefinitions": _REFERENCE_REASONS,
    "FantasyThemeDefinitions": _REFERENCE_REASONS,
    "AgeGroupDefinitions": _REFERENCE_REASONS,
    "Badges": PlacementReasons(
        (Reason.READ_HEAVY, Reason.UPDATE_FREQUENCY),
        "Badge tiers per age group and axis: read at every award, changed with releases.",
    ),
    "BadgeImages": PlacementReasons(
        (Reason.READ_HEAVY,),
        "Artwork metadata beside its blob, read when badges are shown.",
    ),
    "AxisAchievements": PlacementReasons(
        (Reason.READ_HEAVY, Reason.UPDATE_FREQUENCY),
        "Achievement texts per age group and axis: read often, edited with releases.",
    ),
    "CompassTrackings": PlacementReasons(
        (Reason.PARTITION_FIT, Reason.JOINS),
        "Analytics events partitioned by axis so aggregation stays in one partition; the "
        "seed left a relational home open for analytics use.",
    ),
}


def placement_reasons(name: str) -> PlacementReasons:
    """Why ``name`` is placed where the catalog says (`KeyError` for an unknown name)."""
    get(name)
    return PLACEMENT_REASONS[name]
