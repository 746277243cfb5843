"""The ``efcore9`` format: documents as the C# app's EF Core 9 Cosmos provider writes them.

Per container a root `ObjectKind` (`maps.container_map`) maps every field; the root adds what
only documents have: ``"$type"`` (the class name, always written), the id forms of older
documents, and CompassTrackings' axis stored as the id. Containers outside the catalog (the
polyglot layer's own control container) are stored as they are.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from mystira_data import catalog
from mystira_data.documents.formats.efcore9.kinds import (
    ArrayKind,
    CsvKind,
    DateTimeKind,
    IntEnumKind,
    JsonTextKind,
    Kind,
    PairsKind,
)
from mystira_data.documents.formats.efcore9.maps import LEGACY_PREFIXED, container_map
from mystira_data.documents.formats.efcore9.objects import ObjectKind
from mystira_data.errors import InvalidDocument, InvalidQuery
from mystira_data.query import Filter, Op, Order, Query
from mystira_data.types import JsonDoc

TYPE_KEY = "$type"


class Efcore9Format:
    """Native ↔ EF Core 9 documents for every catalog container."""

    name = "efcore9"

    def partition_keys(self) -> dict[str, str]:
        return catalog.partition_keys(efcore=True)

    def decode(self, container: str, stored: JsonDoc, *, lenient: bool = False) -> JsonDoc:
        root = container_map(container)
        if root is None:
            return stored
        native: JsonDoc = root.decode(stored, "", lenient)
        return native

    def encode(self, container: str, native: JsonDoc, base: JsonDoc | None = None) -> JsonDoc:
        root = container_map(container)
        if root is None:
            return native
        if container == "CompassTrackings":
            _check_axis_is_id(native)
        body: JsonDoc = root.encode(native, base, "")
        head = {"id": body.pop("id")} if "id" in body else {}
        head[TYPE_KEY] = body.pop(TYPE_KEY, catalog.get(container).model.__name__)
        return head | body

    def stored_ids(self, container: str, id: str) -> tuple[str, ...]:
        if container in LEGACY_PREFIXED:
            return (id, f"{catalog.get(container).model.__name__}|{id}")
        return (id,)

    def stored_query(self, container: str, query: Query) -> Query:
        root = container_map(container)
        if root is None:
            return query
        filters = tuple(_stored_filter(root, f) for f in query.filters)
        order = tuple(Order(_stored_path(root, o.path)[0], o.descending) for o in query.order_by)
        return replace(query, filters=filters, order_by=order)


def _check_axis_is_id(native: JsonDoc) -> None:
    axis, id = native.get("axis"), native.get("id")
    if axis is not None and id is not None and axis != id:
        raise InvalidDocument(
            "the C# app keys CompassTrackings by axis: the id must equal the axis", path="axis"
        )


def _stored_path(root: ObjectKind, path: str) -> tuple[str, Kind | None]:
    """A native dotted path in stored names, with the kind of its last field (None: ours)."""
    node: Kind | None = root
    parts = []
    for part in path.split("."):
        while isinstance(node, ArrayKind):
            node = node.item
        spec = node.by_native.get(part) if isinstance(node, ObjectKind) else None
        if spec is None:
            parts.append(part)
            node = None
            continue
        if isinstance(spec.kind, JsonTextKind) and part != path.split(".")[-1]:
            raise InvalidQuery(f"{path}: {spec.stored} is JSON text in efcore9; not queryable")
        parts.append(spec.stored)
        node = spec.kind
    return ".".join(parts), node


def _stored_filter(root: ObjectKind, f: Filter) -> Filter:
    path, kind = _stored_path(root, f.path)
    if isinstance(kind, CsvKind | PairsKind) and f.op is not Op.EQ and f.op is not Op.NE:
        raise InvalidQuery(f"{f.path}: stored as one string in efcore9; only eq/ne can run")
    value: Any = f.value
    if isinstance(kind, IntEnumKind | DateTimeKind | CsvKind):
        if f.op is Op.IN:
            value = [kind.encode(v, None, f.path) for v in value]
        else:
            value = kind.encode(value, None, f.path)
    return Filter(path, f.op, value)
