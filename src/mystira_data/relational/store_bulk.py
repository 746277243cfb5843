"""Version-guarded merges of `RelationalStore`: ``upsert_if_newer`` and the bulk path.

Bulk loads validate and map a batch on the event loop in slices while the database merges
the previous batch (COPY into a staging table + merge on PostgreSQL, executemany on SQLite).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast, overload

from pydantic_core import from_json

from mystira_data.domain.base import stored_defaults
from mystira_data.errors import InvalidDocument, InvalidQuery
from mystira_data.relational import bulk
from mystira_data.relational.copy_rows import CopyRow
from mystira_data.relational.mapping import Prepared, TableMapping, mapping_for
from mystira_data.relational.store_base import StoreBase, utc_now

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


class BulkWrites(StoreBase):
    """Version-guarded merges: a batch in one statement, and the bulk path (COPY + merge)."""

    async def upsert_if_newer(
        self, container: str, docs: Iterable[Mapping[str, Any]], *, outbox: bool
    ) -> int:
        """Apply each doc only if newer than the row (by ``_version``); returns how many applied.

        Idempotent: redelivering the same or older versions changes nothing. Tombstones
        (``_deleted: true``) apply like any other version. ``outbox=False`` for replication
        applies, which must not echo back to where they came from.
        """
        m = mapping_for(container)
        if self.dialect == "postgresql" and not outbox and not m.children:
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
            count, applied = await bulk.merge_rows(conn, m, rows, ids=outbox or bool(m.children))
            if outbox:
                await self._record_applied(conn, m, prepared, applied)
            else:
                await self._write_children(conn, m, prepared, applied)
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
        if self.dialect == "postgresql" and not outbox and not m.children:
            # The fast path: COPY records straight from the models (no bodies to keep).
            now = utc_now()

            def copy_row(doc: Mapping[str, Any]) -> CopyRow:
                return m.copy_row(doc, now)

            copy_rows = await _each_valid(copy_row, docs, accepted, rejected)
            newest = [r.record for r in bulk.newest_per_id(copy_rows)]
            return BulkBatch(container, accepted, [], [], newest, outbox)
        prepared = await _each_valid(_versioned(m), docs, accepted, rejected)
        prepared = bulk.newest_per_id(prepared)
        rows = [self._values(p, first=None) for p in prepared]
        # A split container's merge must name the rows it wrote (their child rows follow).
        copy = self.dialect == "postgresql" and not m.children
        records = bulk.copy_shape(m.table).records(rows) if copy else None
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
        m = mapping_for(container)
        if self.dialect != "postgresql" or m.children:
            raise InvalidQuery("bulk_prepare_json is the PostgreSQL bulk path of whole documents")
        now = utc_now()

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
                ids = batch.outbox or bool(m.children)
                count, applied = await bulk.merge_rows(conn, m, batch.rows, ids=ids)
            if batch.outbox:
                await self._record_applied(conn, m, batch.prepared, applied)
            else:
                await self._write_children(conn, m, batch.prepared, applied)
        return count


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
