"""Runs: one row per command that produced (or reused) a version.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "runs",
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


def downgrade() -> None:
    op.drop_table("runs")
