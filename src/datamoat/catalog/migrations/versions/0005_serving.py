"""Serving and the flywheel: API keys, the prediction log, feedback records and responses,
retrain decisions and monitoring snapshots.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key_id", sa.String(32), nullable=False, unique=True),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "predictions",
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
        sa.Index("ix_predictions_model_time", "model_name", "created_at"),
    )
    op.create_table(
        "feedback_records",
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
    op.create_table(
        "feedback_responses",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("record_id", sa.Integer, sa.ForeignKey("feedback_records.id"), nullable=False),
        sa.Column("user", sa.String(200), nullable=False),
        sa.Column("label", sa.String(200), nullable=True),
        sa.Column("vote", sa.String(10), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("record_id", "user", name="uq_feedback_responses_record_user"),
    )
    op.create_table(
        "flywheel_decisions",
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
    op.create_table(
        "monitor_reports",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("model_name", sa.String(200), nullable=False),
        sa.Column("model_id", sa.Integer, sa.ForeignKey("models.id"), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("report_json", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("monitor_reports")
    op.drop_table("flywheel_decisions")
    op.drop_table("feedback_responses")
    op.drop_table("feedback_records")
    op.drop_table("predictions")
    op.drop_table("api_keys")
