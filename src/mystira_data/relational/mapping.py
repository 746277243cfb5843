"""Lossless entity <-> row mapping for the relational containers.

Documents at the store boundary are the camelCase JSON dicts the document store holds, plus
the system fields ``_version``, ``_etag`` and (for tombstones) ``_deleted: true``.

Writing (`TableMapping.prepare`): the document is validated through the domain codec and
re-encoded, so the row always holds the canonical form. Scalar fields go to V001's columns
(datetimes to ``timestamptz``, ``elapsedTime`` to ``INTERVAL``), nested parts to its JSONB
columns, and any model field V001 has no column for to ``_extra``. Column limits V001 imposes
(``VARCHAR(36)`` ids and the like) become `InvalidDocument` naming the field, never a driver
error.

Reading (`TableMapping.from_row`): the columns are put back under their camelCase names and
the result goes through the codec again. That second pass is what makes the trip exact: JSONB
keeps numbers as ``numeric`` and prints a float such as ``1e+23`` as a bare integer, which
only the model's ``float`` type turns back into the original double.

``_etag`` is derived from ``_version`` (`etag_for`), because a row has no other write stamp.
"""

from __future__ import annotations

import re
import types
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from functools import cache
from typing import Annotated, Any, Union, cast, get_args, get_origin

import sqlalchemy as sa
from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import SchemaSerializer, from_json, to_json

from mystira_data import catalog
from mystira_data.domain.codec import JsonCodec, codec_for, stored_variant
from mystira_data.errors import InvalidDocument, InvalidQuery
from mystira_data.relational import limits, tables
from mystira_data.relational.types import Elapsed, Timestamp

Document = dict[str, Any]

_ETAG = re.compile(r'^(?:W/)?"?v([0-9]{1,19})"?$')


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


@dataclass(frozen=True, slots=True)
class CopyRow:
    """A validated document as one COPY record, columns in table order (`copy_row`)."""

    id: str
    version: int
    record: tuple[Any, ...]


@dataclass(frozen=True)
class Prepared:
    """A validated document ready to write: its row and the canonical body."""

    id: str
    partition_key: str
    row: dict[str, Any]
    body: Document
    version: int | None
    deleted: bool


def etag_for(version: int) -> str:
    """The ETag of a row at ``version`` (quoted, like Cosmos DB's)."""
    return f'"v{version}"'


def version_of_etag(etag: str) -> int | None:
    """The version an ETag from `etag_for` stands for; None if it is not one of ours."""
    match = _ETAG.match(etag.strip()) if isinstance(etag, str) else None
    return int(match.group(1)) if match else None


