"""Datasets, their immutable versions, and lineage between versions.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "datasets",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
    )
    op.create_table(
        "versions",
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
    op.create_table(
        "lineage",
        sa.Column("child_id", sa.Integer, sa.ForeignKey("versions.id"), primary_key=True),
        sa.Column("parent_id", sa.Integer, sa.ForeignKey("versions.id"), primary_key=True),
        sa.Column("position", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("lineage")
    op.drop_table("versions")
    op.drop_table("datasets")
