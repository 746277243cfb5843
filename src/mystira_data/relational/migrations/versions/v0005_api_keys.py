"""The HTTP service's shared state: API keys (``_api_keys``) and admin jobs (``_api_jobs``).

Keys live in the relational store so every worker and host of `mystira serve` sees a key made
or revoked by any of them (each caches a lookup for at most a second). Only a SHA-256 hash of
a key is kept, with a short non-secret key id for lookup and display. Jobs (verify, repair,
backfill started over the admin API) keep their state and progress here, so any instance
answers `GET /admin/v1/jobs/{id}`.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from mystira_data.relational.types import Json, Timestamp

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOW = sa.text("CURRENT_TIMESTAMP")


def upgrade() -> None:
    op.create_table(
        "_api_keys",
        sa.Column("key_id", sa.String(32), primary_key=True),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("account_id", sa.String(36)),
        sa.Column("label", sa.String(200)),
        sa.Column("created_at", Timestamp, nullable=False, server_default=NOW),
        sa.Column("revoked_at", Timestamp),
        if_not_exists=True,
    )
    op.create_table(
        "_api_jobs",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("container", sa.String(100)),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("progress", Json),
        sa.Column("result", Json),
        sa.Column("error", sa.Text),
        sa.Column("started_by", sa.String(32)),
        sa.Column("created_at", Timestamp, nullable=False, server_default=NOW),
        sa.Column("updated_at", Timestamp, nullable=False, server_default=NOW),
        if_not_exists=True,
    )


def downgrade() -> None:
    op.drop_table("_api_jobs", if_exists=True)
    op.drop_table("_api_keys", if_exists=True)
