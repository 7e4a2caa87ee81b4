"""The metadata schema, as SQLAlchemy Core tables. Changes go through a migration in migrations/."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("name", sa.Text, nullable=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("started_at", sa.Float, nullable=False),
    sa.Column("ended_at", sa.Float, nullable=True),
    sa.Column("exit_code", sa.Integer, nullable=True),
    sa.Column("signal", sa.Integer, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("seed", sa.BigInteger, nullable=True),
    sa.Column("commit_sha", sa.String(64), nullable=True),
    sa.Column("dirty", sa.Boolean, nullable=True),
    sa.Column("input_fp", sa.String(80), nullable=False),
    sa.Column("output_fp", sa.String(80), nullable=True),
    sa.Column("hostname", sa.Text, nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("pid_started", sa.Float, nullable=False),
    sa.Column("summary", sa.Text, nullable=True),
    sa.Column("manifest", sa.Text, nullable=False),
    sa.Column("manifest_oid", sa.String(80), nullable=True),
    sa.Column("replay_of", sa.String(32), nullable=True),
    sa.Column("verdict", sa.String(16), nullable=True),
    sa.Column("verified_at", sa.Float, nullable=True),
    # The team server's project the run belongs to; NULL in a local store.
    sa.Column("project", sa.String(64), nullable=True),
    sa.Index("ix_runs_started_at", "started_at"),
    sa.Index("ix_runs_status", "status"),
    sa.Index("ix_runs_replay_of", "replay_of"),
    sa.Index("ix_runs_project", "project"),
)

# One row per param leaf: nested params are flattened to dotted keys (``model.lr``). ``value`` is
# the JSON text; ``number`` holds a numeric value and ``text`` a string's own text (else the JSON
# text), so filters compare numbers as numbers and strings as strings.
params = sa.Table(
    "params",
    metadata,
    sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id"), primary_key=True),
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("number", sa.Float, nullable=True),
    sa.Column("text", sa.Text, nullable=True),
    sa.Index("ix_params_key_number", "key", "number"),
)

# Each metric's summary, for filtering and sorting runs by it (``last`` is NULL for NaN).
metric_summaries = sa.Table(
    "metric_summaries",
    metadata,
    sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id"), primary_key=True),
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("last", sa.Float, nullable=True),
    sa.Column("step", sa.BigInteger, nullable=False),
    sa.Column("min", sa.Float, nullable=True),
    sa.Column("max", sa.Float, nullable=True),
    sa.Column("count", sa.BigInteger, nullable=False),
    sa.Column("series", sa.String(80), nullable=False),
    sa.Index("ix_metric_summaries_key_last", "key", "last"),
)

# Labels set on a run after it was recorded; they are not part of the record or its identity.
tags = sa.Table(
    "tags",
    metadata,
    sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id"), primary_key=True),
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Index("ix_tags_key_value", "key", "value"),
)

# ``value`` is NULL for NaN: SQLite cannot store a NaN REAL.
metrics = sa.Table(
    "metrics",
    metadata,
    sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id"), nullable=False),
    sa.Column("key", sa.Text, nullable=False),
    sa.Column("step", sa.BigInteger, nullable=False),
    sa.Column("value", sa.Float, nullable=True),
    sa.Column("timestamp", sa.Float, nullable=False),
    sa.Index("ix_metrics_run_key_step", "run_id", "key", "step"),
)

artifacts = sa.Table(
    "artifacts",
    metadata,
    sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id"), primary_key=True),
    sa.Column("path", sa.Text, primary_key=True),
    sa.Column("oid", sa.String(80), nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("kind", sa.String(8), nullable=False),
)

# Every verification of a run, newest last; ``runs.verdict`` holds the latest for listings.
verifications = sa.Table(
    "verifications",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id"), nullable=False),
    sa.Column("replay_id", sa.String(32), nullable=True),
    sa.Column("verdict", sa.String(16), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("details", sa.Text, nullable=False),
    sa.Index("ix_verifications_run_id", "run_id"),
)

# The model registry (samerun.registry). A model's alias events form one hash chain, oldest
# first by ``seq``; ``models.head`` is the hash of its last event, so a deleted last event is
# caught too. ``model_aliases`` is where each alias points now (the chain is the record).
models = sa.Table(
    "models",
    metadata,
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("head", sa.String(80), nullable=True),
)

# A version's ``files`` are JSON: [{path, oid, size, kind, files}] as the run recorded them.
model_versions = sa.Table(
    "model_versions",
    metadata,
    sa.Column("model", sa.String(128), sa.ForeignKey("models.name"), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id"), nullable=False),
    sa.Column("files", sa.Text, nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("tags", sa.Text, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("created_by", sa.Text, nullable=False),
    sa.Index("ix_model_versions_run_id", "run_id"),
)

alias_events = sa.Table(
    "alias_events",
    metadata,
    sa.Column("model", sa.String(128), sa.ForeignKey("models.name"), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("alias", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("from_version", sa.Integer, nullable=True),
    sa.Column("to_version", sa.Integer, nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("prev_hash", sa.String(80), nullable=True),
    sa.Column("hash", sa.String(80), nullable=False),
    sa.Index("ix_alias_events_model_alias_at", "model", "alias", "at"),
)

model_aliases = sa.Table(
    "model_aliases",
    metadata,
    sa.Column("model", sa.String(128), sa.ForeignKey("models.name"), primary_key=True),
    sa.Column("alias", sa.String(64), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
)

# Aliases that only a project's maintainers may move on a team server.
alias_protections = sa.Table(
    "alias_protections",
    metadata,
    sa.Column("model", sa.String(128), sa.ForeignKey("models.name"), primary_key=True),
    sa.Column("alias", sa.String(64), primary_key=True),
    sa.Column("protected_by", sa.Text, nullable=False),
    sa.Column("protected_at", sa.Float, nullable=False),
)


# The audit trail (samerun.store.trail): one hash chain, oldest first by ``seq``; each entry's
# ``facts`` are canonical JSON and its ``hash`` covers every other column. ``audit_head`` (one
# row, id 1) holds the last entry's seq and hash, so a deleted last entry is caught too.
audit_entries = sa.Table(
    "audit_entries",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("subject", sa.String(256), nullable=False),
    sa.Column("oid", sa.String(80), nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("facts", sa.Text, nullable=False),
    sa.Column("prev_hash", sa.String(80), nullable=True),
    sa.Column("hash", sa.String(80), nullable=False, unique=True),
    sa.Index("ix_audit_entries_kind_subject", "kind", "subject"),
)

audit_head = sa.Table(
    "audit_head",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("hash", sa.String(80), nullable=False),
)

# Lineage (samerun.lineage): each dataset version added, with the run that made it when it is a
# run's output; its record index maps a keyed hash of each key value to the rows holding it (the
# raw value is never stored), grouped by the hash's first 12 bits into one row per bucket and
# version (``pairs``: fixed-width (hash, row) pairs, see samerun.lineage.records); erasure
# requests name only that hash.
dataset_versions = sa.Table(
    "dataset_versions",
    metadata,
    sa.Column("dataset", sa.String(512), primary_key=True),
    sa.Column("oid", sa.String(80), primary_key=True),
    sa.Column("added_at", sa.Float, nullable=False),
    sa.Column("producer_run", sa.String(32), nullable=True),
    sa.Column("key_column", sa.String(256), nullable=True),
    sa.Column("row_count", sa.Integer, nullable=True),
    sa.Index("ix_dataset_versions_oid", "oid"),
)

record_buckets = sa.Table(
    "record_buckets",
    metadata,
    sa.Column("bucket", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("oid", sa.String(80), primary_key=True),
    sa.Column("pairs", sa.LargeBinary, nullable=False),
)

erasures = sa.Table(
    "erasures",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("key_hash", sa.String(64), nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Index("ix_erasures_key_hash", "key_hash"),
)

# -- the team server's accounts (empty in a local store) -------------------------------------------

# ``password_hash`` is an argon2id hash string; no password is ever stored.
users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(64), nullable=False, unique=True),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False),
)

# API tokens, by the sha256 of the token (shown once, never stored); revoked ones stay listed.
tokens = sa.Table(
    "tokens",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("last_used_at", sa.Float, nullable=True),
    sa.Column("revoked_at", sa.Float, nullable=True),
    sa.Index("ix_tokens_user_id", "user_id"),
)

# Browser sessions, by the sha256 of the cookie's value.
sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("id_hash", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
    sa.Index("ix_sessions_user_id", "user_id"),
)

projects = sa.Table(
    "projects",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("created_at", sa.Float, nullable=False),
)

# A user's role in a project: reader, writer, maintainer or admin (samerun.server.projects).
members = sa.Table(
    "members",
    metadata,
    sa.Column("project", sa.String(64), sa.ForeignKey("projects.name"), primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), primary_key=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Index("ix_members_user_id", "user_id"),
)

# Objects granted to a project: uploaded there by one of its writers (samerun.server.sync).
project_objects = sa.Table(
    "project_objects",
    metadata,
    sa.Column("project", sa.String(64), sa.ForeignKey("projects.name"), primary_key=True),
    sa.Column("oid", sa.String(80), primary_key=True),
)
