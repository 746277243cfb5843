"""The field maps of every container, built from the catalog's models plus the C# app's
deviations (efcore-shape.md §2): renames, converters, enums, derived fields.

Defaults come from the model: the CLR name is our camelCase alias with a capital first letter
(``Id`` inside owned types, ``id`` at the root); datetimes, TimeSpans, enums, owned objects and
owned collections take their kind from the annotation. The tables below name every exception
by container and native path (``characters.metadata.role``: arrays are transparent).
"""

from __future__ import annotations

import functools
import types
from collections.abc import Mapping
from datetime import datetime, timedelta
from enum import Enum
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel

from mystira_data import catalog
from mystira_data.documents.formats.efcore9.kinds import (
    ArrayKind,
    CsvKind,
    DateTimeKind,
    DictKind,
    FieldSpec,
    IntEnumKind,
    JsonTextKind,
    Kind,
    ObjectDictKind,
    PairsKind,
    Plain,
    TimeSpanKind,
)
from mystira_data.documents.formats.efcore9.objects import IdKind, ObjectKind
from mystira_data.domain import enums
from mystira_data.domain.analytics import CompassTrackingState
from mystira_data.domain.content import BundlePrice

# Enums stored as their names (`v.ToString()` converters) or plain strings in C#.
NAME_ENUMS: frozenset[type[Enum]] = frozenset(
    {
        enums.MusicProfile,
        enums.MusicContinuity,
        enums.MusicTransitionHint,
        enums.MusicPriority,
        enums.MusicDucking,
        enums.MediaType,  # a string property in C#
    }
)
# C# numbers that are not the declaration order.
_ROLES = enums.ContributorRole
ENUM_NUMBERS: Mapping[type[Enum], Mapping[Any, int]] = {
    _ROLES: {**{m: i for i, m in enumerate(_ROLES) if m is not _ROLES.OTHER}, _ROLES.OTHER: 99},
}

_CSV, _PAIRS, _OBJECT_DICT = CsvKind(), PairsKind(), ObjectDictKind()

# Per container: native path → kind, where the model's annotation is not the whole story.
CONVERTERS: Mapping[str, Mapping[str, Kind]] = {
    "UserProfiles": {"preferredFantasyThemes": _CSV},
    "Accounts": {"userProfileIds": _CSV, "subscription.purchasedScenarios": _CSV},
    "ContentBundles": {"scenarioIds": _CSV},  # prices: below, it needs a model map
    "CharacterMaps": {"metadata.traits": _CSV},
    "Scenarios": {
        "tags": _CSV,
        "archetypes": _CSV,
        "coreAxes": _CSV,
        "characters.metadata.role": _CSV,
        "characters.metadata.archetype": _CSV,
        "characters.metadata.traits": _CSV,
        "musicPalette.tracksByProfile": _OBJECT_DICT,
    },
    "GameSessions": {"playerNames": _CSV},
    "PlayerScenarioScores": {"axisScores": JsonTextKind()},
    "MediaAssets": {"tags": _CSV, "metadata.additionalProperties": JsonTextKind()},
    "MediaMetadataFiles": {"entries.classificationTags": _PAIRS, "entries.modifiers": _PAIRS},
    "CharacterMediaMetadataFiles": {"entries.tags": _CSV},
    "CharacterMapFiles": {
        "characters.metadata.roles": _CSV,
        "characters.metadata.archetypes": _CSV,
        "characters.metadata.traits": _CSV,
    },
    "AvatarConfigurationFiles": {"ageGroupAvatars": _OBJECT_DICT},
}

# Per container: native path → stored name, where `ToJsonProperty` or C# names differ.
RENAMES: Mapping[str, Mapping[str, str]] = {
    "UserProfiles": {"ageGroup": "AgeGroupName"},
    "GameSessions": {"accountId": "accountId", "targetAgeGroup": "TargetAgeGroupName"},
    "MediaAssets": {"mediaType": "mediaType"},
    "CompassTrackings": {"axis": "id"},
}

