"""The base of `RelationalStore`: engine, connections, and the helpers its parts share.

`RelationalStore` is assembled from this base, the version-guarded and bulk merges
(`store_bulk`), the outbox relay's verbs (`store_relay`) and the port's verbs (`store`).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, NoReturn

import sqlalchemy as sa
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from mystira_data.errors import ConcurrencyConflict, NotFound, StoreUnavailable
from mystira_data.lifecycle import Opened
from mystira_data.relational import migrate
from mystira_data.relational import outbox as outbox_rows
from mystira_data.relational.engine import READ_ONLY, async_url, create_engine
from mystira_data.relational.errors import sql_errors
from mystira_data.relational.mapping import Prepared, TableMapping, stored
from mystira_data.relational.outbox import Change
from mystira_data.types import JsonDoc, PartitionKey


class StoreBase(Opened):
    """The engine and connections of one database URL (``postgresql://…`` or ``sqlite:///path``),
    and the row and outbox helpers every part of `RelationalStore` shares."""

    def __init__(
        self,
        url: str | URL,
        *,
        driver: str | None = None,
        pool_size: int = 10,
        connect_timeout_s: float = 10.0,
        auto_migrate: bool = False,
        require_head: bool = False,
    ) -> None:
        self._target = async_url(url, driver=driver)  # a bad URL fails here, not later
        self._pool_size = pool_size
        self._connect_timeout_s = connect_timeout_s
        self._auto_migrate = auto_migrate
        self._require_head = require_head
        self._engine: AsyncEngine | None = None
        self.dialect = self._target.get_backend_name()
        self.name = "postgres" if self.dialect == "postgresql" else "sqlite"
        # PostgreSQL reads run in autocommit: no BEGIN/ROLLBACK round trips around them, and
        # at READ COMMITTED each statement had its own snapshot anyway.
        self._read_options: dict[str, Any] = {READ_ONLY: True}
        if self.dialect == "postgresql":
            self._read_options["isolation_level"] = "AUTOCOMMIT"

    # -- lifecycle -------------------------------------------------------------------------

    async def open(self) -> None:
        """Create the engine (and migrate, or check the schema revision on connecting, if
        asked); connections open lazily, so this works while the database is down."""
        if self._engine is not None:
            return
        self._engine = create_engine(
            self._target, pool_size=self._pool_size, connect_timeout_s=self._connect_timeout_s
        )
        if self._auto_migrate:
            with sql_errors():
                await migrate.upgrade(self._engine)
        if self._require_head:
            migrate.require_head(self._engine)

    async def close(self) -> None:
        engine, self._engine = self._engine, None
        if engine is not None:
            await engine.dispose()

    @property
    def engine(self) -> AsyncEngine:
        """The SQLAlchemy engine (for the polyglot tables in `relational.tables`)."""
        if self._engine is None:
            raise StoreUnavailable(f"{self.name} relational store is not open")
        return self._engine

    @contextlib.asynccontextmanager
    async def transaction(
        self, container: str = "", id: str = ""
    ) -> AsyncIterator[AsyncConnection]:
        """A write transaction with driver errors translated."""
        with sql_errors(container, id):
            async with self.engine.begin() as conn:
                yield conn

    @contextlib.asynccontextmanager
    async def _autocommit(self, container: str = "") -> AsyncIterator[AsyncConnection]:
        """A PostgreSQL connection for one self-contained statement, errors translated."""
        with sql_errors(container):
            async with self.engine.connect() as conn:
                yield await conn.execution_options(isolation_level="AUTOCOMMIT")

    @contextlib.asynccontextmanager
    async def reading(self, container: str = "", id: str = "") -> AsyncIterator[AsyncConnection]:
        """A read-only connection with driver errors translated."""
        with sql_errors(container, id):
            async with self.engine.connect() as conn:
                yield await conn.execution_options(**self._read_options)

    async def ping(self) -> None:
        """`StoreUnavailable` unless the database answers."""
        async with self.reading() as conn:
            await conn.execute(sa.text("SELECT 1"))

    # -- row and outbox helpers ------------------------------------------------------------

    @staticmethod
    def _key(m: TableMapping, id: str, partition_key: PartitionKey) -> list[sa.ColumnElement[bool]]:
        t = m.table
        return [t.c.id == id, pk_match(m, id, partition_key), t.c._deleted.is_(sa.false())]

    @staticmethod
    def _values(p: Prepared, *, first: int | None) -> dict[str, Any]:
        """Row values to write; ``first`` is the version of a new row without one."""
        values = dict(p.row)
        if values["_version"] is None:
            values["_version"] = first
        values["_updated_at"] = utc_now()
        return values

    @staticmethod
    def _set_all(m: TableMapping, ins: Any, p: Prepared) -> dict[str, Any]:
        set_: dict[str, Any] = {c.name: ins.excluded[c.name] for c in m.table.c if c.name != "id"}
        set_["_version"] = next_version(m.table, p)
        return set_

    @staticmethod
    async def _write_children(
        conn: AsyncConnection,
        m: TableMapping,
        prepared: Sequence[Prepared],
        applied: Sequence[tuple[str, int]] | None = None,
    ) -> None:
        """A split container's child rows of the written parents (``applied``: only those
        ids, the rows a version-guarded merge wrote), in the parents' transaction."""
        if not m.children:
            return
        ids = None if applied is None else {id for id, _ in applied}
        written = [p for p in prepared if ids is None or p.id in ids]
        for c in m.children:
            rows = [r for p in written for r in p.children.get(c.field, ())]
            await c.replace(conn, [p.id for p in written], rows)

    @staticmethod
    async def _docs(
        conn: AsyncConnection, m: TableMapping, rows: Sequence[Mapping[Any, Any]]
    ) -> list[JsonDoc]:
        """The documents of ``rows``, a split container's child rows loaded alongside."""
        if not m.children:
            return [m.from_row(r) for r in rows]
        ids = [str(r["id"]) for r in rows]
        loaded = [(c, await c.load(conn, ids)) for c in m.children]
        return [
            m.from_row(r, {c.field: found.get(str(r["id"]), c.empty()) for c, found in loaded})
            for r in rows
        ]

    async def _recorded(
        self, conn: AsyncConnection, m: TableMapping, p: Prepared, version: int, op: str
    ) -> JsonDoc:
        await self._write_children(conn, m, [p])
        doc = stored(p.body, version, p.deleted)
        change = Change(m.container, p.id, p.partition_key, version, op, doc)
        await outbox_rows.record(conn, [change])
        return doc

    async def _record_applied(
        self,
        conn: AsyncConnection,
        m: TableMapping,
        prepared: Sequence[Prepared],
        applied: Sequence[tuple[str, int]],
    ) -> None:
        await self._write_children(conn, m, prepared, applied)
        by_id = {p.id: p for p in prepared}
        changes = []
        for id, version in applied:
            p = by_id[id]
            op = "delete" if p.deleted else "upsert"
            doc = stored(p.body, version, p.deleted)
            changes.append(Change(m.container, id, p.partition_key, version, op, doc))
        await outbox_rows.record(conn, changes)

    async def _explain_miss(
        self, conn: AsyncConnection, m: TableMapping, id: str, partition_key: PartitionKey
    ) -> NoReturn:
        """Raise why a conditional write matched nothing: missing row, or a stale version."""
        found = (
            await conn.execute(sa.select(m.table.c.id).where(*self._key(m, id, partition_key)))
        ).first()
        if found is None:
            raise NotFound(m.container, id)
        raise ConcurrencyConflict(f"{m.container}/{id}: the expected version is stale")


def pk_match(m: TableMapping, id: str, partition_key: PartitionKey) -> sa.ColumnElement[bool]:
    """The partition-key condition; partition keys are strings in every relational container."""
    if not isinstance(partition_key, str):
        return sa.false()
    if m.pk_column is m.table.c.id:  # partitioned by /id: the key must be the id itself
        return sa.true() if partition_key == id else sa.false()
    return m.pk_column == partition_key


def utc_now() -> datetime:
    return datetime.now(UTC)


def next_version(t: sa.Table, p: Prepared) -> Any:
    """The version a write stores: the document's own, else the current one + 1."""
    return p.version if p.version is not None else t.c._version + 1
