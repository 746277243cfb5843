"""Schema migrations, run programmatically (Alembic, async engines, no alembic.ini on disk).

`upgrade`, `downgrade` and `current` take a database URL (``postgresql://…``,
``sqlite:///path``) or an engine the caller already has. The CLI's ``mystira db upgrade`` /
``mystira db current`` call these.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, event
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from mystira_data.errors import SchemaOutdated
from mystira_data.relational.engine import create_engine

MIGRATIONS = Path(__file__).with_name("migrations")


def config(connection: Connection | None = None) -> Config:
    """An Alembic config built in code; ``connection`` is handed to ``migrations/env.py``."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def head() -> str:
    """The newest revision this code knows."""
    revision = ScriptDirectory.from_config(config()).get_current_head()
    assert revision is not None
    return revision


def behind(found: str | None) -> bool:
    """True when ``found`` is older than this code's head (None: never migrated). A revision
    this code does not know is newer (migrated by newer code): not behind."""
    if found is None:
        return True
    scripts = ScriptDirectory.from_config(config())
    known = {rev.revision for rev in scripts.walk_revisions()}
    return found in known and found != head()


def require_head(engine: AsyncEngine) -> None:
    """Refuse connections (`SchemaOutdated`) while the schema is behind this code's head.

    Checked on each new connection until one passes: a process may start while the database
    is down, and learns the revision when it first connects. Only `upgrade` migrates.
    """
    needed = head()
    passed: list[str | None] = []

    @event.listens_for(engine.sync_engine, "connect")
    def _check(dbapi_connection: Any, _record: Any) -> None:
        if passed:
            return
        found = _revision(dbapi_connection)
        if behind(found):
            dbapi_connection.close()
            raise SchemaOutdated(found, needed)
        passed.append(found)


def _revision(dbapi_connection: Any) -> str | None:
    """The stored revision over a raw DBAPI connection (None: no version table)."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("SELECT version_num FROM alembic_version")
        row = cursor.fetchone()
    except Exception:  # no alembic_version table: never migrated
        row = None
    finally:
        cursor.close()
        dbapi_connection.rollback()  # end the transaction the driver began for the query
    return str(row[0]) if row else None


async def upgrade(target: str | URL | AsyncEngine, revision: str = "head") -> None:
    """Migrate up to ``revision`` (default: the newest)."""
    await _run(target, lambda conn: command.upgrade(config(conn), revision))


async def downgrade(target: str | URL | AsyncEngine, revision: str) -> None:
    """Migrate down to ``revision`` (``"base"`` removes every table the migrations made)."""
    await _run(target, lambda conn: command.downgrade(config(conn), revision))


async def current(target: str | URL | AsyncEngine) -> str | None:
    """The revision the database is at; None for a database never migrated."""
    result: list[str | None] = []

    def read(conn: Connection) -> None:
        result.append(MigrationContext.configure(conn).get_current_revision())

    await _run(target, read)
    return result[0]


async def _run(target: str | URL | AsyncEngine, fn: Callable[[Connection], None]) -> None:
    if isinstance(target, AsyncEngine):
        await _on(target, fn)
        return
    engine = create_engine(target, pool_size=1)
    try:
        await _on(engine, fn)
    finally:
        await engine.dispose()


async def _on(engine: AsyncEngine, fn: Callable[[Connection], None]) -> None:
    async with engine.connect() as conn:
        await conn.run_sync(fn)
        await conn.commit()
