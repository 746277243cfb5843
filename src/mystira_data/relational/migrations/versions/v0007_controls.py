"""Operator controls over replication and backfill (``_polyglot_controls``).

One row per (container, task), task ``replication`` or ``backfill``: paused, the rate limit
(documents per second), the replication lag above which backfill waits, batch size and
concurrency overrides, why and by whom; and the live state the running workers report
(``state``, written every few seconds by ``state_by`` at ``state_at``).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from mystira_data.relational.types import Timestamp

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOW = sa.text("CURRENT_TIMESTAMP")


def upgrade() -> None:
    op.create_table(
        "_polyglot_controls",
        sa.Column("container", sa.String(100), primary_key=True),
        sa.Column("task", sa.String(20), primary_key=True),
        sa.Column("paused", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("rate_limit", sa.Float),
        sa.Column("max_lag_seconds", sa.Float),
        sa.Column("batch_size", sa.Integer),
        sa.Column("concurrency", sa.Integer),
        sa.Column("reason", sa.Text),
        sa.Column("updated_by", sa.String(255)),
        sa.Column("updated_at", Timestamp, nullable=False, server_default=NOW),
        sa.Column("state", sa.String(255)),
        sa.Column("state_by", sa.String(255)),
        sa.Column("state_at", Timestamp),
    )


def downgrade() -> None:
    op.drop_table("_polyglot_controls")
