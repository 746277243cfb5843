"""The embedded document store: one SQLite file, the default when no Cosmos DB is configured.

Layout: one ``documents`` table (container, JSON-encoded partition key, id, JSON body, etag,
``_ts``, lsn, feed range, tombstone flag) and a ``containers`` table holding each container's
partition-key path and its lsn counter. The lsn is bumped inside the same ``BEGIN IMMEDIATE``
transaction as the write, and SQLite allows one writer at a time, so commit order equals lsn
order: a change-feed reader that has seen lsn N can never later find a commit with lsn <= N.

Concurrency: each store owns one writer thread and a few reader threads, each with its own
``sqlite3`` connection (WAL mode, so readers never block the writer). Every read-check-write
runs as one function inside one ``BEGIN IMMEDIATE`` transaction in the writer thread, which
makes it atomic across connections and processes; ``busy_timeout`` queues writers, and a
still-busy database is retried a few times before `StoreUnavailable`.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import sqlite3
from collections.abc import AsyncIterator, Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from mystira_data.documents.port import JsonPage, check_document, check_id
from mystira_data.documents.sqlite import _sql as sql
from mystira_data.documents.sqlite._io import (
    Conn,
    Key,
    Threads,
    is_busy,
    live,
    loads,
    put,
    select,
    stored,
    stored_version,
    transaction,
)
from mystira_data.errors import (
    AlreadyExists,
    ConfigError,
    InvalidDocument,
    InvalidQuery,
    MystiraError,
    NotFound,
    StoreUnavailable,
)
from mystira_data.lifecycle import Opened
from mystira_data.query import ChangeBatch, Page, Query, fingerprint, stream_all
from mystira_data.types import JsonDoc, PartitionKey

T = TypeVar("T")

_SYNCHRONOUS = frozenset({"OFF", "NORMAL", "FULL", "EXTRA"})
_RANGE_PREFIX = "sqlite-range-"
_CHANGES = """SELECT body, lsn FROM documents
    WHERE container = ? AND feed_range = ? AND lsn > ? ORDER BY lsn LIMIT ?"""


class SqliteDocumentStore(Opened):
    """`DocumentStore` on one SQLite file; safe for many instances and processes on that file."""

    name = "sqlite"

    def __init__(
        self,
        path: Path,
        partition_keys: Mapping[str, str],
        *,
        busy_timeout_s: float = 30.0,
        busy_retries: int = 3,
        readers: int = 2,
        synchronous: str = "NORMAL",
    ) -> None:
        for container, pk_path in partition_keys.items():
            if not pk_path.startswith("/") or len(pk_path) < 2:
                raise ConfigError(f"partition_keys.{container}", f"bad path {pk_path!r}")
        if synchronous.upper() not in _SYNCHRONOUS:
            raise ConfigError("synchronous", f"must be one of {sorted(_SYNCHRONOUS)}")
        self._path = Path(path)
        self._partition_keys = dict(partition_keys)
        self._busy_timeout_s = busy_timeout_s
        self._busy_retries = max(1, busy_retries)
        self._reader_count = max(1, readers)
        # NORMAL in WAL mode survives process crashes; FULL also survives power loss per commit.
        self._synchronous = synchronous.upper()
        self._writer: Threads | None = None
        self._readers: Threads | None = None

    # -- lifecycle -------------------------------------------------------------------------

    async def open(self) -> None:
        if self._writer is not None:
            return
        self._writer = Threads(partial(self._connect, False), 1, "mystira-sqlite-write")
        self._readers = Threads(
            partial(self._connect, True), self._reader_count, "mystira-sqlite-read"
        )
        try:
            await self.ensure_containers()
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        writer, readers = self._writer, self._readers
        self._writer = self._readers = None
        for threads in (readers, writer):
            if threads is not None:
                await threads.close()

    def _connect(self, read_only: bool) -> Conn:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: we issue BEGIN IMMEDIATE ourselves; timeout = busy_timeout.
        conn = sqlite3.connect(
            self._path,
            timeout=self._busy_timeout_s,
            isolation_level=None,
            check_same_thread=False,  # used by one thread at a time, closed by another
        )
        if read_only:
            conn.execute("PRAGMA query_only = 1")
        else:
            conn.execute("PRAGMA journal_mode = WAL")
        conn.execute(f"PRAGMA synchronous = {self._synchronous}")  # validated in __init__
        return conn

    async def ensure_containers(self) -> None:
        def tx(conn: Conn) -> None:
            for statement in sql.SCHEMA:
                conn.execute(statement)
            for name, pk_path in self._partition_keys.items():
                conn.execute(
                    "INSERT INTO containers (name, pk_path) VALUES (?, ?) "
                    "ON CONFLICT (name) DO NOTHING",
                    (name, pk_path),
                )
                (stored,) = conn.execute(
                    "SELECT pk_path FROM containers WHERE name = ?", (name,)
                ).fetchone()
                if stored != pk_path:
                    raise ConfigError(
                        f"partition_keys.{name}", f"data in {self._path} uses {stored}"
                    )

        await self._write(tx)

    # -- running SQL -------------------------------------------------------------------------

    async def _write(self, fn: Callable[[Conn], T]) -> T:
        return await self._run(self._writer, partial(transaction, fn))

    async def _read(self, fn: Callable[[Conn], T]) -> T:
        return await self._run(self._readers, fn)

    async def _run(self, threads: Threads | None, fn: Callable[[Conn], T]) -> T:
        for attempt in itertools.count(1):
            if threads is None:
                raise StoreUnavailable(f"sqlite store {self._path} is not open")
            try:
                return await threads.run(fn)
            except sqlite3.OperationalError as exc:
                if not is_busy(exc) or attempt >= self._busy_retries:
                    raise StoreUnavailable(f"sqlite {self._path}: {exc}") from exc
            except sqlite3.Error as exc:
                raise MystiraError(f"sqlite {self._path}: {exc}") from exc
            # busy_timeout already waited; back off a little more (jittered) before retrying.
            await asyncio.sleep(random.uniform(0, min(1.0, 0.05 * 2**attempt)))
        raise AssertionError("unreachable")  # pragma: no cover

    def _pk_path(self, container: str) -> str:
        try:
            return self._partition_keys[container]
        except KeyError:
            known = ", ".join(sorted(self._partition_keys))
            raise InvalidQuery(f"unknown container {container!r} (known: {known})") from None

    def _key_of(self, container: str, doc: JsonDoc) -> Key:
        pk_value = check_document(doc, self._pk_path(container))
        return Key(container, sql.encode_pk(pk_value), doc["id"])

    def _key(self, container: str, id: str, partition_key: PartitionKey) -> Key:
        self._pk_path(container)
        if not isinstance(id, str) or not id:
            raise InvalidDocument("id must be a non-empty string", path="id")
        check_id(id)
        return Key(container, sql.encode_pk(partition_key), id)

    # -- writes ------------------------------------------------------------------------------

    async def create(self, container: str, doc: JsonDoc) -> JsonDoc:
        key = self._key_of(container, doc)

        def tx(conn: Conn) -> JsonDoc:
            current = select(conn, key)
            if current is not None and not current.deleted:
                raise AlreadyExists(container, key.id)
            return put(conn, key, doc)

        return await self._write(tx)

    async def upsert(
        self, container: str, doc: JsonDoc, *, if_match: str | None = None
    ) -> JsonDoc:
        key = self._key_of(container, doc)

        def tx(conn: Conn) -> JsonDoc:
            if if_match is not None:
                stored(conn, key, if_match)
            return put(conn, key, doc)

        return await self._write(tx)

    async def replace(
        self, container: str, doc: JsonDoc, *, if_match: str | None = None
    ) -> JsonDoc:
        key = self._key_of(container, doc)

        def tx(conn: Conn) -> JsonDoc:
            live(conn, key, if_match)
            return put(conn, key, doc)

        return await self._write(tx)

    async def delete(
        self, container: str, id: str, partition_key: PartitionKey, *, if_match: str | None = None
    ) -> JsonDoc:
        key = self._key(container, id, partition_key)

        def tx(conn: Conn) -> JsonDoc:
            tombstone = dict(live(conn, key, if_match).body)
            tombstone["_version"] = _next_version(tombstone.get("_version"))
            tombstone["_deleted"] = True
            return put(conn, key, tombstone)

        return await self._write(tx)

    async def put_if_newer(self, container: str, docs: list[JsonDoc]) -> int:
        """Write each doc unless the stored one (tombstones too) is as new or newer by
        ``_version``; one transaction for all. Returns how many were written.

        The version-guarded apply of replication and dual write in one step, where the port's
        verbs need a read and a conditional write per document.
        """
        keyed = [(self._key_of(container, doc), doc) for doc in docs]

        def tx(conn: Conn) -> int:
            written = 0
            for key, doc in keyed:  # in order: a later copy of an id sees the earlier one
                if _version_or_zero(stored_version(conn, key)) >= _version_or_zero(
                    doc.get("_version")
                ):
                    continue
                put(conn, key, doc)
                written += 1
            return written

        return await self._write(tx)

    async def purge(self, container: str, id: str, partition_key: PartitionKey) -> None:
        """Idempotent: purging a missing document is not an error (sweepers may race)."""
        key = self._key(container, id, partition_key)

        def tx(conn: Conn) -> None:
            conn.execute(
                "DELETE FROM documents WHERE container = ? AND pk = ? AND id = ?",
                (key.container, key.pk, key.id),
            )

        await self._write(tx)

    # -- reads -------------------------------------------------------------------------------

    async def read(self, container: str, id: str, partition_key: PartitionKey) -> JsonDoc:
        key = self._key(container, id, partition_key)
        row = await self._read(lambda conn: select(conn, key))
        if row is None or row.deleted:
            raise NotFound(container, id)
        return row.body

    async def read_stored(
        self, container: str, id: str, partition_key: PartitionKey
    ) -> JsonDoc | None:
        """The stored document of ``id``, tombstone or not; None if there is none."""
        key = self._key(container, id, partition_key)
        row = await self._read(lambda conn: select(conn, key))
        return None if row is None else row.body

    async def query(self, container: str, query: Query, *, continuation: str | None = None) -> Page:
        page = await self.query_json(container, query, continuation=continuation)
        return Page([loads(text) for text in page.items], page.continuation)

    async def query_json(
        self, container: str, query: Query, *, continuation: str | None = None
    ) -> JsonPage:
        self._pk_path(container)
        query.require_scope()
        fp = fingerprint(container, query)
        after, returned = sql.decode_token(continuation, fp)
        remaining = None if query.limit is None else query.limit - returned
        if remaining is not None and remaining <= 0:
            return JsonPage([], None)
        size = query.page_size if remaining is None else min(query.page_size, remaining)
        # One extra row tells whether another page exists without a second round trip.
        stmt = sql.page_sql(container, query, after, size + 1)
        rows = await self._read(lambda conn: conn.execute(stmt.text, stmt.params).fetchall())
        items = [row[0] for row in rows[:size]]
        if len(rows) <= size or (remaining is not None and remaining <= size):
            return JsonPage(items, None)
        return JsonPage(items, sql.encode_token(fp, list(rows[size - 1][1:]), returned + size))

    async def count(self, container: str, query: Query) -> int:
        self._pk_path(container)
        query.require_scope()
        stmt = sql.count_sql(container, query)
        row = await self._read(lambda conn: conn.execute(stmt.text, stmt.params).fetchone())
        return int(row[0])

    def read_all(
        self, container: str, *, include_deleted: bool = False
    ) -> AsyncIterator[JsonDoc]:
        return stream_all(self, container, include_deleted=include_deleted)

    # -- change feed -------------------------------------------------------------------------

    async def feed_ranges(self, container: str) -> list[str]:
        self._pk_path(container)
        return [f"{_RANGE_PREFIX}{i}" for i in range(sql.FEED_RANGES)]

    async def changes(
        self,
        container: str,
        feed_range: str,
        checkpoint: str | None,
        *,
        max_items: int = 100,
    ) -> ChangeBatch:
        self._pk_path(container)
        if max_items < 1:
            raise InvalidQuery("max_items must be >= 1")
        params = (container, _parse_range(feed_range), _parse_checkpoint(checkpoint), max_items)
        rows = await self._read(lambda conn: conn.execute(_CHANGES, params).fetchall())
        if not rows:
            return ChangeBatch([], checkpoint)
        return ChangeBatch([loads(body) for body, _ in rows], str(rows[-1][1]))


def _parse_range(feed_range: str) -> int:
    suffix = feed_range.removeprefix(_RANGE_PREFIX) if isinstance(feed_range, str) else ""
    if feed_range == suffix or not suffix.isdigit() or int(suffix) >= sql.FEED_RANGES:
        raise InvalidQuery(f"unknown feed range {feed_range!r}")
    return int(suffix)


def _parse_checkpoint(checkpoint: str | None) -> int:
    if checkpoint is None:
        return 0
    if not isinstance(checkpoint, str) or not checkpoint.isdigit():
        raise InvalidQuery(f"malformed change-feed checkpoint {checkpoint!r}")
    return int(checkpoint)


def _next_version(version: Any) -> int:
    """Old ``_version`` + 1, a missing (or non-integer) version counting as 0."""
    return _version_or_zero(version) + 1


def _version_or_zero(version: Any) -> int:
    if isinstance(version, int) and not isinstance(version, bool):
        return version
    return 0
