"""The catalog's tables, as SQLAlchemy Core metadata.

This module describes the schema at the newest migration; the migrations in
``catalog/migrations/versions`` build it step by step, so a workspace created by an older
release is upgraded in place when a newer one opens it. Change a table here only together
with a new migration (tests/test_catalog.py checks that both agree).

Times are timezone-aware UTC datetimes. JSON columns hold JSON text.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

datasets = sa.Table(
    "datasets",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
)

versions = sa.Table(
    "versions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("dataset_id", sa.Integer, sa.ForeignKey("datasets.id"), nullable=False),
    sa.Column("ordinal", sa.Integer, nullable=False),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("row_count", sa.BigInteger, nullable=False),
    sa.Column("excluded_count", sa.BigInteger, nullable=False),
    sa.Column("schema_json", sa.Text, nullable=False),
    sa.Column("roles_json", sa.Text, nullable=False),
    sa.Column("step", sa.String(200), nullable=False),
    sa.Column("params_json", sa.Text, nullable=False),
    sa.Column("source_json", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("dataset_id", "ordinal", name="uq_versions_dataset_ordinal"),
    sa.UniqueConstraint("dataset_id", "content_hash", name="uq_versions_dataset_hash"),
)

lineage = sa.Table(
    "lineage",
    metadata,
    sa.Column("child_id", sa.Integer, sa.ForeignKey("versions.id"), primary_key=True),
    sa.Column("parent_id", sa.Integer, sa.ForeignKey("versions.id"), primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(100), nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("params_json", sa.Text, nullable=False),
    sa.Column("output_version_id", sa.Integer, sa.ForeignKey("versions.id"), nullable=True),
    sa.Column("reused_existing", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("summary_json", sa.Text, nullable=False, server_default="{}"),
)

audit_events = sa.Table(
    "audit_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("action", sa.String(100), nullable=False),
    sa.Column("subject", sa.String(400), nullable=False),
    sa.Column("details_json", sa.Text, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False, unique=True),
    sa.Column("chain_version", sa.Integer, nullable=False, server_default="1"),
    sa.UniqueConstraint("prev_hash", name="uq_audit_events_prev_hash"),
)
"""Hash-chained: ``hash = sha256(prev_hash + canonical JSON of the event)`` (chain_version 1) or
``HMAC-SHA256(audit key, same)`` (chain_version 2, written with a key); see catalog/audit.py.
``prev_hash`` is unique, so two events can never chain onto the same one (a fork)."""

dp_budgets = sa.Table(
    "dp_budgets",
    metadata,
    sa.Column("dataset_id", sa.Integer, sa.ForeignKey("datasets.id"), primary_key=True),
    sa.Column("epsilon_total", sa.Float, nullable=False),
    sa.Column("delta_total", sa.Float, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

dp_releases = sa.Table(
    "dp_releases",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("dataset_id", sa.Integer, sa.ForeignKey("datasets.id"), nullable=False),
    sa.Column("version_id", sa.Integer, sa.ForeignKey("versions.id"), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("statistic", sa.String(50), nullable=False),
    sa.Column("column_name", sa.String(200), nullable=False),
    sa.Column("epsilon", sa.Float, nullable=False),
    sa.Column("delta", sa.Float, nullable=False),
    sa.Column("result_json", sa.Text, nullable=False),
)

pii_vault = sa.Table(
    "pii_vault",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("namespace", sa.String(200), nullable=False),
    sa.Column("token", sa.String(100), nullable=False),
    sa.Column("entity_type", sa.String(50), nullable=False),
    sa.Column("nonce", sa.LargeBinary, nullable=False),
    sa.Column("ciphertext", sa.LargeBinary, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("namespace", "token", name="uq_pii_vault_token"),
)
"""Reversible pseudonyms: AES-GCM ciphertext of the original value per token (key never stored)."""

models = sa.Table(
    "models",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("ordinal", sa.Integer, nullable=False),
    sa.Column("kind", sa.String(100), nullable=False),
    sa.Column("params_json", sa.Text, nullable=False),
    sa.Column("train_version_id", sa.Integer, sa.ForeignKey("versions.id"), nullable=False),
    sa.Column("test_version_id", sa.Integer, sa.ForeignKey("versions.id"), nullable=True),
    sa.Column("metrics_json", sa.Text, nullable=False),
    sa.Column("info_json", sa.Text, nullable=False),
    sa.Column("artifact_hash", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("name", "ordinal", name="uq_models_name_ordinal"),
)
"""Model versions: what was trained (kind, params), on which dataset versions, and how it scored."""

model_aliases = sa.Table(
    "model_aliases",
    metadata,
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("alias", sa.String(100), primary_key=True),
    sa.Column("model_id", sa.Integer, sa.ForeignKey("models.id"), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)
"""``champion`` / ``challenger`` (or any name) pointing at one model version of a model name."""

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key_id", sa.String(32), nullable=False, unique=True),
    sa.Column("key_hash", sa.String(64), nullable=False),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
)
"""HTTP API keys: ``dm_<key_id>_<secret>``; only sha256 of the whole key is stored, never the key."""

predictions = sa.Table(
    "predictions",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("model_name", sa.String(200), nullable=False),
    sa.Column("model_id", sa.Integer, sa.ForeignKey("models.id"), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("text", sa.Text, nullable=True),
    sa.Column("text_hash", sa.String(64), nullable=False),
    sa.Column("label", sa.String(200), nullable=False),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("margin", sa.Float, nullable=False),
    sa.Column("scores_json", sa.Text, nullable=False),
    sa.Column("latency_ms", sa.Float, nullable=False),
    sa.Column("pii_count", sa.Integer, nullable=False),
    sa.Column("client", sa.String(200), nullable=False),
    sa.Column("output", sa.Text, nullable=True),
    sa.Index("ix_predictions_model_time", "model_name", "created_at"),
)
"""Every served prediction: the model version, top scores, latency, sha256 of the raw input and
the input text only after PII redaction (NULL when text logging is off). A language model's
generation: ``text`` is the prompt, ``output`` the generated text (both redacted), ``label``
``generated``."""

feedback_records = sa.Table(
    "feedback_records",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("model_name", sa.String(200), nullable=False),
    sa.Column("prediction_id", sa.String(32), sa.ForeignKey("predictions.id"), nullable=True, unique=True),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("text_hash", sa.String(64), nullable=False),
    sa.Column("suggestion_label", sa.String(200), nullable=True),
    sa.Column("suggestion_score", sa.Float, nullable=True),
    sa.Column("suggestion_model_id", sa.Integer, sa.ForeignKey("models.id"), nullable=True),
    sa.Column("uncertainty", sa.Float, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("final_label", sa.String(200), nullable=True),
    sa.Column("source", sa.String(20), nullable=False),
    sa.Column("consumed_version_id", sa.Integer, sa.ForeignKey("versions.id"), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_feedback_records_queue", "model_name", "status", "uncertainty"),
)
"""Argilla-like records: the (redacted) text, the model's suggestion, and a status:
pending (needs a label) | review (contradicts a confident prediction) | ready (labelled, goes
into the next retrain) | discarded. ``consumed_version_id``: the training version it went into."""

feedback_responses = sa.Table(
    "feedback_responses",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("record_id", sa.Integer, sa.ForeignKey("feedback_records.id"), nullable=False),
    sa.Column("user", sa.String(200), nullable=False),
    sa.Column("label", sa.String(200), nullable=True),
    sa.Column("vote", sa.String(10), nullable=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("continuation", sa.Text, nullable=True),
    sa.UniqueConstraint("record_id", "user", name="uq_feedback_responses_record_user"),
)
"""Human responses to a record: a label and/or a vote (up | down), status draft | submitted | discarded;
for a generation, a vote and/or a corrected ``continuation`` of its prompt (redacted)."""

flywheel_decisions = sa.Table(
    "flywheel_decisions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("model_name", sa.String(200), nullable=False),
    sa.Column("champion_id", sa.Integer, sa.ForeignKey("models.id"), nullable=True),
    sa.Column("challenger_id", sa.Integer, sa.ForeignKey("models.id"), nullable=True),
    sa.Column("train_version_id", sa.Integer, sa.ForeignKey("versions.id"), nullable=True),
    sa.Column("test_version_id", sa.Integer, sa.ForeignKey("versions.id"), nullable=True),
    sa.Column("feedback_rows", sa.Integer, nullable=False),
    sa.Column("promoted", sa.Boolean, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("figures_json", sa.Text, nullable=False),
)
"""Every retrain: what it trained on, how champion and challenger compared, and whether it promoted."""

monitor_reports = sa.Table(
    "monitor_reports",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("model_name", sa.String(200), nullable=False),
    sa.Column("model_id", sa.Integer, sa.ForeignKey("models.id"), nullable=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("report_json", sa.Text, nullable=False),
)
"""Monitoring snapshots (drift, confidence, live accuracy); status ok | alert | insufficient_data."""

source_cursors = sa.Table(
    "source_cursors",
    metadata,
    sa.Column("source", sa.String(200), primary_key=True),
    sa.Column("cursor_path", sa.String(400), nullable=False),
    sa.Column("value_json", sa.Text, nullable=False),
    sa.Column("version_id", sa.Integer, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)
"""Incremental sources: the last cursor value per source and the version holding the rows up to
it. ``version_id`` is no foreign key on purpose: a rolled-back version (catalog/rollback.py)
must not be blocked by it; a cursor whose version is gone is ignored (a full fetch again)."""
