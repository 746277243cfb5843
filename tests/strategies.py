"""Hypothesis strategies for every domain model.

``strategy_for(Model)`` derives a strategy from the model's fields, so new fields are covered
without edits here. Values are realistic but wild: unicode text, empty and long lists, nulls,
datetimes with non-UTC offsets (and naive ones), microseconds, negative and multi-day durations.

Limits kept on purpose, so the same values also fit the relational store (V001 columns):
strings are at most 20 characters and contain no NUL (PostgreSQL text cannot hold it), ids are
at most 36 characters, numbers are finite and integers fit a JSON double exactly.
"""

from __future__ import annotations

import functools
import types
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from enum import Enum
from typing import Annotated, Any, TypeVar, Union, cast, get_args, get_origin

import annotated_types
from hypothesis import strategies as st
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from mystira_data.domain import base
from mystira_data.domain.analytics import CompassTracking
from mystira_data.domain.enums import CORE_AXES, KnownValues
from mystira_data.domain.play import GameSession
from mystira_data.domain.users import UserProfile

M = TypeVar("M", bound=BaseModel)
S = st.SearchStrategy

TEXT_MAX = 20
ID_MAX = 36
JSON_INT = 2**53 - 1

# Validators identify our annotated types inside a field's metadata.
_NON_BLANK = get_args(base.NonBlankStr)[1]
_DOCUMENT_ID = get_args(base.DocumentId)[1]
_JSON_OBJECT = get_args(base.JsonObject)[1]


# --- primitives --------------------------------------------------------------------------------


def texts(max_size: int = TEXT_MAX, min_size: int = 0) -> S[str]:
    """Any unicode text (no surrogates, no NUL)."""
    alphabet = st.characters(codec="utf-8", exclude_characters="\x00")
    return st.text(alphabet, min_size=min_size, max_size=max_size)


def non_blank_texts(max_size: int = TEXT_MAX) -> S[str]:
    return texts(max_size, min_size=1).filter(str.strip)


def document_ids() -> S[str]:
    """GUIDs mostly, slugs, and unicode letters/digits with a few punctuation marks."""
    unicode_id = st.text(
        st.characters(categories=("L", "N"), include_characters="-_.:@"),
        min_size=1,
        max_size=ID_MAX,
    )
    slug = st.from_regex(r"[a-z0-9][a-z0-9-]{0,35}", fullmatch=True)
    return st.one_of(st.uuids().map(str), slug, unicode_id)


_OFFSETS = st.sampled_from([0, 1, -1, 330, 345, -570, 840, -720]).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
_TIMEZONES: S[Any] = st.one_of(
    st.none(),  # naive: taken as UTC
    st.just(UTC),
    _OFFSETS,
    st.timedeltas(timedelta(hours=-23, minutes=-59), timedelta(hours=23, minutes=59)).map(timezone),
)


def utc_datetimes() -> S[datetime]:
    """Datetimes in any offset (or naive), years 2..9998 so conversion to UTC cannot overflow,
    plus the extremes C# uses (``DateTime.MaxValue`` as "forever")."""
    ordinary = st.datetimes(datetime(2, 1, 1), datetime(9998, 12, 31), timezones=_TIMEZONES)
    extremes = st.sampled_from([datetime.max.replace(tzinfo=UTC), datetime.min.replace(tzinfo=UTC)])
    return st.one_of(ordinary, ordinary, extremes)


def durations() -> S[timedelta]:
    """Any .NET TimeSpan: negative, multi-day, microseconds."""
    return st.timedeltas(-base.TIMESPAN_MAX, base.TIMESPAN_MAX)


def finite_floats() -> S[float]:
    return st.floats(allow_nan=False, allow_infinity=False)


def decimals() -> S[Decimal]:
    money = st.decimals(-(10**9), 10**9, allow_nan=False, allow_infinity=False, places=2)
    return st.one_of(money, finite_floats().map(lambda f: Decimal(repr(f))))


def json_objects() -> S[dict[str, Any]]:
    """Free-form JSON objects, a few levels deep."""
    leaves = st.one_of(
        st.none(), st.booleans(), st.integers(-JSON_INT, JSON_INT), finite_floats(), texts()
    )
    values = st.recursive(
        leaves,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts(), inner, max_size=3),
        max_leaves=8,
    )
    return st.dictionaries(texts(), values, max_size=4)


# --- derived from the models -------------------------------------------------------------------


