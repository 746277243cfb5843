"""Evidence-gated phase moves and the audit log.

* ``_audit_log``: append-only record of every phase move (forced or not), pause/resume,
  repair and API key change: who, when, why, and the gate evidence at that moment.
* ``_polyglot_evidence``: shadow-read comparisons and store-call outcomes, flushed by every
  serving process as deltas, so a `phase set` in another process sees them.
* ``_polyglot_verify_runs.position``: where a verify started in the logs (the verify gate
  needs a clean verify taken at or after the move that began the current phase).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from mystira_data.relational.types import Json, Timestamp, big_serial

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOW = sa.text("CURRENT_TIMESTAMP")


def upgrade() -> None:
    with op.batch_alter_table("_polyglot_verify_runs") as batch:
        batch.add_column(sa.Column("position", Json))
    op.create_table(
        "_polyglot_evidence",
        sa.Column("id", big_serial(), primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("container", sa.String(100), nullable=False),
        sa.Column("phase", sa.String(40)),
        sa.Column("store", sa.String(20), nullable=False),
        sa.Column("ok", sa.BigInteger, nullable=False, server_default=sa.text("0")),
        sa.Column("failed", sa.BigInteger, nullable=False, server_default=sa.text("0")),
        sa.Column("at", Timestamp, nullable=False, server_default=NOW),
    )
    op.create_index(
        "ix_polyglot_evidence_kind_container_at",
        "_polyglot_evidence",
        ["kind", "container", "at"],
    )
    op.create_table(
        "_audit_log",
        sa.Column("id", big_serial(), primary_key=True, autoincrement=True),
        sa.Column("at", Timestamp, nullable=False, server_default=NOW),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("container", sa.String(100)),
        sa.Column("reason", sa.Text),
        sa.Column("forced", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("detail", Json),
        sa.Column("evidence", Json),
    )
    op.create_index("ix_audit_log_container_id", "_audit_log", ["container", "id"])


def downgrade() -> None:
    op.drop_table("_audit_log")
    op.drop_table("_polyglot_evidence")
    with op.batch_alter_table("_polyglot_verify_runs") as batch:
        batch.drop_column("position")
