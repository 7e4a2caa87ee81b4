"""The model registry: models, immutable versions, alias events (hash-chained) and aliases.

Revision ID: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "models",
        sa.Column("name", sa.String(128), primary_key=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("head", sa.String(80), nullable=True),
    )
    op.create_table(
        "model_versions",
        sa.Column("model", sa.String(128), sa.ForeignKey("models.name"), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id"), nullable=False),
        sa.Column("files", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("tags", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("created_by", sa.Text, nullable=False),
    )
    op.create_index("ix_model_versions_run_id", "model_versions", ["run_id"])
    op.create_table(
        "alias_events",
        sa.Column("model", sa.String(128), sa.ForeignKey("models.name"), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("alias", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("from_version", sa.Integer, nullable=True),
        sa.Column("to_version", sa.Integer, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(80), nullable=True),
        sa.Column("hash", sa.String(80), nullable=False),
    )
    op.create_index("ix_alias_events_model_alias_at", "alias_events", ["model", "alias", "at"])
    op.create_table(
        "model_aliases",
        sa.Column("model", sa.String(128), sa.ForeignKey("models.name"), primary_key=True),
        sa.Column("alias", sa.String(64), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("model_aliases")
    op.drop_table("alias_events")
    op.drop_table("model_versions")
    op.drop_table("models")
