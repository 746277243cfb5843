"""Version-guarded merges of many rows: COPY + one merge on PostgreSQL, executemany on SQLite.

PostgreSQL: the rows are COPY'd (binary with asyncpg, text with psycopg) into a temporary
staging table shaped like the target, then one ``INSERT … SELECT … ON CONFLICT (id) DO UPDATE
… WHERE target._version < excluded._version`` merges them. COPY is the fastest way in, and the
single merge keeps the guard that makes backfill safe next to live writes.

Both paths need at most one row per id (callers keep the newest, see `newest_per_id`): one
statement cannot update the same row twice.
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Iterable, Sequence
from typing import Any, Protocol, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from mystira_data.errors import InvalidDocument
from mystira_data.relational.engine import dumps
from mystira_data.relational.mapping import TableMapping


class Versioned(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def version(self) -> int | None: ...


V = TypeVar("V", bound=Versioned)


def newest_per_id(prepared: Iterable[V]) -> list[V]:
    """One entry per id, the highest ``_version`` (later wins a tie); versions required."""
    newest: dict[str, V] = {}
    for p in prepared:
        version = p.version
        if version is None:
            raise InvalidDocument("a versioned upsert needs _version", path="_version")
        kept = newest.get(p.id)
        if kept is None or kept.version is None or version >= kept.version:
            newest[p.id] = p
    return list(newest.values())


def insert_for(table: sa.Table, dialect: str) -> Any:
    """The dialect's INSERT construct (both offer ``on_conflict_do_update``)."""
    return postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)


def guarded_insert(
    mapping: TableMapping, dialect: str
) -> tuple[Any, dict[str, Any], sa.ColumnElement[bool]]:
    """(INSERT construct, SET for the conflict, WHERE guard) shared by both merge paths."""
    t = mapping.table
    ins = insert_for(t, dialect)
    set_ = {c.name: ins.excluded[c.name] for c in t.c if c.name != "id"}
    pk = mapping.pk_column.name
    # Never move a row into another partition: in the document store that would be a
    # different document, so an id seen under another partition key is left alone.
    guard = sa.and_(t.c._version < ins.excluded._version, t.c[pk] == ins.excluded[pk])
    return ins, set_, guard


async def merge_rows(
    conn: AsyncConnection, mapping: TableMapping, rows: Sequence[dict[str, Any]], *, ids: bool
) -> tuple[int, list[tuple[str, int]]]:
    """executemany merge; returns (applied count, [(id, version)] when ``ids``)."""
    if not rows:
        return 0, []
    ins, set_, guard = guarded_insert(mapping, conn.dialect.name)
    t = mapping.table
    stmt = ins.on_conflict_do_update(index_elements=[t.c.id], set_=set_, where=guard)
    result = await conn.execute(stmt.returning(t.c.id, t.c._version), list(rows))
    applied = [(str(r[0]), int(r[1])) for r in result.all()]
    return len(applied), applied if ids else []


async def copy_merge(
    conn: AsyncConnection,
    mapping: TableMapping,
    records: Sequence[tuple[Any, ...]],
    *,
    ids: bool,
) -> tuple[int, list[tuple[str, int]]]:
    """PostgreSQL: COPY ``records`` (see `CopyShape`) into a staging table, then one merge.

    At most once per transaction: the staging table empties at commit, not in between.
    """
    if not records:
        return 0, []
    t = mapping.table
    stage = stage_name(t)
    # One staging table per connection and table shape, emptied at every commit: creating
    # and dropping one per batch cost catalog writes and a round trip each time. Identifiers
    # below are our own table and column names, never input.
    await conn.exec_driver_sql(
        f"CREATE TEMPORARY TABLE IF NOT EXISTS {stage} (LIKE {t.name} INCLUDING DEFAULTS) "
        "ON COMMIT DELETE ROWS"
    )
    await copy_records(conn, stage, copy_shape(t).columns, records)
    result = await conn.exec_driver_sql(merge_sql(mapping, ids=ids).replace(_STAGE, stage))
    if ids:
        rows: Sequence[Any] = result.all()  # (id, _version)
        applied = [(str(r[0]), int(r[1])) for r in rows]
        return len(applied), applied
    return int(result.scalar_one()), []


_STAGE = "_mystira_stage_"


@functools.cache
def stage_name(table: sa.Table) -> str:
    """The staging table's name, which changes with the columns: a pooled connection may
    still hold the staging table of an older shape of the table (before a migration)."""
    shape = zlib.crc32(",".join(f"{c.name}:{c.type}" for c in table.c).encode())
    return f"_stage_{table.name}_{shape:08x}"


