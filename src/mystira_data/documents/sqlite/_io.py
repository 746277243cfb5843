"""Blocking SQLite plumbing for `SqliteDocumentStore`: connection threads and row writes.

The functions taking a ``Conn`` run inside a connection's own thread; the write helpers expect
to be called inside `transaction`, so a read-check-write is one atomic unit.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic_core import from_json

from mystira_data.documents.sqlite import _sql as sql
from mystira_data.errors import ConcurrencyConflict, InvalidDocument, NotFound, StoreUnavailable
from mystira_data.fields import STORE_MADE
from mystira_data.types import JsonDoc

T = TypeVar("T")
Conn = sqlite3.Connection

_SQLITE_BUSY, _SQLITE_LOCKED = 5, 6
_SELECT_ONE = "SELECT body, etag, deleted FROM documents WHERE container = ? AND pk = ? AND id = ?"
# json_extract gives JSON true/false as 1/0: json_type tells a boolean from a number.
_SELECT_VERSION = """SELECT CASE json_type(body, '$._version') WHEN 'integer'
    THEN json_extract(body, '$._version') END
    FROM documents WHERE container = ? AND pk = ? AND id = ?"""
_BUMP = "UPDATE containers SET lsn = lsn + 1 WHERE name = ? RETURNING lsn"
_WRITE = """INSERT INTO documents (container, pk, id, body, etag, ts, lsn, feed_range, deleted)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (container, pk, id) DO UPDATE SET body = excluded.body, etag = excluded.etag,
        ts = excluded.ts, lsn = excluded.lsn, deleted = excluded.deleted"""


class Threads:
    """A fixed set of threads, each owning one sqlite3 connection (opened on first use)."""

    def __init__(self, connect: Callable[[], Conn], threads: int, name: str) -> None:
        self._connect = connect
        self._executor = ThreadPoolExecutor(threads, thread_name_prefix=name)
        self._local = threading.local()
        self._conns: list[Conn] = []
        self._lock = threading.Lock()

    async def run(self, fn: Callable[[Conn], T]) -> T:
        loop = asyncio.get_running_loop()
        try:
            future = loop.run_in_executor(self._executor, self._call, fn)
        except RuntimeError as exc:  # close() shut the executor down under a late caller
            raise StoreUnavailable("sqlite store is closed") from exc
        return await future

    def _call(self, fn: Callable[[Conn], T]) -> T:
        conn: Conn | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
            with self._lock:
                self._conns.append(conn)
        return fn(conn)

    async def close(self) -> None:
        await asyncio.to_thread(self._shutdown)

    def _shutdown(self) -> None:
        # Wait for in-flight work (even of cancelled callers) before closing its connection.
        self._executor.shutdown(wait=True)
        with self._lock:
            for conn in self._conns:
                conn.close()
            self._conns.clear()


def loads(text: str | bytes) -> JsonDoc:
    """A stored body as a dict. pydantic-core's parser: the same values as ``json.loads``
    (big integers included) in about half the time, which bulk reads feel."""
    body: JsonDoc = from_json(text)
    return body


@dataclass(frozen=True)
class Key:
    container: str
    pk: str  # canonical JSON of the partition-key value
    id: str


@dataclass(frozen=True)
class Row:
    body: JsonDoc
    etag: str
    deleted: bool


def transaction(fn: Callable[[Conn], T], conn: Conn) -> T:
    """Run ``fn`` in one write transaction, taking the write lock up front (no upgrade races)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = fn(conn)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return result


def select(conn: Conn, key: Key) -> Row | None:
    row = conn.execute(_SELECT_ONE, (key.container, key.pk, key.id)).fetchone()
    if row is None:
        return None
    return Row(loads(row[0]), row[1], bool(row[2]))


def stored_version(conn: Conn, key: Key) -> Any:
    """The stored row's ``_version`` (tombstones too) as JSON holds it; None if no row."""
    row = conn.execute(_SELECT_VERSION, (key.container, key.pk, key.id)).fetchone()
    return None if row is None else row[0]


def live(conn: Conn, key: Key, if_match: str | None) -> Row:
    """The live row, or `NotFound`; `ConcurrencyConflict` if ``if_match`` is stale."""
    row = select(conn, key)
    if row is None or row.deleted:
        raise NotFound(key.container, key.id)
    if if_match is not None and if_match != row.etag:
        raise ConcurrencyConflict(f"{key.container}/{key.id}: etag {if_match} is stale")
    return row


def stored(conn: Conn, key: Key, if_match: str) -> Row:
    """The stored row (tombstones too) if it carries ``if_match``, else `ConcurrencyConflict`."""
    row = select(conn, key)
    if row is None or if_match != row.etag:
        raise ConcurrencyConflict(f"{key.container}/{key.id}: etag {if_match} is stale")
    return row


def put(conn: Conn, key: Key, doc: JsonDoc) -> JsonDoc:
    """Stamp a new etag, ``_ts`` and lsn and write the row (insert or overwrite)."""
    stored = {k: v for k, v in doc.items() if k not in STORE_MADE}
    stored["_etag"] = f'"{uuid.uuid4()}"'
    stored["_ts"] = int(time.time())
    try:
        # allow_nan=False: NaN is not JSON, and SQLite's JSON functions would choke on it.
        body = json.dumps(stored, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except ValueError as exc:
        raise InvalidDocument(f"not valid JSON: {exc}") from exc
    (lsn,) = conn.execute(_BUMP, (key.container,)).fetchone()
    conn.execute(
        _WRITE,
        (
            key.container,
            key.pk,
            key.id,
            body,
            stored["_etag"],
            stored["_ts"],
            lsn,
            sql.feed_range_of(key.pk),
            1 if stored.get("_deleted") is True else 0,
        ),
    )
    return stored


def is_busy(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (_SQLITE_BUSY, _SQLITE_LOCKED)
    return "locked" in str(exc) or "busy" in str(exc)
