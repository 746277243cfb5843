"""Operator console sessions (``_console_sessions``).

A console login exchanges an operator's API key for a random session token in an HttpOnly
cookie. Only the token's SHA-256 hash is kept, with the key id it stands for (the key is
checked on every request, so revoking it ends its sessions) and the session's CSRF token.
Kept in the relational store so every worker and host of `mystira serve` knows a session.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from mystira_data.relational.types import Timestamp

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOW = sa.text("CURRENT_TIMESTAMP")


def upgrade() -> None:
    op.create_table(
        "_console_sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False, server_default=NOW),
        sa.Column("expires_at", Timestamp, nullable=False),
    )
    op.create_index("ix_console_sessions_expires_at", "_console_sessions", ["expires_at"])


def downgrade() -> None:
    op.drop_table("_console_sessions")