# Our own additions to the C# models, stored only when set.
OURS: Mapping[str, frozenset[str]] = {"CompassTrackings": frozenset({"profileId", "sessionId"})}

# Types whose EF Core 8 documents carried ``"<Type>|<key>"`` ids (no explicit id mapping).
LEGACY_PREFIXED = frozenset({"GameSessions", "MediaAssets"})


def model_kind(model: type[BaseModel]) -> ObjectKind:
    """An owned type with no container-specific exceptions (inside JSON text)."""
    return _object(model, "", "", root=False)


def _json_text_kind(container: str, path: str) -> Kind | None:
    """JSON text holding owned types, whose inner names are PascalCase too."""
    if (container, path) == ("GameSessions", "compassValues"):
        return JsonTextKind(DictKind(model_kind(CompassTrackingState)))
    if (container, path) == ("ContentBundles", "prices"):
        return JsonTextKind(ArrayKind(model_kind(BundlePrice)))
    return None


@functools.cache
def container_map(container: str) -> ObjectKind | None:
    """The root object map of ``container``; None if the catalog has no such container."""
    spec = catalog.BY_NAME.get(container)
    if spec is None or not spec.is_document_container:
        return None
    return _object(spec.model, container, "", root=True)


def _object(model: type[BaseModel], container: str, prefix: str, *, root: bool) -> ObjectKind:
    specs = []
    for name, info in model.model_fields.items():
        native = info.alias or name
        path = f"{prefix}.{native}" if prefix else native
        specs.append(_field(container, path, native, info.annotation, root=root))
    return ObjectKind(tuple(specs))


def _field(container: str, path: str, native: str, annotation: Any, *, root: bool) -> FieldSpec:
    stored = RENAMES.get(container, {}).get(path)
    if stored is None:
        stored = "id" if root and native == "id" else native[:1].upper() + native[1:]
    kind = (
        CONVERTERS.get(container, {}).get(path)
        or _json_text_kind(container, path)
        or _kind(container, path, annotation)
    )
    if root and stored == "id":
        prefix = f"{catalog.get(container).model.__name__}|"
        kind = IdKind(prefix if container in LEGACY_PREFIXED else "")
    if container == "GameSessions" and path == "targetAgeGroup":
        return FieldSpec(native, stored, kind, derive=_age_group, derived=("TargetAgeGroup",))
    if container == "CompassTrackings" and path == "axis":
        return FieldSpec(native, stored, kind, also=("axis",))
    return FieldSpec(native, stored, kind, ours=path in OURS.get(container, ()))


def _kind(container: str, path: str, annotation: Any) -> Kind:
    t = _unwrap(annotation)
    origin = get_origin(t)
    if origin is list:
        item = _unwrap(get_args(t)[0])
        if isinstance(item, type) and issubclass(item, BaseModel):
            return ArrayKind(_object(item, container, path, root=False))
        return Plain()
    if not isinstance(t, type) or origin is not None:
        return Plain()
    if issubclass(t, BaseModel):
        return _object(t, container, path, root=False)
    if issubclass(t, datetime):
        return DateTimeKind()
    if issubclass(t, timedelta):
        return TimeSpanKind()
    if issubclass(t, Enum) and t not in NAME_ENUMS:
        numbers = ENUM_NUMBERS.get(t) or {m: i for i, m in enumerate(t)}
        return IntEnumKind(t, numbers)
    return Plain()


def _unwrap(annotation: Any) -> Any:
    """``X | None`` and ``Annotated[X, …]`` → ``X``."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            args = [a for a in get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return annotation
            annotation = args[0]
        else:
            return annotation


def _age_group(value: Any) -> dict[str, Any]:
    """``TargetAgeGroup``, the object C# derives from ``TargetAgeGroupName`` (§4)."""
    known = next((g for g in enums.AGE_GROUP_RANGES if g.value == value), None)
    if known is None:
        return {"TargetAgeGroup": None}
    return {
        "TargetAgeGroup": {
            "MaximumAge": known.maximum_age,
            "MinimumAge": known.minimum_age,
            "Value": known.value,
        }
    }
