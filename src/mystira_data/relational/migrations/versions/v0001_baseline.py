"""Baseline: V001's tables and indexes and V002's foreign keys, created only where missing.

A database the C# app already migrated with V001/V002 passes through untouched (every table,
index and constraint is checked by name first); an empty one ends up identical. SQLite (the
embedded default) gets the same tables; its foreign keys must be declared inline because
SQLite cannot add constraints later.

The ``uuid-ossp`` extension V001 enables is left out: no column uses it, and creating an
extension needs privileges an application role often lacks.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.schema import SchemaItem

from mystira_data.relational.types import Elapsed, Json, Timestamp

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOW = sa.text("CURRENT_TIMESTAMP")
ARRAY = sa.text("'[]'")
OBJECT = sa.text("'{}'")


def _accounts() -> list[SchemaItem]:
    return [
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("external_user_id", sa.String(256)),
        sa.Column("email", sa.String(256), nullable=False),
        sa.Column("display_name", sa.String(256)),
        sa.Column("role", sa.String(50), server_default=sa.text("'Guest'")),
        sa.Column("user_profile_ids", Json, server_default=ARRAY),
        sa.Column("completed_scenario_ids", Json, server_default=ARRAY),
        sa.Column("subscription", Json, server_default=OBJECT),
        sa.Column("settings", Json, server_default=OBJECT),
        sa.Column("created_at", Timestamp, server_default=NOW),
        sa.Column("last_login_at", Timestamp),
    ]


def _game_sessions() -> list[SchemaItem]:
    return [
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("scenario_id", sa.String(36), nullable=False),
        sa.Column("account_id", sa.String(36), nullable=False),
        sa.Column("profile_id", sa.String(36)),
        sa.Column("status", sa.String(20), server_default=sa.text("'NotStarted'")),
        sa.Column("current_scene_id", sa.String(100)),
        sa.Column("player_names", Json, server_default=ARRAY),
        sa.Column("choice_history", Json, server_default=ARRAY),
        sa.Column("echo_history", Json, server_default=ARRAY),
        sa.Column("compass_values", Json, server_default=OBJECT),
        sa.Column("player_compass_progress_totals", Json, server_default=ARRAY),
        sa.Column("achievements", Json, server_default=ARRAY),
        sa.Column("character_assignments", Json, server_default=ARRAY),
        sa.Column("start_time", Timestamp),
        sa.Column("end_time", Timestamp),
        sa.Column("elapsed_time", Elapsed),
        sa.Column("is_paused", sa.Boolean, server_default=sa.false()),
        sa.Column("paused_at", Timestamp),
        sa.Column("scene_count", sa.Integer, server_default=sa.text("0")),
        sa.Column("target_age_group", sa.String(20)),
        sa.Column("selected_character_id", sa.String(100)),
    ]


def _player_scenario_scores() -> list[SchemaItem]:
    return [
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("profile_id", sa.String(36), nullable=False),
        sa.Column("scenario_id", sa.String(36), nullable=False),
        sa.Column("game_session_id", sa.String(36)),
        sa.Column("axis_scores", Json, server_default=OBJECT),
        sa.Column("created_at", Timestamp, server_default=NOW),
    ]


def _sync_log() -> list[SchemaItem]:
    return [
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("entity_type", sa.String(100), nullable=False),
        sa.Column("entity_id", sa.String(36), nullable=False),
        sa.Column("operation", sa.String(20), nullable=False),
        sa.Column("source_backend", sa.String(20), nullable=False),
        sa.Column("sync_status", sa.String(20), server_default=sa.text("'pending'")),
        sa.Column("cosmos_timestamp", Timestamp),
        sa.Column("postgres_timestamp", Timestamp, server_default=NOW),
        sa.Column("error_message", sa.Text),
        sa.Column("retry_count", sa.Integer, server_default=sa.text("0")),
        sa.Column("created_at", Timestamp, server_default=NOW),
    ]


# (name, table, columns, unique)
INDEXES: tuple[tuple[str, str, tuple[str, ...], bool], ...] = (
    ("ix_accounts_email", "accounts", ("email",), True),
    ("ix_accounts_external_user_id", "accounts", ("external_user_id",), False),
    ("ix_accounts_created_at", "accounts", ("created_at",), False),
    ("ix_game_sessions_account_id", "game_sessions", ("account_id",), False),
    ("ix_game_sessions_profile_id", "game_sessions", ("profile_id",), False),
    ("ix_game_sessions_scenario_id", "game_sessions", ("scenario_id",), False),
    ("ix_game_sessions_status", "game_sessions", ("status",), False),
    ("ix_game_sessions_start_time", "game_sessions", ("start_time",), False),
    ("ix_game_sessions_account_status", "game_sessions", ("account_id", "status"), False),
    ("ix_player_scenario_scores_profile_id", "player_scenario_scores", ("profile_id",), False),
    ("ix_player_scenario_scores_scenario_id", "player_scenario_scores", ("scenario_id",), False),
    (
        "uix_player_scenario_scores_profile_scenario",
        "player_scenario_scores",
        ("profile_id", "scenario_id"),
        True,
    ),
    ("ix_player_scenario_scores_created_at", "player_scenario_scores", ("created_at",), False),
    ("ix_polyglot_sync_log_status", "_polyglot_sync_log", ("sync_status",), False),
    ("ix_polyglot_sync_log_entity", "_polyglot_sync_log", ("entity_type", "entity_id"), False),
)

# (name, table, column, parent table, on delete) — V002; both cascade on update.
FOREIGN_KEYS: tuple[tuple[str, str, str, str, str], ...] = (
    ("fk_game_sessions_account", "game_sessions", "account_id", "accounts", "CASCADE"),
    (
        "fk_player_scores_game_session",
        "player_scenario_scores",
        "game_session_id",
        "game_sessions",
        "SET NULL",
    ),
)


def _inline_foreign_keys(table: str) -> list[SchemaItem]:
    return [
        sa.ForeignKeyConstraint(
            [column], [f"{parent}.id"], name=name, ondelete=on_delete, onupdate="CASCADE"
        )
        for name, child, column, parent, on_delete in FOREIGN_KEYS
        if child == table
    ]


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    tables = {
        "accounts": _accounts,
        "game_sessions": _game_sessions,
        "player_scenario_scores": _player_scenario_scores,
        "_polyglot_sync_log": _sync_log,
    }
    for name, columns in tables.items():
        inline = _inline_foreign_keys(name) if sqlite else []
        op.create_table(name, *columns(), *inline, if_not_exists=True)
    for index, table, cols, unique in INDEXES:
        op.create_index(index, table, list(cols), unique=unique, if_not_exists=True)
    if not sqlite:
        _add_missing_foreign_keys()


def _add_missing_foreign_keys() -> None:
    inspector = sa.inspect(op.get_bind())
    for name, child, column, parent, on_delete in FOREIGN_KEYS:
        existing = {fk["name"] for fk in inspector.get_foreign_keys(child)}
        if name not in existing:
            op.create_foreign_key(
                name, child, parent, [column], ["id"], ondelete=on_delete, onupdate="CASCADE"
            )


def downgrade() -> None:
    for table in ("player_scenario_scores", "game_sessions", "accounts", "_polyglot_sync_log"):
        op.drop_table(table, if_exists=True)
