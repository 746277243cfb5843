"""Master (reference) data: a directory in the app's Data format ⇄ domain documents ⇄ a store.

Ids are derived from each record's natural key (a slug such as ``curiosity-initiative`` or
``6-9-self-regulation-gold-1``), so loading the same files twice yields the same documents and
seeding is idempotent. Timestamps are a fixed epoch for the same reason.

``BadgeConfigurations`` (the app's older, flat badge system) are derived one-to-one from the
tiered ``Badges`` so both badge APIs have data; exporting writes only the tiered form.
``BadgeImages`` are made for every ``Image_Id`` a badge file names, with the bytes when that
path exists as a file under the source directory. Writing documents back as files: `export`.
"""

from __future__ import annotations

import mimetypes
import re
import unicodedata
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError

from mystira_data.documents.port import DocumentStore
from mystira_data.domain.badges import AxisAchievement, Badge, BadgeImage
from mystira_data.domain.base import Document
from mystira_data.domain.reference import (
    AgeGroupDefinition,
    ArchetypeDefinition,
    BadgeConfiguration,
    CompassAxis,
    Definition,
    EchoTypeDefinition,
    FantasyThemeDefinition,
)
from mystira_data.seed import files
from mystira_data.seed._writes import upsert_changed
from mystira_data.seed.files import (
    AGE_GROUPS_FILE,
    BADGES_DIR,
    VALUE_LIST_FILES,
    AgeGroupEntry,
    BadgeFile,
    MasterDataError,
    MasterFiles,
    ValueEntry,
)

__all__ = [
    "MASTER_CONTAINERS",
    "MASTER_EPOCH",
    "VALUE_LISTS",
    "MasterDataError",
    "MasterDocuments",
    "default_master_dir",
    "load_master",
    "seed_master",
    "seed_master_documents",
    "slug",
]

MasterDocuments = dict[str, list[Document]]
"""Container name → its documents, in file order."""

# A fixed instant instead of now(): the same files must always produce the same documents.
MASTER_EPOCH = datetime(2025, 1, 1, tzinfo=UTC)

# (MasterFiles attribute, container, model) for the four plain value lists.
VALUE_LISTS: tuple[tuple[str, str, type[Definition]], ...] = (
    ("core_axes", "CompassAxes", CompassAxis),
    ("archetypes", "ArchetypeDefinitions", ArchetypeDefinition),
    ("echo_types", "EchoTypeDefinitions", EchoTypeDefinition),
    ("fantasy_themes", "FantasyThemeDefinitions", FantasyThemeDefinition),
)
MASTER_CONTAINERS: tuple[str, ...] = (
    "AgeGroupDefinitions",
    *(container for _, container, _ in VALUE_LISTS),
    "Badges",
    "AxisAchievements",
    "BadgeConfigurations",
    "BadgeImages",
)
_ID_NAMESPACE = uuid.UUID("6f1d3c52-8a4e-4f0b-9c8e-5d2b7a1e3f90")
_SLUG_DROP = re.compile(r"[^a-z0-9_]+")

D = TypeVar("D", bound=Document)


def default_master_dir() -> Path:
    """The master data shipped inside the package."""
    return Path(__file__).parent / "data"


def slug(*parts: str) -> str:
    """A readable, store-safe id from a natural key: ``("6-9", "Self-Regulation")`` →
    ``6-9-self-regulation``; a uuid5 when nothing ASCII is left (e.g. a name in kana)."""
    text = unicodedata.normalize("NFKD", "-".join(parts)).encode("ascii", "ignore").decode()
    result = _SLUG_DROP.sub("-", text.lower()).strip("-")
    if not result or len(result) > 200:
        return str(uuid.uuid5(_ID_NAMESPACE, "\x1f".join(parts)))
    return result


# --- files → documents -------------------------------------------------------------------------


def load_master(source_dir: Path | None = None) -> MasterDocuments:
    """Parse a master-data directory (default: the shipped one) into documents per container.

    Raises `MasterDataError` (an `InvalidDocument`) naming the file and JSON path.
    """
    source = source_dir if source_dir is not None else default_master_dir()
    return to_documents(files.read_directory(source), source)


def to_documents(master: MasterFiles, source_dir: Path | None = None) -> MasterDocuments:
    """Map parsed files to documents; ``source_dir`` is where badge images are looked up."""
    out: MasterDocuments = {name: [] for name in MASTER_CONTAINERS}
    with _blame(AGE_GROUPS_FILE):
        ages: list[Document] = [_age_group(entry) for entry in master.age_groups]
    out["AgeGroupDefinitions"] = _unique(ages, AGE_GROUPS_FILE)
    for attr, container, model in VALUE_LISTS:
        entries: tuple[ValueEntry, ...] = getattr(master, attr)
        with _blame(VALUE_LIST_FILES[attr]):
            defs: list[Document] = [_definition(model, entry) for entry in entries]
        out[container] = _unique(defs, VALUE_LIST_FILES[attr])
    for badge_file in master.badge_files:
        label = f"{BADGES_DIR}/{badge_file.age_group_id}.json"
        with _blame(label):
            badges, achievements = _badges(badge_file), _achievements(badge_file)
        out["Badges"] += _unique(badges, label, what="Badges")
        out["AxisAchievements"] += _unique(achievements, label, what="Axis_Achievements")
    out["BadgeConfigurations"] = [_configuration(b) for b in out["Badges"]]
    out["BadgeImages"] = _badge_images(out["Badges"], source_dir)
    return out


