"""Served language models: a generation's output next to its prompt in the prediction log, and a
corrected continuation in a feedback response. Both nullable: classifier rows leave them empty.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("predictions") as batch:
        batch.add_column(sa.Column("output", sa.Text, nullable=True))
    with op.batch_alter_table("feedback_responses") as batch:
        batch.add_column(sa.Column("continuation", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("feedback_responses") as batch:
        batch.drop_column("continuation")
    with op.batch_alter_table("predictions") as batch:
        batch.drop_column("output")