def _list_cap(depth: int, of_models: bool) -> int:
    # Big lists at the top, small ones deeper down, so nested documents stay fast to build.
    if of_models:
        return (5, 3, 2)[min(depth, 2)]
    return 40 if depth == 0 else 6


def _metadata(parts: tuple[Any, ...]) -> list[Any]:
    flat: list[Any] = []
    for part in parts:
        flat.extend(part.metadata if isinstance(part, FieldInfo) else [part])
    return flat


def _annotated(base_type: Any, meta: list[Any], depth: int) -> S[Any]:
    known = next((m for m in meta if isinstance(m, KnownValues)), None)
    if known is not None:
        return st.one_of(st.sampled_from(known.values), non_blank_texts())
    if _DOCUMENT_ID in meta or _NON_BLANK in meta:
        return document_ids()
    if _JSON_OBJECT in meta:
        return json_objects()
    if base_type is int:
        low = next((m.ge for m in meta if isinstance(m, annotated_types.Ge)), -JSON_INT)
        high = next((m.le for m in meta if isinstance(m, annotated_types.Le)), JSON_INT)
        return st.integers(cast(int, low), cast(int, high))
    return _for_type(base_type, depth)


_SIMPLE: dict[Any, S[Any]] = {
    str: texts(),
    bool: st.booleans(),
    float: finite_floats(),
    datetime: utc_datetimes(),
    timedelta: durations(),
    Decimal: decimals(),
    bytes: st.binary(max_size=64),
}


def _for_type(tp: Any, depth: int) -> S[Any]:
    origin, args = get_origin(tp), get_args(tp)
    if origin is Annotated:
        return _annotated(args[0], _metadata(args[1:]), depth)
    if origin in (Union, types.UnionType):
        options = [_for_type(a, depth) for a in args if a is not type(None)]
        return st.one_of(st.none(), *options)
    if origin is list:
        of_models = _is_model(get_origin(args[0]) or args[0])
        return st.lists(_for_type(args[0], depth + 1), max_size=_list_cap(depth, of_models))
    if origin is dict:
        cap = _list_cap(depth, _is_model(args[1]))
        return st.dictionaries(texts(), _for_type(args[1], depth + 1), max_size=cap)
    if isinstance(tp, type) and issubclass(tp, Enum):
        return st.sampled_from(list(tp))
    if _is_model(tp):
        return _model(tp, depth)
    if tp in _SIMPLE:
        return _SIMPLE[tp]
    raise TypeError(f"no strategy for {tp!r}")


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _field(info: FieldInfo, depth: int) -> S[Any]:
    if info.metadata:
        return _annotated(info.annotation, list(info.metadata), depth)
    return _for_type(info.annotation, depth)


def _model(model_cls: type[M], depth: int) -> S[M]:
    fields = {name: _field(info, depth) for name, info in model_cls.model_fields.items()}
    fields.update(_FIELD_OVERRIDES.get(model_cls, {}))
    # Validate a dict of Python values rather than call the constructor: `builds` would guess
    # extra arguments from pydantic's alias-based signature.
    return st.fixed_dictionaries(fields).map(model_cls.model_validate)


# --- realism: tie related values together ------------------------------------------------------

_FIELD_OVERRIDES: dict[type[BaseModel], dict[str, S[Any]]] = {
    CompassTracking: {"axis": st.one_of(st.sampled_from(CORE_AXES), non_blank_texts())},
}


def _own_badges(profile: UserProfile) -> UserProfile:
    # Embedded badges belong to their profile (the UserBadges child table's FK relies on it).
    badges = [b.model_copy(update={"user_profile_id": profile.id}) for b in profile.earned_badges]
    return profile.model_copy(update={"earned_badges": badges})


def _keyed_by_axis(session: GameSession) -> GameSession:
    # compassValues is keyed by the tracking's own axis, as the C# app writes it.
    values = {t.axis: t for t in session.compass_values.values()}
    return session.model_copy(update={"compass_values": values})


_FIXUPS: dict[type[BaseModel], Any] = {UserProfile: _own_badges, GameSession: _keyed_by_axis}


@functools.cache
def strategy_for(model_cls: type[M]) -> S[M]:
    """A strategy producing valid instances of ``model_cls`` (any domain model)."""
    strategy = _model(model_cls, depth=0)
    fixup = _FIXUPS.get(model_cls)
    return strategy.map(fixup) if fixup else strategy
