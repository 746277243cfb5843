"""Master documents → a directory in the app's Data format (the inverse of `master`'s load).

BadgeConfigurations are not written (they are derived from Badges on load); badge images
with bytes are written to their ``Image_Id`` path when it is a relative path.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter

from mystira_data import catalog
from mystira_data.domain.badges import AxisAchievement, Badge, BadgeImage
from mystira_data.domain.base import Document
from mystira_data.domain.codec import codec_for
from mystira_data.domain.reference import AgeGroupDefinition, Definition, EchoTypeDefinition
from mystira_data.errors import InvalidDocument
from mystira_data.seed import files
from mystira_data.seed.files import (
    AGE_GROUPS_FILE,
    BADGES_DIR,
    VALUE_LIST_FILES,
    AgeGroupEntry,
    BadgeFile,
    MasterFiles,
    ValueEntry,
)
from mystira_data.seed.master import VALUE_LISTS

__all__ = ["from_documents", "write_master"]

D = TypeVar("D", bound=Document)


def write_master(
    target_dir: Path, documents: Mapping[str, Iterable[BaseModel | Mapping[str, Any]]]
) -> None:
    """Write master documents (models, or stored JSON dicts) as a directory in the Data format.

    Only the containers present in ``documents`` are written. BadgeConfigurations are not
    written (they are derived from Badges on load). Badge images with bytes are written to
    their ``Image_Id`` path when it is a relative path.
    """
    decoded = {name: _decode_all(name, docs) for name, docs in documents.items()}
    files.write_directory(target_dir, from_documents(decoded))
    for image in decoded.get("BadgeImages", []):
        _write_image(target_dir, image)


def _decode_all(container: str, docs: Iterable[BaseModel | Mapping[str, Any]]) -> list[Document]:
    model = catalog.get(container).model
    out: list[Document] = []
    for doc in docs:
        item = doc if isinstance(doc, BaseModel) else codec_for(model).decode(doc)
        if not isinstance(item, model) or not isinstance(item, Document):
            raise InvalidDocument(f"{container} expects {model.__name__}, got {type(item)}")
        out.append(item)
    return out


def from_documents(documents: Mapping[str, Sequence[Document]]) -> MasterFiles:
    """The directory content for ``documents`` (inverse of `to_documents`)."""
    found: dict[str, Any] = {}
    if "AgeGroupDefinitions" in documents:
        found["age_groups"] = tuple(
            _age_group_entry(d) for d in _of(documents, "AgeGroupDefinitions", AgeGroupDefinition)
        )
    for attr, container, model in VALUE_LISTS:
        if container in documents:
            found[attr] = tuple(_value_entry(d, attr) for d in _of(documents, container, model))
    found["badge_files"] = _badge_files(
        _of(documents, "Badges", Badge), _of(documents, "AxisAchievements", AxisAchievement)
    )
    return MasterFiles(**found)


def _of(documents: Mapping[str, Sequence[Document]], container: str, cls: type[D]) -> list[D]:
    return [d for d in documents.get(container, ()) if isinstance(d, cls)]


_VALUES = TypeAdapter(ValueEntry)
_AGE_GROUP = TypeAdapter(AgeGroupEntry)
_BADGE_FILE = TypeAdapter(BadgeFile)


def _age_group_entry(d: AgeGroupDefinition) -> AgeGroupEntry:
    raw = {
        "Name": d.name,
        "MinimumAge": d.minimum_age,
        "MaximumAge": d.maximum_age,
        "Value": d.value,
        "Description": d.description,
    }
    entry: AgeGroupEntry = files.validate(_AGE_GROUP, raw, f"{AGE_GROUPS_FILE} (export of {d.id})")
    return entry


def _value_entry(d: Definition, attr: str) -> ValueEntry:
    raw = {"value": d.name, "description": d.description}
    if isinstance(d, EchoTypeDefinition):
        raw["category"] = d.category
    entry: ValueEntry = files.validate(_VALUES, raw, f"{VALUE_LIST_FILES[attr]} (export of {d.id})")
    return entry


def _badge_files(
    badges: Sequence[Badge], achievements: Sequence[AxisAchievement]
) -> tuple[BadgeFile, ...]:
    ages = dict.fromkeys([a.age_group_id for a in achievements] + [b.age_group_id for b in badges])
    return tuple(
        _badge_file(
            age,
            [b for b in badges if b.age_group_id == age],
            [a for a in achievements if a.age_group_id == age],
        )
        for age in ages
    )


def _badge_file(age: str, badges: list[Badge], achievements: list[AxisAchievement]) -> BadgeFile:
    raw = {
        "Age_Group_Id": age,
        "Axis_Achievements": [
            {
                "Compass_Axis_Id": a.compass_axis_id,
                "Axes_Direction": a.axes_direction,
                "Description": a.description,
            }
            for a in achievements
        ],
        "Badges": [
            {
                "Tier": b.tier,
                "Tier_Order": b.tier_order,
                "Title": b.title,
                "Description": b.description,
                "Required_Score": b.required_score,
                "Compass_Axis_Id": b.compass_axis_id,
                "Image_Id": b.image_id,
            }
            for b in badges
        ],
    }
    badge_file: BadgeFile = files.validate(_BADGE_FILE, raw, f"{BADGES_DIR}/{age}.json")
    return badge_file


def _write_image(target_dir: Path, image: Document) -> None:
    if not isinstance(image, BadgeImage) or image.image_data is None:
        return
    path = files.inside(target_dir, image.image_id)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(image.image_data)
