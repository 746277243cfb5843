"""The master-data directory format, read and written exactly as the Mystira app ships it.

A directory holds ``AgeGroups.json``, ``CoreAxes.json``, ``Archetypes.json``,
``EchoTypes.json``, ``FantasyThemes.json`` and ``Badges/<age group>.json``. The value lists
are arrays of ``{"value": ...}`` objects (the app also accepts bare strings and matches the
key case-insensitively, so we do too). We add optional ``description`` (and ``category`` for
echo types) keys: the app's reader ignores unknown keys, so files stay readable by it.

This module knows only the file shapes; `master` maps them to domain documents.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from mystira_data.errors import InvalidDocument

AGE_GROUPS_FILE = "AgeGroups.json"
BADGES_DIR = "Badges"
VALUE_LIST_FILES = {
    "core_axes": "CoreAxes.json",
    "archetypes": "Archetypes.json",
    "echo_types": "EchoTypes.json",
    "fantasy_themes": "FantasyThemes.json",
}


_INT32_MAX = 2**31 - 1  # the C# models' int


class MasterDataError(InvalidDocument):
    """A master-data file is unreadable or breaks its format.

    ``file`` is the file (relative to the source directory when known) and ``path`` the JSON
    path of the offending value, e.g. ``$.Badges[2].Required_Score``.
    """

    def __init__(self, file: str, message: str, *, path: str = "$") -> None:
        super().__init__(message, path=path)
        # Replace the base message so the file leads: that is what an operator greps for.
        self.args = (f"{file} {path}: {message}",)
        self.file = file
        self.reason = message


class _Strict(BaseModel):
    # Strict: a number written as a string is a broken file, not something to coerce.
    # Unknown keys are ignored, as the app's own reader does.
    # NaN/Infinity (which Python's json module accepts) are not JSON and Cosmos refuses them.
    model_config = ConfigDict(strict=True, frozen=True, extra="ignore", allow_inf_nan=False)


class ValueEntry(_Strict):
    """One element of a value-list file (core axes, archetypes, echo types, themes)."""

    value: str = Field(min_length=1)
    description: str = ""
    category: str = ""

    @model_validator(mode="before")
    @classmethod
    def _normalise(cls, data: Any) -> Any:
        if isinstance(data, str):
            return {"value": data}
        if isinstance(data, dict):
            return {str(k).lower(): v for k, v in data.items()}
        return data

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"value": self.value}
        if self.category:
            out["category"] = self.category
        if self.description:
            out["description"] = self.description
        return out


class AgeGroupEntry(_Strict):
    name: str = Field(alias="Name", min_length=1)
    minimum_age: int = Field(alias="MinimumAge", ge=0, le=_INT32_MAX)
    maximum_age: int = Field(alias="MaximumAge", ge=0, le=_INT32_MAX)
    value: str = Field(alias="Value", min_length=1)
    description: str = Field(default="", alias="Description")

    @model_validator(mode="after")
    def _range(self) -> AgeGroupEntry:
        if self.minimum_age > self.maximum_age:
            raise ValueError("MinimumAge is greater than MaximumAge")
        return self

    def to_json(self) -> dict[str, Any]:
        out = self.model_dump(by_alias=True, exclude={"description"})
        if self.description:
            out["Description"] = self.description
        return out


class AxisAchievementEntry(_Strict):
    compass_axis_id: str = Field(alias="Compass_Axis_Id", min_length=1)
    axes_direction: Literal["positive", "negative"] = Field(alias="Axes_Direction")
    description: str = Field(alias="Description")


class BadgeEntry(_Strict):
    tier: Literal["bronze", "silver", "gold", "platinum", "diamond"] = Field(alias="Tier")
    tier_order: int = Field(alias="Tier_Order", ge=1, le=_INT32_MAX)
    title: str = Field(alias="Title", min_length=1)
    description: str = Field(alias="Description")
    required_score: float = Field(alias="Required_Score", ge=0)
    compass_axis_id: str = Field(alias="Compass_Axis_Id", min_length=1)
    image_id: str = Field(alias="Image_Id")


class BadgeFile(_Strict):
    """``Badges/<age group>.json``: the badge ladder and axis achievements of one age group."""

    age_group_id: str = Field(alias="Age_Group_Id", pattern=r"^[0-9]+-[0-9]+$")
    # Lax only for the container type (JSON arrays → tuples); the items stay strict.
    axis_achievements: tuple[AxisAchievementEntry, ...] = Field(
        alias="Axis_Achievements", strict=False
    )
    badges: tuple[BadgeEntry, ...] = Field(alias="Badges", strict=False)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, mode="json")


@dataclass(frozen=True)
class MasterFiles:
    """The parsed content of one master-data directory, in file order."""

    age_groups: tuple[AgeGroupEntry, ...] = ()
    core_axes: tuple[ValueEntry, ...] = ()
    archetypes: tuple[ValueEntry, ...] = ()
    echo_types: tuple[ValueEntry, ...] = ()
    fantasy_themes: tuple[ValueEntry, ...] = ()
    badge_files: tuple[BadgeFile, ...] = ()


_VALUES = TypeAdapter(tuple[ValueEntry, ...])
_AGE_GROUPS = TypeAdapter(tuple[AgeGroupEntry, ...])


def json_path(loc: Sequence[int | str]) -> str:
    """Pydantic's error location as a JSONPath: ``(2, 'Tier')`` → ``$[2].Tier``."""
    out = "$"
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _load_json(path: Path, label: str) -> Any:
    try:
        text = path.read_text(encoding="utf-8-sig")  # the app's files may carry a BOM
    except OSError as exc:
        raise MasterDataError(label, f"cannot read file: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise MasterDataError(label, f"not UTF-8 text: {exc.reason}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise MasterDataError(label, f"not valid JSON ({where}): {exc.msg}") from None


def validate(adapter: TypeAdapter[Any], data: Any, label: str) -> Any:
    try:
        return adapter.validate_python(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        # Pydantic reports the alias it looked for, which is the key the file should have.
        loc = [p for p in first["loc"] if p != "[key]"]
        raise MasterDataError(label, _message(first), path=json_path(loc)) from None


# Pydantic's wording talks about Python types; operators edit JSON.
_JSON_TYPE_MESSAGES = {
    "missing": "required key is missing",
    "tuple_type": "expected a JSON array",
    "list_type": "expected a JSON array",
    "dict_type": "expected a JSON object",
    "model_type": "expected a JSON object",
    "model_attributes_type": "expected a JSON object",
    "string_type": "expected a string",
    "int_type": "expected an integer",
    "float_type": "expected a number",
}


def _message(error: Any) -> str:
    return _JSON_TYPE_MESSAGES.get(error["type"], str(error["msg"]))


def read_values(path: Path, label: str) -> tuple[ValueEntry, ...]:
    result: tuple[ValueEntry, ...] = validate(_VALUES, _load_json(path, label), label)
    return result


def read_age_groups(path: Path, label: str) -> tuple[AgeGroupEntry, ...]:
    result: tuple[AgeGroupEntry, ...] = validate(_AGE_GROUPS, _load_json(path, label), label)
    return result


def read_badge_file(path: Path, label: str) -> BadgeFile:
    badge_file: BadgeFile = validate(TypeAdapter(BadgeFile), _load_json(path, label), label)
    # The file name is the age-group key of the format; a mismatch would silently move
    # badges to another age group on the next export.
    if badge_file.age_group_id != path.stem:
        raise MasterDataError(
            label,
            f"Age_Group_Id {badge_file.age_group_id!r} does not match the file name",
            path="$.Age_Group_Id",
        )
    return badge_file


def read_directory(source: Path) -> MasterFiles:
    """Parse every master-data file present in ``source``; absent files count as empty."""
    if not source.is_dir():
        raise MasterDataError(str(source), "not a directory")
    age_path = source / AGE_GROUPS_FILE
    found: dict[str, Any] = {}
    if age_path.is_file():
        found["age_groups"] = read_age_groups(age_path, AGE_GROUPS_FILE)
    for attr, name in VALUE_LIST_FILES.items():
        if (source / name).is_file():
            found[attr] = read_values(source / name, name)
    badge_paths = sorted((source / BADGES_DIR).glob("*.json"), key=_age_sort_key)
    found["badge_files"] = tuple(read_badge_file(p, f"{BADGES_DIR}/{p.name}") for p in badge_paths)
    if len(found) == 1 and not found["badge_files"]:
        raise MasterDataError(str(source), "no master-data files found")
    return MasterFiles(**found)


def _age_sort_key(path: Path) -> tuple[int, str]:
    # "10-12" sorts after "6-9": order by the lower bound, not by text.
    head = path.stem.split("-", 1)[0]
    return (int(head) if head.isdigit() else 1 << 30, path.stem)


def write_directory(target: Path, files: MasterFiles) -> None:
    """Write ``files`` in the directory format (inverse of `read_directory`)."""
    target.mkdir(parents=True, exist_ok=True)
    if files.age_groups:
        _dump(target / AGE_GROUPS_FILE, [a.to_json() for a in files.age_groups])
    for attr, name in VALUE_LIST_FILES.items():
        entries: tuple[ValueEntry, ...] = getattr(files, attr)
        if entries:
            _dump(target / name, [e.to_json() for e in entries])
    if files.badge_files:
        (target / BADGES_DIR).mkdir(exist_ok=True)
    for badge_file in files.badge_files:
        _dump(target / BADGES_DIR / f"{badge_file.age_group_id}.json", badge_file.to_json())


def _dump(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def inside(root: Path, relative: str) -> Path | None:
    """``root / relative`` if it stays inside ``root`` (an Image_Id may be any string)."""
    rel = PurePosixPath(relative.replace("\\", "/"))
    if rel.is_absolute() or ".." in rel.parts or not rel.parts:
        return None
    return root.joinpath(*rel.parts)
