"""Prebuilt statements for the single-row hot paths: read by key, conditional overwrite.

Built once per table with bind parameters, so SQLAlchemy reuses each statement's cache key
and compiled form. Building them per call (coercing every column and value, then generating
the cache key) cost more CPU than the database work of a one-row write.
"""

from __future__ import annotations

import functools
from typing import Any

import sqlalchemy as sa

from mystira_data.relational.mapping import TableMapping
from mystira_data.types import PartitionKey

KEY_ID, KEY_PK, EXPECTED = "k_id", "k_pk", "k_expected"
_VALUE = "v_"  # prefix of value binds: SQLAlchemy reserves bare column names in SET clauses


def key_params(m: TableMapping, id: str, partition_key: PartitionKey) -> dict[str, Any] | None:
    """Bind values for a row's key; None when the key can match no row (partition keys are
    strings, and a container partitioned by id needs the id itself)."""
    if not isinstance(partition_key, str):
        return None
    if m.pk_column is m.table.c.id:
        return {KEY_ID: id} if partition_key == id else None
    return {KEY_ID: id, KEY_PK: partition_key}


def _where_key(m: TableMapping) -> list[sa.ColumnElement[bool]]:
    where = [m.table.c.id == sa.bindparam(KEY_ID)]
    if m.pk_column is not m.table.c.id:
        where.append(m.pk_column == sa.bindparam(KEY_PK))
    return where


@functools.cache
def stored_row(m: TableMapping) -> sa.Select[Any]:
    """The row of a key, tombstone or not."""
    return sa.select(m.table).where(*_where_key(m))


@functools.cache
def overwrite(
    m: TableMapping, *, live_only: bool, guarded: bool, explicit_version: bool
) -> sa.Update:
    """UPDATE every column of the keyed row, returning the new ``_version``.

    ``live_only``: tombstones do not match. ``guarded``: only at ``_version = EXPECTED``.
    ``explicit_version``: the new version is bound as ``v__version``, else it is the old + 1.
    """
    t = m.table
    where = _where_key(m)
    if live_only:
        where.append(t.c._deleted.is_(sa.false()))
    if guarded:
        where.append(t.c._version == sa.bindparam(EXPECTED))
    values: dict[str, Any] = {
        c.name: sa.bindparam(_VALUE + c.name, type_=c.type)
        for c in t.c
        if c.name not in ("id", "_version")
    }
    if explicit_version:
        values["_version"] = sa.bindparam(_VALUE + "_version", type_=t.c._version.type)
    else:
        values["_version"] = t.c._version + 1
    return sa.update(t).where(*where).values(values).returning(t.c._version)


def value_params(row: dict[str, Any]) -> dict[str, Any]:
    """Bind values for `overwrite` from a row's column values (``id`` is in the key)."""
    return {_VALUE + name: value for name, value in row.items() if name != "id"}
