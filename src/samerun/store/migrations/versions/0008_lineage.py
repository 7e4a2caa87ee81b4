"""Lineage: the dataset versions added (and the run that made a derived one), the record index
of a version (a keyed hash of each key value -> the rows holding it; never the raw value) and
erasure requests.

Revision ID: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dataset_versions",
        sa.Column("dataset", sa.String(512), primary_key=True),
        sa.Column("oid", sa.String(80), primary_key=True),
        sa.Column("added_at", sa.Float, nullable=False),
        sa.Column("producer_run", sa.String(32), nullable=True),
        sa.Column("key_column", sa.String(256), nullable=True),
        sa.Column("row_count", sa.Integer, nullable=True),
        sa.Index("ix_dataset_versions_oid", "oid"),
    )
    op.create_table(
        "record_buckets",
        sa.Column("bucket", sa.String(8), primary_key=True),
        sa.Column("oid", sa.String(80), primary_key=True),
        sa.Column("entries", sa.Text, nullable=False),
    )
    op.create_table(
        "erasures",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Index("ix_erasures_key_hash", "key_hash"),
    )


def downgrade() -> None:
    op.drop_table("erasures")
    op.drop_table("record_buckets")
    op.drop_table("dataset_versions")
