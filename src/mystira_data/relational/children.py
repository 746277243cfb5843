"""A split container's embedded arrays as rows of their own tables (`catalog.ChildTable`).

One row per item, keyed by (parent id, item id), with the item's place in the array so the
document reads back in its own order. A write replaces a parent's rows in the transaction
that writes the parent row: delete them all, insert the new ones (deleting only the missing
ones and upserting the rest would trip the unique key when two items swap their keys).
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
from mystira_data.types import JsonDoc

__all__ = ["ChildMapping", "child_mappings"]

POSITION = "position"
_IN_CHUNK = 500  # parent ids per IN list when loading rows
_ID_LENGTH = 64  # user_badges.id


class ChildMapping:
    """The rows of one embedded array: which item field lands in which column."""

    def __init__(self, child: catalog.ChildTable, model: type[BaseModel]) -> None:
        self.field = child.field
        self.key = child.key
        self.table = tables.CHILD_TABLES[child.table]
        attr = next(a for a, i in model.model_fields.items() if field_alias(a, i) == child.field)
        self.item_model: type[BaseModel] = get_args(model.model_fields[attr].annotation)[0]
        fk = next(iter(self.table.foreign_keys))
        self.parent_column: sa.Column[Any] = fk.parent
        self.attrs = tuple((a, field_alias(a, i)) for a, i in self.item_model.model_fields.items())
        missing = [a for a, _ in self.attrs if a not in self.table.c]
        if missing:
            raise TypeError(f"{self.table.name} has no column for {missing}")
        self.parent_field = next(n for a, n in self.attrs if a == self.parent_column.name)

    # -- writing ---------------------------------------------------------------------------

    def check(self, parent_id: Any, items: Any) -> None:
        """`InvalidDocument` naming the item for what the table could never hold: a second
        item with the same id or ``key``, or an item of another parent."""
        if not isinstance(items, list):
            return  # the model's own validation names it
        ids: set[Any] = set()
        keys: set[Any] = set()
        for i, item in enumerate(items):
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

    def rows(self, items: Sequence[BaseModel]) -> list[dict[str, Any]]:
        """The rows of a parent's items (model values: datetimes stay datetimes)."""
        out = []
        for position, item in enumerate(items):
            values = item.__dict__
            row = {a: _plain(values[a]) for a, _ in self.attrs}
            row[POSITION] = position
            out.append(row)
        return out

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

    # -- reading ---------------------------------------------------------------------------

    async def load(
        self, conn: AsyncConnection, parent_ids: Sequence[str]
    ) -> dict[str, list[JsonDoc]]:
        """Parent id → its items (camelCase, in array order); parents without rows absent."""
        found: dict[str, list[JsonDoc]] = {}
        t = self.table
        for start in range(0, len(parent_ids), _IN_CHUNK):
            chunk = list(parent_ids[start : start + _IN_CHUNK])
            stmt = (
                sa.select(t)
                .where(self.parent_column.in_(chunk))
                .order_by(self.parent_column, t.c[POSITION])
            )
            for row in (await conn.execute(stmt)).mappings():
                item = {name: row[a] for a, name in self.attrs}
                found.setdefault(str(row[self.parent_column.name]), []).append(item)
        return found


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


def child_mappings(spec: catalog.ContainerSpec) -> tuple[ChildMapping, ...]:
    """The child mappings of a split container (none for whole-document containers)."""
    if spec.split is None:
        return ()
    return tuple(ChildMapping(c, spec.model) for c in spec.split.children)
