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
Which field goes to which column is `columns`; the bulk path's COPY records, `copy_rows`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any, cast

import sqlalchemy as sa
from pydantic import ValidationError
from pydantic_core import from_json

from mystira_data import catalog
from mystira_data.domain.codec import JsonCodec, codec_for, stored_variant
from mystira_data.errors import InvalidDocument, InvalidQuery
from mystira_data.relational import limits, tables
from mystira_data.relational.children import ChildMapping, child_mappings
from mystira_data.relational.columns import FROM_MODEL, FieldMap, field_alias, field_maps
from mystira_data.relational.copy_rows import CopyLayout, CopyRow, without_nul
from mystira_data.types import JsonDoc

_ETAG = re.compile(r'^(?:W/)?"?v([0-9]{1,19})"?$')


@dataclass(frozen=True)
class Prepared:
    """A validated document ready to write: its row and the canonical body."""

    id: str
    partition_key: str
    row: dict[str, Any]
    body: JsonDoc
    version: int | None
    deleted: bool
    # A split container's child rows, per child mapping (its array field).
    children: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


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
        self.fields = tuple(field_maps(spec.model, table))
        self.by_name = {f.name: f for f in self.fields}
        self.pk_column = self.by_name[self.pk_field].column
        # A split container's row holds its core only: the other fields are the document
        # store's, so nothing goes to ``_extra`` (beyond an empty foreign key, see `prepare`).
        self.split = spec.split
        self.children: tuple[ChildMapping, ...] = child_mappings(spec)
        in_rows = set(self.by_name) | {c.field for c in self.children}
        self.extra_fields = tuple(
            field_alias(name, info)
            for name, info in spec.model.model_fields.items()
            if field_alias(name, info) not in in_rows and spec.split is None
        )
        self._copy = CopyLayout(self, spec.model)
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
            value = getattr(model, f.attr) if f.kind in FROM_MODEL else body[f.name]
            self._check_length(f, value)
            if f.empty_is_null and value == "":
                # "" cannot satisfy the foreign key, and it is not NULL either: the column
                # holds NULL and _extra keeps the exact value.
                row["_extra"][f.name] = value
                value = None
            row[f.column.name] = value
        children = self._child_rows(model, body, deleted)
        return Prepared(body["id"], body[self.pk_field], row, body, version, deleted, children)

    def _child_rows(
        self, model: Any, body: JsonDoc, deleted: bool
    ) -> dict[str, list[dict[str, Any]]]:
        """A split container's child rows; a tombstone keeps none."""
        out: dict[str, list[dict[str, Any]]] = {}
        for c in self.children:
            c.check(body["id"], body[c.field])
            out[c.field] = [] if deleted else c.rows(body["id"], getattr(model, c.attr))
        return out

    def core_of(self, doc: Mapping[str, Any]) -> JsonDoc:
        """A split container's document reduced to what its rows hold (system fields kept);
        a whole-document container's document as it is."""
        if self.split is None:
            return dict(doc)
        keep = self.split.relational_fields
        return {k: v for k, v in doc.items() if k in keep or k.startswith("_")}

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
        return without_nul(self._copy.row(model, version, _deleted(doc), updated_at), model)

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
        return without_nul(self._copy.row(model, version, _deleted(system), updated_at), model)

    def _check_length(self, f: FieldMap, value: Any) -> None:
        limits.check_length(value, f.max_length, f.name, f"{self.table.name}.{f.column.name}")

    def check_storable(self, doc: Mapping[str, Any]) -> None:
        """Refuse what this table can never hold, before any store is written (see `limits`)."""
        limits.refuse_nul(doc)
        for f in self.fields:
            self._check_length(f, doc.get(f.name))
        for c in self.children:
            c.check(doc.get("id"), doc.get(c.field))

    # -- reading ---------------------------------------------------------------------------

    def from_row(
        self, row: Mapping[Any, Any], children: Mapping[str, list[JsonDoc]] | None = None
    ) -> JsonDoc:
        """The stored document of a row (validated and canonical, with system fields).

        A split container's row gives its core only, with ``children`` (array field → items,
        from `ChildMapping.load`): the document reduced by `core_of`.
        """
        data: JsonDoc = dict(row.get("_extra") or {})
        for c in self.children:
            data[c.field] = (children or {}).get(c.field, c.empty())
        for f in self.fields:
            if f.name in data:
                continue  # the exact value is in _extra (see `prepare`)
            value = row[f.column.name]
            if value is None and not f.nullable:
                # Only rows written outside this store (V001 data) hold NULL here; the
                # model's default is what the C# app meant by the column default.
                continue
            data[f.name] = value
        body = self.core_of(self.codec.encode(self.codec.decode(data)))
        return stored(body, int(row["_version"]), bool(row["_deleted"]))


def stored(body: Mapping[str, Any], version: int, deleted: bool) -> JsonDoc:
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


def from_row(container: str, row: Mapping[Any, Any]) -> JsonDoc:
    """Module-level shortcut of `TableMapping.from_row`."""
    return mapping_for(container).from_row(row)
