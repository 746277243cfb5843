"""String enums and open value lists of the domain.

C# enums become ``StrEnum``s whose values are the C# member names (how the C# app writes them
to JSON). Reading accepts any letter case, as System.Text.Json does, and always writes the
canonical spelling.

The C# "StringEnum" types (archetype, core axis, echo type, fantasy theme, age group) are open:
any non-blank string is accepted; the known values from the master data are listed here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, NamedTuple, Self

from pydantic import GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from mystira_data.domain.base import NonBlankStr


class CaseInsensitiveEnum(StrEnum):
    """A ``StrEnum`` that also matches its values ignoring case on input."""

    @classmethod
    def _missing_(cls, value: object) -> Self | None:
        if not isinstance(value, str):
            return None
        folded = value.casefold()
        return next((m for m in cls if m.value.casefold() == folded), None)


# --- users -------------------------------------------------------------------------------------


class SubscriptionType(CaseInsensitiveEnum):
    """How an account pays."""

    FREE = "Free"
    MONTHLY = "Monthly"
    ANNUAL = "Annual"
    LIFETIME = "Lifetime"
    INDIVIDUAL = "Individual"


# --- play --------------------------------------------------------------------------------------


class SessionStatus(CaseInsensitiveEnum):
    """Lifecycle of a game session."""

    NOT_STARTED = "NotStarted"
    IN_PROGRESS = "InProgress"
    PAUSED = "Paused"
    COMPLETED = "Completed"
    ABANDONED = "Abandoned"


class AchievementType(CaseInsensitiveEnum):
    """What earned an in-session achievement."""

    COMPASS_THRESHOLD = "CompassThreshold"
    FIRST_CHOICE = "FirstChoice"
    SESSION_COMPLETE = "SessionComplete"
    ECHO_REVEALED = "EchoRevealed"
    CONSISTENT_CHOICE = "ConsistentChoice"
    MORAL_GROWTH = "MoralGrowth"


# --- content -----------------------------------------------------------------------------------


class DifficultyLevel(CaseInsensitiveEnum):
    """How hard a scenario is."""

    EASY = "Easy"
    MEDIUM = "Medium"
    HARD = "Hard"


class SessionLength(CaseInsensitiveEnum):
    """How long a scenario takes to play."""

    SHORT = "Short"
    MEDIUM = "Medium"
    LONG = "Long"


class SceneType(CaseInsensitiveEnum):
    """Kind of scene in a scenario graph."""

    NARRATIVE = "Narrative"
    CHOICE = "Choice"
    ROLL = "Roll"
    SPECIAL = "Special"


class ContributorRole(CaseInsensitiveEnum):
    """Role of a contributor to a scenario or bundle."""

    WRITER = "Writer"
    ARTIST = "Artist"
    VOICE_ACTOR = "VoiceActor"
    MUSIC_COMPOSER = "MusicComposer"
    SOUND_DESIGNER = "SoundDesigner"
    EDITOR = "Editor"
    GAME_DESIGNER = "GameDesigner"
    QUALITY_ASSURANCE = "QualityAssurance"
    OTHER = "Other"


class MusicProfile(CaseInsensitiveEnum):
    """Mood of background music."""

    NONE = "None"
    NEUTRAL = "Neutral"
    COZY = "Cozy"
    PLAYFUL = "Playful"
    WONDER = "Wonder"
    MYSTERY = "Mystery"
    TENSE = "Tense"
    ACTION = "Action"
    SAD = "Sad"
    VICTORY = "Victory"


class MusicContinuity(CaseInsensitiveEnum):
    """Whether a scene keeps, may change or must change the music."""

    PREFER_CONTINUE = "PreferContinue"
    ALLOW_CHANGE = "AllowChange"
    FORCE_CHANGE = "ForceChange"
    FORCE_SILENCE = "ForceSilence"


class MusicTransitionHint(CaseInsensitiveEnum):
    """How to move from one track to the next."""

    AUTO = "Auto"
    KEEP = "Keep"
    CROSSFADE_SHORT = "CrossfadeShort"
    CROSSFADE_NORMAL = "CrossfadeNormal"
    CROSSFADE_LONG = "CrossfadeLong"
    HARD_CUT = "HardCut"


class MusicPriority(CaseInsensitiveEnum):
    """How much the music matters in a scene."""

    BACKGROUND = "Background"
    IMPORTANT = "Important"


class MusicDucking(CaseInsensitiveEnum):
    """What the music lowers its volume for."""

    NONE = "None"
    NARRATION = "Narration"
    DIALOGUE = "Dialogue"


# --- media -------------------------------------------------------------------------------------


class MediaType(StrEnum):
    """Kind of media asset; the MediaAssets partition key.

    Matched case-sensitively on purpose: re-casing a value on decode would move the document
    to another partition when it is written back.
    """

    IMAGE = "image"
    AUDIO = "audio"
    VIDEO = "video"


# --- open value lists --------------------------------------------------------------------------


@dataclass(frozen=True)
class KnownValues:
    """Annotation marker listing the known values of an open string list.

    Validation ignores it (any non-blank string passes); JSON Schema shows the values as
    examples.
    """

    values: tuple[str, ...]

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema: dict[str, Any] = handler(schema)
        json_schema["examples"] = list(self.values)
        return json_schema


ARCHETYPES: tuple[str, ...] = (
    "rhythm_explorer",
    "what_if_scientist",
    "routine_keeper",
    "helper_captain",
)

CORE_AXES: tuple[str, ...] = ("Self-Regulation", "Curiosity & Initiative")

ECHO_TYPES: tuple[str, ...] = (
    "honesty", "deception", "loyalty", "betrayal", "justice", "injustice", "fairness", "bias",
    "forgiveness", "revenge", "sacrifice", "selfishness", "obedience", "rebellion", "doubt",
    "confidence", "shame", "pride", "regret", "hope", "despair", "grief", "denial",
    "acceptance", "awakening", "resignation", "growth", "stagnation", "kindness", "neglect",
    "compassion", "coldness", "generosity", "envy", "gratitude", "resentment", "love",
    "jealousy", "trust", "manipulation", "support", "abandonment", "bravery", "fear",
    "aggression", "cowardice", "protection", "avoidance", "confrontation", "flight", "freeze",
    "rescue", "denial_of_help", "risk_taking", "panic", "resilience", "authenticity", "masking",
    "conformity", "individualism", "dependence", "independence", "attention_seeking",
    "withdrawal", "role_adoption", "role_rejection", "listening", "interrupting", "mockery",
    "encouragement", "humiliation", "respect", "disrespect", "sharing", "withholding",
    "blaming", "apologizing", "curiosity", "closed-mindedness", "truth_seeking",
    "value_conflict", "reflection", "projection", "mirroring", "internalization",
    "breakthrough", "denial_of_truth", "clarity", "pattern_repetition", "pattern_break",
    "echo_amplification", "influence_spread", "echo_collision", "legacy_creation",
    "reputation_change", "morality_shift", "alignment_pull", "world_change", "first_blood",
    "oath_made", "oath_broken", "promise", "secret_revealed", "lie_exposed", "lesson_learned",
    "lesson_ignored", "role_locked", "destiny_revealed", "rule_checker", "what_if_scientist",
    "try_again_hero", "tidy_expert", "helper_captain_coop", "rhythm_explorer",
)  # fmt: skip

FANTASY_THEMES: tuple[str, ...] = (
    "Classic Fantasy", "Medieval Adventure", "Magic & Wizards", "Dragons & Knights",
    "Forest Adventures", "Mystery & Puzzles", "Fairy Tales", "Animal Companions",
    "Underwater Worlds", "Sky Adventures",
)  # fmt: skip


class AgeGroupRange(NamedTuple):
    """One known age group: its value (``"6-9"``), short name and inclusive age range."""

    value: str
    name: str
    minimum_age: int
    maximum_age: int


AGE_GROUP_RANGES: tuple[AgeGroupRange, ...] = (
    AgeGroupRange("1-2", "toddlers", 1, 2),
    AgeGroupRange("3-5", "preschoolers", 3, 5),
    AgeGroupRange("6-9", "school", 6, 9),
    AgeGroupRange("10-12", "preteens", 10, 12),
    AgeGroupRange("13-18", "teens", 13, 18),
    AgeGroupRange("19-150", "adults", 19, 150),
)

AGE_GROUPS: tuple[str, ...] = tuple(g.value for g in AGE_GROUP_RANGES)

DEFAULT_AGE_GROUP = "6-9"

Archetype = Annotated[NonBlankStr, KnownValues(ARCHETYPES)]
CoreAxis = Annotated[NonBlankStr, KnownValues(CORE_AXES)]
EchoType = Annotated[NonBlankStr, KnownValues(ECHO_TYPES)]
FantasyTheme = Annotated[NonBlankStr, KnownValues(FANTASY_THEMES)]
AgeGroup = Annotated[NonBlankStr, KnownValues(AGE_GROUPS)]
