"""Backfill and verify runs shared by many workers.

* ``_polyglot_runs``: one row per run (kind, container, direction, status, lease TTL, the
  verify's pinned log position, the transient state such as "throttled: 429", the shared
  request-budget clock, the aggregated report).
* ``_polyglot_run_segments``: the run's id ranges, each leased to one worker with a fencing
  token and checkpointed (last id done, counts, a verify's differences) after each page.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from mystira_data.relational.types import Json, Timestamp

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOW = sa.text("CURRENT_TIMESTAMP")
ZERO = sa.text("0")


def upgrade() -> None:
    op.create_table(
        "_polyglot_runs",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("container", sa.String(100), nullable=False),
        sa.Column("direction", sa.String(100), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("lease_ttl_s", sa.Float, nullable=False),
        sa.Column("position", Json),
        sa.Column("state", sa.String(100)),
        sa.Column("state_until", Timestamp),
        sa.Column("throttled", sa.BigInteger, nullable=False, server_default=ZERO),
        sa.Column("budget_next_us", sa.BigInteger, nullable=False, server_default=ZERO),
        sa.Column("report", Json),
        sa.Column("created_at", Timestamp, nullable=False, server_default=NOW),
        sa.Column("finished_at", Timestamp),
    )
    op.create_table(
        "_polyglot_run_segments",
        sa.Column(
            "run_id",
            sa.String(40),
            sa.ForeignKey("_polyglot_runs.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("after_id", sa.Text),
        sa.Column("upto_id", sa.Text),
        sa.Column("total", sa.BigInteger, nullable=False, server_default=ZERO),
        sa.Column("owner", sa.String(255)),
        sa.Column("lease_expires_at", Timestamp),
        sa.Column("lease_token", sa.BigInteger, nullable=False, server_default=ZERO),
        sa.Column("checkpoint", sa.Text),
        sa.Column("docs_read", sa.BigInteger, nullable=False, server_default=ZERO),
        sa.Column("docs_written", sa.BigInteger, nullable=False, server_default=ZERO),
        sa.Column("compared", sa.BigInteger, nullable=False, server_default=ZERO),
        sa.Column("differences", sa.BigInteger, nullable=False, server_default=ZERO),
        sa.Column("quarantined", sa.BigInteger, nullable=False, server_default=ZERO),
        sa.Column("diffs", Json),
        sa.Column("done", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("updated_at", Timestamp, nullable=False, server_default=NOW),
    )


def downgrade() -> None:
    op.drop_table("_polyglot_run_segments")
    op.drop_table("_polyglot_runs")
