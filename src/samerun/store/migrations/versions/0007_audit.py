"""The audit trail: one append-only hash chain of every run manifest, verification, model
version, alias move and erasure request (samerun.store.trail), and its head.

Existing runs are not back-filled: the trail starts at its first entry, and ``samerun audit
verify`` lists runs recorded before it as "before the trail".

Revision ID: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_entries",
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
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("hash", sa.String(80), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("audit_head")
    op.drop_table("audit_entries")
