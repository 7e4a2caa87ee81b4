"""The record index as binary pairs under keyed BLAKE2b: one row per bucket (the hash's first 12
bits) and version, holding fixed-width (keyed hash, row) pairs, instead of text entries of
truncated HMAC-SHA256 hashes (indexing a million rows went from seconds of per-row Python to one
hash call per value).

An index written before cannot be converted: the raw key values were never stored, so they
cannot be hashed again. Its versions become "not indexed" (never "clean"); add the file again
with ``samerun data add PATH --record-key COLUMN`` to index it. Erasure requests recorded before
keep their old hash on the audit trail and in ``erasures``; a new query's hash does not match it.

Revision ID: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_table("record_buckets")
    op.create_table(
        "record_buckets",
        sa.Column("bucket", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("oid", sa.String(80), primary_key=True),
        sa.Column("pairs", sa.LargeBinary, nullable=False),
    )
    op.execute(
        "UPDATE dataset_versions SET key_column = NULL, row_count = NULL "
        "WHERE key_column IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_table("record_buckets")
    op.create_table(
        "record_buckets",
        sa.Column("bucket", sa.String(8), primary_key=True),
        sa.Column("oid", sa.String(80), primary_key=True),
        sa.Column("entries", sa.Text, nullable=False),
    )
    op.execute(
        "UPDATE dataset_versions SET key_column = NULL, row_count = NULL "
        "WHERE key_column IS NOT NULL"
    )
