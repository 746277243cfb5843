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
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NoReturn, TypeVar, cast, overload

import sqlalchemy as sa
from pydantic_core import from_json
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from mystira_data.domain.base import stored_defaults
from mystira_data.errors import (
    AlreadyExists,
    ConcurrencyConflict,
    InvalidDocument,
    InvalidQuery,
    NotFound,
    StoreUnavailable,
)
from mystira_data.lifecycle import Opened
from mystira_data.query import Page, Query, every, fingerprint
from mystira_data.relational import bulk, migrate, statements
from mystira_data.relational import outbox as outbox_rows
from mystira_data.relational.engine import READ_ONLY, async_url, create_engine
from mystira_data.relational.errors import sql_errors
from mystira_data.relational.mapping import (
    CopyRow,
    Document,
    Prepared,
    TableMapping,
    mapping_for,
    stored,
    version_of_etag,
)
from mystira_data.relational.outbox import Change, OutboxEntry
from mystira_data.relational.sql_query import Translator, decode_token, encode_token
from mystira_data.relational.tables import outbox
from mystira_data.types import PartitionKey

STREAM_PAGE = 500
_NO_VERSION = -1  # versions are >= 0
BULK_BATCH = 5000
PREPARE_SLICE = 5  # documents validated between yields to the event loop (~0.3 ms)
T = TypeVar("T")
D = TypeVar("D")


@dataclass(frozen=True)
class BulkBatch:
    """One bulk batch, validated and mapped, ready for the database (`bulk_prepare`)."""

    container: str
    docs: Sequence[Mapping[str, Any]]  # the valid input documents, as given
    prepared: list[Prepared]  # only when the outbox is recorded or on SQLite
    rows: list[dict[str, Any]]  # executemany rows (SQLite)
    records: list[tuple[Any, ...]] | None  # COPY records (PostgreSQL)
    outbox: bool