class TableMapping:
    """The mapping of one container to its table."""

    def __init__(self, spec: catalog.ContainerSpec, table: sa.Table) -> None:
        self.container = spec.name
        self.table = table
        self.codec: JsonCodec[Any] = codec_for(spec.model)
        self.pk_field = spec.pk_field
        self.fields = tuple(_field_maps(spec.model, table))
        self.by_name = {f.name: f for f in self.fields}
        self.pk_column = self.by_name[self.pk_field].column
        self.extra_fields = tuple(
            _alias(name, info)
            for name, info in spec.model.model_fields.items()
            if _alias(name, info) not in self.by_name
        )
        self._copy = _CopyLayout(self, spec.model)
        self._stored = stored_variant(spec.model)

    # -- writing ---------------------------------------------------------------------------

    def prepare(self, doc: Mapping[str, Any]) -> Prepared:
        """Validate ``doc`` and build its row; `InvalidDocument` names the offending field."""
        limits.refuse_nul(doc)
        model = self.codec.decode(doc)
        body = self.codec.encode(model)
        version = _version(doc)
        deleted = _deleted(doc)
        row: dict[str, Any] = {
            "_version": version,
            "_deleted": deleted,
            "_extra": {name: body[name] for name in self.extra_fields},
        }
        for f in self.fields:
            # Typed columns take the model's values (aware datetimes, timedeltas); JSON
            # columns take the encoded JSON, which is what they store.
            value = getattr(model, f.attr) if f.kind in _FROM_MODEL else body[f.name]
            self._check_length(f, value)
            if f.empty_is_null and value == "":
                # "" cannot satisfy the foreign key, and it is not NULL either: the column
                # holds NULL and _extra keeps the exact value.
                row["_extra"][f.name] = value
                value = None
            row[f.column.name] = value
        return Prepared(body["id"], body[self.pk_field], row, body, version, deleted)

    def to_row(self, doc: Mapping[str, Any]) -> dict[str, Any]:
        """Column name -> value for ``doc`` (``_version`` None when the doc has none)."""
        return self.prepare(doc).row

    def copy_row(self, doc: Mapping[str, Any], updated_at: datetime) -> CopyRow:
        """Validate ``doc`` and build its COPY record straight from the model (bulk path).

        The same checks and the same stored values as `prepare`, without what only single
        writes need: no canonical body (the outbox's), and JSON columns serialised by
        pydantic-core instead of through Python dicts and ``json.dumps`` (a third of the cost
        of a document). ``_version`` is required: bulk merges are version-guarded.
        """
        model = self.codec.decode(doc)
        version = _version(doc)
        if version is None:
            raise InvalidDocument("a versioned upsert needs _version", path="_version")
        return _without_nul(self._copy.row(model, version, _deleted(doc), updated_at), model)

    def copy_row_json(self, text: str, updated_at: datetime, default_version: int) -> CopyRow:
        """`copy_row` of a stored document given as its JSON text.

        pydantic-core parses and validates in one pass, with no dicts in between (a fifth of
        a document's cost in bulk). A document without ``_version`` counts as
        ``default_version``. Whatever that pass refuses goes the dict way, so errors and edge
        cases are exactly `copy_row`'s.
        """
        try:
            model = self._stored.model_validate_json(text)
        except ValidationError:
            return self.copy_row(_parse(text, default_version), updated_at)
        values, present = model.__dict__, model.__pydantic_fields_set__
        system = {name: values[f"sys{name}"] for name in _ROW_SYSTEM if f"sys{name}" in present}
        system.setdefault("_version", default_version)
        version = _version(system)
        if version is None:
            raise InvalidDocument("a versioned upsert needs _version", path="_version")
        return _without_nul(self._copy.row(model, version, _deleted(system), updated_at), model)

    def _check_length(self, f: FieldMap, value: Any) -> None:
        limits.check_length(value, f.max_length, f.name, f"{self.table.name}.{f.column.name}")

    def check_storable(self, doc: Mapping[str, Any]) -> None:
        """Refuse what this table can never hold, before any store is written (see `limits`)."""
        limits.refuse_nul(doc)
        for f in self.fields:
            self._check_length(f, doc.get(f.name))

    # -- reading ---------------------------------------------------------------------------

    def from_row(self, row: Mapping[Any, Any]) -> Document:
        """The stored document of a row (validated and canonical, with system fields)."""
        data: Document = dict(row.get("_extra") or {})
        for f in self.fields:
            if f.name in data:
                continue  # the exact value is in _extra (see `prepare`)
            value = row[f.column.name]
            if value is None and not f.nullable:
                # Only rows written outside this store (V001 data) hold NULL here; the
                # model's default is what the C# app meant by the column default.
                continue
            data[f.name] = value
        body = self.codec.encode(self.codec.decode(data))
        return stored(body, int(row["_version"]), bool(row["_deleted"]))


class _CopyLayout:
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
            (columns.index(f.column.name), f.attr) for f in mapping.fields if f.kind in _FROM_MODEL
        )
        self._scalars = tuple(
            (columns.index(f.column.name), f)
            for f in mapping.fields
            if f.kind is not Kind.JSON and f.kind not in _FROM_MODEL
        )
        self._system = tuple(columns.index(name) for name in tables.SYSTEM_COLUMNS)
        by_alias = {_alias(name, info): name for name, info in infos.items()}
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


