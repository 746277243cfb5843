"""COPY records built straight from validated models: the bulk path's row layout.

Worked out once per table (`CopyLayout`): which record slot each JSON column, typed column,
checked text column and system column fills, so a document costs one pass over its fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, TypeAdapter
from pydantic.fields import FieldInfo
from pydantic_core import SchemaSerializer, to_json

from mystira_data.relational import limits, tables
from mystira_data.relational.columns import FROM_MODEL, Kind, field_alias

if TYPE_CHECKING:
    from mystira_data.relational.mapping import TableMapping


@dataclass(frozen=True, slots=True)
class CopyRow:
    """A validated document as one COPY record, columns in table order (`copy_row`)."""

    id: str
    version: int
    record: tuple[Any, ...]


class CopyLayout:
    """Where each value of a COPY record comes from, worked out once per table."""

    def __init__(self, mapping: TableMapping, model: type[BaseModel]) -> None:
        columns = [c.name for c in mapping.table.c]
        self._width = len(columns)
        self._id = columns.index("id")
        self._table = mapping.table.name
        infos = model.model_fields
        # A serializer per JSON column built from the field's own annotation and metadata, so
        # the text is what the model's JSON dump holds for that field.
        self._json = tuple(
            (columns.index(f.column.name), f.attr, _serializer(infos[f.attr]))
            for f in mapping.fields
            if f.kind is Kind.JSON
        )
        # Typed columns whose model value goes in as it is, and text columns with checks.
        self._plain = tuple(
            (columns.index(f.column.name), f.attr) for f in mapping.fields if f.kind in FROM_MODEL
        )
        self._scalars = tuple(
            (columns.index(f.column.name), f)
            for f in mapping.fields
            if f.kind is not Kind.JSON and f.kind not in FROM_MODEL
        )
        self._system = tuple(columns.index(name) for name in tables.SYSTEM_COLUMNS)
        by_alias = {field_alias(name, info): name for name, info in infos.items()}
        self._extra_attrs = frozenset(by_alias[name] for name in mapping.extra_fields)

    def row(self, model: BaseModel, version: int, deleted: bool, updated_at: datetime) -> CopyRow:
        values = model.__dict__  # the field values; faster than getattr per field
        out: list[Any] = [None] * self._width
        for i, attr, serializer in self._json:
            value = values[attr]
            if value is None:
                continue
            if not value and type(value) in _EMPTY_JSON:
                out[i] = _EMPTY_JSON[type(value)]  # most lists of a document are empty
            else:
                out[i] = serializer.to_json(value, by_alias=True).decode()
        for i, attr in self._plain:
            out[i] = values[attr]
        extra = self._extra(model)
        for i, f in self._scalars:
            value = values[f.attr]
            if value is None:
                continue
            if isinstance(value, Enum):
                value = value.value  # what the JSON dump holds
            limits.check_length(value, f.max_length, f.name, f"{self._table}.{f.column.name}")
            if f.empty_is_null and value == "":
                extra[f.name] = value  # as in `TableMapping.prepare`
                continue
            out[i] = value
        iv, idel, iup, iex = self._system
        out[iv], out[idel], out[iup] = version, deleted, updated_at
        out[iex] = to_json(extra).decode() if extra else "{}"
        return CopyRow(out[self._id], version, tuple(out))

    def _extra(self, model: BaseModel) -> dict[str, Any]:
        if not self._extra_attrs:
            return {}
        return model.model_dump(mode="json", by_alias=True, include=set(self._extra_attrs))


_EMPTY_JSON: dict[type, str] = {list: "[]", dict: "{}"}


def _serializer(info: FieldInfo) -> SchemaSerializer:
    annotated: Any = info.annotation
    if info.metadata:
        annotated = Annotated[(annotated, *info.metadata)]
    return TypeAdapter(annotated).serializer


def without_nul(row: CopyRow, model: BaseModel) -> CopyRow:
    """``row``, unless its text holds a NUL character (`InvalidDocument` naming the field).

    The bulk path's check: every text of a record is a column value or a JSON text, where
    pydantic-core writes NUL as the escape ``\\u0000``, so a substring test per value costs
    next to nothing. A hit (or ordinary text that merely contains that escape) is settled
    by walking the model's fields, which names the path.
    """
    for value in row.record:
        if isinstance(value, str) and (limits.NUL in value or "\\u0000" in value):
            limits.refuse_nul(model.model_dump(mode="json", by_alias=True))
            break
    return row
