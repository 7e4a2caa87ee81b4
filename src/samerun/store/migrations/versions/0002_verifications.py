"""Verification history: runs know what they replay and their latest verdict.

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("replay_of", sa.String(32), nullable=True))
        batch.add_column(sa.Column("verdict", sa.String(16), nullable=True))
        batch.add_column(sa.Column("verified_at", sa.Float, nullable=True))
        batch.create_index("ix_runs_replay_of", ["replay_of"])
    op.create_table(
        "verifications",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id"), nullable=False),
        sa.Column("replay_id", sa.String(32), nullable=True),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("details", sa.Text, nullable=False),
    )
    op.create_index("ix_verifications_run_id", "verifications", ["run_id"])


def downgrade() -> None:
    op.drop_table("verifications")
    with op.batch_alter_table("runs") as batch:
        batch.drop_index("ix_runs_replay_of")
        batch.drop_column("verified_at")
        batch.drop_column("verdict")
        batch.drop_column("replay_of")
