"""Embedded fields kept as rows of tables of their own (`catalog.ChildTable`).

Two shapes: an array of objects (a profile's earned badges: one row per item, its fields in
columns, keyed by (parent id, item id)) and an object of key → list of strings (an avatar
configuration's age group → avatar ids: one row per value, keyed by (parent id, key,
position)). Rows keep their place so the document reads back in its own order. A write
replaces a parent's rows in the transaction that writes the parent row: delete them all,
insert the new ones (deleting only the missing ones and upserting the rest would trip a
unique key when two items swap their keys).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from enum import Enum
from typing import Any, get_args

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncConnection

from mystira_data import catalog
from mystira_data.errors import InvalidDocument
from mystira_data.relational import limits, tables
from mystira_data.relational.columns import field_alias

__all__ = ["ChildMapping", "ItemRows", "ListsByKeyRows", "child_mappings"]

POSITION = "position"
_IN_CHUNK = 500  # parent ids per IN list when loading rows
_ID_LENGTH = 64  # user_badges.id
_EMPTY = -1  # the position of the row marking a key whose list is empty


class ChildMapping:
    """The rows of one embedded field of a container (see the subclasses for the shapes)."""

    def __init__(self, child: catalog.ChildTable, model: type[BaseModel]) -> None:
        self.field = child.field
        self.table = tables.CHILD_TABLES[child.table]
        self.attr = next(
            a for a, i in model.model_fields.items() if field_alias(a, i) == child.field
        )
        fk = next(iter(self.table.foreign_keys))
        self.parent_column: sa.Column[Any] = fk.parent

    def empty(self) -> Any:
        """The field's value for a parent without rows."""
        raise NotImplementedError

    def check(self, parent_id: Any, value: Any) -> None:
        """`InvalidDocument` naming the place for what the table could never hold."""

    def rows(self, parent_id: str, value: Any) -> list[dict[str, Any]]:
        """The rows of a parent's field (model values: datetimes stay datetimes)."""
        raise NotImplementedError

    def value(self, rows: Sequence[Mapping[Any, Any]]) -> Any:
        """The field's JSON value from a parent's rows, in order."""
        raise NotImplementedError

    def _order(self) -> list[sa.ColumnElement[Any]]:
        return [self.table.c[POSITION]]

    async def replace(
        self, conn: AsyncConnection, parent_ids: Sequence[str], rows: Iterable[dict[str, Any]]
    ) -> None:
        """The rows of ``parent_ids`` become ``rows`` (all of them belong to those parents)."""
        if not parent_ids:
            return
        await conn.execute(sa.delete(self.table).where(self.parent_column.in_(list(parent_ids))))
        batch = list(rows)
        if batch:
            await conn.execute(sa.insert(self.table), batch)

    async def load(self, conn: AsyncConnection, parent_ids: Sequence[str]) -> dict[str, Any]:
        """Parent id → its field's value; parents without rows absent."""
        grouped: dict[str, list[Mapping[Any, Any]]] = {}
        for start in range(0, len(parent_ids), _IN_CHUNK):
            chunk = list(parent_ids[start : start + _IN_CHUNK])
            stmt = (
                sa.select(self.table)
                .where(self.parent_column.in_(chunk))
                .order_by(self.parent_column, *self._order())
            )
            for row in (await conn.execute(stmt)).mappings():
                grouped.setdefault(str(row[self.parent_column.name]), []).append(row)
        return {id: self.value(rows) for id, rows in grouped.items()}


class ItemRows(ChildMapping):
    """An array of objects: every item field in a same-named column, one row per item."""

    def __init__(self, child: catalog.ChildTable, model: type[BaseModel]) -> None:
        super().__init__(child, model)
        self.key = child.key
        self.item_model: type[BaseModel] = get_args(model.model_fields[self.attr].annotation)[0]
        self.attrs = tuple((a, field_alias(a, i)) for a, i in self.item_model.model_fields.items())
        missing = [a for a, _ in self.attrs if a not in self.table.c]
        if missing:
            raise TypeError(f"{self.table.name} has no column for {missing}")
        self.parent_field = next(n for a, n in self.attrs if a == self.parent_column.name)

    def empty(self) -> list[Any]:
        return []

    def check(self, parent_id: Any, value: Any) -> None:
        """A second item with the same id or ``key``, or an item of another parent."""
        if not isinstance(value, list):
            return  # the model's own validation names it
        ids: set[Any] = set()
        keys: set[Any] = set()
        for i, item in enumerate(value):
            if not isinstance(item, Mapping):
                continue
            path = f"{self.field}[{i}]"
            if item.get(self.parent_field) != parent_id:
                raise InvalidDocument(
                    f"must be the document's id {parent_id!r}", path=f"{path}.{self.parent_field}"
                )
            if item.get("id") in ids:
                raise InvalidDocument("a second item with this id", path=f"{path}.id")
            if item.get(self.key) in keys:
                raise InvalidDocument(
                    f"a second item with this {self.key}", path=f"{path}.{self.key}"
                )
            ids.add(item.get("id"))
            keys.add(item.get(self.key))
            limits.check_length(item.get("id"), _ID_LENGTH, f"{path}.id", f"{self.table.name}.id")

    def rows(self, parent_id: str, value: Any) -> list[dict[str, Any]]:
        out = []
        for position, item in enumerate(value):
            values = item.__dict__
            row = {a: _plain(values[a]) for a, _ in self.attrs}
            row[POSITION] = position
            out.append(row)
        return out

    def value(self, rows: Sequence[Mapping[Any, Any]]) -> list[dict[str, Any]]:
        return [{name: row[a] for a, name in self.attrs} for row in rows]


class ListsByKeyRows(ChildMapping):
    """An object of key → list of strings: one (key, position, value) row per string."""

    def empty(self) -> dict[str, list[Any]]:
        return {}

    def rows(self, parent_id: str, value: Any) -> list[dict[str, Any]]:
        parent = self.parent_column.name
        out = []
        for key, items in value.items():
            if not items:  # the key is kept: one marker row
                out.append({parent: parent_id, "key": key, POSITION: _EMPTY, "value": None})
            out.extend(
                {parent: parent_id, "key": key, POSITION: position, "value": item}
                for position, item in enumerate(items)
            )
        return out

    def value(self, rows: Sequence[Mapping[Any, Any]]) -> dict[str, list[Any]]:
        out: dict[str, list[Any]] = {}
        for row in rows:
            items = out.setdefault(str(row["key"]), [])
            if row[POSITION] != _EMPTY:
                items.append(row["value"])
        return out

    def _order(self) -> list[sa.ColumnElement[Any]]:
        return [self.table.c.key, self.table.c[POSITION]]


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


_SHAPES: dict[catalog.ChildShape, type[ChildMapping]] = {
    catalog.ChildShape.ITEMS: ItemRows,
    catalog.ChildShape.LISTS_BY_KEY: ListsByKeyRows,
}


def child_mappings(spec: catalog.ContainerSpec) -> tuple[ChildMapping, ...]:
    """The child mappings of a container (none when every field is in its own row)."""
    return tuple(_SHAPES[c.shape](c, spec.model) for c in spec.child_tables)
