"""Async engines for the relational store: URL normalisation, drivers, connection settings.

``postgresql://`` URLs get the async driver we chose (`PG_DRIVER`; an explicit
``postgresql+psycopg://`` or ``postgresql+asyncpg://`` is respected). ``sqlite:///path`` URLs
get aiosqlite, foreign keys on, WAL, and ``BEGIN IMMEDIATE`` for write transactions.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from mystira_data.errors import ConfigError

# asyncpg is the default: every polyglot, fault and reliability test runs on it. On the bulk
# path (benchmarks/relational_bulk.py, 200k sessions) psycopg 3 now measures faster (6,035 vs
# 4,260 rows/s; raw COPY is even), so it stays selectable per URL or argument.
PG_DRIVER = "asyncpg"
PG_DRIVERS = ("asyncpg", "psycopg")
SETTING_KEY = "ConnectionStrings:PostgreSql"
READ_ONLY = "mystira_read_only"  # execution option: SQLite reads need no write lock


def dumps(value: Any) -> str:
    """JSON for JSON/JSONB columns: compact, unicode kept, NaN refused (not JSON)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def async_url(url: str | URL, *, driver: str | None = None) -> URL:
    """``url`` with an async driver; `ConfigError` for anything but PostgreSQL or SQLite."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(SETTING_KEY, "not a database URL") from exc
    backend = parsed.get_backend_name()
    if backend in ("postgresql", "postgres"):
        given = parsed.get_driver_name() if "+" in parsed.drivername else None
        chosen = driver or (given if given in PG_DRIVERS else PG_DRIVER)
        if chosen not in PG_DRIVERS:
            raise ConfigError(SETTING_KEY, f"driver must be one of {PG_DRIVERS}")
        return _ssl_for(parsed.set(drivername=f"postgresql+{chosen}"), chosen)
    if backend == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise ConfigError(SETTING_KEY, "the SQLite relational store needs a file path")
        return parsed.set(drivername="sqlite+aiosqlite")
    raise ConfigError(SETTING_KEY, f"unsupported database {backend!r} (postgresql or sqlite)")


def _ssl_for(url: URL, driver: str) -> URL:
    """libpq spells the TLS mode ``sslmode``; asyncpg takes the same values as ``ssl``."""
    if driver != "asyncpg" or "sslmode" not in url.query:
        return url
    mode = url.query["sslmode"]
    return url.difference_update_query(["sslmode"]).update_query_dict({"ssl": mode})


def create_engine(
    url: str | URL,
    *,
    driver: str | None = None,
    pool_size: int = 10,
    connect_timeout_s: float = 10.0,
) -> AsyncEngine:
    """An engine for ``url``; nothing connects until first use."""
    target = async_url(url, driver=driver)
    if target.get_backend_name() == "sqlite":
        return _sqlite_engine(target)
    return create_async_engine(
        target,
        pool_size=pool_size,
        max_overflow=pool_size,
        # No ping on checkout: on asyncpg it is three round trips (BEGIN, ";", ROLLBACK),
        # which doubled the cost of a small transaction. After a server restart the first
        # use of a dead pooled connection fails as a disconnect, which makes SQLAlchemy
        # discard every connection pooled before it; the caller's retry policy (or the
        # replicator's next poll) then runs on a fresh one.
        pool_pre_ping=False,
        json_serializer=dumps,
        connect_args=_pg_connect_args(target.get_driver_name(), connect_timeout_s),
    )


def _pg_connect_args(driver: str, timeout_s: float) -> dict[str, Any]:
    # Sessions in UTC: timestamptz values then come back as UTC whatever the server default,
    # and the extreme datetimes the domain allows (year 1, 9999) never overflow a local offset.
    # temp_buffers: a bulk batch's staging table (~10 MB for 5000 sessions) stays in memory
    # instead of spilling at the 8 MB default; it is only allocated when temp tables are used.
    settings = {"timezone": "UTC", "temp_buffers": "32MB"}
    if driver == "asyncpg":
        return {
            "timeout": timeout_s,
            "server_settings": {**settings, "application_name": "mystira-data"},
        }
    return {
        "connect_timeout": max(1, int(timeout_s)),
        "options": " ".join(f"-c {k}={v}" for k, v in settings.items()),
        "application_name": "mystira-data",
    }


def _sqlite_engine(target: URL) -> AsyncEngine:
    assert target.database is not None
    Path(target.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(target, json_serializer=dumps, connect_args={"timeout": 30.0})

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Autocommit at the driver level; transactions are begun explicitly below, so that
        # writers take the lock up front instead of failing on a read-to-write upgrade.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in ("foreign_keys = ON", "journal_mode = WAL", "synchronous = NORMAL"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        read_only = conn.get_execution_options().get(READ_ONLY, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine
