"""The relational schema as SQLAlchemy Core tables (what the store reads and writes).

The entity tables keep V001's names, column types, constraints and indexes, and V002's foreign
keys, so a database the C# app created works unchanged. Our additions:

* on every entity table: ``_version`` (the polyglot version guard), ``_deleted`` (tombstone,
  so deletes replicate), ``_updated_at`` (last write) and ``_extra`` (JSON object holding model
  fields V001 has no column for, so the entity <-> row mapping is lossless);
* the ``_polyglot_*`` tables: transactional outbox, V001's sync log, replication leases and
  checkpoints, the phase-control record and its history, dead letters and verify runs.

The DDL itself lives in the migrations (``relational/migrations``); a test compares the two.
"""

from __future__ import annotations

import sqlalchemy as sa

from mystira_data.relational.types import Elapsed, Json, Timestamp, big_serial

metadata = sa.MetaData()

NOW = sa.text("CURRENT_TIMESTAMP")
EMPTY_ARRAY = sa.text("'[]'")
EMPTY_OBJECT = sa.text("'{}'")

SYSTEM_COLUMNS = ("_version", "_deleted", "_updated_at", "_extra")


def _system_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("_version", sa.BigInteger, nullable=False, server_default=sa.text("0")),
        sa.Column("_deleted", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("_updated_at", Timestamp, nullable=False, server_default=NOW),
        sa.Column("_extra", Json, nullable=False, server_default=EMPTY_OBJECT),
    ]


accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("external_user_id", sa.String(256)),
    sa.Column("email", sa.String(256), nullable=False),
    sa.Column("display_name", sa.String(256)),
    sa.Column("role", sa.String(50), server_default=sa.text("'Guest'")),
    sa.Column("user_profile_ids", Json, server_default=EMPTY_ARRAY),
    sa.Column("completed_scenario_ids", Json, server_default=EMPTY_ARRAY),
    sa.Column("subscription", Json, server_default=EMPTY_OBJECT),
    sa.Column("settings", Json, server_default=EMPTY_OBJECT),
    sa.Column("created_at", Timestamp, server_default=NOW),
    sa.Column("last_login_at", Timestamp),
    *_system_columns(),
    sa.Index("ix_accounts_email", "email", unique=True),
    sa.Index("ix_accounts_external_user_id", "external_user_id"),
    sa.Index("ix_accounts_created_at", "created_at"),
)

game_sessions = sa.Table(
    "game_sessions",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("scenario_id", sa.String(36), nullable=False),
    sa.Column(
        "account_id",
        sa.String(36),
        sa.ForeignKey(
            "accounts.id",
            name="fk_game_sessions_account",
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
        nullable=False,
    ),
    sa.Column("profile_id", sa.String(36)),
    sa.Column("status", sa.String(20), server_default=sa.text("'NotStarted'")),
    sa.Column("current_scene_id", sa.String(100)),
    sa.Column("player_names", Json, server_default=EMPTY_ARRAY),
    sa.Column("choice_history", Json, server_default=EMPTY_ARRAY),
    sa.Column("echo_history", Json, server_default=EMPTY_ARRAY),
    sa.Column("compass_values", Json, server_default=EMPTY_OBJECT),
    sa.Column("player_compass_progress_totals", Json, server_default=EMPTY_ARRAY),
    sa.Column("achievements", Json, server_default=EMPTY_ARRAY),
    sa.Column("character_assignments", Json, server_default=EMPTY_ARRAY),
    sa.Column("start_time", Timestamp),
    sa.Column("end_time", Timestamp),
    sa.Column("elapsed_time", Elapsed),
    sa.Column("is_paused", sa.Boolean, server_default=sa.false()),
    sa.Column("paused_at", Timestamp),
    sa.Column("scene_count", sa.Integer, server_default=sa.text("0")),
    sa.Column("target_age_group", sa.String(20)),
    sa.Column("selected_character_id", sa.String(100)),
    *_system_columns(),
    sa.Index("ix_game_sessions_account_id", "account_id"),
    sa.Index("ix_game_sessions_profile_id", "profile_id"),
    sa.Index("ix_game_sessions_scenario_id", "scenario_id"),
    sa.Index("ix_game_sessions_status", "status"),
    sa.Index("ix_game_sessions_start_time", "start_time"),
    sa.Index("ix_game_sessions_account_status", "account_id", "status"),
)

player_scenario_scores = sa.Table(
    "player_scenario_scores",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("profile_id", sa.String(36), nullable=False),
    sa.Column("scenario_id", sa.String(36), nullable=False),
    sa.Column(
        "game_session_id",
        sa.String(36),
        sa.ForeignKey(
            "game_sessions.id",
            name="fk_player_scores_game_session",
            ondelete="SET NULL",
            onupdate="CASCADE",
        ),
    ),
    sa.Column("axis_scores", Json, server_default=EMPTY_OBJECT),
    sa.Column("created_at", Timestamp, server_default=NOW),
    *_system_columns(),
    sa.Index("ix_player_scenario_scores_profile_id", "profile_id"),
    sa.Index("ix_player_scenario_scores_scenario_id", "scenario_id"),
    sa.Index(
        "uix_player_scenario_scores_profile_scenario", "profile_id", "scenario_id", unique=True
    ),
    sa.Index("ix_player_scenario_scores_created_at", "created_at"),
)

# UserProfiles is split (V0009): its core fields here, its earned badges one row each in
# ``user_badges``; preferences, avatars, pronouns and bio stay in the document store.
user_profiles = sa.Table(
    "user_profiles",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column(
        "account_id",
        sa.String(36),
        sa.ForeignKey(
            "accounts.id",
            name="fk_user_profiles_account",
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
    ),
    sa.Column("name", sa.Text),
    sa.Column("age_group", sa.String(20)),
    sa.Column("date_of_birth", Timestamp),
    sa.Column("is_guest", sa.Boolean, server_default=sa.false()),
    sa.Column("is_npc", sa.Boolean, server_default=sa.false()),
    sa.Column("has_completed_onboarding", sa.Boolean, server_default=sa.false()),
    sa.Column("created_at", Timestamp, server_default=NOW),
    sa.Column("updated_at", Timestamp, server_default=NOW),
    *_system_columns(),
    sa.Index("ix_user_profiles_account_id", "account_id"),
)

user_badges = sa.Table(
    "user_badges",
    metadata,
    sa.Column(
        "user_profile_id",
        sa.String(36),
        sa.ForeignKey(
            "user_profiles.id",
            name="fk_user_badges_user_profile",
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
        primary_key=True,
    ),
    sa.Column("id", sa.String(64), primary_key=True),
    # The item's place in the profile's array, so the document reads back in its order.
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
    # The C# app awards a badge configuration once per profile.
    sa.Index(
        "uix_user_badges_profile_configuration",
        "user_profile_id",
        "badge_configuration_id",
        unique=True,
    ),
)

# AvatarConfigurationFiles (V0009): the file's own fields here, its age group → avatar media
# ids mapping one row per avatar in ``avatar_configuration_avatars``.
avatar_configuration_files = sa.Table(
    "avatar_configuration_files",
    metadata,
    sa.Column("id", sa.String(255), primary_key=True),
    sa.Column("created_at", Timestamp, server_default=NOW),
    sa.Column("updated_at", Timestamp, server_default=NOW),
    sa.Column("version", sa.Text),
    *_system_columns(),
)

avatar_configuration_avatars = sa.Table(
    "avatar_configuration_avatars",
    metadata,
    sa.Column(
        "file_id",
        sa.String(255),
        sa.ForeignKey(
            "avatar_configuration_files.id",
            name="fk_avatar_configuration_avatars_file",
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
        primary_key=True,
    ),
    sa.Column("key", sa.Text, primary_key=True),  # the age group
    sa.Column("position", sa.Integer, primary_key=True),  # in the age group's list
    # The avatar media id; NULL at position -1 marks an age group with an empty list.
    sa.Column("value", sa.Text),
)

# -- polyglot bookkeeping ------------------------------------------------------------------------

outbox = sa.Table(
    "_polyglot_outbox",
    metadata,
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
    # The relay reads unrelayed rows in id order; relayed rows pile up until pruned.
    sa.Index(
        "ix_polyglot_outbox_pending",
        "id",
        postgresql_where=sa.text("relayed_at IS NULL"),
        sqlite_where=sa.text("relayed_at IS NULL"),
    ),
    sa.Index("ix_polyglot_outbox_entity", "container", "entity_id"),
)

sync_log = sa.Table(
    "_polyglot_sync_log",
    metadata,
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
    sa.Index("ix_polyglot_sync_log_status", "sync_status"),
    sa.Index("ix_polyglot_sync_log_entity", "entity_type", "entity_id"),
)

leases = sa.Table(
    "_polyglot_leases",
    metadata,
    sa.Column("container", sa.String(100), primary_key=True),
    sa.Column("feed_range", sa.String(255), primary_key=True),
    sa.Column("owner", sa.String(255)),
    sa.Column("lease_expires_at", Timestamp),
    sa.Column("checkpoint", sa.Text),
    # Bumped on every acquisition: a fencing token, so a worker that lost its lease while
    # paused cannot overwrite the new owner's checkpoint.
    sa.Column("lease_token", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    sa.Column("updated_at", Timestamp, nullable=False, server_default=NOW),
)

phase = sa.Table(
    "_polyglot_phase",
    metadata,
    sa.Column("container", sa.String(100), primary_key=True),
    sa.Column("phase", sa.String(40), nullable=False),
    # Compare-and-set counter, so two instances changing a phase at once cannot both win.
    sa.Column("version", sa.BigInteger, nullable=False, server_default=sa.text("1")),
    sa.Column("updated_at", Timestamp, nullable=False, server_default=NOW),
    sa.Column("updated_by", sa.String(255)),
    # A scheduled switch of the primary (V0003): writes pause from ``pending_fence_at`` until
    # the flip; past ``pending_expires_at`` the switch is void. Times are the database's own
    # clock; ``pending_abandoned`` marks a switch given up (expired, or its switcher failed).
    sa.Column("pending_phase", sa.String(40)),
    sa.Column("pending_fence_at", Timestamp),
    sa.Column("pending_expires_at", Timestamp),
    sa.Column("pending_abandoned", sa.Boolean, nullable=False, server_default=sa.false()),
)

phase_history = sa.Table(
    "_polyglot_phase_history",
    metadata,
    sa.Column("id", big_serial(), primary_key=True, autoincrement=True),
    sa.Column("container", sa.String(100), nullable=False),
    sa.Column("from_phase", sa.String(40)),
    sa.Column("to_phase", sa.String(40), nullable=False),
    sa.Column("at", Timestamp, nullable=False, server_default=NOW),
    sa.Column("reason", sa.Text),
    sa.Column("forced", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("actor", sa.String(255)),
    sa.Index("ix_polyglot_phase_history_container_at", "container", "at"),
)

dead_letters = sa.Table(
    "_polyglot_dead_letters",
    metadata,
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
    sa.Index(
        "ix_polyglot_dead_letters_open",
        "container",
        "id",
        postgresql_where=sa.text("resolved_at IS NULL"),
        sqlite_where=sa.text("resolved_at IS NULL"),
    ),
)

# Failed replication attempts per change (V0004), so the bound before a dead letter holds
# across processes and polls; a row is deleted once its change is applied or dead-lettered.
apply_attempts = sa.Table(
    "_polyglot_apply_attempts",
    metadata,
    sa.Column("container", sa.String(100), primary_key=True),
    sa.Column("direction", sa.String(20), primary_key=True),
    sa.Column("entity_id", sa.String(255), primary_key=True),
    sa.Column("_version", sa.BigInteger, primary_key=True),
    sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("1")),
    sa.Column("first_failed_at", Timestamp, nullable=False, server_default=NOW),
    sa.Column("last_error", sa.Text),
)

verify_runs = sa.Table(
    "_polyglot_verify_runs",
    metadata,
    sa.Column("id", big_serial(), primary_key=True, autoincrement=True),
    sa.Column("container", sa.String(100), nullable=False),
    sa.Column("started_at", Timestamp, nullable=False, server_default=NOW),
    sa.Column("finished_at", Timestamp),
    sa.Column("primary_store", sa.String(40)),
    sa.Column("secondary_store", sa.String(40)),
    sa.Column("scanned", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    sa.Column("missing", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    sa.Column("extra", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    sa.Column("different", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    sa.Column("clean", sa.Boolean),  # NULL while the run is in progress
    sa.Column("report", Json),
    sa.Column("error", sa.Text),
    # Where the run started in the logs (V0006): the phase move it ran after, the outbox id
    # and the change-feed checkpoints; the verify gate compares the phase move.
    sa.Column("position", Json),
    sa.Index("ix_polyglot_verify_runs_container_started", "container", "started_at"),
)

# The HTTP service's shared state (V0005): API keys (hash only) and admin jobs.
api_keys = sa.Table(
    "_api_keys",
    metadata,
    sa.Column("key_id", sa.String(32), primary_key=True),
    sa.Column("key_hash", sa.String(64), nullable=False),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("account_id", sa.String(36)),
    sa.Column("label", sa.String(200)),
    sa.Column("created_at", Timestamp, nullable=False, server_default=NOW),
    sa.Column("revoked_at", Timestamp),
)

api_jobs = sa.Table(
    "_api_jobs",
    metadata,
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
)

# Evidence counted by serving processes (V0006), flushed as append-only deltas: shadow-read
# comparisons per container and phase, and store calls per store (container "").
evidence = sa.Table(
    "_polyglot_evidence",
    metadata,
    sa.Column("id", big_serial(), primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("container", sa.String(100), nullable=False),
    sa.Column("phase", sa.String(40)),
    sa.Column("store", sa.String(20), nullable=False),
    sa.Column("ok", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    sa.Column("failed", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    sa.Column("at", Timestamp, nullable=False, server_default=NOW),
    sa.Index("ix_polyglot_evidence_kind_container_at", "kind", "container", "at"),
)

# The audit log (V0006): append-only, one row per operator action, never updated or deleted.
audit_log = sa.Table(
    "_audit_log",
    metadata,
    sa.Column("id", big_serial(), primary_key=True, autoincrement=True),
    sa.Column("at", Timestamp, nullable=False, server_default=NOW),
    sa.Column("actor", sa.String(255), nullable=False),
    sa.Column("action", sa.String(40), nullable=False),
    sa.Column("container", sa.String(100)),
    sa.Column("reason", sa.Text),
    sa.Column("forced", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("detail", Json),
    sa.Column("evidence", Json),
    sa.Index("ix_audit_log_container_id", "container", "id"),
)

# Operator controls (V0007): pause, rate, lag bound, batch size and concurrency per
# (container, task), and the state the running workers last reported.
controls = sa.Table(
    "_polyglot_controls",
    metadata,
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

# Operator console sessions (V0008): only the token's hash; the key is re-checked each request.
console_sessions = sa.Table(
    "_console_sessions",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("key_id", sa.String(32), nullable=False),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("created_at", Timestamp, nullable=False, server_default=NOW),
    sa.Column("expires_at", Timestamp, nullable=False),
    sa.Index("ix_console_sessions_expires_at", "expires_at"),
)

ENTITY_TABLES: dict[str, sa.Table] = {
    t.name: t
    for t in (
        accounts,
        game_sessions,
        player_scenario_scores,
        user_profiles,
        avatar_configuration_files,
    )
}
# Backfill and verify runs shared by many workers (V0010): a run and its id-range segments,
# each leased to one worker at a time with a fencing token, checkpointed after each page.
runs = sa.Table(
    "_polyglot_runs",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("container", sa.String(100), nullable=False),
    sa.Column("direction", sa.String(100), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("lease_ttl_s", sa.Float, nullable=False),
    sa.Column("position", Json),
    sa.Column("state", sa.String(100)),
    sa.Column("state_until", Timestamp),
    sa.Column("throttled", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    # The shared request budget as a clock (epoch µs): the next free slot.
    sa.Column("budget_next_us", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    sa.Column("report", Json),
    sa.Column("created_at", Timestamp, nullable=False, server_default=NOW),
    sa.Column("finished_at", Timestamp),
)

run_segments = sa.Table(
    "_polyglot_run_segments",
    metadata,
    sa.Column(
        "run_id",
        sa.String(40),
        sa.ForeignKey("_polyglot_runs.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("after_id", sa.Text),
    sa.Column("upto_id", sa.Text),
    sa.Column("total", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    sa.Column("owner", sa.String(255)),
    sa.Column("lease_expires_at", Timestamp),
    sa.Column("lease_token", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    sa.Column("checkpoint", sa.Text),
    sa.Column("docs_read", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    sa.Column("docs_written", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    sa.Column("compared", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    sa.Column("differences", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    sa.Column("quarantined", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    sa.Column("diffs", Json),
    sa.Column("done", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("updated_at", Timestamp, nullable=False, server_default=NOW),
)

# Tables holding a split container's embedded arrays (`catalog.ChildTable`), one row an item.
CHILD_TABLES: dict[str, sa.Table] = {t.name: t for t in (user_badges, avatar_configuration_avatars)}
POLYGLOT_TABLES: tuple[sa.Table, ...] = (
    outbox,
    sync_log,
    leases,
    phase,
    phase_history,
    dead_letters,
    apply_attempts,
    verify_runs,
    api_keys,
    api_jobs,
    evidence,
    audit_log,
    controls,
    console_sessions,
    run_segments,  # before its parent: emptied in this order
    runs,
)
