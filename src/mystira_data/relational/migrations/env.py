"""Alembic environment for the relational store.

Migrations run programmatically (`mystira_data.relational.migrate`), which hands over an open
connection in ``config.attributes["connection"]``; no alembic.ini or URL is read here.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

# Any constant works; it only has to be the same for every instance running migrations.
_MIGRATION_LOCK = 0x6D79_7374_6972_61  # "mystira"

connection = context.config.attributes.get("connection")
if connection is None or context.is_offline_mode():
    raise RuntimeError("run migrations through mystira_data.relational.migrate (online only)")

context.configure(connection=connection, target_metadata=None)

with context.begin_transaction():
    if connection.dialect.name == "postgresql":
        # Several app instances may start at once; one migrates, the others wait and find
        # nothing left to do. Released at commit.
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
    context.run_migrations()