def _without_nul(row: CopyRow, model: BaseModel) -> CopyRow:
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


def stored(body: Mapping[str, Any], version: int, deleted: bool) -> Document:
    """A body plus the system fields the store reports."""
    doc = dict(body)
    doc["_version"] = version
    doc["_etag"] = etag_for(version)
    if deleted:
        doc["_deleted"] = True
    return doc


_ROW_SYSTEM = ("_version", "_deleted")


def _parse(text: str, default_version: int) -> Mapping[str, Any]:
    """A stored document's text as a dict for the dict path (`InvalidDocument` if not JSON)."""
    try:
        doc = from_json(text)
    except ValueError as exc:
        raise InvalidDocument(f"stored text is not valid JSON: {exc}") from None
    if isinstance(doc, dict) and "_version" not in doc:
        doc["_version"] = default_version
    return cast(Mapping[str, Any], doc)


def _version(doc: Mapping[str, Any]) -> int | None:
    return limits.check_version(doc.get("_version"))


def _deleted(doc: Mapping[str, Any]) -> bool:
    value = doc.get("_deleted", False)
    if not isinstance(value, bool):
        raise InvalidDocument("must be true or false", path="_deleted")
    return value


_FROM_MODEL = frozenset({Kind.TIMESTAMP, Kind.DURATION})


def _alias(name: str, info: FieldInfo) -> str:
    return info.alias or name


def _kind(column: sa.Column[Any]) -> Kind:
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


def _field_maps(model: type[BaseModel], table: sa.Table) -> list[FieldMap]:
    """Model fields with a same-named column (V001 uses the snake_case attribute names)."""
    maps = []
    for attr, info in model.model_fields.items():
        if attr not in table.c:
            continue
        column = table.c[attr]
        kind = _kind(column)
        nullable = _accepts_none(info.annotation)
        maps.append(
            FieldMap(
                name=_alias(attr, info),
                attr=attr,
                column=column,
                kind=kind,
                max_length=getattr(column.type, "length", None) if kind is Kind.TEXT else None,
                empty_is_null=bool(column.foreign_keys) and column.nullable is True,
                nullable=nullable,
            )
        )
    return maps


@cache
def mappings() -> dict[str, TableMapping]:
    """Container name -> mapping, for every catalog container with a table."""
    found: dict[str, TableMapping] = {}
    for spec in catalog.relational_containers():
        assert spec.table is not None
        found[spec.name] = TableMapping(spec, tables.ENTITY_TABLES[spec.table])
    return found


def mapping_for(container: str) -> TableMapping:
    """The mapping of ``container``; `InvalidQuery` for containers without a table."""
    try:
        return mappings()[container]
    except KeyError:
        known = ", ".join(sorted(mappings()))
        raise InvalidQuery(
            f"container {container!r} has no relational table (relational: {known})"
        ) from None


def check_storable(container: str, doc: Mapping[str, Any]) -> None:
    """The write door, shared by both stores: `InvalidDocument` (naming the field) for a
    document the relational side could never store, whichever store takes it first.

    ``_version`` is checked for every container (it is a BIGINT in every bookkeeping table);
    text for the containers that have a table, whatever their phase today, since each may
    move to PostgreSQL later.
    """
    limits.check_version(doc.get("_version"))
    m = mappings().get(container)
    if m is not None:
        m.check_storable(doc)


def to_row(container: str, doc: Mapping[str, Any]) -> dict[str, Any]:
    """Module-level shortcut of `TableMapping.to_row`."""
    return mapping_for(container).to_row(doc)


def from_row(container: str, row: Mapping[Any, Any]) -> Document:
    """Module-level shortcut of `TableMapping.from_row`."""
    return mapping_for(container).from_row(row)