class RelationalStore(Opened):
    """The relational store on one database URL (``postgresql://…`` or ``sqlite:///path``)."""

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

    # -- writes ----------------------------------------------------------------------------

    async def create(self, container: str, doc: Mapping[str, Any]) -> Document:
        """Insert; `AlreadyExists` if the id is live (a tombstone is overwritten)."""
        return await self._put(container, doc, "create")

    async def upsert(
        self, container: str, doc: Mapping[str, Any], *, if_match: str | None = None
    ) -> Document:
        """Insert or overwrite; `AlreadyExists` if the id lives under another partition key.

        With ``if_match``, only overwrite the stored row (live or tombstone) at that ETag's
        version; anything else (missing row, other version) is a `ConcurrencyConflict`.
        """
        if if_match is None:
            return await self._put(container, doc, "upsert")
        return await self._overwrite_at(container, doc, _expected(if_match, None))

    async def _overwrite_at(
        self, container: str, doc: Mapping[str, Any], expected: int | None
    ) -> Document:
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

    async def _put(self, container: str, doc: Mapping[str, Any], op: str) -> Document:
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
    ) -> Document:
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
    ) -> Document:
        """Turn the live row into a tombstone (version + 1); returns the tombstone."""
        m = mapping_for(container)
        expected = _expected(if_match, expected_version)
        t = m.table
        stmt = (
            sa.update(t)
            .where(*self._key(m, id, partition_key))
            .values(_deleted=True, _version=t.c._version + 1, _updated_at=_now())
            .returning(*t.c)
        )
        if expected is not None:
            stmt = stmt.where(t.c._version == expected)
        async with self.transaction(container, id) as conn:
            row = (await conn.execute(stmt)).mappings().first()
            if row is None:
                await self._explain_miss(conn, m, id, partition_key)
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
            await conn.execute(sa.delete(t).where(t.c.id == id, _pk_match(m, id, partition_key)))

    async def upsert_if_newer(
        self, container: str, docs: Iterable[Mapping[str, Any]], *, outbox: bool
    ) -> int:
        """Apply each doc only if newer than the row (by ``_version``); returns how many applied.

        Idempotent: redelivering the same or older versions changes nothing. Tombstones
        (``_deleted: true``) apply like any other version. ``outbox=False`` for replication
        applies, which must not echo back to where they came from.
        """
        m = mapping_for(container)
        if self.dialect == "postgresql" and not outbox:
            # The bulk mapping (validated in slices, no canonical bodies to keep) and one
            # statement: replication batches and secondary copies, which are frequent.
            batch = await self._bulk_prepare(container, list(docs), False, None)
            if not batch.records:
                return 0
            # One statement, atomic by itself: autocommit saves the BEGIN and COMMIT trips.
            async with self._autocommit(container) as conn:
                return await bulk.unnest_merge(conn, m, batch.records)
        prepared = bulk.newest_per_id(m.prepare(d) for d in docs)
        rows = [self._values(p, first=None) for p in prepared]
        async with self.transaction(container) as conn:
            count, applied = await bulk.merge_rows(conn, m, rows, ids=outbox)
            if outbox:
                await self._record_applied(conn, m, prepared, applied)
        return count

    async def bulk_upsert_if_newer(
        self,
        container: str,
        docs: Iterable[Mapping[str, Any]],
        *,
        outbox: bool = False,
        batch_size: int = BULK_BATCH,
    ) -> int:
        """`upsert_if_newer` for many documents (bulk loads): COPY + merge on PostgreSQL.

        Each batch of ``batch_size`` is one transaction; returns how many rows applied. The
        next batch is validated and mapped while the database merges the current one, so
        Python and PostgreSQL work at the same time. An invalid document raises
        `InvalidDocument` once the batches before it are committed.
        """
        source = iter(docs)
        total = 0
        writing: asyncio.Future[int] | None = None
        try:
            while chunk := list(itertools.islice(source, batch_size)):
                batch = await self.bulk_prepare(container, chunk, outbox=outbox)
                if writing is not None:
                    total += await writing
                writing = asyncio.ensure_future(self.bulk_write(batch))
            if writing is not None:
                total += await writing
                writing = None
        finally:
            if writing is not None and not writing.done():
                # An earlier batch is in flight: let it commit (or fail) before leaving.
                with contextlib.suppress(Exception):
                    await writing
        return total

    async def bulk_prepare(
        self,
        container: str,
        docs: Sequence[Mapping[str, Any]],
        *,
        outbox: bool = False,
        rejected: list[tuple[Mapping[str, Any], InvalidDocument]] | None = None,
    ) -> BulkBatch:
        """Validate and map one batch for `bulk_write`.

        Every document needs ``_version``. An invalid one raises `InvalidDocument`, or, when
        ``rejected`` is given, is appended there with its error and left out of the batch.
        This is CPU work done on the event loop in slices, yielding between them so that a
        batch being written keeps moving. Not in a worker thread: measured slower, because
        every socket wake-up of the writer then waits for the GIL (up to 5 ms a hand-off).
        """
        # Bulk loads copy documents that already exist: absent defaulted fields read as the
        # fixed `stored_defaults`, never "now".
        with stored_defaults():
            return await self._bulk_prepare(container, docs, outbox, rejected)

    async def _bulk_prepare(
        self,
        container: str,
        docs: Sequence[Mapping[str, Any]],
        outbox: bool,
        rejected: list[tuple[Mapping[str, Any], InvalidDocument]] | None,
    ) -> BulkBatch:
        m = mapping_for(container)
        accepted: list[Mapping[str, Any]] = []
        if self.dialect == "postgresql" and not outbox:
            # The fast path: COPY records straight from the models (no bodies to keep).
            now = _now()

            def copy_row(doc: Mapping[str, Any]) -> CopyRow:
                return m.copy_row(doc, now)

            copy_rows = await _each_valid(copy_row, docs, accepted, rejected)
            newest = [r.record for r in bulk.newest_per_id(copy_rows)]
            return BulkBatch(container, accepted, [], [], newest, outbox)
        prepared = await _each_valid(_versioned(m), docs, accepted, rejected)
        prepared = bulk.newest_per_id(prepared)
        rows = [self._values(p, first=None) for p in prepared]
        records = bulk.copy_shape(m.table).records(rows) if self.dialect == "postgresql" else None
        return BulkBatch(container, accepted, prepared, rows, records, outbox)

    async def bulk_prepare_json(
        self,
        container: str,
        texts: Sequence[str],
        *,
        rejected: list[tuple[Mapping[str, Any], InvalidDocument]],
        default_version: int = 0,
    ) -> BulkBatch:
        """`bulk_prepare` of stored documents given as JSON text (PostgreSQL, no outbox).

        Used by backfill, which copies stored documents: one without ``_version`` counts as
        ``default_version``. Rejected texts come back parsed when they parse at all.
        """
        if self.dialect != "postgresql":
            raise InvalidQuery("bulk_prepare_json is the PostgreSQL bulk path")
        m = mapping_for(container)
        now = _now()

        def copy_row(text: str) -> CopyRow:
            return m.copy_row_json(text, now, default_version)

        accepted: list[str] = []
        bad: list[tuple[str, InvalidDocument]] = []
        with stored_defaults():
            copy_rows = await _each_valid(copy_row, texts, accepted, bad)
        rejected.extend((_as_mapping(text), exc) for text, exc in bad)
        newest = [r.record for r in bulk.newest_per_id(copy_rows)]
        return BulkBatch(container, _ParsedOnRead(accepted), [], [], newest, False)

    async def bulk_write(self, batch: BulkBatch) -> int:
        """Merge a `bulk_prepare`d batch in one transaction; returns how many rows applied."""
        m = mapping_for(batch.container)
        if not batch.docs:
            return 0
        async with self.transaction(m.container) as conn:
            if batch.records is not None:
                count, applied = await bulk.copy_merge(conn, m, batch.records, ids=batch.outbox)
            else:
                count, applied = await bulk.merge_rows(conn, m, batch.rows, ids=batch.outbox)
            if batch.outbox:
                await self._record_applied(conn, m, batch.prepared, applied)
        return count

    # -- reads -----------------------------------------------------------------------------

    async def read(self, container: str, id: str, partition_key: PartitionKey) -> Document:
        """The live document; `NotFound` for a missing row or a tombstone."""
        m = mapping_for(container)
        stmt = sa.select(m.table).where(*self._key(m, id, partition_key))
        async with self.reading(container, id) as conn:
            row = (await conn.execute(stmt)).mappings().first()
        if row is None:
            raise NotFound(container, id)
        return m.from_row(row)

    async def read_stored(
        self, container: str, id: str, partition_key: PartitionKey
    ) -> Document | None:
        """The row of ``id`` as a document, tombstone or not; None if there is none."""
        m = mapping_for(container)
        key = statements.key_params(m, id, partition_key)
        if key is None:
            return None
        async with self.reading(container, id) as conn:
            row = (await conn.execute(statements.stored_row(m), key)).mappings().first()
        return None if row is None else m.from_row(row)

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
        items = [m.from_row(r) for r in rows[:size]]
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
    ) -> AsyncIterator[Document]:
        """Every row of the container as documents, streamed page by page in id order."""
        query = Query(cross_partition=True, include_deleted=include_deleted, page_size=STREAM_PAGE)
        async for item in every(self, container, query):
            yield item

    # -- outbox (for the relay) ------------------------------------------------------------

    async def outbox_pending(
        self, *, limit: int = 100, after_id: int = 0, container: str | None = None
    ) -> list[OutboxEntry]:
        """Unrelayed outbox rows in id order (writes to one entity are in write order).

        ``after_id`` pages within one pass only: concurrent transactions commit out of id
        order, so a relay must not keep it as a checkpoint; ``relayed_at`` is the state.
        """
        async with self.reading() as conn:
            result = await conn.execute(outbox_rows.pending_query(limit, after_id, container))
            return [outbox_rows.entry(r) for r in result]

    async def mark_relayed(self, ids: Sequence[int]) -> int:
        """Mark outbox rows relayed; returns how many were still pending."""
        if not ids:
            return 0
        stmt = (
            sa.update(outbox)
            .where(outbox.c.id.in_(list(ids)), outbox.c.relayed_at.is_(None))
            .values(relayed_at=_now())
        )
        async with self.transaction() as conn:
            return int((await conn.execute(stmt)).rowcount)

    async def record_relay_failure(self, id: int, error: str) -> None:
        """Count a failed relay attempt of one outbox row (message kept for operators)."""
        stmt = (
            sa.update(outbox)
            .where(outbox.c.id == id)
            .values(attempts=outbox.c.attempts + 1, last_error=error[:2000])
        )
        async with self.transaction() as conn:
            await conn.execute(stmt)

    async def prune_outbox(self, *, relayed_before: datetime) -> int:
        """Delete relayed rows older than ``relayed_before``; returns how many."""
        stmt = sa.delete(outbox).where(outbox.c.relayed_at < relayed_before)
        async with self.transaction() as conn:
            return int((await conn.execute(stmt)).rowcount)

    # -- helpers ---------------------------------------------------------------------------

    @staticmethod
    def _key(m: TableMapping, id: str, partition_key: PartitionKey) -> list[sa.ColumnElement[bool]]:
        t = m.table
        return [t.c.id == id, _pk_match(m, id, partition_key), t.c._deleted.is_(sa.false())]

    @staticmethod
    def _values(p: Prepared, *, first: int | None) -> dict[str, Any]:
        """Row values to write; ``first`` is the version of a new row without one."""
        values = dict(p.row)
        if values["_version"] is None:
            values["_version"] = first
        values["_updated_at"] = _now()
        return values

    @staticmethod
    def _set_all(m: TableMapping, ins: Any, p: Prepared) -> dict[str, Any]:
        set_: dict[str, Any] = {c.name: ins.excluded[c.name] for c in m.table.c if c.name != "id"}
        set_["_version"] = _next_version(m.table, p)
        return set_

    async def _recorded(
        self, conn: AsyncConnection, m: TableMapping, p: Prepared, version: int, op: str
    ) -> Document:
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


