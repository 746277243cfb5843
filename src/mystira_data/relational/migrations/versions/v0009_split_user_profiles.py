"""UserProfiles split (core in ``user_profiles``, earned badges in ``user_badges``), and
AvatarConfigurationFiles as rows (``avatar_configuration_files`` and one
``avatar_configuration_avatars`` row per age group and avatar id).

Only the relational core of a profile lives here (id, account, name, age group, date of
birth, guest/NPC flags, onboarding, timestamps); preferences, avatars, pronouns and bio stay
in the document store. ``user_profiles.account_id`` cascades from ``accounts`` as game
sessions do; ``user_badges`` holds one row per earned badge, unique per profile and badge
configuration, and cascades from its profile. V001/V002's tables are untouched.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from mystira_data.relational.types import Json, Timestamp

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOW = sa.text("CURRENT_TIMESTAMP")


def upgrade() -> None:
    op.create_table(
        "user_profiles",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("account_id", sa.String(36)),
        sa.Column("name", sa.Text),
        sa.Column("age_group", sa.String(20)),
        sa.Column("date_of_birth", Timestamp),
        sa.Column("is_guest", sa.Boolean, server_default=sa.false()),
        sa.Column("is_npc", sa.Boolean, server_default=sa.false()),
        sa.Column("has_completed_onboarding", sa.Boolean, server_default=sa.false()),
        sa.Column("created_at", Timestamp, server_default=NOW),
        sa.Column("updated_at", Timestamp, server_default=NOW),
        sa.Column("_version", sa.BigInteger, nullable=False, server_default=sa.text("0")),
        sa.Column("_deleted", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("_updated_at", Timestamp, nullable=False, server_default=NOW),
        sa.Column("_extra", Json, nullable=False, server_default=sa.text("'{}'")),
        # Inline, so SQLite (which cannot add one later) gets it too.
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name="fk_user_profiles_account",
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
    )
    op.create_index("ix_user_profiles_account_id", "user_profiles", ["account_id"])
    op.create_table(
        "user_badges",
        sa.Column("user_profile_id", sa.String(36), primary_key=True),
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("badge_configuration_id", sa.Text, nullable=False),
        sa.Column("badge_id", sa.Text),
        sa.Column("badge_name", sa.Text, nullable=False),
        sa.Column("badge_message", sa.Text, nullable=False),
        sa.Column("axis", sa.Text, nullable=False),
        sa.Column("trigger_value", sa.Double, nullable=False),
        sa.Column("threshold", sa.Double, nullable=False),
        sa.Column("earned_at", Timestamp, nullable=False),
        sa.Column("game_session_id", sa.Text),
        sa.Column("scenario_id", sa.Text),
        sa.Column("image_id", sa.Text, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_profile_id"],
            ["user_profiles.id"],
            name="fk_user_badges_user_profile",
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
    )
    op.create_index(
        "uix_user_badges_profile_configuration",
        "user_badges",
        ["user_profile_id", "badge_configuration_id"],
        unique=True,
    )

    _avatar_configuration()


def _avatar_configuration() -> None:
    op.create_table(
        "avatar_configuration_files",
        sa.Column("id", sa.String(255), primary_key=True),
        sa.Column("created_at", Timestamp, server_default=NOW),
        sa.Column("updated_at", Timestamp, server_default=NOW),
        sa.Column("version", sa.Text),
        sa.Column("_version", sa.BigInteger, nullable=False, server_default=sa.text("0")),
        sa.Column("_deleted", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("_updated_at", Timestamp, nullable=False, server_default=NOW),
        sa.Column("_extra", Json, nullable=False, server_default=sa.text("'{}'")),
    )
    op.create_table(
        "avatar_configuration_avatars",
        sa.Column("file_id", sa.String(255), primary_key=True),
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("position", sa.Integer, primary_key=True),
        sa.Column("value", sa.Text),
        sa.ForeignKeyConstraint(
            ["file_id"],
            ["avatar_configuration_files.id"],
            name="fk_avatar_configuration_avatars_file",
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
    )


def downgrade() -> None:
    op.drop_table("avatar_configuration_avatars")
    op.drop_table("avatar_configuration_files")
    op.drop_table("user_badges")
    op.drop_table("user_profiles")
