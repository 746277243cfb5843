"""Polyglot bookkeeping: version/tombstone columns on the entity tables and our own tables.

Rows the C# app wrote before this migration get ``_version = 0``, so any versioned write from
the document store wins over them in a version-guarded merge.

On PostgreSQL each entity table also gets an index on ``id COLLATE "C"``: continuation paging
orders ids by code point, as Cosmos DB and the SQLite document store do, and the primary-key
index follows the database's collation, which is often a natural-language one.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.schema import SchemaItem

from mystira_data.relational.types import Json, Timestamp, big_serial

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOW = sa.text("CURRENT_TIMESTAMP")
ENTITY_TABLES = ("accounts", "game_sessions", "player_scenario_scores")


def _system_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("_version", sa.BigInteger, nullable=False, server_default=sa.text("0")),
        sa.Column("_deleted", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("_updated_at", Timestamp, nullable=False, server_default=NOW),
        sa.Column("_extra", Json, nullable=False, server_default=sa.text("'{}'")),
    ]


def _outbox() -> list[SchemaItem]:
    return [
        sa.Column("id", big_serial(), primary_key=True, autoincrement=True),
        sa.Column("container", sa.String(100), nullable=False),
        sa.Column("entity_id", sa.String(255), nullable=False),
        sa.Column("partition_key", sa.String(255), nullable=False),
        sa.Column("_version", sa.BigInteger, nullable=False),
        sa.Column("operation", sa.String(20), nullable=False),
        sa.Column("payload", Json),
        sa.Column("created_at", Timestamp, nullable=False, server_default=NOW),
        sa.Column("relayed_at", Timestamp),
        sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("last_error", sa.Text),
    ]


def _leases() -> list[SchemaItem]:
    return [
        sa.Column("container", sa.String(100), primary_key=True),
        sa.Column("feed_range", sa.String(255), primary_key=True),
        sa.Column("owner", sa.String(255)),
        sa.Column("lease_expires_at", Timestamp),
        sa.Column("checkpoint", sa.Text),
        sa.Column("lease_token", sa.BigInteger, nullable=False, server_default=sa.text("0")),
        sa.Column("updated_at", Timestamp, nullable=False, server_default=NOW),
    ]


def _phase() -> list[SchemaItem]:
    return [
        sa.Column("container", sa.String(100), primary_key=True),
        sa.Column("phase", sa.String(40), nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False, server_default=sa.text("1")),
        sa.Column("updated_at", Timestamp, nullable=False, server_default=NOW),
        sa.Column("updated_by", sa.String(255)),
    ]


def _phase_history() -> list[SchemaItem]:
    return [
        sa.Column("id", big_serial(), primary_key=True, autoincrement=True),
        sa.Column("container", sa.String(100), nullable=False),
        sa.Column("from_phase", sa.String(40)),
        sa.Column("to_phase", sa.String(40), nullable=False),
        sa.Column("at", Timestamp, nullable=False, server_default=NOW),
        sa.Column("reason", sa.Text),
        sa.Column("forced", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("actor", sa.String(255)),
    ]


def _dead_letters() -> list[SchemaItem]:
    return [
        sa.Column("id", big_serial(), primary_key=True, autoincrement=True),
        sa.Column("container", sa.String(100), nullable=False),
        sa.Column("entity_id", sa.String(255), nullable=False),
        sa.Column("partition_key", sa.String(255)),
        sa.Column("_version", sa.BigInteger),
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("operation", sa.String(20)),
        sa.Column("payload", Json),
        sa.Column("error", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("1")),
        sa.Column("created_at", Timestamp, nullable=False, server_default=NOW),
        sa.Column("resolved_at", Timestamp),
    ]


def _verify_runs() -> list[SchemaItem]:
    zero = sa.text("0")
    return [
        sa.Column("id", big_serial(), primary_key=True, autoincrement=True),
        sa.Column("container", sa.String(100), nullable=False),
        sa.Column("started_at", Timestamp, nullable=False, server_default=NOW),
        sa.Column("finished_at", Timestamp),
        sa.Column("primary_store", sa.String(40)),
        sa.Column("secondary_store", sa.String(40)),
        sa.Column("scanned", sa.BigInteger, nullable=False, server_default=zero),
        sa.Column("missing", sa.BigInteger, nullable=False, server_default=zero),
        sa.Column("extra", sa.BigInteger, nullable=False, server_default=zero),
        sa.Column("different", sa.BigInteger, nullable=False, server_default=zero),
        sa.Column("clean", sa.Boolean),
        sa.Column("report", Json),
        sa.Column("error", sa.Text),
    ]


TABLES = {
    "_polyglot_outbox": _outbox,
    "_polyglot_leases": _leases,
    "_polyglot_phase": _phase,
    "_polyglot_phase_history": _phase_history,
    "_polyglot_dead_letters": _dead_letters,
    "_polyglot_verify_runs": _verify_runs,
}

PENDING = sa.text("relayed_at IS NULL")
OPEN = sa.text("resolved_at IS NULL")


def upgrade() -> None:
    _add_system_columns()
    for name, columns in TABLES.items():
        op.create_table(name, *columns(), if_not_exists=True)
    op.create_index(
        "ix_polyglot_outbox_pending",
        "_polyglot_outbox",
        ["id"],
        if_not_exists=True,
        postgresql_where=PENDING,
        sqlite_where=PENDING,
    )
    op.create_index(
        "ix_polyglot_outbox_entity",
        "_polyglot_outbox",
        ["container", "entity_id"],
        if_not_exists=True,
    )
    op.create_index(
        "ix_polyglot_phase_history_container_at",
        "_polyglot_phase_history",
        ["container", "at"],
        if_not_exists=True,
    )
    op.create_index(
        "ix_polyglot_dead_letters_open",
        "_polyglot_dead_letters",
        ["container", "id"],
        if_not_exists=True,
        postgresql_where=OPEN,
        sqlite_where=OPEN,
    )
    op.create_index(
        "ix_polyglot_verify_runs_container_started",
        "_polyglot_verify_runs",
        ["container", "started_at"],
        if_not_exists=True,
    )
    if op.get_bind().dialect.name == "postgresql":
        for table in ENTITY_TABLES:
            # Identifiers are our constants; CREATE INDEX cannot take them as parameters.
            op.execute(f'CREATE INDEX IF NOT EXISTS ix_{table}_id_c ON {table} (id COLLATE "C")')


def _add_system_columns() -> None:
    inspector = sa.inspect(op.get_bind())
    for table in ENTITY_TABLES:
        present = {c["name"] for c in inspector.get_columns(table)}
        for column in _system_columns():
            if column.name not in present:
                op.add_column(table, column)


def downgrade() -> None:
    for name in reversed(TABLES):
        op.drop_table(name, if_exists=True)
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table in ENTITY_TABLES:
        if not sqlite:
            op.execute(f"DROP INDEX IF EXISTS ix_{table}_id_c")
        for column in _system_columns():
            # Plain ALTER TABLE ... DROP COLUMN: SQLite supports it since 3.35 for columns
            # without indexes or constraints, which ours are.
            op.execute(f"ALTER TABLE {table} DROP COLUMN {column.name}")