def _pk_match(m: TableMapping, id: str, partition_key: PartitionKey) -> sa.ColumnElement[bool]:
    """The partition-key condition; partition keys are strings in every relational container."""
    if not isinstance(partition_key, str):
        return sa.false()
    if m.pk_column is m.table.c.id:  # partitioned by /id: the key must be the id itself
        return sa.true() if partition_key == id else sa.false()
    return m.pk_column == partition_key


async def _each_valid(
    convert: Callable[[D], T],
    docs: Sequence[D],
    accepted: list[D],
    rejected: list[tuple[D, InvalidDocument]] | None,
) -> list[T]:
    """``convert`` of each doc; invalid ones go to ``rejected`` (or raise when it is None)."""
    out: list[T] = []
    for i, doc in enumerate(docs):
        if i and not i % PREPARE_SLICE:
            await asyncio.sleep(0)  # let other tasks run (see `bulk_prepare`)
        try:
            out.append(convert(doc))
        except InvalidDocument as exc:
            if rejected is None:
                raise
            rejected.append((doc, exc))
            continue
        accepted.append(doc)
    return out


class _ParsedOnRead(Sequence[Mapping[str, Any]]):
    """Stored JSON texts seen as documents, each parsed when read (the rare fallbacks)."""

    def __init__(self, texts: list[str]) -> None:
        self._texts = texts

    def __len__(self) -> int:
        return len(self._texts)

    @overload
    def __getitem__(self, index: int) -> Mapping[str, Any]: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Mapping[str, Any]]: ...
    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return [_as_mapping(t) for t in self._texts[index]]
        return _as_mapping(self._texts[index])


def _as_mapping(text: str) -> Mapping[str, Any]:
    """A stored text as a dict; text that is not a JSON object is kept whole under a key."""
    try:
        doc = from_json(text)
    except ValueError:
        doc = None
    return cast(Mapping[str, Any], doc) if isinstance(doc, dict) else {"_stored_text": text}


def _versioned(m: TableMapping) -> Callable[[Mapping[str, Any]], Prepared]:
    def prepare(doc: Mapping[str, Any]) -> Prepared:
        p = m.prepare(doc)
        if p.version is None:
            raise InvalidDocument("a versioned upsert needs _version", path="_version")
        return p

    return prepare


def _now() -> datetime:
    return datetime.now(UTC)


def _next_version(t: sa.Table, p: Prepared) -> Any:
    """The version a write stores: the document's own, else the current one + 1."""
    return p.version if p.version is not None else t.c._version + 1


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