@contextmanager
def _blame(file: str) -> Iterator[None]:
    """Safety net: a value the file format accepts but a domain model refuses still reports
    the file, never a raw pydantic traceback."""
    try:
        yield
    except ValidationError as exc:
        error = exc.errors()[0]
        raise MasterDataError(file, f"{error['loc'][-1]}: {error['msg']}") from None


def _stamps() -> dict[str, Any]:
    return {"created_at": MASTER_EPOCH, "updated_at": MASTER_EPOCH}


def _age_group(entry: AgeGroupEntry) -> AgeGroupDefinition:
    return AgeGroupDefinition(
        id=slug(entry.value),
        name=entry.name,
        value=entry.value,
        minimum_age=entry.minimum_age,
        maximum_age=entry.maximum_age,
        description=entry.description,
        **_stamps(),
    )


def _definition(model: type[Definition], entry: ValueEntry) -> Definition:
    extra = {"category": entry.category} if model is EchoTypeDefinition else {}
    return model(
        id=slug(entry.value),
        name=entry.value,
        description=entry.description,
        **extra,
        **_stamps(),
    )


def _badges(badge_file: BadgeFile) -> list[Document]:
    age = badge_file.age_group_id
    return [
        Badge(
            id=slug(age, b.compass_axis_id, b.tier, str(b.tier_order)),
            age_group_id=age,
            compass_axis_id=b.compass_axis_id,
            tier=b.tier,
            tier_order=b.tier_order,
            title=b.title,
            description=b.description,
            required_score=b.required_score,
            image_id=b.image_id,
            **_stamps(),
        )
        for b in badge_file.badges
    ]


def _achievements(badge_file: BadgeFile) -> list[Document]:
    age = badge_file.age_group_id
    return [
        AxisAchievement(
            id=slug(age, a.compass_axis_id, a.axes_direction),
            age_group_id=age,
            compass_axis_id=a.compass_axis_id,
            axes_direction=a.axes_direction,
            description=a.description,
            **_stamps(),
        )
        for a in badge_file.axis_achievements
    ]


def _configuration(badge: Document) -> BadgeConfiguration:
    assert isinstance(badge, Badge)
    return BadgeConfiguration(
        id=badge.id,
        name=badge.title,
        message=badge.description,
        axis=badge.compass_axis_id,
        threshold=badge.required_score,
        image_id=badge.image_id,
        **_stamps(),
    )


def _badge_images(badges: Sequence[Document], source_dir: Path | None) -> list[Document]:
    image_ids = dict.fromkeys(b.image_id for b in badges if isinstance(b, Badge) and b.image_id)
    return [_badge_image(image_id, source_dir) for image_id in image_ids]


def _badge_image(image_id: str, source_dir: Path | None) -> BadgeImage:
    path = files.inside(source_dir, image_id) if source_dir is not None else None
    try:
        data = path.read_bytes() if path is not None and path.is_file() else None
    except OSError as exc:
        raise MasterDataError(image_id, f"cannot read badge image: {exc.strerror}") from None
    content_type = mimetypes.guess_type(image_id)[0] or "image/png"
    return BadgeImage(
        id=slug(image_id),
        image_id=image_id,
        content_type=content_type,
        image_data=data,
        file_size_bytes=len(data) if data is not None else 0,
        **_stamps(),
    )


def _unique(docs: list[D], file: str, *, what: str = "") -> list[D]:
    """Two records with the same natural key would silently overwrite each other."""
    first_index: dict[str, int] = {}
    for index, doc in enumerate(docs):
        if doc.id in first_index:
            prefix = f"$.{what}" if what else "$"
            raise MasterDataError(
                file,
                f"duplicate of {prefix}[{first_index[doc.id]}] (same key {doc.id!r})",
                path=f"{prefix}[{index}]",
            )
        first_index[doc.id] = index
    return docs


# --- seeding -----------------------------------------------------------------------------------


async def seed_master(store: DocumentStore, source_dir: Path | None = None) -> dict[str, int]:
    """Load master data (default: the shipped set) and upsert it into ``store``.

    Idempotent: documents equal to the stored ones are not rewritten; changed ones get the
    next ``_version``. Returns the number of documents per container in the source.
    """
    return await seed_master_documents(store, load_master(source_dir))


async def seed_master_documents(
    store: DocumentStore, documents: Mapping[str, Sequence[Document]]
) -> dict[str, int]:
    """`seed_master` for documents already loaded (e.g. shared with the demo)."""
    for name, docs in documents.items():
        await upsert_changed(store, name, docs)
    return {name: len(docs) for name, docs in documents.items()}
