"""`RelationalStore`: the relational containers on PostgreSQL (or SQLite, the embedded default).

The same verbs as the document port, by (container, id, partition key), over the V001 tables:

* every entity write (create / upsert / replace / delete) also writes an outbox row in the
  same transaction; `upsert_if_newer` and the bulk path take ``outbox=`` because replication
  applies must not echo back;
* optimistic concurrency on ``_version``: ``if_match`` takes the ``_etag`` we report
  (``"v<version>"``) or ``expected_version`` the number; a document without ``_version`` is
  stored at the next version, one with it is stored as given (the polyglot repository bumps);
* deletes are tombstones (``_deleted``, version + 1); `purge` removes rows for good;
* every driver error leaves as our own error (`relational.errors.sql_errors`).

This module holds the port's verbs; the class is assembled from `store_base` (engine,
connections, row helpers), `store_bulk` (version-guarded merges, the bulk path) and
`store_relay` (the outbox relay's verbs).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from mystira_data.errors import AlreadyExists, ConcurrencyConflict, InvalidQuery, NotFound
from mystira_data.query import Page, Query, every, fingerprint
from mystira_data.relational import bulk, statements
from mystira_data.relational import outbox as outbox_rows
from mystira_data.relational.mapping import (
    Prepared,
    TableMapping,
    mapping_for,
    version_of_etag,
)
from mystira_data.relational.outbox import Change
from mystira_data.relational.sql_query import Translator, decode_token, encode_token
from mystira_data.relational.store_base import pk_match, utc_now
from mystira_data.relational.store_bulk import BulkBatch, BulkWrites
from mystira_data.relational.store_relay import OutboxRelay
from mystira_data.types import JsonDoc, PartitionKey

__all__ = ["BulkBatch", "RelationalStore"]

STREAM_PAGE = 500
_NO_VERSION = -1  # versions are >= 0


class RelationalStore(BulkWrites, OutboxRelay):
    """The relational store on one database URL (``postgresql://…`` or ``sqlite:///path``)."""

    # -- writes ----------------------------------------------------------------------------

    async def create(self, container: str, doc: Mapping[str, Any]) -> JsonDoc:
        """Insert; `AlreadyExists` if the id is live (a tombstone is overwritten)."""
        return await self._put(container, doc, "create")

    async def upsert(
        self, container: str, doc: Mapping[str, Any], *, if_match: str | None = None
    ) -> JsonDoc:
        """Insert or overwrite; `AlreadyExists` if the id lives under another partition key.

        With ``if_match``, only overwrite the stored row (live or tombstone) at that ETag's
        version; anything else (missing row, other version) is a `ConcurrencyConflict`.
        """
        if if_match is None:
            return await self._put(container, doc, "upsert")
        return await self._overwrite_at(container, doc, _expected(if_match, None))

    async def _overwrite_at(
        self, container: str, doc: Mapping[str, Any], expected: int | None
    ) -> JsonDoc:
        m = mapping_for(container)
        p = m.prepare(doc)
        async with self.transaction(container, p.id) as conn:
            version = await self._overwrite(conn, m, p, expected, live_only=False)
            if version is None:
                raise ConcurrencyConflict(f"{container}/{p.id}: the ETag is stale")
            return await self._recorded(conn, m, p, version, "upsert")

    async def _overwrite(
        self,
        conn: AsyncConnection,
        m: TableMapping,
        p: Prepared,
        expected: int | None,
        *,
        live_only: bool,
        guarded: bool = True,
    ) -> int | None:
        """Overwrite the keyed row (prebuilt statement); its new version, or None if no row
        matched (missing, tombstone when ``live_only``, or not at ``expected``)."""
        key = statements.key_params(m, p.id, p.partition_key)
        if key is None:
            return None
        stmt = statements.overwrite(
            m, live_only=live_only, guarded=guarded, explicit_version=p.version is not None
        )
        params = statements.value_params(self._values(p, first=None))
        if p.version is None:
            del params["v__version"]
        version = await conn.execute(stmt, {**key, **params, statements.EXPECTED: expected})
        found = version.scalar_one_or_none()
        return None if found is None else int(found)

    async def _put(self, container: str, doc: Mapping[str, Any], op: str) -> JsonDoc:
        m = mapping_for(container)
        p = m.prepare(doc)
        t = m.table
        ins = bulk.insert_for(t, self.dialect).values(self._values(p, first=1))
        # An existing row is overwritten only in the same partition (a different partition
        # would be another document), and by `create` only if it is a tombstone.
        guard = m.pk_column == ins.excluded[m.pk_column.name]
        if op == "create":
            guard = sa.and_(t.c._deleted.is_(sa.true()), guard)
        stmt = ins.on_conflict_do_update(
            index_elements=[t.c.id], set_=self._set_all(m, ins, p), where=guard
        ).returning(t.c._version)
        async with self.transaction(container, p.id) as conn:
            version = (await conn.execute(stmt)).scalar_one_or_none()
            if version is None:
                raise AlreadyExists(container, p.id)
            return await self._recorded(conn, m, p, int(version), op)

    async def replace(
        self,
        container: str,
        doc: Mapping[str, Any],
        *,
        if_match: str | None = None,
        expected_version: int | None = None,
    ) -> JsonDoc:
        """Overwrite a live row; `NotFound` if none, `ConcurrencyConflict` if stale."""
        m = mapping_for(container)
        p = m.prepare(doc)
        expected = _expected(if_match, expected_version)
        async with self.transaction(container, p.id) as conn:
            version = await self._overwrite(
                conn, m, p, expected, live_only=True, guarded=expected is not None
            )
            if version is None:
                await self._explain_miss(conn, m, p.id, p.partition_key)
            return await self._recorded(conn, m, p, version, "replace")

    async def delete(
        self,
        container: str,
        id: str,
        partition_key: PartitionKey,
        *,
        if_match: str | None = None,
        expected_version: int | None = None,
    ) -> JsonDoc:
        """Turn the live row into a tombstone (version + 1); returns the tombstone."""
        m = mapping_for(container)
        expected = _expected(if_match, expected_version)
        t = m.table
        stmt = (
            sa.update(t)
            .where(*self._key(m, id, partition_key))
            .values(_deleted=True, _version=t.c._version + 1, _updated_at=utc_now())
            .returning(*t.c)
        )
        if expected is not None:
            stmt = stmt.where(t.c._version == expected)
        async with self.transaction(container, id) as conn:
            row = (await conn.execute(stmt)).mappings().first()
            if row is None:
                await self._explain_miss(conn, m, id, partition_key)
            for c in m.children:  # a tombstone keeps no child rows
                await c.replace(conn, [id], [])
            tombstone = m.from_row(row)
            change = Change(
                container, id, str(partition_key), int(row["_version"]), "delete", tombstone
            )
            await outbox_rows.record(conn, [change])
            return tombstone

    async def purge(self, container: str, id: str, partition_key: PartitionKey) -> None:
        """Remove a row or tombstone for good (idempotent; FK actions of V002 apply)."""
        m = mapping_for(container)
        t = m.table
        async with self.transaction(container, id) as conn:
            await conn.execute(sa.delete(t).where(t.c.id == id, pk_match(m, id, partition_key)))

    # -- reads -----------------------------------------------------------------------------

    async def read(self, container: str, id: str, partition_key: PartitionKey) -> JsonDoc:
        """The live document; `NotFound` for a missing row or a tombstone."""
        m = mapping_for(container)
        stmt = sa.select(m.table).where(*self._key(m, id, partition_key))
        async with self.reading(container, id) as conn:
            row = (await conn.execute(stmt)).mappings().first()
            if row is None:
                raise NotFound(container, id)
            return (await self._docs(conn, m, [row]))[0]

    async def read_stored(
        self, container: str, id: str, partition_key: PartitionKey
    ) -> JsonDoc | None:
        """The row of ``id`` as a document, tombstone or not; None if there is none."""
        m = mapping_for(container)
        key = statements.key_params(m, id, partition_key)
        if key is None:
            return None
        async with self.reading(container, id) as conn:
            row = (await conn.execute(statements.stored_row(m), key)).mappings().first()
            return None if row is None else (await self._docs(conn, m, [row]))[0]

    async def query(self, container: str, query: Query, *, continuation: str | None = None) -> Page:
        """One page of matches in keyset order; pass the continuation for the next page."""
        m = mapping_for(container)
        query.require_scope()
        fp = fingerprint(container, query)
        after, returned = decode_token(continuation, fp)
        remaining = None if query.limit is None else query.limit - returned
        if remaining is not None and remaining <= 0:
            return Page([], None)
        size = query.page_size if remaining is None else min(query.page_size, remaining)
        translator = Translator(m, self.dialect)
        keys, descending = translator.sort_keys(query)
        cond = translator.where(query)
        if after is not None:
            cond = sa.and_(cond, translator.keyset(keys, after, descending))
        labels = [k.expr.label(f"_k{i}") for i, k in enumerate(keys)]
        order = [k.expr.desc() if descending else k.expr.asc() for k in keys]
        stmt = sa.select(m.table, *labels).where(cond).order_by(*order).limit(size + 1)
        async with self.reading(container) as conn:
            rows = (await conn.execute(stmt)).mappings().all()
            items = await self._docs(conn, m, rows[:size])
        if len(rows) <= size or (remaining is not None and remaining <= size):
            return Page(items, None)
        last = rows[size - 1]
        key = [last[f"_k{i}"] for i in range(len(keys))]
        return Page(items, encode_token(fp, key, returned + size))

    async def count(self, container: str, query: Query) -> int:
        """Number of matches (order, limit and paging ignored)."""
        m = mapping_for(container)
        query.require_scope()
        cond = Translator(m, self.dialect).where(query)
        stmt = sa.select(sa.func.count()).select_from(m.table).where(cond)
        async with self.reading(container) as conn:
            return int((await conn.execute(stmt)).scalar_one())

    async def read_all(
        self, container: str, *, include_deleted: bool = False
    ) -> AsyncIterator[JsonDoc]:
        """Every row of the container as documents, streamed page by page in id order."""
        query = Query(cross_partition=True, include_deleted=include_deleted, page_size=STREAM_PAGE)
        async for item in every(self, container, query):
            yield item


def _expected(if_match: str | None, expected_version: int | None) -> int | None:
    if if_match is None:
        return expected_version
    parsed = version_of_etag(if_match)
    if parsed is None:
        # Not an ETag this store made (e.g. one from the document store): it matches no
        # version, so the write ends as NotFound or ConcurrencyConflict like any stale one.
        return _NO_VERSION
    if expected_version is not None and expected_version != parsed:
        raise InvalidQuery("if_match and expected_version disagree")
    return parsed
