"""How each model field lands in its own column: its `Kind` and `FieldMap`.

V001 names columns after the snake_case attributes; a field with a same-named column is
stored there, converted by its kind; the others go to ``_extra`` (see `mapping`).
"""

from __future__ import annotations

import types
from dataclasses import dataclass
from enum import Enum
from typing import Any, Union, get_args, get_origin

import sqlalchemy as sa
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from mystira_data.relational.types import Elapsed, Timestamp


class Kind(Enum):
    """How a column holds its field; decides conversions and query translation."""

    TEXT = "text"
    INT = "int"
    BOOL = "bool"
    TIMESTAMP = "timestamp"
    DURATION = "duration"
    JSON = "json"


@dataclass(frozen=True)
class FieldMap:
    """One model field stored in its own column."""

    name: str  # camelCase JSON name
    attr: str  # model attribute
    column: sa.Column[Any]
    kind: Kind
    max_length: int | None
    empty_is_null: bool  # FK reference: "" is no reference, so the column holds NULL
    nullable: bool  # the model accepts None


FROM_MODEL = frozenset({Kind.TIMESTAMP, Kind.DURATION})


def field_alias(name: str, info: FieldInfo) -> str:
    return info.alias or name


def column_kind(column: sa.Column[Any]) -> Kind:
    # TypeDecorators first: they also look like the generic types they wrap.
    checks: tuple[tuple[type[Any], Kind], ...] = (
        (Timestamp, Kind.TIMESTAMP),
        (Elapsed, Kind.DURATION),
        (sa.JSON, Kind.JSON),
        (sa.Boolean, Kind.BOOL),
        (sa.Integer, Kind.INT),
        (sa.String, Kind.TEXT),
    )
    for type_, kind in checks:
        if isinstance(column.type, type_):
            return kind
    raise TypeError(f"no mapping for column type {column.type!r} of {column}")


def _accepts_none(annotation: Any) -> bool:
    if annotation is None or annotation is type(None):
        return True
    if get_origin(annotation) in (Union, types.UnionType):
        return any(_accepts_none(arg) for arg in get_args(annotation))
    return False


def field_maps(model: type[BaseModel], table: sa.Table) -> list[FieldMap]:
    """Model fields with a same-named column (V001 uses the snake_case attribute names)."""
    maps = []
    for attr, info in model.model_fields.items():
        if attr not in table.c:
            continue
        column = table.c[attr]
        kind = column_kind(column)
        nullable = _accepts_none(info.annotation)
        maps.append(
            FieldMap(
                name=field_alias(attr, info),
                attr=attr,
                column=column,
                kind=kind,
                max_length=getattr(column.type, "length", None) if kind is Kind.TEXT else None,
                empty_is_null=bool(column.foreign_keys) and column.nullable is True,
                nullable=nullable,
            )
        )
    return maps
