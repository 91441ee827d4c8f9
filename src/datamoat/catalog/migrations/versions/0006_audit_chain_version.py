"""Audit chain version: events written with a key are HMAC-SHA256 chained (chain_version 2);
events from before (and events appended without a key) keep the unkeyed SHA-256 rule (1).
``prev_hash`` becomes unique, so concurrent appends can never fork the chain unnoticed (a lost
race fails and is retried). A log that is already forked (two events with one ``prev_hash``)
stops the migration with a message naming them: the fork has to be looked at by a person,
since the audit log is never rewritten automatically.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    forks = op.get_bind().execute(sa.text(
        "SELECT prev_hash, MIN(id), MAX(id) FROM audit_events GROUP BY prev_hash HAVING COUNT(*) > 1 ORDER BY 2"
    )).all()
    if forks:
        shown = "; ".join(f"events {first} and {last} follow {prev[:12]}..." for prev, first, last in forks[:5])
        raise RuntimeError(
            f"the audit log is forked ({len(forks)} events have more than one event chained onto them: {shown}); "
            "concurrent appends of an earlier version raced. Keep a copy of audit_events, then delete or "
            "re-chain the forked events by hand before upgrading."
        )
    with op.batch_alter_table("audit_events") as batch:
        batch.add_column(sa.Column("chain_version", sa.Integer, nullable=False, server_default="1"))
        batch.create_unique_constraint("uq_audit_events_prev_hash", ["prev_hash"])


def downgrade() -> None:
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_constraint("uq_audit_events_prev_hash", type_="unique")
        batch.drop_column("chain_version")
