"""Deterministic demo data: realistic content and play history for every container.

`build_demo` is pure (same arguments → identical documents, ids and timestamps included);
`seed_demo` writes its result to a store. The demo points at master data (age groups, axes,
echo types, badges), which `seed_demo` seeds first unless told not to.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from mystira_data.documents.port import DocumentStore
from mystira_data.domain.base import Document
from mystira_data.domain.media import (
    AvatarConfigurationFile,
    CharacterMapFile,
    CharacterMapFileCharacter,
    CharacterMediaMetadataEntry,
    CharacterMediaMetadataFile,
    ClassificationTag,
    MediaAsset,
    MediaMetadataEntry,
    MediaMetadataFile,
    Modifier,
)
from mystira_data.seed._demo_content import Content, Refs, build_content
from mystira_data.seed._demo_play import build_play
from mystira_data.seed._demo_random import DemoRandom
from mystira_data.seed._writes import upsert_new
from mystira_data.seed.master import MasterDocuments, load_master, seed_master_documents

__all__ = ["DEMO_CONTAINERS", "build_demo", "seed_demo"]

DEMO_CONTAINERS: tuple[str, ...] = (
    "Accounts",
    "UserProfiles",
    "GameSessions",
    "PlayerScenarioScores",
    "Scenarios",
    "ContentBundles",
    "CharacterMaps",
    "MediaAssets",
    "MediaMetadataFiles",
    "CharacterMediaMetadataFiles",
    "CharacterMapFiles",
    "AvatarConfigurationFiles",
    "CompassTrackings",
)
# Content grows with the audience but stays within what one editorial team would write.
_MIN_SCENARIOS, _MAX_SCENARIOS, _ACCOUNTS_PER_SCENARIO = 4, 60, 5


def scenario_count(accounts: int) -> int:
    return max(_MIN_SCENARIOS, min(_MAX_SCENARIOS, accounts // _ACCOUNTS_PER_SCENARIO))


def build_demo(
    *, accounts: int, random_seed: int = 0, master: MasterDocuments | None = None
) -> dict[str, list[Document]]:
    """Generate the demo documents per container (the master data is only referenced)."""
    if accounts < 0:
        raise ValueError("accounts must be >= 0")
    gen = DemoRandom(random_seed)
    refs = Refs.from_master(master if master is not None else load_master())
    content = build_content(gen, refs, scenario_count(accounts))
    play = build_play(gen, refs, content, accounts)
    stamp = gen.days_ago(1, 10)
    return {
        "Accounts": list(play.accounts),
        "UserProfiles": list(play.profiles),
        "GameSessions": list(play.sessions),
        "PlayerScenarioScores": list(play.scores),
        "Scenarios": list(content.scenarios),
        "ContentBundles": list(content.bundles),
        "CharacterMaps": list(content.characters),
        "MediaAssets": list(content.media.assets),
        "MediaMetadataFiles": [_media_metadata_file(content.media.assets, stamp)],
        "CharacterMediaMetadataFiles": [_character_media_file(content, stamp)],
        "CharacterMapFiles": [_character_map_file(content, stamp)],
        "AvatarConfigurationFiles": [
            AvatarConfigurationFile(
                age_group_avatars=content.avatars_by_age, created_at=stamp, updated_at=stamp
            )
        ],
        "CompassTrackings": list(play.trackings),
    }


async def seed_demo(
    store: DocumentStore,
    *,
    accounts: int,
    random_seed: int = 0,
    source_dir: Path | None = None,
    include_master: bool = True,
) -> dict[str, int]:
    """Write the demo (and, unless ``include_master`` is false, the master data it points at,
    from ``source_dir`` or the shipped set). Returns document counts per container.

    Demo documents are upserted with ``_version: 1``, so re-running with the same seed
    rewrites the same documents rather than adding more.
    """
    master = load_master(source_dir)
    counts = await seed_master_documents(store, master) if include_master else {}
    documents = build_demo(accounts=accounts, random_seed=random_seed, master=master)
    return counts | await upsert_new(store, documents)


# --- the single-document "file" containers -----------------------------------------------------


def _media_metadata_file(assets: list[MediaAsset], stamp: datetime) -> MediaMetadataFile:
    entries = [
        MediaMetadataEntry(
            id=asset.media_id,
            title=asset.description or asset.media_id,
            file_name=asset.url.rsplit("/", 1)[-1],
            type=asset.media_type.value,
            description=asset.description or "",
            age_rating=3,
            subject_reference_id=asset.id,
            classification_tags=[ClassificationTag(key="tag", value=t) for t in asset.tags],
            modifiers=[Modifier(key="version", value=asset.version)],
            loopable="music" in asset.tags or "sfx" in asset.tags,
        )
        for asset in assets
        if "avatar" not in asset.tags and "character" not in asset.tags
    ]
    return MediaMetadataFile(entries=entries, created_at=stamp, updated_at=stamp)


def _character_media_file(content: Content, stamp: datetime) -> CharacterMediaMetadataFile:
    wanted = {c.image for c in content.characters} | {c.audio for c in content.characters}
    entries = [
        CharacterMediaMetadataEntry(
            id=asset.media_id,
            title=asset.description or asset.media_id,
            file_name=asset.url.rsplit("/", 1)[-1],
            type=asset.media_type.value,
            description=asset.description or "",
            age_rating="3+",
            tags=list(asset.tags),
            loopable=False,
        )
        for asset in content.media.assets
        if asset.media_id in wanted
    ]
    return CharacterMediaMetadataFile(entries=entries, created_at=stamp, updated_at=stamp)


def _character_map_file(content: Content, stamp: datetime) -> CharacterMapFile:
    characters = [
        CharacterMapFileCharacter(id=c.id, name=c.name, image=c.image, metadata=c.metadata)
        for c in content.characters
    ]
    return CharacterMapFile(characters=characters, created_at=stamp, updated_at=stamp)
