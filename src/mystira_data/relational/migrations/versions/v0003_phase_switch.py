"""Scheduled, fenced phase switches: the pending-switch columns of ``_polyglot_phase``.

A switch that changes a container's primary store is first saved as pending (target, the
moment writes pause, when it expires, whether it was abandoned) and flipped later; see
``polyglot/control.py``. Existing rows get no pending switch.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from mystira_data.relational.types import Timestamp

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "_polyglot_phase"


def _columns() -> list[sa.Column[object]]:
    return [
        sa.Column("pending_phase", sa.String(40)),
        sa.Column("pending_fence_at", Timestamp),
        sa.Column("pending_expires_at", Timestamp),
        sa.Column("pending_abandoned", sa.Boolean, nullable=False, server_default=sa.false()),
    ]


def upgrade() -> None:
    present = {c["name"] for c in sa.inspect(op.get_bind()).get_columns(TABLE)}
    for column in _columns():
        if column.name not in present:
            op.add_column(TABLE, column)


def downgrade() -> None:
    for column in reversed(_columns()):
        # Plain ALTER TABLE ... DROP COLUMN, as in 0002: fine on SQLite >= 3.35 for columns
        # without indexes or constraints.
        op.execute(f"ALTER TABLE {TABLE} DROP COLUMN {column.name}")
