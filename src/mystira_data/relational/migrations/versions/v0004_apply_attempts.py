"""Durable replication attempts: ``_polyglot_apply_attempts``, beside the dead letters.

A change the target store refuses is retried, and after a bound it goes to dead letters so
its range moves on. The count used to live in the replication processor's memory, which the
CLI builds anew every poll, so a poison change was retried forever. One row per refused
change, keyed by (container, direction, entity id, version): any process or poll that meets
the change again adds to the same count, and ``first_failed_at`` (the database's clock)
bounds how long a child waits for its missing parent. A table rather than columns on the
dead letters: most rows are short-lived (the change succeeds on a retry and its row is
deleted), and open dead letters must stay exactly the changes given up on.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from mystira_data.relational.types import Timestamp

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "_polyglot_apply_attempts"
NOW = sa.text("CURRENT_TIMESTAMP")


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("container", sa.String(100), primary_key=True),
        sa.Column("direction", sa.String(20), primary_key=True),
        sa.Column("entity_id", sa.String(255), primary_key=True),
        sa.Column("_version", sa.BigInteger, primary_key=True),
        sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("1")),
        sa.Column("first_failed_at", Timestamp, nullable=False, server_default=NOW),
        sa.Column("last_error", sa.Text),
        if_not_exists=True,
    )


def downgrade() -> None:
    op.drop_table(TABLE, if_exists=True)