@functools.cache
def merge_sql(mapping: TableMapping, *, ids: bool) -> str:
    """The staging merge as SQL text, ``_STAGE`` naming the staging table.

    Compiled once per table: the staging table's name changes every batch, so a statement
    built per batch missed SQLAlchemy's compiled cache and cost milliseconds each time.
    """
    t = mapping.table
    columns = copy_shape(t).columns
    ins, set_, guard = guarded_insert(mapping, "postgresql")
    source = sa.table(_STAGE, *(sa.column(c) for c in columns))
    stmt = ins.from_select(list(columns), sa.select(*source.c)).on_conflict_do_update(
        index_elements=[t.c.id], set_=set_, where=guard
    )
    if ids:
        query: Any = stmt.returning(t.c.id, t.c._version)
    else:
        # Count in SQL: drivers disagree on rowcount here (psycopg reports -1), and shipping
        # every id back only to count them would cost the bulk path its speed.
        merged = stmt.returning(t.c.id).cte("merged")
        query = sa.select(sa.func.count()).select_from(merged)
    compiled = query.compile(dialect=postgresql.dialect())  # type: ignore[no-untyped-call]
    assert not compiled.params, "the merge takes no parameters"
    return str(compiled)


@functools.cache
def unnest_merge_sql(mapping: TableMapping) -> sa.TextClause:
    """The staging merge reading its rows from one array per column (``unnest``).

    For small batches (secondary copies, change-feed batches): one statement and one round
    trip, prepared once per table, where the staging route needs three. Arrays are cast to
    the unbounded base types so a too-long text fails at the column, never truncated by a
    cast.
    """
    t = mapping.table
    arrays = ", ".join(f"CAST(:c{i} AS {_array_type(c.type)})" for i, c in enumerate(t.c))
    names = ", ".join(copy_shape(t).columns)
    source = f"FROM unnest({arrays}) AS {_STAGE} ({names}) "
    sql = merge_sql(mapping, ids=False)
    assert sql.count(f"FROM {_STAGE} ") == 1, "the merge reads the staging table once"
    return sa.text(sql.replace(f"FROM {_STAGE} ", source))


def _array_type(column_type: Any) -> str:
    if isinstance(column_type, sa.String):
        return "TEXT[]"
    rendered = column_type.compile(dialect=postgresql.dialect())  # type: ignore[no-untyped-call]
    return f"{rendered}[]"


async def unnest_merge(
    conn: AsyncConnection, mapping: TableMapping, records: Sequence[tuple[Any, ...]]
) -> int:
    """PostgreSQL: `copy_merge` of ``records`` passed as column arrays in one statement;
    returns how many rows applied."""
    if not records:
        return 0
    columns = [list(column) for column in zip(*records, strict=True)]
    driver = await _asyncpg(conn)
    if driver is not None:
        # Straight to asyncpg (its prepared-statement cache), past SQLAlchemy's per-statement
        # work: a tenth of the CPU, and this runs on the event loop the callers share.
        return int(await driver.fetchval(_dollar_sql(mapping), *columns))
    params = {f"c{i}": column for i, column in enumerate(columns)}
    result = await conn.execute(unnest_merge_sql(mapping), params)
    return int(result.scalar_one())


@functools.cache
def _dollar_sql(mapping: TableMapping) -> str:
    """`unnest_merge_sql` with asyncpg's ``$n`` placeholders."""
    sql = str(unnest_merge_sql(mapping))
    for i in reversed(range(len(mapping.table.c))):  # :c10 before :c1
        sql = sql.replace(f":c{i})", f"${i + 1})").replace(f":c{i} ", f"${i + 1} ")
    assert ":c" not in sql, "every placeholder replaced"
    return sql


async def _asyncpg(conn: AsyncConnection) -> Any:
    """The asyncpg connection under ``conn`` (None on another driver)."""
    raw = await conn.get_raw_connection()
    driver: Any = raw.driver_connection
    return driver if type(driver).__module__.startswith("asyncpg") else None


class CopyShape:
    """How rows of one table become COPY records: column order, which columns hold JSON."""

    def __init__(self, table: sa.Table) -> None:
        self.columns = tuple(c.name for c in table.c)
        self._json = frozenset(c.name for c in table.c if isinstance(c.type, sa.JSON))

    def records(self, rows: Iterable[dict[str, Any]]) -> list[tuple[Any, ...]]:
        """COPY records for ``rows``; JSON columns pre-serialised (the drivers take text)."""
        json_columns = self._json
        return [
            tuple(
                dumps(row[name]) if name in json_columns and row[name] is not None else row[name]
                for name in self.columns
            )
            for row in rows
        ]


@functools.cache
def copy_shape(table: sa.Table) -> CopyShape:
    return CopyShape(table)


async def copy_records(
    conn: AsyncConnection, table: str, columns: Sequence[str], records: Sequence[tuple[Any, ...]]
) -> None:
    """COPY ``records`` into ``table`` on the driver under ``conn`` (same transaction)."""
    asyncpg = await _asyncpg(conn)
    if asyncpg is not None:
        await asyncpg.copy_records_to_table(table, records=records, columns=list(columns))
        return
    psycopg: Any = (await conn.get_raw_connection()).driver_connection
    names = ", ".join(columns)
    async with psycopg.cursor() as cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as cp:
        for record in records:
            await cp.write_row(record)
