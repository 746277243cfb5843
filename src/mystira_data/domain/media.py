"""Media assets and the imported media/character/avatar metadata files."""

from __future__ import annotations

from pydantic import Field

from mystira_data.domain.base import (
    Document,
    DocumentId,
    Duration,
    Int32,
    JsonObject,
    Long,
    MystiraModel,
    UtcDateTime,
    utc_now,
)
from mystira_data.domain.content import CharacterMetadata
from mystira_data.domain.enums import MediaType

# The metadata files are single documents with these well-known ids.
MEDIA_METADATA_FILE_ID = "media-metadata"
CHARACTER_MEDIA_METADATA_FILE_ID = "character-media-metadata"
CHARACTER_MAP_FILE_ID = "character-map"
AVATAR_CONFIGURATION_FILE_ID = "avatar-configuration"


class MediaMetadata(MystiraModel):
    """Technical details of a media file; free-form extras in ``additional_properties``."""

    width: Int32 | None = None
    height: Int32 | None = None
    duration: Duration | None = None
    bitrate: Int32 | None = None
    format: str | None = None
    additional_properties: JsonObject = Field(default_factory=dict)


class MediaAsset(Document):
    """An uploaded image, audio or video file's metadata; the bytes live in blob storage."""

    media_id: str = ""
    url: str = ""
    media_type: MediaType
    mime_type: str = ""
    file_size_bytes: Long = 0
    description: str | None = None
    tags: list[str] = Field(default_factory=list)
    hash: str = ""
    version: str = ""
    created_at: UtcDateTime = Field(default_factory=utc_now)
    updated_at: UtcDateTime = Field(default_factory=utc_now)
    thumbnail_url: str | None = None
    metadata: MediaMetadata | None = None


class ClassificationTag(MystiraModel):
    """A key/value classifier of a media entry."""

    key: str = ""
    value: str = ""


class Modifier(MystiraModel):
    """A key/value modifier of a media entry's classification."""

    key: str = ""
    value: str = ""


class MediaMetadataEntry(MystiraModel):
    """One media file described in the media metadata file."""

    id: str = ""
    title: str = ""
    file_name: str = ""
    type: str = ""  # "image", "audio" or "video" in practice; not enforced for imports
    description: str = ""
    age_rating: Int32 = 0
    subject_reference_id: str = ""
    classification_tags: list[ClassificationTag] = Field(default_factory=list)
    modifiers: list[Modifier] = Field(default_factory=list)
    loopable: bool = False


class MediaMetadataFile(Document):
    """The imported list of all media metadata entries."""

    id: DocumentId = MEDIA_METADATA_FILE_ID
    entries: list[MediaMetadataEntry] = Field(default_factory=list)
    created_at: UtcDateTime = Field(default_factory=utc_now)
    updated_at: UtcDateTime = Field(default_factory=utc_now)
    version: str = "1.0"


class CharacterMediaMetadataEntry(MystiraModel):
    """One character media file described in the character media metadata file."""

    id: str = ""
    title: str = ""
    file_name: str = ""
    type: str = ""
    description: str = ""
    age_rating: str = ""
    tags: list[str] = Field(default_factory=list)
    loopable: bool = False


class CharacterMediaMetadataFile(Document):
    """The imported list of all character media metadata entries."""

    id: DocumentId = CHARACTER_MEDIA_METADATA_FILE_ID
    entries: list[CharacterMediaMetadataEntry] = Field(default_factory=list)
    created_at: UtcDateTime = Field(default_factory=utc_now)
    updated_at: UtcDateTime = Field(default_factory=utc_now)
    version: str = "1.0"


class CharacterMapFileCharacter(MystiraModel):
    """A character as listed in the character map file."""

    id: str = ""
    name: str = ""
    image: str = ""  # media id
    metadata: CharacterMetadata = Field(default_factory=CharacterMetadata)


class CharacterMapFile(Document):
    """The imported list of all characters."""

    id: DocumentId = CHARACTER_MAP_FILE_ID
    characters: list[CharacterMapFileCharacter] = Field(default_factory=list)
    created_at: UtcDateTime = Field(default_factory=utc_now)
    updated_at: UtcDateTime = Field(default_factory=utc_now)
    version: str = "1.0"


class AvatarConfigurationFile(Document):
    """Which avatar media ids each age group may choose from."""

    id: DocumentId = AVATAR_CONFIGURATION_FILE_ID
    age_group_avatars: dict[str, list[str]] = Field(default_factory=dict)
    created_at: UtcDateTime = Field(default_factory=utc_now)
    updated_at: UtcDateTime = Field(default_factory=utc_now)
    version: str = "1.0"
