"""Incremental sources: the last cursor value per source (e.g. the newest ``updated_at`` an
HTTP API returned) and the version it was recorded with. Written in the same transaction as
the version it belongs to (see catalog/source_cursors.py).

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "source_cursors",
        sa.Column("source", sa.String(200), primary_key=True),
        sa.Column("cursor_path", sa.String(400), nullable=False),
        sa.Column("value_json", sa.Text, nullable=False),
        sa.Column("version_id", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("source_cursors")
