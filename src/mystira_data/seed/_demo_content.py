"""Demo content: media assets, character maps, scenarios (full scene graphs) and bundles."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import product

from mystira_data.domain.badges import Badge
from mystira_data.domain.base import Document
from mystira_data.domain.content import (
    Branch,
    BundlePrice,
    CharacterMap,
    CharacterMetadata,
    CompassChange,
    ContentBundle,
    Contributor,
    EchoLog,
    EchoReveal,
    MediaReferences,
    MusicPalette,
    Scenario,
    ScenarioCharacter,
    ScenarioCharacterMetadata,
    Scene,
    SceneMusicSettings,
    SceneSoundEffect,
    StoryProtocolMetadata,
)
from mystira_data.domain.enums import (
    AGE_GROUP_RANGES,
    ARCHETYPES,
    CORE_AXES,
    ECHO_TYPES,
    FANTASY_THEMES,
    ContributorRole,
    DifficultyLevel,
    MediaType,
    MusicContinuity,
    MusicDucking,
    MusicPriority,
    MusicProfile,
    MusicTransitionHint,
    SceneType,
    SessionLength,
)
from mystira_data.domain.media import MediaAsset, MediaMetadata
from mystira_data.domain.reference import AgeGroupDefinition, Definition
from mystira_data.seed import _demo_words as words
from mystira_data.seed._demo_random import DemoRandom

_FORMATS = {
    "image": ("image/png", "png"),
    "audio": ("audio/mpeg", "mp3"),
    "video": ("video/mp4", "mp4"),
}
_CDN = "https://media.mystira.example"
_AVATARS = 12


@dataclass(frozen=True)
class Refs:
    """The master data the demo points at, so its documents reference real definitions."""

    age_groups: tuple[tuple[str, int, int], ...]  # (value, minimum age, maximum age)
    axes: tuple[str, ...]
    archetypes: tuple[str, ...]
    echo_types: tuple[str, ...]
    themes: tuple[str, ...]
    badges: tuple[Badge, ...]

    @classmethod
    def from_master(cls, documents: Mapping[str, Sequence[Document]]) -> Refs:
        # Fall back to the built-in value lists when a custom source omits a file.
        def names(container: str, default: tuple[str, ...]) -> tuple[str, ...]:
            found = [d.name for d in documents.get(container, []) if isinstance(d, Definition)]
            return tuple(found) or default

        ages = [
            (d.value, d.minimum_age, d.maximum_age)
            for d in documents.get("AgeGroupDefinitions", [])
            if isinstance(d, AgeGroupDefinition)
        ]
        return cls(
            age_groups=tuple(ages)
            or tuple((g.value, g.minimum_age, g.maximum_age) for g in AGE_GROUP_RANGES),
            axes=names("CompassAxes", CORE_AXES),
            archetypes=names("ArchetypeDefinitions", ARCHETYPES),
            echo_types=names("EchoTypeDefinitions", ECHO_TYPES),
            themes=names("FantasyThemeDefinitions", FANTASY_THEMES),
            badges=tuple(b for b in documents.get("Badges", []) if isinstance(b, Badge)),
        )

    @property
    def child_age_groups(self) -> tuple[tuple[str, int, int], ...]:
        """Age groups players belong to: those with badges, else those below 19."""
        with_badges = {b.age_group_id for b in self.badges}
        kids = [g for g in self.age_groups if g[0] in with_badges] or [
            g for g in self.age_groups if g[1] < 19
        ]
        return tuple(kids) or self.age_groups


@dataclass
class MediaLibrary:
    """Creates `MediaAsset`s as content refers to them; returns their media ids."""

    gen: DemoRandom
    assets: list[MediaAsset] = field(default_factory=list)

    def add(self, media_type: str, media_id: str, description: str, tags: list[str]) -> str:
        mime, ext = _FORMATS[media_type]
        created = self.gen.days_ago(200, 400)
        self.assets.append(
            MediaAsset(
                id=self.gen.uid(),
                media_id=media_id,
                url=f"{_CDN}/{media_type}/{media_id}.{ext}",
                media_type=MediaType(media_type),
                mime_type=mime,
                file_size_bytes=self._size(media_type),
                description=description,
                tags=tags,
                hash=self.gen.hex(256),
                version=self.gen.pick(("1.0", "1.0", "1.1", "2.0")),
                created_at=created,
                updated_at=self.gen.after(created, 0, 90 * 86400),
                thumbnail_url=f"{_CDN}/thumbs/{media_id}.jpg" if media_type != "audio" else None,
                metadata=self._metadata(media_type, ext),
            )
        )
        return media_id

    def _size(self, media_type: str) -> int:
        low, high = {"image": (40, 900), "audio": (300, 6000), "video": (4000, 60000)}[media_type]
        return self.gen.rng.randint(low, high) * 1024

    def _metadata(self, media_type: str, ext: str) -> MediaMetadata:
        if media_type == "image":
            width = self.gen.pick((512, 768, 1024, 1536))
            return MediaMetadata(width=width, height=width * 3 // 4, format=ext)
        duration = timedelta(seconds=self.gen.rng.randint(3, 240))
        if media_type == "audio":
            return MediaMetadata(
                duration=duration, bitrate=self.gen.pick((96, 128, 192)), format=ext
            )
        return MediaMetadata(
            width=1280,
            height=720,
            duration=duration,
            bitrate=2500,
            format=ext,
            additional_properties={"codec": "h264", "hasSubtitles": self.gen.chance(0.5)},
        )


@dataclass
class Content:
    media: MediaLibrary
    characters: list[CharacterMap]
    scenarios: list[Scenario]
    bundles: list[ContentBundle]
    avatars_by_age: dict[str, list[str]]


def build_content(gen: DemoRandom, refs: Refs, scenario_count: int) -> Content:
    media = MediaLibrary(gen)
    avatars = _avatars(gen, media, refs)
    characters = [_character_map(gen, media, refs, i) for i in range(max(8, scenario_count))]
    titles = gen.rng.sample(
        list(product(words.TITLE_ADJECTIVES, words.TITLE_NOUNS)), scenario_count
    )
    scenarios = [_scenario(gen, media, refs, characters, f"The {a} {n}") for a, n in titles]
    return Content(media, characters, scenarios, _bundles(gen, scenarios), avatars)


def _avatars(gen: DemoRandom, media: MediaLibrary, refs: Refs) -> dict[str, list[str]]:
    ids = [
        media.add("image", f"avatar-{i:02d}", "Player avatar", ["avatar"]) for i in range(_AVATARS)
    ]
    return {value: sorted(gen.sample(ids, 4, 8)) for value, _, _ in refs.age_groups}


def _character_map(gen: DemoRandom, media: MediaLibrary, refs: Refs, index: int) -> CharacterMap:
    name = words.CHARACTER_NAMES[index % len(words.CHARACTER_NAMES)]
    if index >= len(words.CHARACTER_NAMES):
        name = f"{name} {index // len(words.CHARACTER_NAMES) + 1}"
    key = f"character-{index:03d}"
    created = gen.days_ago(150, 300)
    return CharacterMap(
        id=gen.uid(),
        name=name,
        image=media.add("image", f"{key}-portrait", f"Portrait of {name}", ["character"]),
        audio=media.add("audio", f"{key}-voice", f"Voice of {name}", ["voice"])
        if gen.chance(0.6)
        else None,
        metadata=CharacterMetadata(
            roles=gen.sample(words.ROLES, 1, 2),
            archetypes=gen.sample(refs.archetypes, 1, 2),
            species=gen.pick(words.SPECIES),
            age=gen.rng.randint(6, 300),
            traits=gen.sample(words.TRAITS, 2, 4),
            backstory=gen.pick(words.BACKSTORIES),
        ),
        created_at=created,
        updated_at=gen.after(created, 0, 60 * 86400),
    )


def _scenario(
    gen: DemoRandom,
    media: MediaLibrary,
    refs: Refs,
    pool: list[CharacterMap],
    title: str,
) -> Scenario:
    key = "-".join(title.lower().replace("-", " ").split()[1:])
    age, minimum, _ = gen.pick(refs.child_age_groups)
    axes = gen.sample(refs.axes, 1, 2)
    characters = [_scenario_character(c) for c in gen.sample(pool, 2, 4)]
    created = gen.days_ago(60, 200)
    ctx = _SceneContext(key, gen.rng.randint(5, 12), axes, characters, created)
    return Scenario(
        id=gen.uid(),
        title=title,
        description=gen.pick(words.SCENARIO_BLURBS),
        tags=gen.sample(words.TAGS, 2, 4),
        difficulty=gen.pick(list(DifficultyLevel)),
        session_length=_length(ctx.count),
        archetypes=gen.sample(refs.archetypes, 1, 2),
        age_group=age,
        minimum_age=minimum,
        core_axes=axes,
        characters=characters,
        scenes=_scenes(gen, media, refs, ctx),
        created_at=created,
        story_protocol=_story_protocol(gen, created) if gen.chance(0.2) else None,
        is_active=gen.chance(0.9),
        is_featured=gen.chance(0.2),
        image=media.add("image", f"{key}-cover", f"Cover of {title}", ["cover"]),
        music_palette=_music_palette(gen, media, key),
    )


def _length(scene_count: int) -> SessionLength:
    if scene_count <= 6:
        return SessionLength.SHORT
    return SessionLength.MEDIUM if scene_count <= 9 else SessionLength.LONG


def _scenario_character(source: CharacterMap) -> ScenarioCharacter:
    meta = source.metadata
    return ScenarioCharacter(
        id=source.id,
        name=source.name,
        image=source.image,
        audio=source.audio,
        metadata=ScenarioCharacterMetadata(
            role=list(meta.roles),
            archetype=list(meta.archetypes),
            species=meta.species,
            age=meta.age,
            traits=list(meta.traits),
            backstory=meta.backstory,
        ),
    )


def _music_palette(gen: DemoRandom, media: MediaLibrary, key: str) -> MusicPalette:
    moods = gen.sample([p for p in MusicProfile if p is not MusicProfile.NONE], 2, 4)
    tracks = {
        mood.value.lower(): [
            media.add(
                "audio", f"{key}-music-{mood.value.lower()}-{i}", f"{mood.value} theme", ["music"]
            )
            for i in range(gen.rng.randint(1, 2))
        ]
        for mood in moods
    }
    return MusicPalette(default_profile=moods[0], tracks_by_profile=tracks)


def _story_protocol(gen: DemoRandom, created: datetime) -> StoryProtocolMetadata:
    names = gen.sample(words.CONTRIBUTOR_NAMES, 2, 3)
    shares = _shares(gen, len(names))
    return StoryProtocolMetadata(
        ip_asset_id=f"0x{gen.hex(160)}",
        registration_tx_hash=f"0x{gen.hex(256)}",
        registered_at=gen.after(created, 86400, 20 * 86400),
        royalty_module_id=f"0x{gen.hex(160)}",
        contributors=[
            Contributor(
                id=gen.uid(),
                name=name,
                wallet_address=f"0x{gen.hex(160)}",
                role=gen.pick(list(ContributorRole)),
                contribution_percentage=share,
                created_at=created,
            )
            for name, share in zip(names, shares, strict=True)
        ],
    )


def _shares(gen: DemoRandom, count: int) -> list[Decimal]:
    """Whole percentages that add up to exactly 100."""
    cuts = sorted(gen.rng.sample(range(10, 91, 5), count - 1))
    bounds = [0, *cuts, 100]
    return [Decimal(bounds[i + 1] - bounds[i]) for i in range(count)]


# --- scenes ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _SceneContext:
    key: str
    count: int
    axes: list[str]
    characters: list[ScenarioCharacter]
    created: datetime


def _scenes(gen: DemoRandom, media: MediaLibrary, refs: Refs, ctx: _SceneContext) -> list[Scene]:
    scenes: list[Scene] = []
    for index in range(ctx.count):
        scenes.append(_scene(gen, media, refs, ctx, index, scenes))
    return scenes


def scene_id(index: int) -> str:
    return f"scene-{index + 1:02d}"


def _scene_type(gen: DemoRandom, index: int, count: int) -> SceneType:
    # The first and last scenes frame the story; choices happen in between.
    if index == 0 or index == count - 1:
        return SceneType.NARRATIVE
    return gen.weighted(
        {
            SceneType.CHOICE: 0.6,
            SceneType.NARRATIVE: 0.2,
            SceneType.ROLL: 0.15,
            SceneType.SPECIAL: 0.05,
        }
    )


def _scene(
    gen: DemoRandom,
    media: MediaLibrary,
    refs: Refs,
    ctx: _SceneContext,
    index: int,
    earlier: list[Scene],
) -> Scene:
    kind = _scene_type(gen, index, ctx.count)
    last = index == ctx.count - 1
    branching = kind in (SceneType.CHOICE, SceneType.ROLL)
    place = gen.pick(words.SCENE_PLACES)
    return Scene(
        id=scene_id(index),
        title=place.removeprefix("the ").capitalize(),
        type=kind,
        description=f"{gen.pick(words.SCENE_OPENERS)} {place}.",
        next_scene_id=None if last or branching else scene_id(index + 1),
        media=_scene_media(gen, media, ctx.key, index),
        branches=_branches(gen, refs, ctx, index, kind) if branching else [],
        echo_reveals=_echo_reveals(gen, earlier) if index >= 3 else [],
        difficulty=gen.rng.randint(5, 15) if kind is SceneType.ROLL else None,
        music=_scene_music(gen) if gen.chance(0.8) else None,
        sound_effects=_sound_effects(gen, media, ctx.key, index),
        active_character=gen.pick(ctx.characters).id if kind is SceneType.CHOICE else None,
    )


def _scene_media(gen: DemoRandom, media: MediaLibrary, key: str, index: int) -> MediaReferences:
    base = f"{key}-{scene_id(index)}"
    return MediaReferences(
        image=media.add("image", f"{base}-art", "Scene illustration", ["scene"]),
        audio=media.add("audio", f"{base}-narration", "Narration", ["narration"])
        if gen.chance(0.6)
        else None,
        video=media.add("video", f"{base}-clip", "Animated scene clip", ["scene", "animation"])
        if gen.chance(0.15)
        else None,
    )


def _branches(
    gen: DemoRandom, refs: Refs, ctx: _SceneContext, index: int, kind: SceneType
) -> list[Branch]:
    # Branches only point forward, so every path through the graph reaches the last scene.
    targets = [scene_id(i) for i in range(index + 1, min(index + 4, ctx.count))]
    count = 2 if kind is SceneType.ROLL else gen.rng.randint(2, 3)
    if kind is SceneType.ROLL:
        texts = ["The roll succeeds", "The roll falls short"]
    else:
        texts = gen.sample(words.CHOICES, count, count)
    return [
        Branch(
            choice=text,
            next_scene_id=gen.pick(targets),
            echo_log=_echo_log(gen, refs, ctx.created) if gen.chance(0.6) else None,
            compass_change=_compass_change(gen, ctx.axes) if gen.chance(0.85) else None,
        )
        for text in texts
    ]


def _echo_log(gen: DemoRandom, refs: Refs, created: datetime) -> EchoLog:
    return EchoLog(
        echo_type=gen.pick(refs.echo_types),
        description=gen.pick(words.ECHO_NOTES),
        strength=gen.between(0.1, 1.0),
        timestamp=created,
    )


def _compass_change(gen: DemoRandom, axes: list[str]) -> CompassChange:
    # Mostly growth, sometimes a step back: totals drift upward as children play.
    delta = gen.pick((-1.0, -0.5, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5))
    return CompassChange(
        axis=gen.pick(axes),
        delta=delta,
        developmental_link=gen.pick(words.DEVELOPMENTAL_LINKS) if gen.chance(0.7) else None,
    )


def _echo_reveals(gen: DemoRandom, earlier: list[Scene]) -> list[EchoReveal]:
    logs = [(s.id, b.echo_log) for s in earlier for b in s.branches if b.echo_log is not None]
    if not logs or not gen.chance(0.35):
        return []
    trigger, log = gen.pick(logs)
    return [
        EchoReveal(
            echo_type=log.echo_type,
            min_strength=gen.between(0.1, log.strength),
            trigger_scene_id=trigger,
            max_age_scenes=gen.rng.randint(2, 6) if gen.chance(0.5) else None,
            reveal_mechanic=gen.pick(words.REVEAL_MECHANICS),
            required=gen.chance(0.3),
        )
    ]


def _scene_music(gen: DemoRandom) -> SceneMusicSettings:
    return SceneMusicSettings(
        profile=gen.pick(list(MusicProfile)),
        energy=gen.between(0.0, 1.0) if gen.chance(0.7) else None,
        continuity=gen.pick(list(MusicContinuity)),
        transition_hint=gen.pick(list(MusicTransitionHint)),
        priority=gen.pick(list(MusicPriority)),
        ducking=gen.pick(list(MusicDucking)),
    )


def _sound_effects(
    gen: DemoRandom, media: MediaLibrary, key: str, index: int
) -> list[SceneSoundEffect]:
    return [
        SceneSoundEffect(
            track=media.add("audio", f"{key}-{scene_id(index)}-sfx-{n}", "Sound effect", ["sfx"]),
            loopable=gen.chance(0.5),
            energy=gen.between(0.0, 1.0),
        )
        for n in range(gen.rng.randint(0, 2))
    ]


# --- bundles -----------------------------------------------------------------------------------


def _bundles(gen: DemoRandom, scenarios: list[Scenario]) -> list[ContentBundle]:
    shuffled = gen.rng.sample(scenarios, len(scenarios))
    bundles: list[ContentBundle] = []
    start = 0
    while start < len(shuffled):
        size = gen.rng.randint(3, 5)
        bundles.append(_bundle(gen, shuffled[start : start + size], len(bundles)))
        start += size
    return bundles


def _bundle(gen: DemoRandom, scenarios: list[Scenario], index: int) -> ContentBundle:
    name = words.BUNDLE_NAMES[index % len(words.BUNDLE_NAMES)]
    free = gen.chance(0.3)
    price = Decimal(gen.pick(("2.99", "4.99", "7.99", "9.99")))
    return ContentBundle(
        id=gen.uid(),
        title=name if index < len(words.BUNDLE_NAMES) else f"{name} {index + 1}",
        description=f"{len(scenarios)} stories picked for playing together.",
        scenario_ids=[s.id for s in scenarios],
        image_id=scenarios[0].image or "",
        prices=[]
        if free
        else [BundlePrice(value=price, currency="USD"), BundlePrice(value=price, currency="EUR")],
        is_free=free,
        age_group=min((s.age_group for s in scenarios), key=_age_floor),
    )


def _age_floor(value: str) -> int:
    head = value.split("-", 1)[0]
    return int(head) if head.isdigit() else 0
