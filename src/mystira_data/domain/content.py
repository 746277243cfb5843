"""Stories: scenarios (scene graphs), content bundles and character maps."""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field

from mystira_data.domain.base import (
    Document,
    Int32,
    JsonDecimal,
    MystiraModel,
    UtcDateTime,
    new_id,
    utc_now,
)
from mystira_data.domain.enums import (
    Archetype,
    ContributorRole,
    CoreAxis,
    DifficultyLevel,
    EchoType,
    MusicContinuity,
    MusicDucking,
    MusicPriority,
    MusicProfile,
    MusicTransitionHint,
    SceneType,
    SessionLength,
)

# --- echoes and the compass (shared with play and analytics) ----------------------------------


class EchoLog(MystiraModel):
    """A moral "echo" a choice leaves behind, to be revealed later in the story."""

    echo_type: EchoType = "honesty"
    description: str = ""
    strength: float = 0.0
    timestamp: UtcDateTime = Field(default_factory=utc_now)


class CompassChange(MystiraModel):
    """A move along one compass axis caused by a choice."""

    axis: str = ""
    delta: float = 0.0
    developmental_link: str | None = None


# --- story protocol (IP registration and royalties) -------------------------------------------


class Contributor(MystiraModel):
    """Someone who made the content, with their share of royalties."""

    id: str = Field(default_factory=new_id)
    name: str = ""
    wallet_address: str = ""
    role: ContributorRole = ContributorRole.WRITER
    contribution_percentage: JsonDecimal = Decimal(0)
    email: str | None = None
    notes: str | None = None
    created_at: UtcDateTime = Field(default_factory=utc_now)


class StoryProtocolMetadata(MystiraModel):
    """Registration of the content as an IP asset on Story Protocol."""

    ip_asset_id: str | None = None
    registration_tx_hash: str | None = None
    registered_at: UtcDateTime | None = None
    royalty_module_id: str | None = None
    contributors: list[Contributor] = Field(default_factory=list)

    @property
    def is_registered(self) -> bool:
        """Registered once an IP asset id was assigned."""
        return bool(self.ip_asset_id)


# --- music -------------------------------------------------------------------------------------


class SceneSoundEffect(MystiraModel):
    """A sound effect or ambience layer of a scene."""

    track: str = ""
    loopable: bool = False
    energy: float = 0.0


class MusicPalette(MystiraModel):
    """Background tracks a story may use, grouped by mood profile name."""

    default_profile: MusicProfile = MusicProfile.NEUTRAL
    tracks_by_profile: dict[str, list[str]] = Field(default_factory=dict)


class SceneMusicSettings(MystiraModel):
    """The background-music intent of one scene."""

    profile: MusicProfile = MusicProfile.NONE
    energy: float | None = None
    continuity: MusicContinuity = MusicContinuity.PREFER_CONTINUE
    transition_hint: MusicTransitionHint = MusicTransitionHint.AUTO
    priority: MusicPriority = MusicPriority.BACKGROUND
    ducking: MusicDucking = MusicDucking.NONE


# --- scenarios ---------------------------------------------------------------------------------


class ScenarioCharacterMetadata(MystiraModel):
    """Role, archetypes and background of a scenario character."""

    role: list[str] = Field(default_factory=list)
    archetype: list[Archetype] = Field(default_factory=list)
    species: str = ""
    age: Int32 = 0
    traits: list[str] = Field(default_factory=list)
    backstory: str = ""


class ScenarioCharacter(MystiraModel):
    """A character players can take on in a scenario."""

    id: str = ""
    name: str = ""
    image: str | None = None
    audio: str | None = None
    metadata: ScenarioCharacterMetadata = Field(default_factory=ScenarioCharacterMetadata)


class MediaReferences(MystiraModel):
    """Media ids shown or played with a scene."""

    image: str | None = None
    audio: str | None = None
    video: str | None = None


class Branch(MystiraModel):
    """One choice out of a scene and where it leads."""

    choice: str = ""
    next_scene_id: str = ""  # empty: the story ends here
    echo_log: EchoLog | None = None
    compass_change: CompassChange | None = None


class EchoReveal(MystiraModel):
    """When an earlier echo of a type comes back in the story."""

    echo_type: EchoType = "honesty"
    min_strength: float = 0.0
    trigger_scene_id: str = ""
    max_age_scenes: Int32 | None = None
    reveal_mechanic: str | None = None
    required: bool | None = None


class Scene(MystiraModel):
    """A node of the scenario graph."""

    id: str = ""
    title: str = ""
    type: SceneType = SceneType.NARRATIVE
    description: str = ""
    next_scene_id: str | None = None
    media: MediaReferences | None = None
    branches: list[Branch] = Field(default_factory=list)
    echo_reveals: list[EchoReveal] = Field(default_factory=list)
    difficulty: Int32 | None = None
    music: SceneMusicSettings | None = None
    sound_effects: list[SceneSoundEffect] = Field(default_factory=list)
    active_character: str | None = None  # a ScenarioCharacter id, for choice scenes


class Scenario(Document):
    """An interactive story: characters and a graph of scenes."""

    title: str = ""
    description: str = ""
    tags: list[str] = Field(default_factory=list)
    difficulty: DifficultyLevel = DifficultyLevel.EASY
    session_length: SessionLength = SessionLength.SHORT
    archetypes: list[Archetype] = Field(default_factory=list)
    age_group: str = ""
    minimum_age: Int32 = 0
    core_axes: list[CoreAxis] = Field(default_factory=list)
    characters: list[ScenarioCharacter] = Field(default_factory=list)
    scenes: list[Scene] = Field(default_factory=list)
    created_at: UtcDateTime = Field(default_factory=utc_now)
    story_protocol: StoryProtocolMetadata | None = None
    is_active: bool = True
    is_featured: bool = False
    image: str | None = None  # cover image id
    music_palette: MusicPalette | None = None


# --- bundles and character maps ----------------------------------------------------------------


class BundlePrice(MystiraModel):
    """A price of a bundle in one currency."""

    value: JsonDecimal = Decimal(0)
    currency: str = "USD"


class ContentBundle(Document):
    """A curated, purchasable set of scenarios."""

    title: str = ""
    description: str = ""
    scenario_ids: list[str] = Field(default_factory=list)
    image_id: str = ""
    prices: list[BundlePrice] = Field(default_factory=list)
    is_free: bool = False
    age_group: str = ""
    story_protocol: StoryProtocolMetadata | None = None


class CharacterMetadata(MystiraModel):
    """Roles, archetypes and background of a reusable character."""

    roles: list[str] = Field(default_factory=list)
    archetypes: list[str] = Field(default_factory=list)
    species: str = ""
    age: Int32 = 0
    traits: list[str] = Field(default_factory=list)
    backstory: str = ""


class CharacterMap(Document):
    """A reusable character sheet with its image and voice."""

    name: str = ""
    image: str = ""
    audio: str | None = None
    metadata: CharacterMetadata = Field(default_factory=CharacterMetadata)
    created_at: UtcDateTime = Field(default_factory=utc_now)
    updated_at: UtcDateTime = Field(default_factory=utc_now)
